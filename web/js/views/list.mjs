// list.mjs: the message list of a mailbox (#/mailbox/<id>) or of a search over all
// mailboxes (#/search/<text>), with the reader (reader.mjs) in the pane beside it
// (#/…/email/<id>). Email/query (RFC 8621 4.4) 50 at a time with Email/get of the page
// by result reference in the same request; sort by date, sender or size; conversations
// (collapseThreads, Thread/get to expand one); multi-select with checkboxes (Shift+click
// for a range); the actions of the toolbar work on the selection, or on the open
// message when nothing is selected. A push 'change' runs the query again, so new mail
// shows up and mail removed elsewhere (a POP3 client's DELE) goes away without reload.
import { el, clear, $, $$ } from '../ui.mjs';
import { LIST_PROPERTIES, messageRow } from '../rows.mjs';
import { DRAG_TYPE, setSeen, setFlagged, moveEmails, deleteEmails, junkEmails, notJunkEmails,
	emptyTrash } from '../actions.mjs';
import { mailboxLabel } from '../shell.mjs';
import * as reader from './reader.mjs';

export const PAGE = 50;
const SORTS = {
	date: { property: 'receivedAt', isAscending: false },
	from: { property: 'from', isAscending: true },
	size: { property: 'size', isAscending: false },
};
const SORT_OPTION = { date: 'receivedAt', from: 'from', size: 'size' };

// view state: one list at a time
const st = {
	key: null, mailboxId: null, search: null, position: 0, total: 0,
	sort: 'date', threads: false,
	ids: [], emails: new Map(), threadSize: new Map(), expanded: new Map(),
	selected: new Set(), anchor: null, open: null, cursor: null,
	root: null, rowsEl: null, seq: 0, off: null,
};

function sortAvailable(app, name) {
	const mail = app.session.accounts[app.jmap.accountId].accountCapabilities['urn:ietf:params:jmap:mail'];
	const opts = (mail && mail.emailQuerySortOptions) || [];
	return name === 'date' || opts.includes(SORT_OPTION[name]);
}

function queryArgs(p) {
	const filter = p.search !== undefined && p.search !== null ? { text: p.search } : { inMailbox: p.mailboxId };
	return { filter, sort: [SORTS[p.sort || 'date']], collapseThreads: !!p.threads,
		position: p.position || 0, limit: PAGE, calculateTotal: true };
}

function listCalls(app, p) {
	return [
		['Email/query', queryArgs(p), 'lq'],
		['Email/get', { '#ids': { resultOf: 'lq', name: 'Email/query', path: '/ids' },
			properties: LIST_PROPERTIES }, 'lg'],
		['Thread/get', { '#ids': { resultOf: 'lg', name: 'Email/get', path: '/list/*/threadId' } }, 'lt'],
	];
}

// For main.mjs's first request: the list's calls, and how to take their answers.
export function preloadCalls(app, params) {
	return { calls: listCalls(app, { ...params, sort: st.sort, threads: st.threads }),
		take: res => ({ lq: res.lq, lg: res.lg, lt: res.lt }) };
}

function listKey(p) {
	return p.search !== undefined ? 'search:' + p.search : 'mailbox:' + p.mailboxId;
}

// ---- rendering ----

function targets() {
	if (st.selected.size)
		return Array.from(st.selected);
	if (st.open)
		return [st.open];
	return st.cursor ? [st.cursor] : [];
}

function visibleIds() {
	return $$('[data-testid=message-row]', st.rowsEl).map(r => r.dataset.emailId);
}

