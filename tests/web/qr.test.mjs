// The settings page's QR code (web/js/qr.mjs) over the pinned qrcode-generator: the
// path has the three finder patterns (ISO/IEC 18004 6.3.3) where a reader looks for
// them, a quiet zone, and grows with the text. Run: node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import qrcode from '../../web/node_modules/qrcode-generator/dist/qrcode.mjs';
import { qrPath, QUIET } from '../../web/js/qr.mjs';

// The dark modules of a path as a Set of "col,row" (path squares are "Mc rh1v1h-1z").
function darkSet(d) {
	const s = new Set();
	for (const m of d.matchAll(/M(\d+) (\d+)h1v1h-1z/g))
		s.add(`${m[1] - QUIET},${m[2] - QUIET}`);
	return s;
}

// A finder pattern at (c0, r0): a dark 7x7 ring, a light ring, a dark 3x3 core.
function finderAt(dark, c0, r0) {
	for (let r = 0; r < 7; r++)
		for (let c = 0; c < 7; c++) {
			const ring = Math.max(Math.abs(r - 3), Math.abs(c - 3));
			const want = ring !== 2;
			if (dark.has(`${c0 + c},${r0 + r}`) !== want)
				return false;
		}
	return true;
}

test('finder patterns in three corners, nothing in the quiet zone', () => {
	const url = 'https://mail.example.org:8443/mobileconfig?address=anna%40example.org';
	const { size, d, modules } = qrPath(qrcode, url);
	assert.equal(size, modules + 2 * QUIET);
	assert.equal((modules - 17) % 4, 0); // version v has 17 + 4v modules
	const dark = darkSet(d);
	assert.ok(finderAt(dark, 0, 0));
	assert.ok(finderAt(dark, modules - 7, 0));
	assert.ok(finderAt(dark, 0, modules - 7));
	assert.ok(!finderAt(dark, modules - 7, modules - 7));
	for (const k of dark) {
		const [c, r] = k.split(',').map(Number);
		assert.ok(c >= 0 && r >= 0 && c < modules && r < modules, k);
	}
});

test('a longer text takes a larger version', () => {
	const small = qrPath(qrcode, 'https://a.example/m').modules;
	const large = qrPath(qrcode, 'https://a.example/m?' + 'x'.repeat(300)).modules;
	assert.ok(large > small);
});
