// The devices page's User-Agent labels (web/js/useragent.mjs): real agents of the
// common browsers, what is not a browser left alone, random input never throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUserAgent, clientLabel } from '../../web/js/useragent.mjs';

const t = (k, p) => `${p.browser} on ${p.os}`;

const AGENTS = [
	['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87', 'Edge 126 on Windows'],
	['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox 128 on Windows'],
	['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', 'Safari 17 on macOS'],
	['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'Safari 17 on iOS'],
	['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1', 'Chrome 126 on iOS'],
	['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36', 'Chrome 126 on Android'],
	['Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36', 'Samsung Internet 25 on Android'],
	['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36', 'Chrome (headless) 156 on Linux'],
	['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36', 'Chrome 126 on ChromeOS'],
	['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0', 'Opera 111 on Windows'],
];

test('common browsers are named with their major version and system', () => {
	for (const [ua, want] of AGENTS)
		assert.equal(clientLabel(ua, t), want, ua);
});

test('what is not a browser stays as it is', () => {
	for (const c of ['Thunderbird 115.3.1', 'K-9 Mail', 'curl/8.5.0', 'Mozilla/5.0 (compatible)',
		'Mozilla/5.0 (X11) Gecko', ''])
		assert.equal(clientLabel(c, t), c);
	assert.equal(parseUserAgent(null), null);
	assert.equal(clientLabel(null, t), null);
	// a browser whose system is not named: the browser alone
	assert.equal(clientLabel('Mozilla/5.0 Firefox/99.0', t), 'Firefox 99');
});

test('random input never throws and a 128-byte agent takes no time', () => {
	const alphabet = 'Mozilla/5.0 ()Firefox/Chrome/Version/Safari;Windows NTLinux0123456789.\\';
	let seed = 7;
	const rnd = (n) => {
		seed = (seed * 1103515245 + 12345) & 0x7fffffff;
		return seed % n;
	};
	for (let i = 0; i < 20000; i++) {
		let s = rnd(2) ? 'Mozilla/' : '';
		const len = rnd(128);
		for (let k = 0; k < len; k++)
			s += alphabet[rnd(alphabet.length)];
		const label = clientLabel(s, t);
		assert.equal(typeof label, 'string');
	}
	const t0 = performance.now();
	clientLabel('Mozilla/' + 'Version/1 '.repeat(12) + 'x', t);
	assert.ok(performance.now() - t0 < 50);
});