function renderRows(app) {
	const rows = [];
	for (const id of st.ids) {
		const e = st.emails.get(id);
		if (!e)
			continue;
		const size = st.threads ? st.threadSize.get(e.threadId) || 1 : 1;
		const kids = st.expanded.get(e.threadId);
		rows.push(messageRow(app, e, { mailboxId: st.mailboxId, showMailbox: st.search !== null,
			selected: st.selected.has(id),
			open: st.open === id, threadSize: size, expanded: !!kids }));
		for (const k of kids || [])
			if (k.id !== id)
				rows.push(messageRow(app, k, { mailboxId: st.mailboxId, child: true,
					selected: st.selected.has(k.id), open: st.open === k.id }));
	}
	clear(st.rowsEl).append(...rows);
	if (!rows.length)
		st.rowsEl.append(el('li', { class: 'empty', testid: 'list-empty',
			text: st.search !== null ? app.t('list.searchEmpty', { text: st.search }) : app.t('list.empty') }));
	const pager = $('.pager', st.root);
	const to = Math.min(st.position + st.ids.length, st.total);
	clear(pager).append(
		el('span', { testid: 'page-range', text: st.total ? app.t('list.range', { from: st.position + 1, to, total: st.total }) : '' }),
		el('button', { type: 'button', testid: 'page-prev', text: app.t('list.prev'), disabled: st.position === 0,
			on: { click: () => page(app, -1) } }),
		el('button', { type: 'button', testid: 'page-next', text: app.t('list.next'), disabled: to >= st.total,
			on: { click: () => page(app, 1) } }));
	const all = $('[data-testid=select-all]', st.root);
	const vis = visibleIds();
	all.checked = vis.length > 0 && vis.every(id => st.selected.has(id));
	all.indeterminate = !all.checked && vis.some(id => st.selected.has(id));
	updateToolbar(app);
}

function updateToolbar(app) {
	const n = targets().length;
	for (const b of $$('.toolbar [data-needs=targets]', st.root))
		b.disabled = n === 0;
	const flagged = targets().some(id => st.emails.get(id)?.keywords?.$flagged ||
		reader.current()?.id === id && reader.current().keywords?.$flagged);
	const fb = $('[data-testid=action-flag]', st.root);
	fb.textContent = app.t(flagged ? 'action.unflag' : 'action.flag');
	fb.setAttribute('aria-pressed', flagged ? 'true' : 'false');
}

async function page(app, dir) {
	st.position = Math.max(0, st.position + dir * PAGE);
	st.selected.clear();
	await load(app);
	st.rowsEl.scrollTop = 0;
}

function take(res) {
	st.ids = res.lq.ids;
	st.total = res.lq.total ?? res.lq.ids.length;
	st.position = res.lq.position;
	st.emails = new Map(res.lg.list.map(e => [e.id, e]));
	st.threadSize = new Map((res.lt ? res.lt.list : []).map(t => [t.id, t.emailIds.length]));
	// a selection of what is gone is no selection
	for (const id of st.selected)
		if (!st.emails.has(id))
			st.selected.delete(id);
}

async function load(app) {
	const seq = ++st.seq;
	const res = await app.jmap.calls(listCalls(app, st));
	if (seq !== st.seq)
		return;
	take(res);
	if (st.total > 0 && st.position >= st.total) { // the last page emptied
		st.position = Math.max(0, Math.floor((st.total - 1) / PAGE) * PAGE);
		return load(app);
	}
	for (const tid of Array.from(st.expanded.keys()))
		await expand(app, tid, true);
	renderRows(app);
	// the open message went away (deleted, moved elsewhere, a POP3 client's DELE): the
	// reader closes rather than show what is no longer here
	if (st.open && !st.emails.has(st.open)) {
		const r = await app.jmap.call('Email/get', { ids: [st.open], properties: ['mailboxIds'] });
		const e = r.list[0];
		if (seq === st.seq && (!e || (st.mailboxId && !e.mailboxIds[st.mailboxId])))
			closeReader(app);
	}
}

async function expand(app, threadId, keep) {
	if (st.expanded.has(threadId) && !keep) {
		st.expanded.delete(threadId);
		return;
	}
	const res = await app.jmap.calls([
		['Thread/get', { ids: [threadId] }, 't'],
		['Email/get', { '#ids': { resultOf: 't', name: 'Thread/get', path: '/list/*/emailIds' },
			properties: LIST_PROPERTIES }, 'g']]);
	const list = res.g.list.sort((a, b) => (b.receivedAt > a.receivedAt) - (b.receivedAt < a.receivedAt));
	st.expanded.set(threadId, list);
	for (const e of list)
		st.emails.set(e.id, e);
}

