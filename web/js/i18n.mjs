// i18n.mjs: the UI's strings. t(key, params) looks key up in the table of the page's
// language (German when the browser prefers it to English, else English; the first of
// navigator.languages that we have wins) and fills {name} placeholders from params.
// A key missing in German falls back to English, a key missing in both shows the key
// (a visible bug, never an empty label). Strings are inserted as text, never as HTML.
import en from './i18n_en.mjs';
import de from './i18n_de.mjs';

const TABLES = { en, de };

export function pickLanguage(languages) {
	for (const l of languages || []) {
		const base = String(l).toLowerCase().split('-')[0];
		if (base in TABLES)
			return base;
	}
	return 'en';
}

export const lang = pickLanguage(typeof navigator !== 'undefined' &&
	(navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language]));

if (typeof document !== 'undefined')
	document.documentElement.lang = lang;

export function t(key, params) {
	const s = (TABLES[lang] && TABLES[lang][key]) ?? en[key] ?? key;
	if (!params)
		return s;
	return s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}
