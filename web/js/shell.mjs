// shell.mjs: the folder list and the storage bar of the shell (main.mjs). Folders: the
// ones with a role first (Inbox, Drafts, Sent, Junk, Trash, Archive), then the rest by
// name, each followed by its children (parentId), indented. A folder is a drop target:
// message rows dragged onto it are moved there (actions.mjs).
import { el, clear } from './ui.mjs';
import { formatSize } from './when.mjs';
import { moveEmails, DRAG_TYPE } from './actions.mjs';

const ROLE_ORDER = ['inbox', 'drafts', 'sent', 'junk', 'trash', 'archive'];

function rank(m) {
	const i = ROLE_ORDER.indexOf(m.role);
	return i < 0 ? ROLE_ORDER.length : i;
}

export function mailboxLabel(app, m) {
	return m.role && ROLE_ORDER.includes(m.role) && !m.parentId ? app.t('role.' + m.role) : m.name;
}

// [{mailbox, depth}] in display order.
export function sortedMailboxes(app) {
	const all = Object.values(app.mailboxes);
	const kids = new Map();
	for (const m of all) {
		const p = m.parentId && app.mailboxes[m.parentId] ? m.parentId : null;
		if (!kids.has(p))
			kids.set(p, []);
		kids.get(p).push(m);
	}
	const coll = new Intl.Collator(document.documentElement.lang || undefined, { sensitivity: 'base' });
	const cmp = (a, b) => rank(a) - rank(b) || (a.sortOrder || 0) - (b.sortOrder || 0) ||
		coll.compare(a.name, b.name);
	const out = [];
	const walk = (p, depth) => {
		for (const m of (kids.get(p) || []).sort(cmp)) {
			out.push({ mailbox: m, depth });
			if (depth < 32)
				walk(m.id, depth + 1);
		}
	};
	walk(null, 0);
	return out;
}

function folderItem(app, m, depth) {
	const unread = m.unreadEmails || 0;
	const a = el('a', {
		href: '#/mailbox/' + encodeURIComponent(m.id), class: 'folder', testid: 'folder',
		dataset: { mailboxId: m.id, role: m.role || '', depth: Math.min(depth, 6) },
		attrs: { title: m.name },
	},
	el('span', { class: 'folder-name', text: mailboxLabel(app, m) }),
	el('span', { class: 'folder-unread', testid: 'folder-unread', dataset: { count: unread },
		text: unread ? String(unread) : '',
		attrs: { 'aria-label': unread ? app.t('folder.unread', { count: unread }) : null } }));
	a.addEventListener('dragover', ev => {
		if (ev.dataTransfer.types.includes(DRAG_TYPE)) {
			ev.preventDefault();
			ev.dataTransfer.dropEffect = 'move';
			a.classList.add('drop');
		}
	});
	a.addEventListener('dragleave', () => a.classList.remove('drop'));
	a.addEventListener('drop', ev => {
		a.classList.remove('drop');
		const data = ev.dataTransfer.getData(DRAG_TYPE);
		if (!data)
			return;
		ev.preventDefault();
		let d;
		try {
			d = JSON.parse(data);
		} catch (e) {
			return;
		}
		if (Array.isArray(d.ids) && d.ids.length)
			moveEmails(app, d.ids, m.id, d.from || null);
	});
	return el('li', {}, a);
}

export function renderFolders(app) {
	const ul = document.getElementById('folders');
	if (!ul)
		return;
	// the tab shows the Inbox's unread count, as mail clients' windows do
	const inbox = app.byRole('inbox');
	const n = inbox ? inbox.unreadEmails || 0 : 0;
	document.title = (n ? `(${n}) ` : '') + app.t('app.title');
	const cur = app.current && app.current.name === 'list' && !app.current.params.search
		? app.current.params.mailboxId : null;
	clear(ul).append(...sortedMailboxes(app).map(({ mailbox, depth }) => {
		const li = folderItem(app, mailbox, depth);
		if (mailbox.id === cur) {
			li.firstChild.classList.add('current');
			li.firstChild.setAttribute('aria-current', 'page');
		}
		return li;
	}));
}

export function renderQuota(app) {
	const box = document.getElementById('quota');
	if (!box)
		return;
	const q = app.quota;
	if (!q) {
		clear(box);
		return;
	}
	const used = formatSize(q.used), quota = formatSize(q.hardLimit);
	const label = q.hardLimit ? app.t('quota.usage', { used, quota }) : app.t('quota.unlimited', { used });
	const meter = el('meter', { min: 0, max: q.hardLimit || 1, value: Math.min(q.used, q.hardLimit || q.used),
		high: (q.hardLimit || 1) * 0.8, optimum: 0, attrs: { 'aria-label': app.t('quota.label') } });
	clear(box).append(el('div', { class: 'quota-bar', testid: 'quota-bar',
		dataset: { used: q.used, quota: q.hardLimit }, attrs: { title: label } },
	meter, el('span', { class: 'quota-text', text: label })));
}
