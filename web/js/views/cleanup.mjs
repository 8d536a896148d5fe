// views/cleanup.mjs: #/cleanup — the largest or the oldest messages across every
// folder, 100 a page, to free storage in one step: select some (checkbox, shift-click
// for a range, select-all on the page) and delete them for good with ONE Email/set
// destroy (one click: the button names how many and how much); the quota bar
// (app.refresh) and this list update at once. The common case it is for: a POP3
// client that leaves copies on the server fills the quota unnoticed, so the page says
// so and links the client settings.
//
// Email/query without inMailbox covers the whole account (RFC 8621 4.4; one row per
// Email, whatever folders hold it); sort size descending or receivedAt ascending.
import { el, clear, setState, toast } from '../ui.mjs';
import { formatSize, formatAbsolute } from '../when.mjs';
import { mailboxLabel } from '../shell.mjs';
import { pageStyles, tn } from '../pages.mjs';

export const PAGE = 100;
const offs = [];
const TABS = {
	largest: { property: 'size', isAscending: false },
	oldest: { property: 'receivedAt', isAscending: true },
};

export async function show(app, params) {
	const t = app.t;
	await pageStyles();
	const st = {
		tab: params && params.tab === 'oldest' ? 'oldest' : 'largest',
		position: 0,
		total: 0,
		rows: [],
		selected: new Map(),   // id -> size, kept across pages and tabs
		anchor: -1,            // the row a shift-click extends from
		busy: false,
	};

	const summary = el('p', { class: 'cleanup-summary', testid: 'cleanup-summary',
		attrs: { 'aria-live': 'polite' } });
	const hint = el('p', { class: 'page-hint cleanup-hint', testid: 'cleanup-hint' },
		t('cleanup.hint'), ' ',
		el('a', { href: '#/settings', testid: 'cleanup-settings-link', text: t('cleanup.hintLink') }));
	const tab = (name) => el('button', { type: 'button', class: 'tab', testid: 'cleanup-tab-' + name,
		text: t('cleanup.tab.' + name), attrs: { role: 'tab' },
		on: { click: () => { if (st.tab !== name) { st.tab = name; st.position = 0; load(); } } } });
	const tabs = { largest: tab('largest'), oldest: tab('oldest') };
	const selectAll = el('input', { type: 'checkbox', testid: 'cleanup-select-all',
		attrs: { 'aria-label': t('cleanup.selectAll') } });
	const del = el('button', { type: 'button', class: 'danger', testid: 'cleanup-delete',
		text: t('cleanup.delete') });
	const range = el('span', { class: 'cleanup-range', testid: 'cleanup-range' });
	const prev = el('button', { type: 'button', testid: 'cleanup-prev', text: t('cleanup.prev') });
	const next = el('button', { type: 'button', testid: 'cleanup-next', text: t('cleanup.next') });
	const tbody = el('tbody');
	const table = el('table', { class: 'cleanup-table', testid: 'cleanup-table' },
		el('thead', {}, el('tr', {},
			el('th', { class: 'check' }, selectAll),
			...['folder', 'from', 'subject', 'date', 'size'].map((c) =>
				el('th', { class: 'col-' + c, text: t('cleanup.col.' + c) })))),
		tbody);
	const empty = el('p', { class: 'empty', testid: 'cleanup-empty', hidden: true, text: t('cleanup.empty') });

	clear(app.view).append(el('section', { class: 'page cleanup-page', testid: 'cleanup-page' },
		el('h1', { class: 'page-title', text: t('cleanup.title') }),
		summary, hint,
		el('div', { class: 'tabs', attrs: { role: 'tablist' } }, tabs.largest, tabs.oldest),
		el('div', { class: 'page-toolbar' }, del, el('span', { class: 'spacer' }), prev, range, next),
		el('div', { class: 'table-wrap' }, table), empty));

	function freed() {
		let n = 0;
		for (const s of st.selected.values())
			n += s;
		return n;
	}

	function renderSummary() {
		const q = app.quota;
		const used = q ? (q.hardLimit ? t('quota.usage', { used: formatSize(q.used), quota: formatSize(q.hardLimit) })
			: t('quota.unlimited', { used: formatSize(q.used) })) : '';
		const sel = st.selected.size ? t('cleanup.selected', { count: st.selected.size, size: formatSize(freed()) })
			: t('cleanup.noneSelected');
		summary.textContent = used ? used + ' · ' + sel : sel;
		summary.dataset.selected = st.selected.size;
		summary.dataset.freed = freed();
		del.disabled = st.busy || st.selected.size === 0;
		// the button says what it does, for good: selecting was the deliberate step, so
		// the delete itself is one click (no dialog in between)
		del.textContent = st.selected.size
			? t('cleanup.deleteN', { count: st.selected.size, size: formatSize(freed()) })
			: t('cleanup.delete');
		const onPage = st.rows.filter((r) => st.selected.has(r.id)).length;
		selectAll.checked = st.rows.length > 0 && onPage === st.rows.length;
		selectAll.indeterminate = onPage > 0 && onPage < st.rows.length;
	}

	function folderNames(e) {
		return Object.keys(e.mailboxIds || {}).map((id) => app.mailboxes[id])
			.filter(Boolean).map((m) => mailboxLabel(app, m)).join(', ');
	}

	function setRow(i, on) {
		const r = st.rows[i];
		if (on)
			st.selected.set(r.id, r.size || 0);
		else
			st.selected.delete(r.id);
		const tr = tbody.children[i];
		tr.classList.toggle('selected', on);
		tr.querySelector('input').checked = on;
	}

	function renderRows() {
		clear(tbody);
		st.rows.forEach((e, i) => {
			const on = st.selected.has(e.id);
			const box = el('input', { type: 'checkbox', testid: 'cleanup-select', checked: on,
				attrs: { 'aria-label': t('cleanup.select', { subject: e.subject || t('list.noSubject') }) } });
			box.addEventListener('click', (ev) => {
				const want = box.checked;
				if (ev.shiftKey && st.anchor >= 0 && st.anchor < st.rows.length) {
					const [a, b] = st.anchor < i ? [st.anchor, i] : [i, st.anchor];
					for (let k = a; k <= b; k++)
						setRow(k, want);
				} else {
					setRow(i, want);
				}
				st.anchor = i;
				renderSummary();
			});
			const from = (e.from || [])[0];
			tbody.append(el('tr', { class: ['cleanup-row', on && 'selected'], testid: 'cleanup-row',
				dataset: { emailId: e.id, size: e.size } },
			el('td', { class: 'check' }, box),
			el('td', { class: 'col-folder', text: folderNames(e) }),
			el('td', { class: 'col-from', text: from ? from.name || from.email : t('list.unknownSender'),
				title: from ? from.email : '' }),
			el('td', { class: 'col-subject', text: e.subject || t('list.noSubject') }),
			el('td', { class: 'col-date', text: formatAbsolute(e.receivedAt) }),
			el('td', { class: 'col-size', testid: 'cleanup-size', text: formatSize(e.size) })));
		});
		empty.hidden = st.rows.length > 0;
		table.hidden = st.rows.length === 0;
		const last = st.position + st.rows.length;
		range.textContent = st.rows.length ? t('list.range', { from: st.position + 1, to: last, total: st.total }) : '';
		prev.disabled = st.position === 0;
		next.disabled = last >= st.total;
		for (const [name, b] of Object.entries(tabs)) {
			b.setAttribute('aria-selected', String(name === st.tab));
			b.classList.toggle('current', name === st.tab);
		}
		renderSummary();
	}

	let seq = 0;
	async function load() {
		const my = ++seq;
		const res = await app.jmap.calls([
			['Email/query', { sort: [TABS[st.tab]], position: st.position, limit: PAGE,
				calculateTotal: true }, 'q'],
			['Email/get', { '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' },
				properties: ['mailboxIds', 'from', 'subject', 'receivedAt', 'size'] }, 'g'],
		]);
		if (my !== seq)
			return;
		st.total = res.q.total || 0;
		// a page past the end (the last ones deleted): the last page instead
		if (res.q.ids.length === 0 && st.position > 0 && st.total > 0) {
			st.position = Math.max(0, Math.floor((st.total - 1) / PAGE) * PAGE);
			return load();
		}
		const byId = new Map(res.g.list.map((e) => [e.id, e]));
		st.rows = res.q.ids.map((id) => byId.get(id)).filter(Boolean);
		st.anchor = -1;
		renderRows();
	}

	async function destroySelected() {
		const ids = [...st.selected.keys()];
		if (!ids.length)
			return;
		const size = freed();
		st.busy = true;
		renderSummary();
		try {
			const res = await app.jmap.calls([['Email/set', { destroy: ids }, 's']]);
			const gone = res.s.destroyed || [];
			for (const id of gone)
				st.selected.delete(id);
			// not destroyed because already gone (another device): nothing to keep
			let failed = 0;
			for (const [id, e] of Object.entries(res.s.notDestroyed || {})) {
				if (e.type === 'notFound')
					st.selected.delete(id);
				else
					failed++;
			}
			toast(failed ? t('cleanup.partly', { count: gone.length, failed })
				: tn(t, 'cleanup.deleted', gone.length, { size: formatSize(size) }),
			failed ? 'error' : 'info');
			await Promise.all([app.refresh(), load()]);
		} catch (e) {
			toast(t('action.failed', { error: e.message }), 'error');
		} finally {
			st.busy = false;
			renderSummary();
		}
	}

	selectAll.addEventListener('change', () => {
		st.rows.forEach((_, i) => setRow(i, selectAll.checked));
		renderSummary();
	});
	del.addEventListener('click', destroySelected);
	prev.addEventListener('click', () => {
		st.position = Math.max(0, st.position - PAGE);
		load();
	});
	next.addEventListener('click', () => {
		st.position += PAGE;
		load();
	});
	// a second show() of this page (the same hash again) replaces the first one's
	for (const off of offs.splice(0))
		off();
	offs.push(app.on('quota', renderSummary));
	// another device deleted or delivered: the list as it is now (selection kept for
	// the ones still there)
	let pending = null;
	offs.push(app.on('change', (changed) => {
		if (changed && !changed.Email)
			return;
		clearTimeout(pending);
		pending = setTimeout(() => load().catch(() => {}), 300);
	}));

	await load();
	setState('ready');
}
