// reader.mjs: one message, in the pane beside the list (views/list.mjs shows it for
// #/…/email/<id>). Email/get with the body values (RFC 8621 4.2); plain text as text
// with http(s)/mailto links made clickable (built as elements: nothing is parsed as
// HTML); HTML through sanitize.mjs into an iframe sandboxed WITHOUT allow-scripts, whose
// srcdoc carries its own CSP. Remote images stay blocked until "show remote images",
// which renders this message again with them allowed (for this message only, until it
// is closed). cid: images come from the message's own parts. Opening an unread message
// sets $seen. Attachments: name, type, size and a download link.
import { el, clear, addressFull } from '../ui.mjs';
import { formatSize } from '../when.mjs';
import { fullDate } from '../rows.mjs';
import { sanitizeMail } from '../sanitize.mjs';
import { setSeen } from '../actions.mjs';
import { linkParts } from '../linkify.mjs';

const BODY_PROPERTIES = ['partId', 'blobId', 'size', 'name', 'type', 'charset', 'disposition', 'cid'];
const PROPERTIES = ['id', 'blobId', 'threadId', 'mailboxIds', 'keywords', 'from', 'to', 'cc',
	'replyTo', 'subject', 'sentAt', 'receivedAt', 'size', 'hasAttachment', 'textBody',
	'htmlBody', 'attachments', 'bodyValues'];
const MAX_BODY = 4 * 1024 * 1024;     // maxBodyValueBytes: more is cut (isTruncated)
const MAX_INLINE = 8 * 1024 * 1024;   // cid: images fetched for one message, in all

let shown = null; // {email, allowRemote}

export function current() {
	return shown && shown.email;
}

// The pane without a message: a hint (desktop; on a phone the pane is hidden then).
export function close(pane, app) {
	shown = null;
	if (pane)
		clear(pane).append(app ? el('p', { class: 'empty reader-empty', text: app.t('reader.empty') }) : '');
}

// Text with its links as <a> elements (linkify.mjs decides what is a link).
export function linkify(text) {
	return linkParts(text).map(p => (p.url
		? el('a', { href: p.url, target: '_blank', rel: 'noopener noreferrer', text: p.url })
		: p.text));
}

function bodyText(email, parts) {
	return (parts || []).map(p => {
		const v = email.bodyValues && email.bodyValues[p.partId];
		return v ? v.value : '';
	}).join('\n');
}

