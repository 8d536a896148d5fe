// The compose form's address parser (web/js/addrlist.mjs): RFC 5322 3.4 as people type
// it, RFC 5321 4.5.3.1 lengths, and random input that must never throw or yield an
// address that is not valid. Run: node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
	parseAddressList, formatAddress, formatAddressList, isValidEmail, LIST_MAX, ITEMS_MAX,
} from '../../web/js/addrlist.mjs';

const parse = (s) => parseAddressList(s);

test('bare, angle and named addresses, both separators', () => {
	const r = parse('anna@example.org, <bob@example.org>; Carl Meier <carl@example.org>');
	assert.deepEqual(r.errors, []);
	assert.deepEqual(r.addresses, [
		{ name: null, email: 'anna@example.org' },
		{ name: null, email: 'bob@example.org' },
		{ name: 'Carl Meier', email: 'carl@example.org' },
	]);
});

test('quoted names keep commas, semicolons and escaped quotes (RFC 5322 3.2.4)', () => {
	const r = parse('"Doe, John; Jr." <j@d.example>, "say \\"hi\\"" <h@d.example>');
	assert.deepEqual(r.errors, []);
	assert.deepEqual(r.addresses.map((a) => a.name), ['Doe, John; Jr.', 'say "hi"']);
});

test('comments are dropped (RFC 5322 3.2.2)', () => {
	const r = parse('anna@example.org (Anna, at work), Bob (x) <bob@example.org>');
	assert.deepEqual(r.errors, []);
	assert.deepEqual(r.addresses, [
		{ name: null, email: 'anna@example.org' },
		{ name: 'Bob', email: 'bob@example.org' },
	]);
});

test('empty items are skipped, repeats kept once (first name wins)', () => {
	const r = parse(' , anna@example.org,, ANNA@example.org ; Anna <anna@EXAMPLE.org>,');
	assert.deepEqual(r.errors, []);
	assert.deepEqual(r.addresses, [{ name: null, email: 'anna@example.org' }]);
	assert.deepEqual(parse('').addresses, []);
	assert.deepEqual(parse('   ').errors, []);
});

test('invalid items are reported as typed', () => {
	const r = parse('anna, bob@, @example.org, a b@example.org, c@exa mple.org, d@-x.org, ok@x.org');
	assert.deepEqual(r.errors, ['anna', 'bob@', '@example.org', 'a b@example.org',
		'c@exa mple.org', 'd@-x.org']);
	assert.deepEqual(r.addresses, [{ name: null, email: 'ok@x.org' }]);
	assert.deepEqual(parse('Anna <anna@example.org').errors, ['Anna <anna@example.org']);
	assert.deepEqual(parse('Anna <anna@example.org> x').errors, ['Anna <anna@example.org> x']);
	assert.deepEqual(parse('a..b@example.org, .a@example.org, a.@example.org').addresses, []);
	assert.deepEqual(parse('a@example..org').addresses, []);
});

test('quoted local parts and non-ASCII (RFC 5321 4.1.2, RFC 6531)', () => {
	assert.ok(isValidEmail('"john doe"@example.org'));
	assert.ok(isValidEmail('jörg@bücher.example'));
	assert.ok(isValidEmail('user+tag@localhost'));
	assert.ok(!isValidEmail('"unterminated@example.org'));
	assert.ok(!isValidEmail('a@b@c'));
	assert.deepEqual(parse('"john, doe"@example.org').addresses,
		[{ name: null, email: '"john, doe"@example.org' }]);
});

test('length limits at -1/0/+1 (RFC 5321 4.5.3.1)', () => {
	const d = '@example.org';
	assert.ok(isValidEmail('a'.repeat(64) + d));
	assert.ok(!isValidEmail('a'.repeat(65) + d));
	// 64 octets in UTF-8 counts octets, not characters: 32 x "ä" = 64 octets
	assert.ok(isValidEmail('ä'.repeat(32) + d));
	assert.ok(!isValidEmail('ä'.repeat(32) + 'a' + d));
	const label = 'b'.repeat(63);
	assert.ok(isValidEmail('a@' + label + '.org'));
	assert.ok(!isValidEmail('a@' + label + 'b.org'));
	// 254 in all: a@ + labels
	const dom = (n) => {
		const parts = [];
		while (n > 0) {
			const k = Math.min(n, 63);
			parts.push('c'.repeat(k));
			n -= k + 1;
		}
		return parts.join('.');
	};
	const at254 = 'a@' + dom(252);
	assert.equal(at254.length, 254);
	assert.ok(isValidEmail(at254));
	assert.ok(!isValidEmail('a@' + dom(253)));
});

test('list bounds: LIST_MAX characters and ITEMS_MAX items', () => {
	const items = (n) => Array.from({ length: n }, (_, i) => `u${i}@example.org`).join(',');
	assert.equal(parse(items(ITEMS_MAX - 1)).addresses.length, ITEMS_MAX - 1);
	assert.equal(parse(items(ITEMS_MAX)).addresses.length, ITEMS_MAX);
	assert.deepEqual(parse(items(ITEMS_MAX)).errors, []);
	const over = parse(items(ITEMS_MAX + 1));
	assert.equal(over.addresses.length, ITEMS_MAX);
	assert.equal(over.errors.length, 1);
	const long = 'a'.repeat(LIST_MAX + 1);
	assert.equal(parse(long).errors.length, 1);
	assert.equal(parse('a'.repeat(LIST_MAX)).errors.length, 1); // invalid, but parsed
});

test('format: names quoted when they hold a special, parse(format(x)) == x', () => {
	assert.equal(formatAddress({ name: 'Anna', email: 'a@x.org' }), 'Anna <a@x.org>');
	assert.equal(formatAddress({ name: null, email: 'a@x.org' }), 'a@x.org');
	assert.equal(formatAddress({ name: 'Doe, J.', email: 'a@x.org' }), '"Doe, J." <a@x.org>');
	const list = [
		{ name: 'Doe, John', email: 'j@x.org' },
		{ name: 'say "hi" \\o/', email: 'h@x.org' },
		{ name: null, email: 'n@x.org' },
		{ name: 'Jörg (Büro)', email: 'jb@x.org' },
	];
	assert.deepEqual(parse(formatAddressList(list)).addresses, list);
});

// A small fuzz: random strings from an alphabet rich in the grammar's specials. The
// parser must not throw, every address it returns must be valid, and what it returns
// must survive format -> parse unchanged. Seeded, so a failure reproduces.
test('random input: no throw, only valid addresses, format round trip', () => {
	const alphabet = 'ab.@<>",;()\\ äx-+\t\r\n';
	let seed = 12345;
	const rnd = (n) => {
		seed = (seed * 1103515245 + 12345) & 0x7fffffff;
		return seed % n;
	};
	for (let i = 0; i < 20000; i++) {
		let s = '';
		const len = rnd(40);
		for (let k = 0; k < len; k++)
			s += alphabet[rnd(alphabet.length)];
		const r = parse(s);
		for (const a of r.addresses) {
			assert.ok(isValidEmail(a.email), JSON.stringify([s, a]));
			const back = parse(formatAddress(a));
			assert.deepEqual(back.errors, [], JSON.stringify([s, a]));
			assert.equal(back.addresses[0].email, a.email, JSON.stringify([s, a]));
		}
	}
});
