// views/compose.mjs: #/compose — a new message, a reply, reply-all, a forward, or a
// draft resumed (#/compose?reply=<id>&mode=reply|replyall|forward, ?draft=<id>; a new
// one may come prefilled: ?to=&cc=&bcc=&subject=&body=, as a mailto: link has them).
//
// What the server does is all JMAP (RFC 8621): a draft is an Email created in the
// Drafts mailbox with $draft, and saving again creates the new one and destroys the
// previous one in the same Email/set (creates run before destroys, RFC 8620 5.3, so
// the old draft's attachment blobs are still there to copy). Sending is ONE request:
// Email/set create "#draft" + EmailSubmission/set with onSuccessUpdateEmail that moves
// the Email from Drafts to Sent and clears $draft (RFC 8621 7.5), so a send that the
// server refuses leaves the message in Drafts, never half-sent and never lost.
// Attachments are uploaded as soon as they are picked (upload.mjs, with progress),
// bounded by the session's maxSizeUpload and maxConcurrentUpload; a forward takes the
// original's attachments by their part blob ids ("G<id>.<part>", jmap.h) without
// uploading anything.
import { el, clear, setState, toast } from '../ui.mjs';
import { CORE } from '../jmap.mjs';
import { parseAddressList, formatAddressList } from '../addrlist.mjs';
import {
	replySubject, forwardSubject, replyRecipients, threadHeaders, replyBody, forwardBody,
} from '../reply.mjs';
import { formatSize, formatAbsolute } from '../when.mjs';
import { uploadFile, textCharset } from '../upload.mjs';
import { pageStyles, htmlToText } from '../pages.mjs';

// What a reply, forward or resumed draft needs of an Email.
const EMAIL_PROPS = ['id', 'mailboxIds', 'keywords', 'from', 'to', 'cc', 'bcc', 'replyTo',
	'subject', 'sentAt', 'receivedAt', 'messageId', 'inReplyTo', 'references', 'textBody',
	'bodyValues', 'attachments'];

// The hashchange listener of the compose page on screen (one at a time).
let leaveHandler = null;

// SetError types (RFC 8620 5.3, RFC 8621 4.6, 7.5) that have their own sentence.
const KNOWN_ERRORS = ['forbiddenFrom', 'overQuota', 'tooLarge', 'invalidProperties',
	'blobNotFound', 'invalidEmail', 'tooManyRecipients', 'noRecipients',
	'invalidRecipients', 'forbiddenMailFrom', 'forbiddenToSend', 'rateLimit', 'notFound'];