// ---- the toolbar ----

function moveMenu(app) {
	const list = el('ul', { class: 'move-list', hidden: true, testid: 'move-menu', attrs: { role: 'menu' } });
	const button = el('button', { type: 'button', testid: 'action-move', text: app.t('action.move'),
		dataset: { needs: 'targets' }, attrs: { 'aria-haspopup': 'menu', 'aria-expanded': 'false' } });
	const close = () => {
		list.hidden = true;
		button.setAttribute('aria-expanded', 'false');
	};
	button.addEventListener('click', () => {
		if (!list.hidden)
			return close();
		clear(list).append(...app.sortedMailboxes()
			.filter(({ mailbox }) => mailbox.id !== st.mailboxId)
			.map(({ mailbox, depth }) => el('li', { attrs: { role: 'none' } },
				el('button', { type: 'button', testid: 'move-target', dataset: { mailboxId: mailbox.id, depth },
					attrs: { role: 'menuitem' }, text: mailboxLabel(app, mailbox),
					on: { click: () => {
						close();
						act(app, ids => moveEmails(app, ids, mailbox.id, st.mailboxId));
					} } }))));
		list.hidden = false;
		button.setAttribute('aria-expanded', 'true');
		list.querySelector('button')?.focus();
	});
	list.addEventListener('keydown', ev => {
		if (ev.key === 'Escape') {
			close();
			button.focus();
		}
	});
	const wrap = el('div', { class: 'move-menu' }, button, list);
	// the menu closes when the focus goes anywhere else (a click elsewhere, Tab)
	wrap.addEventListener('focusout', ev => {
		if (!wrap.contains(ev.relatedTarget))
			close();
	});
	return wrap;
}

async function act(app, fn) {
	const ids = targets();
	if (!ids.length)
		return;
	await fn(ids);
	st.selected.clear();
	if (st.rowsEl && st.rowsEl.isConnected)
		renderRows(app); // also when the action was cancelled (a confirm said no)
}

function toolbar(app) {
	const mb = st.mailboxId && app.mailboxes[st.mailboxId];
	const isTrash = mb && mb.role === 'trash';
	const btn = (testid, key, fn) => el('button', { type: 'button', testid, text: app.t(key),
		dataset: { needs: 'targets' }, on: { click: () => act(app, fn) } });
	return el('div', { class: 'toolbar', attrs: { role: 'toolbar', 'aria-label': app.t('list.actions') } },
		el('button', { type: 'button', class: 'back', testid: 'action-back', text: '←',
			attrs: { 'aria-label': app.t('action.back') }, on: { click: () => closeReader(app) } }),
		btn('action-markread', 'action.markread', ids => setSeen(app, ids, true)),
		btn('action-markunread', 'action.markunread', ids => setSeen(app, ids, false)),
		btn('action-flag', 'action.flag', ids => setFlagged(app, ids,
			!ids.some(id => st.emails.get(id)?.keywords?.$flagged))),
		moveMenu(app),
		mb && mb.role === 'junk'
			? btn('action-notjunk', 'action.notjunk', ids => notJunkEmails(app, ids, st.mailboxId))
			: btn('action-junk', 'action.junk', ids => junkEmails(app, ids, st.mailboxId)),
		btn('action-delete', isTrash ? 'action.deleteForever' : 'action.delete',
			ids => deleteEmails(app, ids, st.mailboxId)),
		isTrash ? el('button', { type: 'button', testid: 'empty-trash', text: app.t('action.emptyTrash'),
			on: { click: () => emptyTrash(app) } }) : null);
}

