// reply.mjs: what reply, reply-all and forward make of the original Email (a JMAP Email
// object from Email/get): the subject with "Re:"/"Fwd:" once, the recipients (reply-all
// without the user's own addresses), In-Reply-To and References (RFC 5322 3.6.4), and
// the quoted body ("On <date>, <name> wrote:" and "> " lines). Pure: the caller hands in
// t() and a date formatter, so node's test runner checks it (tests/web/test_reply.mjs).
import { formatAddressList } from './addrlist.mjs';

// References kept: the first (the thread's root) and the last REFS_MAX - 1, so the
// header stays bounded in a long thread (RFC 5322 3.6.4 leaves trimming to the client).
export const REFS_MAX = 20;

// "Re:" and its translations that mail clients put in front (AW: is German Outlook's);
// we write "Re:" (RFC 5322 3.6.5) and never a second one.
const REPLY_PREFIX = /^\s*(re|aw|sv|antw)(\[\d+\])?\s*:/i;
const FORWARD_PREFIX = /^\s*(fwd?|wg|tr|vs)(\[\d+\])?\s*:/i;

export function replySubject(subject) {
	const s = (subject || '').trim();
	return REPLY_PREFIX.test(s) ? s : 'Re: ' + s;
}

export function forwardSubject(subject) {
	const s = (subject || '').trim();
	return FORWARD_PREFIX.test(s) ? s : 'Fwd: ' + s;
}

// Every line prefixed: "> " before text, ">" before an already quoted line or an empty
// one (so quote levels read ">> " as mail clients write them).
export function quoteLines(text) {
	if (!text)
		return '';
	const lines = (text || '').replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
	return lines.map((l) => (l === '' || l.startsWith('>') ? '>' + l : '> ' + l)).join('\n');
}

function lower(a) {
	return (a.email || '').toLowerCase();
}

// Drop own addresses and repeats (case-insensitive), keeping the first occurrence.
function dedupe(list, own, seen) {
	const out = [];
	for (const a of list || []) {
		if (!a || !a.email)
			continue;
		const k = lower(a);
		if (own.has(k) || seen.has(k))
			continue;
		seen.add(k);
		out.push({ name: a.name || null, email: a.email });
	}
	return out;
}

// {to, cc} of a reply. all: reply-all. own: a Set of the user's addresses, lower case
// (Identity/get's emails and the login name). Reply goes to Reply-To, else From; when
// that is the user (a reply from the Sent folder) it goes to the original's To.
export function replyRecipients(orig, all, own) {
	const from = orig.replyTo && orig.replyTo.length ? orig.replyTo : orig.from || [];
	const mine = from.length > 0 && from.every((a) => own.has(lower(a)));
	const base = mine ? orig.to || [] : from;
	if (!all) {
		const to = dedupe(base, own, new Set());
		// a note to oneself: answering it is answering oneself
		return { to: to.length ? to : dedupe(base, new Set(), new Set()), cc: [] };
	}
	const seen = new Set();
	const to = dedupe(mine ? base : [...base, ...(orig.to || [])], own, seen);
	const cc = dedupe(orig.cc, own, seen);
	return to.length ? { to, cc } : { to: cc, cc: [] };
}

// {inReplyTo, references} for a reply (message ids without angle brackets, as JMAP
// has them); null members when the original had no Message-ID.
export function threadHeaders(orig) {
	const mid = orig.messageId && orig.messageId.length ? orig.messageId[0] : null;
	if (!mid) {
		const refs = orig.references && orig.references.length ? orig.references : null;
		return { inReplyTo: null, references: refs ? refs.slice(-REFS_MAX) : null };
	}
	let refs = [...(orig.references || []).filter((r) => r !== mid), mid];
	if (refs.length > REFS_MAX)
		refs = [refs[0], ...refs.slice(refs.length - (REFS_MAX - 1))];
	return { inReplyTo: [mid], references: refs };
}

// The original's text: its textBody parts' values (fetchTextBodyValues), an HTML part
// (a message with no text/plain) through htmlToText.
export function bodyText(orig, htmlToText) {
	const vals = orig.bodyValues || {};
	const parts = [];
	for (const p of orig.textBody || []) {
		const v = vals[p.partId];
		if (!v || typeof v.value !== 'string')
			continue;
		parts.push(p.type === 'text/html' ? htmlToText(v.value) : v.value);
	}
	return parts.join('\n\n');
}

function senderName(orig, t) {
	const f = (orig.from || [])[0];
	return f ? f.name || f.email : t('compose.someone');
}

// "\n\nOn <date>, <name> wrote:\n> ..." (the cursor goes before it: a reply on top).
export function replyBody(orig, t, fmtDate, htmlToText) {
	const when = fmtDate(orig.sentAt || orig.receivedAt);
	return '\n\n' + t('compose.wrote', { date: when, name: senderName(orig, t) }) + '\n' +
		quoteLines(bodyText(orig, htmlToText)) + '\n';
}

// The forwarded message inline, under a header block naming its From/Date/Subject/To.
export function forwardBody(orig, t, fmtDate, htmlToText) {
	const head = [
		'---------- ' + t('compose.forwarded') + ' ----------',
		t('compose.hdrFrom') + ': ' + formatAddressList(orig.from),
		t('compose.hdrDate') + ': ' + fmtDate(orig.sentAt || orig.receivedAt),
		t('compose.hdrSubject') + ': ' + (orig.subject || ''),
		t('compose.hdrTo') + ': ' + formatAddressList(orig.to),
	];
	if (orig.cc && orig.cc.length)
		head.push(t('compose.hdrCc') + ': ' + formatAddressList(orig.cc));
	return '\n\n' + head.join('\n') + '\n\n' + bodyText(orig, htmlToText) + '\n';
}
