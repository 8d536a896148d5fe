// pages.mjs: what the compose, clean-up, devices and settings pages share: their
// style sheet (web/css/pages.css, linked once on first use: the page's CSP allows
// style sheets from 'self', never inline style), the plain text of an HTML body for
// quoting, and plural forms of the UI's strings.

let styled = null;

// Resolves once the sheet is in (or failed: the page still works unstyled), so a view
// that awaits it never shows, nor gets screenshot, without its styles.
export function pageStyles() {
	if (styled)
		return styled;
	const link = document.createElement('link');
	link.rel = 'stylesheet';
	link.href = '/web/css/pages.css';
	styled = new Promise((resolve) => {
		link.addEventListener('load', resolve);
		link.addEventListener('error', resolve);
	});
	document.head.append(link);
	return styled;
}

// The text a reader sees in an HTML body, line breaks where blocks end. DOMParser makes
// an inert document: no script in it runs and nothing it names is fetched.
const BLOCKS = new Set(['P', 'DIV', 'LI', 'TR', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6',
	'BLOCKQUOTE', 'PRE', 'TABLE', 'UL', 'OL', 'SECTION', 'ARTICLE', 'HEADER', 'FOOTER']);

export function htmlToText(html) {
	const doc = new DOMParser().parseFromString(html, 'text/html');
	for (const n of doc.querySelectorAll('script, style, head, template'))
		n.remove();
	let out = '';
	const walk = (node) => {
		for (const c of node.childNodes) {
			if (c.nodeType === Node.TEXT_NODE)
				out += c.nodeValue.replace(/\s+/g, ' ');
			else if (c.nodeName === 'BR')
				out += '\n';
			else if (c.nodeType === Node.ELEMENT_NODE) {
				const block = BLOCKS.has(c.nodeName);
				if (block && out && !out.endsWith('\n'))
					out += '\n';
				walk(c);
				if (block && !out.endsWith('\n'))
					out += '\n';
			}
		}
	};
	walk(doc.body || doc.documentElement);
	return out.split('\n').map((l) => l.trim()).join('\n').replace(/\n{3,}/g, '\n\n').trim();
}

// t() with the plural form of count (Intl.PluralRules of the page's language): the
// table's "key.one" when count is one of "one", else key itself ("{count} messages").
export function tn(t, key, count, params) {
	const cat = new Intl.PluralRules(document.documentElement.lang || 'en').select(count);
	const k = key + '.' + cat;
	const s = t(k, { count, ...params });
	return s === k ? t(key, { count, ...params }) : s;
}