export async function show(app, params) {
	const t = app.t;
	const p = params || {};
	const root = app.view;
	await pageStyles();
	const state = {
		draftId: null,         // the Email in Drafts this form replaces when saved/sent
		inReplyTo: null,
		references: null,
		original: null,        // {id, mode} of a reply/forward: $answered/$forwarded after
		attachments: [],       // {key, name, type, size, blobId?, progress, abort?, error?}
		identities: [],
		busy: false,
		dirty: false,
	};

	// the form
	const status = el('div', { class: 'compose-status', testid: 'compose-status',
		attrs: { role: 'status', 'aria-live': 'polite' } });
	const fromSel = el('select', { class: 'compose-from', testid: 'compose-from',
		attrs: { 'aria-label': t('compose.from') } });
	const addrField = (name) => {
		const input = el('input', { type: 'text', class: 'compose-addr', testid: 'compose-' + name,
			autocomplete: 'email', attrs: { 'aria-label': t('compose.' + name), spellcheck: 'false',
				multiple: true } });
		const err = el('div', { class: 'field-error', testid: 'compose-' + name + '-error',
			hidden: true });
		input.addEventListener('input', () => {
			state.dirty = true;
			input.removeAttribute('aria-invalid');
			err.hidden = true;
		});
		input.addEventListener('blur', () => checkField(input, err));
		return { input, err, row: el('label', { class: 'compose-row' },
			el('span', { class: 'compose-label', text: t('compose.' + name) }), input, err) };
	};
	const to = addrField('to'), cc = addrField('cc'), bcc = addrField('bcc');
	const subject = el('input', { type: 'text', class: 'compose-subject', testid: 'compose-subject',
		attrs: { 'aria-label': t('compose.subject') }, on: { input: () => { state.dirty = true; } } });
	const body = el('textarea', { class: 'compose-body', testid: 'compose-body', rows: 16,
		attrs: { 'aria-label': t('compose.body') }, on: { input: () => { state.dirty = true; } } });
	const attachList = el('ul', { class: 'compose-attachments', testid: 'compose-attachments' });
	const attachInput = el('input', { type: 'file', multiple: true, class: 'compose-attach-input',
		testid: 'compose-attach', attrs: { 'aria-label': t('compose.attach') } });
	const maxUpload = (app.jmap.session.capabilities[CORE] || {}).maxSizeUpload || 0;
	const attachHint = el('span', { class: 'compose-hint',
		text: maxUpload ? t('compose.attachMax', { size: formatSize(maxUpload) }) : '' });
	const sendBtn = el('button', { type: 'submit', class: 'primary', testid: 'compose-send',
		text: t('compose.send') });
	const draftBtn = el('button', { type: 'button', testid: 'compose-save-draft',
		text: t('compose.saveDraft') });
	const discardBtn = el('button', { type: 'button', testid: 'compose-discard',
		text: t('compose.discard') });
	const title = el('h1', { class: 'page-title', text: t('compose.titleNew') });
	const form = el('form', { class: 'compose-form', novalidate: true },
		el('label', { class: 'compose-row compose-from-row' },
			el('span', { class: 'compose-label', text: t('compose.from') }), fromSel),
		to.row, cc.row, bcc.row,
		el('label', { class: 'compose-row' },
			el('span', { class: 'compose-label', text: t('compose.subject') }), subject),
		body,
		el('div', { class: 'compose-attach-row' },
			el('label', { class: 'button compose-attach-button' }, t('compose.attach'), attachInput),
			attachHint),
		attachList,
		status,
		el('div', { class: 'compose-buttons' }, sendBtn, draftBtn, discardBtn));
	clear(root).append(el('section', { class: 'page compose-page', testid: 'compose-page' },
		title, form));

	function setStatus(text, kind) {
		status.textContent = text;
		status.dataset.kind = kind;     // progress | ok | error (the tests wait for it)
	}

	function errorText(e) {
		if (!e)
			return t('compose.err.other', { error: '?' });
		const type = e.type || 'serverFail';
		const detail = e.description || e.detail || '';
		if (KNOWN_ERRORS.includes(type))
			return t('compose.err.' + type, { detail, properties: (e.properties || []).join(', ') });
		return t('compose.err.other', { error: detail ? `${type}: ${detail}` : type });
	}

	function checkField(input, err) {
		const r = parseAddressList(input.value);
		if (r.errors.length) {
			input.setAttribute('aria-invalid', 'true');
			err.textContent = t('compose.badAddress', { address: r.errors.join(', ') });
			err.hidden = false;
		}
		return r;
	}

	// ---- attachments ----
	let attachKey = 0;
	const maxConcurrent = (app.jmap.session.capabilities[CORE] || {}).maxConcurrentUpload || 2;

	function renderAttachments() {
		clear(attachList);
		for (const a of state.attachments) {
			const bar = a.blobId || a.error ? null : el('progress', { max: a.size || 1,
				value: a.progress || 0, attrs: { 'aria-label': t('compose.uploading', { name: a.name }) } });
			const remove = el('button', { type: 'button', class: 'link', testid: 'compose-attachment-remove',
				text: t('compose.remove'), attrs: { 'aria-label': t('compose.removeName', { name: a.name }) },
				on: { click: () => removeAttachment(a) } });
			attachList.append(el('li', { class: ['compose-attachment', a.error && 'error'],
				testid: 'compose-attachment', dataset: { key: a.key, name: a.name, size: a.size,
					state: a.error ? 'error' : a.blobId ? 'done' : 'uploading' } },
			el('span', { class: 'name', text: a.name }),
			el('span', { class: 'size', text: formatSize(a.size) }),
			bar, a.error ? el('span', { class: 'field-error', text: a.error }) : null, remove));
		}
	}

	function removeAttachment(a) {
		if (a.abort)
			a.abort();
		if (a.ended)
			a.ended();
		state.attachments = state.attachments.filter((x) => x !== a);
		state.dirty = true;
		renderAttachments();
		pumpUploads();
	}

	function uploadError(e) {
		if (e.extra && e.extra.limit === 'quota')
			return t('compose.err.overQuota', { detail: '' });
		if (e.status === 413 || (e.extra && e.extra.limit === 'maxSizeUpload'))
			return t('compose.tooBig', { size: formatSize(maxUpload) });
		return t('compose.uploadFailed', { error: e.message });
	}

	// Start waiting uploads while fewer than maxConcurrentUpload run (the server
	// refuses more at once, RFC 8620 2).
	function pumpUploads() {
		let running = state.attachments.filter((a) => a.abort && !a.blobId && !a.error).length;
		for (const a of state.attachments) {
			if (running >= maxConcurrent)
				break;
			if (a.file && !a.abort && !a.blobId && !a.error) {
				running++;
				const up = uploadFile(app.jmap, a.file, (loaded) => {
					a.progress = loaded;
					const bar = attachList.querySelector(`[data-key="${a.key}"] progress`);
					if (bar)
						bar.value = loaded;
				});
				a.abort = up.abort;
				up.promise.then((r) => {
					a.blobId = r.blobId;
					a.type = a.type || r.type;
				}, (e) => {
					if (e.type !== 'abort')
						a.error = uploadError(e);
				}).finally(() => {
					a.file = null;
					a.ended();
					renderAttachments();
					pumpUploads();
				});
			}
		}
		renderAttachments();
	}

	function addFiles(files) {
		for (const f of files) {
			const a = { key: ++attachKey, name: f.name, type: f.type || 'application/octet-stream',
				size: f.size, file: f, progress: 0 };
			// settled when the upload is over (done, failed or removed) and the charset
			// known: a send or save clicked meanwhile waits for it
			let uploaded;
			const ended = new Promise((resolve) => { uploaded = resolve; });
			a.ended = uploaded;
			a.ready = Promise.all([ended, textCharset(f).then((cs) => { a.charset = cs; },
				() => { a.charset = null; })]);
			if (maxUpload && f.size > maxUpload) {
				a.error = t('compose.tooBig', { size: formatSize(maxUpload) });
				a.file = null;
				a.ended();
				setStatus(t('compose.attachTooBig', { name: f.name, size: formatSize(maxUpload) }),
					'error');
			}
			state.attachments.push(a);
		}
		state.dirty = true;
		pumpUploads();
	}

	attachInput.addEventListener('change', () => {
		addFiles(attachInput.files);
		attachInput.value = '';
	});
	// files dropped anywhere on the form are attached too
	form.addEventListener('dragover', (ev) => {
		if (ev.dataTransfer && ev.dataTransfer.types.includes('Files')) {
			ev.preventDefault();
			ev.dataTransfer.dropEffect = 'copy';
			form.classList.add('drop');
		}
	});
	form.addEventListener('dragleave', (ev) => {
		if (!form.contains(ev.relatedTarget))
			form.classList.remove('drop');
	});
	form.addEventListener('drop', (ev) => {
		form.classList.remove('drop');
		if (ev.dataTransfer && ev.dataTransfer.files.length) {
			ev.preventDefault();
			addFiles(ev.dataTransfer.files);
		}
	});

	// ---- the Email object (RFC 8621 4.6 create) ----
	function identity() {
		return state.identities.find((i) => i.id === fromSel.value) || state.identities[0];
	}

	// {email} or {error} (a sentence for compose-status).
	// lenient: a draft saved on leaving the page keeps the valid addresses and drops
	// what is not one, rather than losing the whole message.
	function buildEmail(forSend, lenient) {
		const fields = [to, cc, bcc].map((f) => ({ f, r: checkField(f.input, f.err) }));
		const bad = fields.find((x) => x.r.errors.length);
		if (bad && !lenient) {
			bad.f.input.focus();
			return { error: t('compose.badAddress', { address: bad.r.errors.join(', ') }) };
		}
		const [rt, rc, rb] = fields.map((x) => x.r.addresses);
		if (forSend && rt.length + rc.length + rb.length === 0) {
			to.input.focus();
			return { error: t('compose.noRecipients') };
		}
		if (forSend && state.attachments.some((a) => a.error))
			return { error: t('compose.removeFailed') };
		const drafts = app.byRole('drafts');
		if (!drafts)
			return { error: t('compose.noDrafts') };
		const id = identity();
		const email = {
			mailboxIds: { [drafts.id]: true },
			keywords: { $draft: true, $seen: true },
			from: id ? [{ name: id.name || null, email: id.email }] : undefined,
			subject: subject.value,
			bodyValues: { body: { value: body.value } },
			textBody: [{ partId: 'body', type: 'text/plain' }],
		};
		if (rt.length)
			email.to = rt;
		if (rc.length)
			email.cc = rc;
		if (rb.length)
			email.bcc = rb;
		if (state.inReplyTo)
			email.inReplyTo = state.inReplyTo;
		if (state.references)
			email.references = state.references;
		const atts = state.attachments.filter((a) => a.blobId);
		if (atts.length)
			email.attachments = atts.map((a) => ({ blobId: a.blobId, type: a.type, name: a.name,
				charset: a.charset || undefined, disposition: 'attachment' }));
		return { email, drafts, identity: id };
	}

	// After a save: the new draft's attachments are its own parts (the old draft and
	// its part blobs are gone); take their blob ids, in order.
	function adoptDraftParts(got) {
		const list = got && got.list && got.list[0] && got.list[0].attachments;
		if (!list)
			return;
		const mine = state.attachments.filter((a) => a.blobId);
		if (list.length !== mine.length)
			return;
		list.forEach((part, i) => { mine[i].blobId = part.blobId; });
	}

	function setBusy(b) {
		state.busy = b;
		sendBtn.disabled = b;
		draftBtn.disabled = b;
	}

	// Uploads still running: the send or save waits for them (saying so) rather than
	// refusing, then goes on with what they left (a failed one blocks a send below).
	async function uploadsDone() {
		const pending = state.attachments.filter((a) => a.ready && !a.blobId && !a.error);
		if (!pending.length && state.attachments.every((a) => a.charset !== undefined || !a.ready))
			return;
		setStatus(t('compose.waitUploads'), 'progress');
		await Promise.all(state.attachments.map((a) => a.ready));
	}

	async function saveDraft(lenient) {
		setBusy(true);
		await uploadsDone();
		setBusy(false);
		const b = buildEmail(false, lenient);
		if (b.error) {
			setStatus(b.error, 'error');
			return false;
		}
		setBusy(true);
		setStatus(t('compose.saving'), 'progress');
		try {
			const set = { create: { draft: b.email } };
			if (state.draftId)
				set.destroy = [state.draftId];
			const r = await app.jmap.api([
				['Email/set', set, 'e'],
				['Email/get', { ids: ['#draft'], properties: ['attachments'] }, 'g'],
			]);
			const res = byId(r);
			if (res.e[0] === 'error')
				throw res.e[1];
			const created = res.e[1].created && res.e[1].created.draft;
			if (!created)
				throw (res.e[1].notCreated || {}).draft;
			state.draftId = created.id;
			if (res.g && res.g[0] === 'Email/get')
				adoptDraftParts(res.g[1]);
			state.dirty = false;
			setStatus(t('compose.saved', { time: formatAbsolute(new Date().toISOString()) }), 'ok');
			return true;
		} catch (e) {
			setStatus(errorText(e), 'error');
			return false;
		} finally {
			setBusy(false);
		}
	}

	async function send() {
		setBusy(true);
		await uploadsDone();
		setBusy(false);
		const b = buildEmail(true);
		if (b.error) {
			setStatus(b.error, 'error');
			return;
		}
		if (!b.identity) {
			setStatus(t('compose.noIdentity'), 'error');
			return;
		}
		const sent = app.byRole('sent');
		// the sent copy: out of Drafts into Sent, no longer a draft (RFC 8621 7.5)
		const update = { [`mailboxIds/${b.drafts.id}`]: null, 'keywords/$draft': null };
		const sub = { create: { send: { emailId: '#draft', identityId: b.identity.id } } };
		if (sent) {
			update[`mailboxIds/${sent.id}`] = true;
			sub.onSuccessUpdateEmail = { '#send': update };
		} else {
			sub.onSuccessDestroyEmail = ['#send'];
		}
		const set = { create: { draft: b.email } };
		if (state.draftId)
			set.destroy = [state.draftId];
		setBusy(true);
		setStatus(t('compose.sending'), 'progress');
		try {
			const res = byId(await app.jmap.api([
				['Email/set', set, 'e'],
				['EmailSubmission/set', sub, 's'],
			]));
			if (res.e[0] === 'error')
				throw res.e[1];
			const created = res.e[1].created && res.e[1].created.draft;
			if (!created)
				throw (res.e[1].notCreated || {}).draft;
			// the message is stored in Drafts now: whatever happens next, it replaces
			// this one when saved or sent again
			state.draftId = created.id;
			if (!res.s || res.s[0] === 'error')
				throw res.s ? res.s[1] : { type: 'serverFail' };
			const submitted = res.s[1].created && res.s[1].created.send;
			if (!submitted)
				throw (res.s[1].notCreated || {}).send;
			state.draftId = null;
			state.dirty = false;
			setStatus(t('compose.sent'), 'ok');
			status.dataset.result = 'sent';
			form.inert = true;
			markOriginal();
			toast(t('compose.sent'));
			setTimeout(() => app.navigate(backHash()), 1500);
		} catch (e) {
			setStatus(errorText(e), 'error');
		} finally {
			setBusy(false);
		}
	}

	// $answered / $forwarded on the original (RFC 8621 4.1.1), once the reply is sent;
	// a failure here is not the user's problem, so it is only logged.
	function markOriginal() {
		if (!state.original)
			return;
		const kw = state.original.mode === 'forward' ? '$forwarded' : '$answered';
		app.jmap.api([['Email/set', { update: { [state.original.id]: { ['keywords/' + kw]: true } } }]])
			.catch((e) => console.warn('marking the original', e));
	}

	function backHash() {
		const inbox = app.byRole('inbox');
		return inbox ? '#/mailbox/' + inbox.id : '#/';
	}

	async function discard() {
		if (state.draftId)
			try {
				await app.jmap.api([['Email/set', { destroy: [state.draftId] }]]);
			} catch (e) {
				setStatus(errorText(e), 'error');
				return;
			}
		for (const a of state.attachments)
			if (a.abort)
				a.abort();
		state.dirty = false;
		app.navigate(backHash());
	}

	// Leaving the page (a folder, another page, the back button) with unsaved changes
	// keeps them as a draft, as mail programs do; Discard is the way to drop them.
	if (leaveHandler)
		window.removeEventListener('hashchange', leaveHandler);
	leaveHandler = () => {
		window.removeEventListener('hashchange', leaveHandler);
		leaveHandler = null;
		const typed = [to.input, cc.input, bcc.input, subject, body].some((f) => f.value.trim());
		if (!state.dirty || state.busy || (!typed && !state.attachments.length))
			return;
		saveDraft(true).then((ok) => toast(ok ? t('compose.autosaved')
			: t('compose.notSaved', { error: status.textContent }), ok ? 'info' : 'error'));
	};
	window.addEventListener('hashchange', leaveHandler);

	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		if (!state.busy)
			send();
	});
	draftBtn.addEventListener('click', () => {
		if (!state.busy)
			saveDraft(false);
	});
	discardBtn.addEventListener('click', discard);
	form.addEventListener('keydown', (ev) => {
		// Ctrl/Cmd+Enter sends, as in most mail clients; the shell's single-key
		// shortcuts must not fire while typing here
		ev.stopPropagation();
		if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
			ev.preventDefault();
			if (!state.busy)
				send();
		}
	});

	// ---- filling the form: identities, then the reply/forward/draft it starts from ----
	try {
		const calls = [['Identity/get', { ids: null }, 'i']];
		const srcId = p.draft || p.reply;
		if (srcId)
			calls.push(['Email/get', { ids: [srcId], properties: EMAIL_PROPS,
				fetchTextBodyValues: true, maxBodyValueBytes: 256 * 1024 }, 'g']);
		const res = byId(await app.jmap.api(calls));
		if (res.i[0] === 'error')
			throw res.i[1];
		state.identities = res.i[1].list || [];
		const own = new Set([app.jmap.username, ...state.identities.map((i) => i.email)]
			.filter(Boolean).map((s) => s.toLowerCase()));
		for (const i of state.identities)
			fromSel.append(el('option', { value: i.id,
				text: i.name ? `${i.name} <${i.email}>` : i.email }));
		fromSel.closest('label').hidden = state.identities.length < 2;
		const orig = res.g && res.g[0] === 'Email/get' && res.g[1].list && res.g[1].list[0];
		if (srcId && !orig) {
			setStatus(t('compose.sourceGone'), 'error');
		} else if (p.draft) {
			fillFromDraft(orig);
		} else if (orig) {
			fillFromOriginal(orig, p.mode || 'reply', own);
		} else {
			// #/compose?to=…&cc=…&subject=…&body=… (a mailto: link, RFC 6068 fields),
			// filled in as text: nothing is sent before the user presses Send
			to.input.value = p.to || '';
			cc.input.value = p.cc || '';
			bcc.input.value = p.bcc || '';
			subject.value = p.subject || '';
			body.value = p.body || '';
		}
	} catch (e) {
		setStatus(errorText(e), 'error');
	}
	(to.input.value ? body : to.input).focus();
	setState('ready');

	function fillFromDraft(d) {
		title.textContent = t('compose.titleDraft');
		state.draftId = d.id;
		to.input.value = formatAddressList(d.to);
		cc.input.value = formatAddressList(d.cc);
		bcc.input.value = formatAddressList(d.bcc);
		subject.value = d.subject || '';
		body.value = textOf(d);
		state.inReplyTo = d.inReplyTo || null;
		state.references = d.references || null;
		const from = (d.from || [])[0];
		const idn = from && state.identities.find((i) => i.email.toLowerCase() === from.email.toLowerCase());
		if (idn)
			fromSel.value = idn.id;
		for (const a of d.attachments || [])
			state.attachments.push({ key: ++attachKey, name: a.name || t('compose.unnamed'),
				type: a.type, size: a.size, blobId: a.blobId, charset: a.charset || null });
		renderAttachments();
	}

	function fillFromOriginal(o, mode, own) {
		const fmt = (d) => formatAbsolute(d);
		if (mode === 'forward') {
			title.textContent = t('compose.titleForward');
			subject.value = forwardSubject(o.subject);
			body.value = forwardBody(o, t, fmt, htmlToText);
			for (const a of o.attachments || [])
				state.attachments.push({ key: ++attachKey, name: a.name || t('compose.unnamed'),
					type: a.type, size: a.size, blobId: a.blobId, charset: a.charset || null });
			renderAttachments();
		} else {
			title.textContent = t(mode === 'replyall' ? 'compose.titleReplyAll' : 'compose.titleReply');
			const r = replyRecipients(o, mode === 'replyall', own);
			to.input.value = formatAddressList(r.to);
			cc.input.value = formatAddressList(r.cc);
			subject.value = replySubject(o.subject);
			body.value = replyBody(o, t, fmt, htmlToText);
			const h = threadHeaders(o);
			state.inReplyTo = h.inReplyTo;
			state.references = h.references;
			body.setSelectionRange(0, 0);
		}
		state.original = { id: o.id, mode };
		// the reply goes out from the address it was sent to, when that is one of ours
		const addressed = [...(o.to || []), ...(o.cc || [])].map((a) => a.email.toLowerCase());
		const idn = state.identities.find((i) => addressed.includes(i.email.toLowerCase()));
		if (idn)
			fromSel.value = idn.id;
	}
}

// The text of a draft: its text/plain body values.
function textOf(d) {
	const vals = d.bodyValues || {};
	return (d.textBody || []).map((p) => (vals[p.partId] || {}).value || '').join('\n');
}

// methodResponses by call id.
function byId(responses) {
	const out = {};
	for (const r of responses)
		if (!(r[2] in out))
			out[r[2]] = r;
	return out;
}
