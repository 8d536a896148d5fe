// Links in plain-text mail (web/js/linkify.mjs): which spans become links, and that the
// parts always give the text back (random input too: the function is a parser of text
// from mail).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkParts } from '../../web/js/linkify.mjs';

const urls = (s) => linkParts(s).filter((p) => p.url).map((p) => p.url);
const join = (parts) => parts.map((p) => p.url ?? p.text).join('');

test('http, https and mailto become links', () => {
	assert.deepEqual(urls('see https://example.org/a?b=1#c now'), ['https://example.org/a?b=1#c']);
	assert.deepEqual(urls('HTTP://EXAMPLE.ORG'), ['HTTP://EXAMPLE.ORG']);
	assert.deepEqual(urls('write to mailto:a@b.example'), ['mailto:a@b.example']);
	assert.deepEqual(urls('two: http://a.example, http://b.example.'), ['http://a.example', 'http://b.example']);
});

test('sentence punctuation and brackets stay text', () => {
	assert.deepEqual(urls('(see https://example.org/x).'), ['https://example.org/x']);
	assert.deepEqual(urls('"https://example.org/q?x=1"'), ['https://example.org/q?x=1']);
	assert.deepEqual(urls('<https://example.org/>'), ['https://example.org/']);
	assert.deepEqual(urls('end https://example.org!?'), ['https://example.org']);
});

test('other schemes and bare prefixes stay text', () => {
	assert.deepEqual(urls('javascript:alert(1) data:text/html,<b>x</b> file:///etc/passwd'), []);
	assert.deepEqual(urls('vbscript:x ftp://example.org'), []);
	assert.deepEqual(urls('http:// alone, https://.'), []);
	assert.deepEqual(urls('xhttps://example.org'), []);        // not at a word start
	assert.deepEqual(urls('mailto:'), []);
});

test('the parts give the text back', () => {
	for (const s of ['', 'no links', 'https://a.example', 'a https://b.example/c. d mailto:e@f.example',
		'http://\u00e4.example/\u00fc?x=\u20ac end', 'x'.repeat(10000) + ' http://y.example'])
		assert.equal(join(linkParts(s)), s);
});

test('random input: parts join to the input, links only of the three schemes', () => {
	const alphabet = ['h', 't', 'p', 's', ':', '/', '.', ' ', '\n', 'm', 'a', 'i', 'l', 'o',
		'x', ')', '"', '<', '>', '\u00e9', 'https://', 'mailto:', 'javascript:', 'http://e.x'];
	let seed = 12345;
	const rnd = (n) => {
		seed = (seed * 1103515245 + 12345) & 0x7fffffff;
		return seed % n;
	};
	for (let i = 0; i < 3000; i++) {
		let s = '';
		for (let k = rnd(40); k > 0; k--)
			s += alphabet[rnd(alphabet.length)];
		const parts = linkParts(s);
		assert.equal(join(parts), s, JSON.stringify(s));
		for (const p of parts)
			if (p.url)
				assert.match(p.url, /^(https?:\/\/[^/?#\s]|mailto:\S)/i, JSON.stringify(s));
	}
});
