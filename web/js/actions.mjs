// actions.mjs: what the list and the reader do to messages, as Email/set calls (RFC
// 8621 4.6): mark read/unread ($seen), flag ($flagged), move (mailboxIds), delete (to
// Trash; in Trash, or without one, destroyed after a confirm), junk (to Junk with
// $junk), empty Trash. Each updates the shell (counts, storage) and tells the views
// ('change' with null) so they show the result at once, before the push event arrives.
import { toast, confirmDialog } from './ui.mjs';

export const DRAG_TYPE = 'application/x-kasten-emails';
const CHUNK = 500; // maxObjectsInSet the server announces (session) is at least this

function setLimit(app) {
	const c = app.session.capabilities['urn:ietf:params:jmap:core'];
	return Math.min(CHUNK, (c && c.maxObjectsInSet) || CHUNK);
}

async function update(app, ids, patch) {
	const n = setLimit(app);
	for (let i = 0; i < ids.length; i += n) {
		const upd = {};
		for (const id of ids.slice(i, i + n))
			upd[id] = typeof patch === 'function' ? patch(id) : patch;
		const r = await app.jmap.call('Email/set', { update: upd });
		const bad = r.notUpdated && Object.values(r.notUpdated)[0];
		if (bad)
			throw new Error(bad.description || bad.type);
	}
}

async function destroy(app, ids) {
	const n = setLimit(app);
	for (let i = 0; i < ids.length; i += n) {
		const r = await app.jmap.call('Email/set', { destroy: ids.slice(i, i + n) });
		const bad = r.notDestroyed && Object.entries(r.notDestroyed)
			.find(([, e]) => e.type !== 'notFound');
		if (bad)
			throw new Error(bad[1].description || bad[1].type);
	}
}

async function done(app, message) {
	app.emit('change', null);
	await app.refresh().catch(() => {});
	if (message)
		toast(message);
}

async function guarded(app, fn) {
	try {
		await fn();
	} catch (e) {
		toast(app.t('action.failed', { error: e.message }), 'error');
		app.emit('change', null);
	}
}

export function setSeen(app, ids, seen) {
	return guarded(app, async () => {
		await update(app, ids, { 'keywords/$seen': seen ? true : null });
		await done(app);
	});
}

export function setFlagged(app, ids, flagged) {
	return guarded(app, async () => {
		await update(app, ids, { 'keywords/$flagged': flagged ? true : null });
		await done(app);
	});
}

// Move out of `from` (the mailbox the user is looking at) into `to`; without `from`
// (search results) the messages end up in `to` only.
export function moveEmails(app, ids, to, from) {
	return guarded(app, async () => {
		if (from === to)
			return;
		await update(app, ids, from
			? { ['mailboxIds/' + from]: null, ['mailboxIds/' + to]: true }
			: { mailboxIds: { [to]: true } });
		await done(app, app.t('action.moved', { count: ids.length }));
	});
}

// Delete: to Trash; what is in Trash already (or everything, when there is no Trash)
// is destroyed for good, after the user says so.
export function deleteEmails(app, ids, from) {
	return guarded(app, async () => {
		const trash = app.byRole('trash');
		if (!trash || from === trash.id) {
			if (!(await confirmDialog(app.t('action.destroyConfirm', { count: ids.length }),
				app.t('action.deleteForever'), app.t('dialog.cancel'))))
				return;
			await destroy(app, ids);
		} else {
			await update(app, ids, from
				? { ['mailboxIds/' + from]: null, ['mailboxIds/' + trash.id]: true }
				: { mailboxIds: { [trash.id]: true } });
		}
		await done(app, app.t('action.deleted', { count: ids.length }));
	});
}

// Junk: into the Junk folder with $junk (RFC 8621 4.1.1, RFC 5788's keyword for it).
export function junkEmails(app, ids, from) {
	return guarded(app, async () => {
		const junk = app.byRole('junk');
		const patch = { 'keywords/$junk': true, 'keywords/$notjunk': null };
		if (junk && junk.id !== from)
			Object.assign(patch, from ? { ['mailboxIds/' + from]: null, ['mailboxIds/' + junk.id]: true }
				: { mailboxIds: { [junk.id]: true } });
		await update(app, ids, patch);
		await done(app, app.t('action.moved', { count: ids.length }));
	});
}

// Not junk: back to the Inbox with $notjunk, so a filter learns it was wrong.
export function notJunkEmails(app, ids, from) {
	return guarded(app, async () => {
		const inbox = app.byRole('inbox');
		const patch = { 'keywords/$junk': null, 'keywords/$notjunk': true };
		if (inbox && inbox.id !== from)
			Object.assign(patch, from ? { ['mailboxIds/' + from]: null, ['mailboxIds/' + inbox.id]: true }
				: { mailboxIds: { [inbox.id]: true } });
		await update(app, ids, patch);
		await done(app, app.t('action.moved', { count: ids.length }));
	});
}

// Every message in Trash destroyed, after a confirm naming how many.
export function emptyTrash(app) {
	return guarded(app, async () => {
		const trash = app.byRole('trash');
		if (!trash)
			return;
		const first = await app.jmap.call('Email/query', { filter: { inMailbox: trash.id },
			calculateTotal: true, limit: 0 });
		if (!first.total)
			return;
		if (!(await confirmDialog(app.t('action.emptyTrashConfirm', { count: first.total }),
			app.t('action.emptyTrash'), app.t('dialog.cancel'), 'empty-trash-confirm')))
			return;
		for (let guard = 0; guard < 10000; guard++) {
			const q = await app.jmap.call('Email/query', { filter: { inMailbox: trash.id },
				limit: setLimit(app) });
			if (!q.ids.length)
				break;
			await destroy(app, q.ids);
		}
		await done(app, app.t('action.done'));
	});
}
