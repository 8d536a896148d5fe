// ui.mjs: small DOM helpers for the views. Everything a view shows is built from
// elements and text nodes; nothing here ever parses a string as HTML (the CSP allows no
// inline script, and text from mail is text). Message HTML goes only through the
// sanitizer into the sandboxed frame (views/reader.mjs).

// el('button', {class: 'x', testid: 'compose', dataset: {id: 1}, on: {click: f},
//    attrs: {'aria-label': '…'}, text: '…'}, child, …): an element. Other keys of the
// props object are set as properties (type, value, checked, href, title, disabled, …).
export function el(tag, props, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(props || {})) {
		if (v === undefined || v === null)
			continue;
		if (k === 'class')
			e.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
		else if (k === 'text')
			e.textContent = v;
		else if (k === 'testid')
			e.dataset.testid = v;
		else if (k === 'dataset') {
			for (const [dk, dv] of Object.entries(v)) {
				if (dv !== undefined && dv !== null)
					e.dataset[dk] = String(dv);
			}
		} else if (k === 'on') {
			for (const [ev, fn] of Object.entries(v))
				e.addEventListener(ev, fn);
		} else if (k === 'attrs') {
			for (const [ak, av] of Object.entries(v)) {
				if (av !== undefined && av !== null && av !== false)
					e.setAttribute(ak, av === true ? '' : String(av));
			}
		} else
			e[k] = v;
	}
	append(e, ...children);
	return e;
}

// Append children: nodes, strings (as text), arrays of those; null/false skipped.
export function append(parent, ...children) {
	for (const c of children.flat(Infinity)) {
		if (c === null || c === undefined || c === false)
			continue;
		parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return parent;
}

export function clear(node) {
	node.replaceChildren();
	return node;
}

export function $(sel, root = document) {
	return root.querySelector(sel);
}

export function $$(sel, root = document) {
	return Array.from(root.querySelectorAll(sel));
}

// A short message at the bottom of the screen (role=status: read out by screen readers).
let toastTimer = null;
export function toast(text, kind = 'info') {
	let box = document.getElementById('toast');
	if (!box) {
		box = el('div', { id: 'toast', attrs: { role: 'status', 'aria-live': 'polite' } });
		document.body.append(box);
	}
	box.className = 'toast ' + kind;
	box.textContent = text;
	box.hidden = false;
	clearTimeout(toastTimer);
	toastTimer = setTimeout(() => { box.hidden = true; }, 5000);
}

// A modal yes/no question (<dialog>: focus trapped, Escape cancels); resolves a boolean.
export function confirmDialog(text, okLabel, cancelLabel, testid = 'confirm') {
	return new Promise(resolve => {
		const ok = el('button', { type: 'submit', value: 'ok', class: 'primary',
			testid: testid + '-ok', text: okLabel });
		const d = el('dialog', { class: 'dialog', testid },
			el('form', { method: 'dialog' },
				el('p', { text }),
				el('div', { class: 'dialog-buttons' },
					el('button', { type: 'submit', value: 'cancel', testid: testid + '-cancel',
						text: cancelLabel }),
					ok)));
		d.addEventListener('close', () => {
			resolve(d.returnValue === 'ok');
			d.remove();
		});
		document.body.append(d);
		d.showModal();
		ok.focus();
	});
}

// Marks the app as idle for the browser tests: body[data-state="ready"] once a view has
// rendered; "loading" while one is on its way.
export function setState(state) {
	document.body.dataset.state = state;
}

// "Anna <anna@x>" for one JMAP EmailAddress, the name alone when there is one.
export function addressName(a) {
	if (!a)
		return '';
	return a.name || a.email || '';
}

export function addressFull(a) {
	if (!a)
		return '';
	return a.name ? `${a.name} <${a.email}>` : a.email || '';
}
