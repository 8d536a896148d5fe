// sanitize.mjs: web/js/sanitize.mjs (layer one of the HTML mail defence, contract C6)
// over hostile HTML in the real browser: known XSS and remote-load vectors and random
// mixes of their pieces. Each output is parsed again (what the frame will parse: this
// catches mutation XSS, where serializing and parsing again changes the tree) and
// checked for what must never be there; then every output is shown the way the reader
// shows it (sandboxed srcdoc frames) while the test's request log listens for loads.

function check(html, allowRemote, frameCsp) {
	const bad = [];
	const doc = new DOMParser().parseFromString(html, 'text/html');
	const metas = [...doc.querySelectorAll('meta')];
	if (metas.length !== 3 || doc.head.firstElementChild !== metas[0] ||
		metas[1].getAttribute('content') !== frameCsp)
		bad.push('metas: ' + metas.map((m) => m.outerHTML).join(''));
	for (const tag of ['script', 'iframe', 'frame', 'object', 'embed', 'form', 'base', 'link',
		'applet', 'portal', 'noscript', 'template'])
		if (doc.querySelector(tag))
			bad.push('tag ' + tag);
	const remote = /^\s*(https?:)?\/\//i;
	for (const e of doc.querySelectorAll('*')) {
		for (const a of e.attributes) {
			const n = a.name.toLowerCase(), v = a.value;
			if (n.startsWith('on'))
				bad.push(`handler ${e.tagName} ${n}`);
			if (/^\s*(javascript|vbscript|livescript)\s*:/i.test(v.replace(/[\u0000-\u0020]/g, '')) &&
				!n.startsWith('data-kasten-'))
				bad.push(`script url ${e.tagName} ${n}=${v}`);
			if (n === 'http-equiv' && e.tagName !== 'META')
				bad.push('http-equiv');
			if (allowRemote || n.startsWith('data-kasten-'))
				continue;
			const isLink = (e.tagName === 'A' || e.tagName === 'AREA') && n === 'href';
			if (!isLink && ['src', 'href', 'xlink:href', 'background', 'poster', 'action', 'formaction',
				'data', 'code', 'codebase', 'cite', 'longdesc', 'usemap', 'lowsrc', 'dynsrc'].includes(n) &&
				remote.test(v))
				bad.push(`remote ${e.tagName} ${n}=${v}`);
			if (n === 'srcset' && /(https?:)?\/\//i.test(v))
				bad.push(`remote srcset ${v}`);
			if (n === 'style' && /url\s*\(\s*['"]?\s*(https?:)?\/\//i.test(v))
				bad.push(`remote style ${v}`);
		}
		if (!allowRemote && e.tagName === 'STYLE' &&
			(/@import/i.test(e.textContent) || /url\s*\(\s*['"]?\s*(https?:)?\/\//i.test(e.textContent)))
			bad.push('remote <style> ' + e.textContent.slice(0, 80));
	}
	return bad;
}

export async function sanitizeCorpus(page, h) {
	const { vectors, remote, rounds } = h.params;
	await page.goto(h.base + '/');
	await page.waitForSelector('[data-testid=login-username]');
	const out = await page.evaluate(async ([vectors, remote, rounds, checkSrc]) => {
		const check = new Function('return ' + checkSrc)();
		const { sanitizeMail, frameCsp } = await import('/web/js/sanitize.mjs');
		const inputs = vectors.map((v) => v.replaceAll('{R}', remote));
		// random mixes: pieces of the vectors cut at random places, joined
		let seed = 7;
		const rnd = (n) => {
			seed = (seed * 1103515245 + 12345) & 0x7fffffff;
			return seed % n;
		};
		for (let i = 0; i < rounds; i++) {
			let s = '';
			for (let k = 1 + rnd(4); k > 0; k--) {
				const v = inputs[rnd(inputs.length)];
				const a = rnd(v.length), b = a + rnd(v.length - a + 1);
				s += rnd(3) ? v : v.slice(a, b);
			}
			inputs.push(s);
		}
		const failures = [];
		const docs = [];
		for (const html of inputs) {
			for (const allow of [false, true]) {
				let r;
				try {
					r = sanitizeMail(html, { allowRemote: allow, cid: new Map() });
				} catch (e) {
					failures.push({ html, allow, bad: ['threw ' + e] });
					continue;
				}
				const bad = check(r.html, allow, frameCsp(allow));
				if (bad.length)
					failures.push({ html, allow, bad });
				if (!allow && docs.length < vectors.length)
					docs.push(r.html); // the known vectors are shown; the mixes only checked
			}
		}
		// shown as the reader shows them; every frame loaded = every load it started
		await Promise.all(docs.map((d) => new Promise((resolve) => {
			const f = document.createElement('iframe');
			f.setAttribute('sandbox', 'allow-popups allow-popups-to-escape-sandbox');
			f.addEventListener('load', resolve, { once: true });
			f.srcdoc = d;
			document.body.append(f);
		})));
		return { failures: failures.slice(0, 20), nFailures: failures.length, checked: inputs.length,
			pwned: window.__e2ePwned ?? null };
	}, [vectors, remote, rounds, check.toString()]);
	await h.sync('rendered');
	return out;
}
