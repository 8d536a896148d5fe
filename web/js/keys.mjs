// keys.mjs: keyboard shortcuts. The shell's own: c compose, / search, ? this help.
// The rest go to the current view's onKey(app, event) (views/list.mjs: j/k, o/Enter, u,
// r, a, f, #/Delete, s, Shift+I, Shift+U). Keys typed into a field are the field's;
// a key with Ctrl, Alt or Meta is the browser's.
import { el } from './ui.mjs';

export const SHORTCUTS = [
	['j', 'keys.next'], ['k', 'keys.prev'], ['o / Enter', 'keys.open'], ['u', 'keys.back'],
	['r', 'keys.reply'], ['a', 'keys.replyall'], ['f', 'keys.forward'], ['c', 'keys.compose'],
	['# / Delete', 'keys.delete'], ['s', 'keys.flag'], ['Shift+I', 'keys.read'],
	['Shift+U', 'keys.unread'], ['/', 'keys.search'], ['?', 'keys.help'],
];

function typing(target) {
	return target instanceof Element &&
		(target.closest('input, textarea, select, [contenteditable=""], [contenteditable=true]') !== null);
}

function showHelp(app) {
	const old = document.querySelector('[data-testid=keys-help]');
	if (old) {
		old.close();
		return;
	}
	const d = el('dialog', { class: 'dialog keys-help', testid: 'keys-help',
		attrs: { 'aria-labelledby': 'keys-title' } },
	el('h2', { id: 'keys-title', text: app.t('keys.title') }),
	el('dl', {}, SHORTCUTS.map(([k, key]) => [el('dt', {}, el('kbd', { text: k })),
		el('dd', { text: app.t(key) })])),
	el('form', { method: 'dialog' }, el('button', { type: 'submit', class: 'primary',
		text: app.t('keys.close') })));
	d.addEventListener('close', () => d.remove());
	document.body.append(d);
	d.showModal();
}

export function installKeys(app, currentModule) {
	document.addEventListener('keydown', ev => {
		if (ev.ctrlKey || ev.altKey || ev.metaKey || ev.defaultPrevented || !app.session)
			return;
		if (typing(ev.target) || document.querySelector('dialog[open]'))
			return;
		// Enter on a focused button or link is that control's, not "open message"
		if (ev.key === 'Enter' && ev.target instanceof Element &&
			ev.target.closest('button, a[href], summary, [role=button], [role=menuitem]'))
			return;
		let used = true;
		if (ev.key === '?')
			showHelp(app);
		else if (ev.key === '/') {
			const s = document.getElementById('search');
			if (s) {
				s.focus();
				s.select();
			}
		} else if (ev.key === 'c') {
			if (!location.hash.startsWith('#/compose')) // never over a message being written
				app.navigate('#/compose');
		} else {
			const mod = currentModule();
			used = !!(mod && mod.onKey && mod.onKey(app, ev));
		}
		if (used)
			ev.preventDefault();
	});
}
