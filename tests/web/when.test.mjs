// Sizes and times on the pages (web/js/when.mjs), English and German.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSize, formatRelative, formatAbsolute, toDate } from '../../web/js/when.mjs';

// ICU puts no-break spaces between number and unit; the words are what is checked
const sp = (s) => s.replace(/\s/g, ' ');

test('sizes in binary multiples', () => {
	assert.equal(sp(formatSize(0, 'en')), '0 bytes');
	assert.equal(sp(formatSize(1023, 'en')), '1,023 bytes');
	assert.equal(sp(formatSize(1, 'de')), '1 Byte');
	assert.equal(sp(formatSize(1024, 'en')), '1 kB');
	assert.equal(sp(formatSize(1536, 'en')), '1.5 kB');
	assert.equal(sp(formatSize(5 * 1024 * 1024, 'de')), '5 MB');
	assert.equal(sp(formatSize(1.25 * 1024 ** 3, 'de')), '1,3 GB');
	assert.equal(sp(formatSize(200 * 1024, 'en')), '200 kB');
});

test('relative times', () => {
	const now = Date.parse('2026-03-10T12:00:00Z');
	assert.equal(sp(formatRelative('2026-03-10T11:59:30Z', 'en', now)), '30 seconds ago');
	assert.equal(sp(formatRelative('2026-03-09T12:00:00Z', 'en', now)), 'yesterday');
	assert.equal(sp(formatRelative('2026-03-07T12:00:00Z', 'de', now)), 'vor 3 Tagen');
	assert.equal(sp(formatRelative(now / 1000 - 7200, 'en', now)), '2 hours ago');
	assert.equal(sp(formatRelative(null, 'en', now)), '');
});

test('absolute times and what is not a date', () => {
	assert.ok(formatAbsolute('2026-03-10T12:00:00Z', 'en').includes('2026'));
	assert.equal(formatAbsolute('not a date', 'en'), '');
	assert.equal(toDate(''), null);
	assert.equal(toDate(0).getTime(), 0);
});
