// sync.mjs: one mailbox seen by the webmail, IMAP and POP3 at once (issue 10, "How it is
// shown": new mail without reload, \Seen to IMAP, a webmail delete to POP3, a POP3 DELE
// to the webmail). The test delivers and checks the other protocols at the sync points.
import { markPage, openFolder, pageKept, quota, rowBySubject, waitForNoRow, waitForRow, confirmed }
	from './lib.mjs';

async function inbox(page, h) {
	await h.login(h.params.user, h.params.password);
	return openFolder(page, h, 'inbox');
}

function unreadCount(page, mailboxId) {
	return page.$eval(`[data-testid=folder][data-mailbox-id="${mailboxId}"] [data-testid=folder-unread]`,
		(e) => e.dataset.count !== undefined ? Number(e.dataset.count) : Number(e.textContent || 0));
}

// 2. A message delivered by SMTP while the Inbox is open appears without a reload.
export async function newMail(page, h) {
	const mailboxId = await inbox(page, h);
	await markPage(page);
	const unreadBefore = await unreadCount(page, mailboxId);
	const quotaBefore = await quota(page);
	const { subject } = await h.sync('deliver');
	const row = await waitForRow(page, h, subject);
	// the storage bar counts the new message too
	await h.until((used) => {
		const bar = document.querySelector('[data-testid=quota-bar]');
		return bar && Number(bar.dataset.used) > used;
	}, quotaBefore.used);
	await h.until(([id, n]) => {
		const e = document.querySelector(
			`[data-testid=folder][data-mailbox-id="${id}"] [data-testid=folder-unread]`);
		return e && Number(e.dataset.count ?? e.textContent) === n;
	}, [mailboxId, unreadBefore + 1]);
	return { row, mailboxId, unreadBefore, unreadAfter: await unreadCount(page, mailboxId),
		quotaBefore, quotaAfter: await quota(page), kept: await pageKept(page) };
}

// 3. Opening a message shows it and marks it read.
export async function openMessage(page, h) {
	const { subject } = h.params;
	await inbox(page, h);
	const row = await waitForRow(page, h, subject);
	await rowBySubject(page, subject).locator('[data-testid=row-subject]').click();
	await page.waitForSelector('[data-testid=reader] [data-testid=reader-subject]');
	await h.until((s) => document.querySelector('[data-testid=reader-subject]').textContent.includes(s),
		subject);
	await h.until((id) => {
		const r = document.querySelector(`[data-testid=message-row][data-email-id="${id}"]`);
		return r && r.dataset.unread === 'false';
	}, row.id);
	await h.sync('opened', { id: row.id });
	return { row, readerSubject: await page.textContent('[data-testid=reader-subject]') };
}

// 4. Deleting a selected message in the webmail.
export async function deleteMessage(page, h) {
	const { subject } = h.params;
	await inbox(page, h);
	const row = await waitForRow(page, h, subject);
	await rowBySubject(page, subject).locator('[data-testid=row-select]').check();
	await confirmed(page, h, () => page.click('[data-testid=action-delete]'),
		(s) => ![...document.querySelectorAll('[data-testid=message-row] [data-testid=row-subject]')]
			.some((e) => e.textContent.includes(s)), subject);
	await h.sync('deleted', { id: row.id });
	return { row };
}

// 5. A message a POP3 client deletes (DELE + QUIT) leaves the open Inbox.
export async function pop3Delete(page, h) {
	const { keep, remove } = h.params;
	await inbox(page, h);
	const kept = await waitForRow(page, h, keep);
	const removed = await waitForRow(page, h, remove);
	await markPage(page);
	await h.sync('pop3-delete', { id: removed.id });
	await waitForNoRow(page, h, remove);
	const still = await waitForRow(page, h, keep);
	return { kept, removed, still, noReload: await pageKept(page) };
}

// Flags set by another device (IMAP STORE) show in the open list without a reload.
export async function imapFlags(page, h) {
	const { subject } = h.params;
	const mailboxId = await inbox(page, h);
	const before = await waitForRow(page, h, subject);
	await markPage(page);
	await h.sync('imap-store', { id: before.id });
	await h.until((id) => {
		const r = document.querySelector(`[data-testid=message-row][data-email-id="${id}"]`);
		return r && r.dataset.flagged === 'true' && r.dataset.unread === 'false';
	}, before.id);
	await h.until((id) => {
		const e = document.querySelector(
			`[data-testid=folder][data-mailbox-id="${id}"] [data-testid=folder-unread]`);
		return e && Number(e.dataset.count ?? (e.textContent || 0)) === 0;
	}, mailboxId);
	return { before, noReload: await pageKept(page) };
}
