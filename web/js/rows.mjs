// rows.mjs: one message row of the list (views/list.mjs), from an Email of Email/get
// with LIST_PROPERTIES. Text only; the hooks the browser tests use are data-testid
// message-row (with data-email-id, data-unread, data-flagged), row-select, row-from,
// row-subject and row-size.
import { el, addressName } from './ui.mjs';
import { formatSize, toDate } from './when.mjs';
import { mailboxLabel } from './shell.mjs';

export const LIST_PROPERTIES = ['id', 'threadId', 'mailboxIds', 'keywords', 'from', 'to',
	'subject', 'receivedAt', 'size', 'hasAttachment', 'preview'];

// Today: the time; this year: day and month; else the date with the year.
export function shortDate(v, now = new Date()) {
	const d = toDate(v);
	if (!d)
		return '';
	const lang = document.documentElement.lang || undefined;
	if (d.toDateString() === now.toDateString())
		return new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' }).format(d);
	if (d.getFullYear() === now.getFullYear())
		return new Intl.DateTimeFormat(lang, { day: 'numeric', month: 'short' }).format(d);
	return new Intl.DateTimeFormat(lang, { dateStyle: 'medium' }).format(d);
}

export function fullDate(v) {
	const d = toDate(v);
	return d ? new Intl.DateTimeFormat(document.documentElement.lang || undefined,
		{ dateStyle: 'full', timeStyle: 'short' }).format(d) : '';
}

// In Sent and Drafts the interesting name is the recipient's.
function who(app, e, mailboxId) {
	const m = mailboxId && app.mailboxes[mailboxId];
	const list = m && (m.role === 'sent' || m.role === 'drafts') ? e.to : e.from;
	const names = (list || []).map(addressName).filter(Boolean);
	return names.length ? names.join(', ') : app.t('list.unknownSender');
}

export function messageRow(app, e, opts) {
	const kw = e.keywords || {};
	const unread = !kw.$seen, flagged = !!kw.$flagged;
	const check = el('input', { type: 'checkbox', class: 'check', testid: 'row-select',
		checked: !!opts.selected, attrs: { 'aria-label': app.t('list.select') } });
	const subject = e.subject || app.t('list.noSubject');
	const meta = el('span', { class: 'row-meta' },
		el('span', { class: 'row-date', text: shortDate(e.receivedAt), attrs: { title: fullDate(e.receivedAt) } }),
		el('span', {},
			e.hasAttachment ? el('span', { class: 'marker-attach', attrs: { title: app.t('list.attachment'), role: 'img', 'aria-label': app.t('list.attachment') } }) : null,
			el('span', { class: 'marker-flag', text: '★', attrs: { title: app.t('list.flagged') } }),
			' ',
			el('span', { testid: 'row-size', class: 'row-size', dataset: { bytes: e.size }, text: formatSize(e.size) })));
	const subj = el('span', { class: 'row-subject', testid: 'row-subject', text: subject,
		attrs: { title: e.preview || subject } });
	const badge = opts.threadSize > 1 ? el('button', { type: 'button', class: 'thread-count', testid: 'thread-expand',
			text: String(opts.threadSize), attrs: { 'aria-expanded': opts.expanded ? 'true' : 'false',
				'aria-label': app.t('list.threadCount', { count: opts.threadSize }) } }) : null;
	// search results come from every folder: each row says which
	const where = opts.showMailbox ? Object.keys(e.mailboxIds || {})
		.map(id => app.mailboxes[id]).filter(Boolean).map(m => mailboxLabel(app, m)).join(', ') : '';
	const li = el('li', {
		class: ['row', opts.child && 'child', opts.selected && 'selected', opts.open && 'cursor'],
		testid: 'message-row', draggable: true,
		dataset: { emailId: e.id, threadId: e.threadId, unread: unread, flagged: flagged },
		attrs: { 'aria-current': opts.open ? 'true' : null },
	}, check, el('span', { class: 'row-from', testid: 'row-from', text: who(app, e, opts.mailboxId) }),
	meta, el('span', { class: 'row-line2' }, badge,
		where ? el('span', { class: 'row-mailbox', testid: 'row-mailbox', text: where }) : null, subj));
	if (unread)
		li.setAttribute('aria-label', app.t('list.unread') + ': ' + subject);
	return li;
}
