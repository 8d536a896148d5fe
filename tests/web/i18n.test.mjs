// The UI's strings (web/js/i18n.mjs): the language from the browser's list, placeholders,
// and the two tables having the same keys and the same placeholders in each string
// (a German string that lost a {count} would show a wrong sentence).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickLanguage, t } from '../../web/js/i18n.mjs';
import en from '../../web/js/i18n_en.mjs';
import de from '../../web/js/i18n_de.mjs';

test('the first language we have wins', () => {
	assert.equal(pickLanguage(['de-AT', 'en-US']), 'de');
	assert.equal(pickLanguage(['fr-FR', 'de']), 'de');
	assert.equal(pickLanguage(['en-GB', 'de-DE']), 'en');
	assert.equal(pickLanguage(['fr', 'it']), 'en');
	assert.equal(pickLanguage([]), 'en');
	assert.equal(pickLanguage(undefined), 'en');
	assert.equal(pickLanguage(['DE']), 'de');
});

test('placeholders are filled, unknown ones and keys stay visible', () => {
	assert.equal(t('quota.usage', { used: '1 MB', quota: '2 MB' }), en['quota.usage']
		.replace('{used}', '1 MB').replace('{quota}', '2 MB'));
	assert.equal(t('no.such.key'), 'no.such.key');
	assert.equal(t('list.range', { from: 1 }), en['list.range'].replace('{from}', '1'));
});

const holders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('en and de have the same keys and placeholders', () => {
	assert.deepEqual(Object.keys(de).sort(), Object.keys(en).sort());
	for (const k of Object.keys(en)) {
		assert.equal(typeof en[k], 'string', k);
		assert.ok(en[k].length > 0 && de[k].length > 0, k);
		assert.deepEqual(holders(de[k]), holders(en[k]), k);
	}
});