function listHead(app) {
	const sort = el('select', { testid: 'sort-select', id: 'sort-select' },
		...Object.keys(SORTS).filter(s => sortAvailable(app, s)).map(s =>
			el('option', { value: s, text: app.t('list.sort.' + s), selected: s === st.sort })));
	sort.addEventListener('change', () => {
		st.sort = sort.value;
		st.position = 0;
		load(app);
	});
	const threads = el('button', { type: 'button', testid: 'thread-toggle', text: app.t('list.threads'),
		attrs: { 'aria-pressed': st.threads ? 'true' : 'false' } });
	threads.addEventListener('click', () => {
		st.threads = !st.threads;
		st.expanded.clear();
		st.position = 0;
		threads.setAttribute('aria-pressed', st.threads ? 'true' : 'false');
		load(app);
	});
	const all = el('input', { type: 'checkbox', testid: 'select-all', attrs: { 'aria-label': app.t('list.selectAll') } });
	all.addEventListener('change', () => {
		for (const id of visibleIds())
			if (all.checked)
				st.selected.add(id);
			else
				st.selected.delete(id);
		renderRows(app);
	});
	const mb = st.mailboxId && app.mailboxes[st.mailboxId];
	const title = st.search !== null ? app.t('list.searchTitle', { text: st.search }) : mb ? mailboxLabel(app, mb) : '';
	return el('div', { class: 'list-head toolbar' }, all,
		el('h2', { testid: 'list-title', text: title }), el('span', { class: 'spacer' }),
		el('label', { class: 'visually-hidden', attrs: { for: 'sort-select' }, text: app.t('list.sort') }),
		sort, threads);
}

function onRowsClick(app, ev) {
	const row = ev.target.closest('[data-testid=message-row]');
	if (!row)
		return;
	const id = row.dataset.emailId;
	if (ev.target.closest('[data-testid=thread-expand]')) {
		expand(app, row.dataset.threadId).then(() => renderRows(app));
		return;
	}
	if (ev.target.matches('[data-testid=row-select]')) {
		const ids = visibleIds();
		if (ev.shiftKey && st.anchor && ids.includes(st.anchor)) {
			const [a, b] = [ids.indexOf(st.anchor), ids.indexOf(id)].sort((x, y) => x - y);
			for (const k of ids.slice(a, b + 1))
				if (ev.target.checked)
					st.selected.add(k);
				else
					st.selected.delete(k);
		} else if (ev.target.checked)
			st.selected.add(id);
		else
			st.selected.delete(id);
		st.anchor = id;
		renderRows(app);
		return;
	}
	openEmail(app, id);
}

function emailHash(id) {
	const base = st.search !== null ? '#/search/' + encodeURIComponent(st.search)
		: '#/mailbox/' + encodeURIComponent(st.mailboxId);
	return id ? base + '/email/' + encodeURIComponent(id) : base;
}

function openEmail(app, id) {
	st.cursor = id;
	// a draft opens where it can be finished: the compose page resumes it (WEBB's)
	const m = st.search === null && app.mailboxes[st.mailboxId];
	if (m && m.role === 'drafts') {
		app.navigate('#/compose?draft=' + encodeURIComponent(id));
		return;
	}
	app.navigate(emailHash(id));
}

function closeReader(app) {
	app.navigate(emailHash(null));
}

function onDragStart(ev) {
	const row = ev.target.closest && ev.target.closest('[data-testid=message-row]');
	if (!row)
		return;
	const id = row.dataset.emailId;
	const ids = st.selected.has(id) ? Array.from(st.selected) : [id];
	ev.dataTransfer.setData(DRAG_TYPE, JSON.stringify({ ids, from: st.mailboxId }));
	ev.dataTransfer.setData('text/plain', ids.length + ' message(s)');
	ev.dataTransfer.effectAllowed = 'move';
}