async function cidMap(app, email) {
	const map = new Map();
	let total = 0;
	const parts = (email.attachments || []).concat(email.htmlBody || [])
		.filter(p => p.cid && p.blobId && /^image\//i.test(p.type || ''));
	for (const p of parts) {
		const key = p.cid.replace(/^<|>$/g, '').toLowerCase();
		if (map.has(key) || (total += p.size || 0) > MAX_INLINE)
			continue;
		try {
			const resp = await fetch(app.jmap.downloadUrl(p.blobId, p.name || 'inline', p.type),
				{ credentials: 'same-origin' });
			if (!resp.ok)
				continue;
			const blob = await resp.blob();
			// a data: URL, not a blob: URL: the sandboxed frame has an opaque origin, and
			// data: is what its CSP lets images come from
			map.set(key, await new Promise((resolve, reject) => {
				const r = new FileReader();
				r.onload = () => resolve(String(r.result).replace(/^data:[^;,]*/, 'data:' + p.type.toLowerCase()));
				r.onerror = reject;
				r.readAsDataURL(blob);
			}));
		} catch (e) {
			// an image that does not come is an image not shown
		}
	}
	return map;
}

function header(app, email, mailboxId) {
	const row = (key, list) => (list && list.length
		? [el('dt', { text: app.t(key) }), el('dd', { text: list.map(addressFull).join(', ') })] : []);
	const reply = (testid, mode, key) => el('a', { class: 'button', testid, text: app.t(key),
		href: `#/compose?reply=${encodeURIComponent(email.id)}&mode=${mode}` });
	return el('header', { class: 'reader-head' },
		el('div', { class: 'reader-actions' },
			reply('action-reply', 'reply', 'action.reply'),
			reply('action-replyall', 'replyall', 'action.replyall'),
			reply('action-forward', 'forward', 'action.forward')),
		el('h1', { testid: 'reader-subject', id: 'reader-subject', text: email.subject || app.t('list.noSubject') }),
		el('dl', {},
			row('reader.from', email.from), row('reader.to', email.to), row('reader.cc', email.cc),
			el('dt', { text: app.t('reader.date') }),
			el('dd', {}, el('time', { dateTime: email.sentAt || email.receivedAt,
				text: fullDate(email.sentAt || email.receivedAt) }))));
}

// Attachments; images the HTML shows by cid: are part of the message's body, not listed.
function attachmentList(app, email, usedCids) {
	const list = (email.attachments || []).filter(p => p.blobId &&
		!(p.cid && usedCids.has(p.cid.replace(/^<|>$/g, '').toLowerCase())));
	if (!list.length)
		return null;
	return el('section', { class: 'attachments', attrs: { 'aria-label': app.t('reader.attachments') } },
		el('h2', { text: app.t('reader.attachments') }),
		el('ul', {}, list.map(p => {
			const name = p.name || 'attachment-' + p.partId;
			return el('li', {}, el('a', {
				class: 'attachment', testid: 'attachment', href: app.jmap.downloadUrl(p.blobId, name, p.type),
				download: name, dataset: { blobId: p.blobId, size: p.size },
				attrs: { 'aria-label': app.t('reader.download', { name }) },
			}, el('span', { text: name }), el('small', { text: `${p.type || ''} · ${formatSize(p.size)}` })));
		})));
}

async function htmlFrame(app, email, allowRemote) {
	const html = bodyText(email, email.htmlBody.filter(p => /^text\/html/i.test(p.type)));
	const cid = await cidMap(app, email);
	const { html: doc, remote } = sanitizeMail(html, { allowRemote, cid });
	const used = new Set([...cid.keys()].filter(k => html.toLowerCase().includes('cid:' + k)));
	const frame = el('iframe', { class: 'reader-html', testid: 'reader-html', title: app.t('reader.htmlTitle'),
		attrs: { sandbox: 'allow-popups allow-popups-to-escape-sandbox', referrerpolicy: 'no-referrer' } });
	frame.srcdoc = doc;
	return { frame, remote, used };
}

async function render(app, pane, email, opts) {
	const parts = [header(app, email, opts.mailboxId)];
	let usedCids = new Set();
	const hasHtml = (email.htmlBody || []).some(p => /^text\/html/i.test(p.type));
	if (hasHtml) {
		const { frame, remote, used } = await htmlFrame(app, email, shown.allowRemote);
		usedCids = used;
		if (remote && !shown.allowRemote)
			parts.push(el('div', { class: 'remote-banner', testid: 'remote-banner', attrs: { role: 'note' } },
				el('span', { text: app.t('reader.remoteBlocked') }),
				el('button', { type: 'button', testid: 'allow-remote-images', text: app.t('reader.showRemote'),
					on: { click: () => {
						shown.allowRemote = true;
						render(app, pane, email, opts);
					} } })));
		parts.push(frame);
	} else {
		const text = bodyText(email, email.textBody);
		parts.push(el('pre', { class: 'reader-text', testid: 'reader-text' },
			text ? linkify(text) : app.t('reader.noBody')));
	}
	parts.push(attachmentList(app, email, usedCids));
	if (shown && shown.email.id !== email.id)
		return; // another message was opened meanwhile
	clear(pane).append(el('article', { class: 'reader', testid: 'reader', dataset: { emailId: email.id },
		attrs: { 'aria-labelledby': 'reader-subject' } }, ...parts));
}

// Show emailId in pane. opts: {mailboxId, onChange(), onGone()}.
export async function show(app, { emailId, pane, mailboxId, onChange }) {
	if (shown && shown.email.id === emailId && pane.querySelector('[data-testid=reader]'))
		return;
	const r = await app.jmap.call('Email/get', { ids: [emailId], properties: PROPERTIES,
		bodyProperties: BODY_PROPERTIES, fetchTextBodyValues: true, fetchHTMLBodyValues: true,
		maxBodyValueBytes: MAX_BODY });
	const email = r.list[0];
	if (!email) {
		shown = null;
		clear(pane).append(el('p', { class: 'empty', testid: 'reader-gone', text: app.t('reader.notFound') }));
		return;
	}
	shown = { email, allowRemote: false };
	await render(app, pane, email, { mailboxId });
	if (!(email.keywords && email.keywords.$seen)) {
		email.keywords = { ...email.keywords, $seen: true };
		await setSeen(app, [email.id], true);
	}
	if (onChange)
		onChange();
}
