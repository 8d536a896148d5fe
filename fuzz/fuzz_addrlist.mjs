// fuzz_addrlist.mjs: a fuzz target for the compose page's address parser
// (web/js/addrlist.mjs), the one parser of the webmail that reads what a person types.
// JavaScript has no libFuzzer, so this is a small mutation fuzzer of the same shape:
// the seeds of fuzz/corpus/addrlist/, mutated (bytes from the grammar's specials,
// inserted, deleted, replaced, spliced, repeated up to past the bounds) for
// FUZZ_SECONDS (default 10). Each input must: not throw; return only valid addresses;
// survive format -> parse unchanged (when the formatted one fits LIST_MAX); stay within
// ITEMS_MAX addresses; take < 1 s (a quadratic path takes far longer; a loaded machine not).
// A failing input is written to fuzz/crash-addrlist-<n> (ignored by git) and the run
// exits 1. Run: node fuzz/fuzz_addrlist.mjs [seconds]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
	parseAddressList, formatAddress, isValidEmail, ITEMS_MAX, LIST_MAX,
} from '../web/js/addrlist.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const corpusDir = join(here, 'corpus', 'addrlist');
const seconds = Number(process.argv[2] || process.env.FUZZ_SECONDS || 10);
const seeds = readdirSync(corpusDir).map((f) => readFileSync(join(corpusDir, f), 'utf8'));
const SPECIALS = ['@', '<', '>', '"', ',', ';', '(', ')', '\\', '.', ' ', '\t', '\r\n', 'ä',
	'\u0000', '\ud800', 'a', 'Z', '-', '+', '[', ']', ':', '@example.org', '"x"', '\u{1f600}'];

const seed = Number(process.env.FUZZ_SEED || Date.now()) >>> 0;
let state = seed || 1;
function rnd(n) {
	// xorshift32: a reproducible stream from FUZZ_SEED
	state ^= state << 13;
	state ^= state >>> 17;
	state ^= state << 5;
	state >>>= 0;
	return state % n;
}

function mutate(s) {
	const rounds = 1 + rnd(8);
	for (let i = 0; i < rounds; i++) {
		const at = s.length ? rnd(s.length + 1) : 0;
		switch (rnd(6)) {
		case 0: s = s.slice(0, at) + SPECIALS[rnd(SPECIALS.length)] + s.slice(at); break;
		case 1: s = s.slice(0, at) + s.slice(at + 1 + rnd(4)); break;
		case 2: s = s.slice(0, at) + String.fromCharCode(rnd(0x3000)) + s.slice(at + 1); break;
		case 3: s = s + (rnd(2) ? ',' : ';') + seeds[rnd(seeds.length)]; break;
		case 4: s = s.slice(0, at) + s.slice(rnd(s.length + 1)); break;
		default:
			// now and then past the bounds: many items, or a very long list
			if (rnd(50) === 0)
				s = (s + ',').repeat(1 + rnd(ITEMS_MAX + 10)).slice(0, LIST_MAX + 100);
		}
	}
	return s;
}

function check(input) {
	const t0 = performance.now();
	const r = parseAddressList(input);
	const ms = performance.now() - t0;
	if (ms > 1000)
		throw new Error(`slow: ${ms.toFixed(0)} ms`);
	if (r.addresses.length > ITEMS_MAX)
		throw new Error(`${r.addresses.length} addresses`);
	for (const a of r.addresses) {
		if (!isValidEmail(a.email))
			throw new Error('invalid address returned: ' + JSON.stringify(a).slice(0, 400));
		// quoting can make a name that fit longer than LIST_MAX: a list the parser
		// refuses whole, by design
		const text = formatAddress(a);
		if (text.length > LIST_MAX)
			continue;
		const back = parseAddressList(text);
		if (back.errors.length || back.addresses.length !== 1 || back.addresses[0].email !== a.email)
			throw new Error('no round trip: ' + JSON.stringify([a, back]).slice(0, 400));
	}
}

const end = Date.now() + seconds * 1000;
let runs = 0, crashes = 0;
const pool = seeds.slice();
while (Date.now() < end) {
	const input = runs < seeds.length ? seeds[runs] : mutate(pool[rnd(pool.length)]);
	try {
		check(input);
	} catch (e) {
		const out = join(here, `crash-addrlist-${crashes++}`);
		writeFileSync(out, input);
		console.error(`fuzz_addrlist: ${e.message}\ninput written to ${out} (FUZZ_SEED=${seed})`);
		process.exit(1);
	}
	if (pool.length < 1000 && rnd(20) === 0)
		pool.push(input);
	runs++;
}
console.log(`fuzz_addrlist: ${runs} runs in ${seconds} s, no failure (FUZZ_SEED=${seed})`);