function build(app) {
	st.rowsEl = el('ul', { class: 'rows', testid: 'message-list', attrs: { 'aria-label': app.t('list.messages') } });
	st.rowsEl.addEventListener('click', ev => onRowsClick(app, ev));
	st.rowsEl.addEventListener('dragstart', onDragStart);
	const readerPane = el('section', { class: 'reader-pane', id: 'reader-pane' });
	st.root = el('div', { class: 'mail-view' }, toolbar(app),
		el('div', { class: 'mail' },
			el('section', { class: 'list-pane' }, listHead(app), st.rowsEl, el('div', { class: 'pager' })),
			readerPane));
	clear(app.view).append(st.root);
}

// ---- the view ----

export async function show(app, params) {
	const search = params.search !== undefined ? params.search : null;
	const key = listKey({ search: search ?? undefined, mailboxId: params.mailboxId });
	const fresh = key !== st.key || !st.root || !app.view.contains(st.root);
	if (fresh) {
		Object.assign(st, { key, search, mailboxId: search !== null ? null : params.mailboxId,
			position: 0, ids: [], emails: new Map(), selected: new Set(), expanded: new Map(),
			anchor: null, cursor: null, open: null });
		build(app);
		if (st.off)
			st.off();
		const offChange = app.on('change', () => load(app).catch(() => {}));
		const offMb = app.on('mailboxes', () => {
			const mb = st.mailboxId && app.mailboxes[st.mailboxId];
			const h = $('[data-testid=list-title]', st.root);
			if (h && mb)
				h.textContent = mailboxLabel(app, mb);
		});
		st.off = () => { offChange(); offMb(); };
		if (params.preloaded) {
			take(params.preloaded);
			renderRows(app);
		} else
			await load(app);
	}
	st.open = params.emailId || null;
	if (st.open)
		st.cursor = st.open;
	document.body.classList.toggle('has-reader', !!st.open);
	renderRows(app);
	const pane = $('#reader-pane', st.root);
	if (st.open) {
		await reader.show(app, { emailId: st.open, pane, mailboxId: st.mailboxId,
			onChange: () => updateToolbar(app), onGone: () => closeReader(app) });
		const row = $(`[data-testid=message-row][data-email-id="${CSS.escape(st.open)}"]`, st.rowsEl);
		if (row)
			row.scrollIntoView({ block: 'nearest' });
	} else {
		reader.close(pane, app);
		app.view.focus({ preventScroll: true });
	}
}

// ---- keyboard (keys.mjs hands us what the shell does not use) ----

function moveCursor(app, dir) {
	const ids = visibleIds();
	if (!ids.length)
		return;
	let i = ids.indexOf(st.cursor);
	i = i < 0 ? 0 : Math.max(0, Math.min(ids.length - 1, i + dir));
	st.cursor = ids[i];
	if (st.open)
		openEmail(app, st.cursor);
	else {
		for (const r of $$('[data-testid=message-row]', st.rowsEl))
			r.classList.toggle('cursor', r.dataset.emailId === st.cursor);
		$(`[data-email-id="${CSS.escape(st.cursor)}"]`, st.rowsEl)?.scrollIntoView({ block: 'nearest' });
	}
}

export function onKey(app, ev) {
	const reply = mode => {
		const id = st.open || st.cursor;
		if (id)
			app.navigate(`#/compose?reply=${encodeURIComponent(id)}&mode=${mode}`);
	};
	switch (ev.key) {
	case 'j': moveCursor(app, 1); return true;
	case 'k': moveCursor(app, -1); return true;
	case 'o': case 'Enter':
		if (st.cursor)
			openEmail(app, st.cursor);
		return true;
	case 'u': closeReader(app); return true;
	case 'r': reply('reply'); return true;
	case 'a': reply('replyall'); return true;
	case 'f': reply('forward'); return true;
	case '#': case 'Delete':
		act(app, ids => deleteEmails(app, ids, st.mailboxId));
		return true;
	case 's':
		act(app, ids => setFlagged(app, ids, !ids.some(id => st.emails.get(id)?.keywords?.$flagged)));
		return true;
	case 'I':
		act(app, ids => setSeen(app, ids, true));
		return true;
	case 'U':
		act(app, ids => setSeen(app, ids, false));
		return true;
	}
	return false;
}
