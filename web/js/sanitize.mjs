// sanitize.mjs: a message's HTML made safe to show (views/reader.mjs), layer one of two.
//
// Layer one, here: DOMPurify (a fresh instance per message, so hooks never leak between
// messages) removes scripts, event handlers, javascript:/data: links, forms, frames,
// <meta>/<link>/<base> and the rest of what can run or navigate; our hooks then make every
// remote reference inert until the user allows remote content for this message: src,
// srcset, background, poster and SVG href of http(s) URLs move to data-kasten-* attributes
// (nothing fetches those), url(...) in style attributes and <style> sheets becomes
// url(about:invalid) and @import goes. cid: references (RFC 2392) become the data: URLs of
// the message's own parts. Links get target=_blank and rel=noopener noreferrer.
// Layer two, in the frame: the document carries its own CSP (frameCsp) and the iframe is
// sandboxed without allow-scripts, so whatever slipped past layer one still cannot run,
// and no remote image loads until allowed (img-src data: only, http(s) only when allowed).
import DOMPurify from '../vendor/purify.es.mjs';

const REMOTE = /^\s*(https?:)?\/\//i;
const CID = /^\s*cid:/i;
const URL_IN_CSS = /url\(\s*(['"]?)(.*?)\1\s*\)/gi;
const IMPORT_IN_CSS = /@import\b[^;]*;?/gi;
const URL_ATTRS = ['src', 'background', 'poster', 'href', 'xlink:href'];

export function frameCsp(allowRemote) {
	return "default-src 'none'; script-src 'none'; object-src 'none'; " +
		"style-src 'unsafe-inline'; font-src data:; img-src data:" +
		(allowRemote ? ' http: https:' : '') + "; media-src data:; form-action 'none'; base-uri 'none'";
}

function cidKey(url) {
	let v = url.trim().slice(4);
	try {
		v = decodeURIComponent(v);
	} catch (e) {
		// as it is
	}
	return v.replace(/^<|>$/g, '').toLowerCase();
}

// url(...) references in CSS text: cid: resolved, remote ones inert unless allowed.
function rewriteCss(css, opts, state) {
	if (!opts.allowRemote && IMPORT_IN_CSS.test(css)) {
		state.remote = true;
	}
	css = css.replace(IMPORT_IN_CSS, '');
	return css.replace(URL_IN_CSS, (m, q, url) => {
		if (CID.test(url)) {
			const d = opts.cid.get(cidKey(url));
			return d ? `url("${d}")` : 'url(about:invalid)';
		}
		if (/^\s*data:image\//i.test(url))
			return m;
		if (REMOTE.test(url)) {
			if (opts.allowRemote && /^\s*https?:/i.test(url))
				return m;
			state.remote = true;
		}
		return 'url(about:invalid)';
	});
}

function rewriteUrlAttr(node, name, opts, state) {
	const v = node.getAttribute(name);
	if (v === null)
		return;
	const tag = node.nodeName.toLowerCase();
	if (name.endsWith('href') && tag === 'a') {
		node.setAttribute('target', '_blank');
		node.setAttribute('rel', 'noopener noreferrer');
		return;
	}
	if (name.endsWith('href') && tag === 'area')
		return;
	if (CID.test(v)) {
		const d = opts.cid.get(cidKey(v));
		if (d)
			node.setAttribute(name, d);
		else
			node.removeAttribute(name);
		return;
	}
	if (/^\s*data:/i.test(v))
		return;
	if (REMOTE.test(v) && /^\s*https?:/i.test(v) && opts.allowRemote)
		return;
	if (REMOTE.test(v)) {
		state.remote = true;
		node.setAttribute('data-kasten-' + name.replace(':', '-'), v);
	}
	// relative URLs would point at our own server: never useful, never fetched
	node.removeAttribute(name);
}

// {html: a whole document for the frame's srcdoc, remote: whether remote content was
// held back}. opts: {allowRemote: bool, cid: Map(lower-case content-id -> data: URL)}.
export function sanitizeMail(html, opts) {
	const state = { remote: false };
	const purify = DOMPurify(window);
	purify.addHook('afterSanitizeAttributes', node => {
		for (const a of URL_ATTRS)
			if (node.hasAttribute && node.hasAttribute(a))
				rewriteUrlAttr(node, a, opts, state);
		if (node.hasAttribute && node.hasAttribute('srcset')) {
			if (opts.allowRemote && !/(^|,)\s*(?!https?:)[a-z][a-z0-9+.-]*:/i.test(node.getAttribute('srcset')))
				return;
			state.remote = true;
			node.setAttribute('data-kasten-srcset', node.getAttribute('srcset'));
			node.removeAttribute('srcset');
		}
		if (node.hasAttribute && node.hasAttribute('style'))
			node.setAttribute('style', rewriteCss(node.getAttribute('style'), opts, state));
	});
	purify.addHook('uponSanitizeElement', (node, data) => {
		if (data.tagName === 'style' && node.textContent)
			node.textContent = rewriteCss(node.textContent, opts, state);
	});
	const doc = purify.sanitize(html, {
		WHOLE_DOCUMENT: true,
		RETURN_DOM: true,
		FORBID_TAGS: ['form', 'input', 'button', 'textarea', 'select', 'option', 'iframe', 'frame',
			'frameset', 'object', 'embed', 'applet', 'base', 'link', 'meta', 'portal', 'template'],
		FORBID_ATTR: ['action', 'formaction', 'ping', 'http-equiv'],
		ADD_ATTR: ['target'],
		ALLOW_UNKNOWN_PROTOCOLS: false,
	});
	// doc is the <html> element of the sanitized document
	let head = doc.querySelector('head');
	if (!head) {
		head = document.createElement('head');
		doc.prepend(head);
	}
	const meta = document.createElement('meta');
	meta.setAttribute('http-equiv', 'Content-Security-Policy');
	meta.setAttribute('content', frameCsp(opts.allowRemote));
	const charset = document.createElement('meta');
	charset.setAttribute('charset', 'utf-8');
	const referrer = document.createElement('meta');
	referrer.setAttribute('name', 'referrer');
	referrer.setAttribute('content', 'no-referrer');
	head.prepend(charset, meta, referrer);
	return { html: '<!DOCTYPE html>' + doc.outerHTML, remote: state.remote };
}
