// reading.mjs: the list and reader views and the shell around them (contract C6, WEBA's
// part): the actions on a selection and on the open message (mark read/unread, flag,
// move by menu and by drag and drop, junk, delete, empty Trash), keyboard shortcuts,
// sort, conversations, search, and the German UI. The test checks the server's state
// through JMAP at each sync point.
import { openFolder, rowBySubject, waitForNoRow, waitForRow, confirmed } from './lib.mjs';

function rowAttr(subject, attr) {
	return (s) => {
		for (const r of document.querySelectorAll('[data-testid=message-row]'))
			if (r.querySelector('[data-testid=row-subject]').textContent.includes(s[0]))
				return r.dataset[s[1]] === s[2];
		return false;
	};
}

async function waitAttr(page, h, subject, attr, value) {
	await h.until(rowAttr(subject, attr), [subject, attr, value]);
}

async function openRow(page, h, subject) {
	await rowBySubject(page, subject).locator('[data-testid=row-subject]').click();
	await h.until((s) => {
		const e = document.querySelector('[data-testid=reader] [data-testid=reader-subject]');
		return e && e.textContent.includes(s) && document.body.dataset.state === 'ready';
	}, subject);
}

// Selection, the toolbar, the keys on the open message, move, drag, junk, delete, empty.
export async function actions(page, h) {
	const [s1, s2, s3, s4] = h.params.subjects;
	await h.login(h.params.user, h.params.password);
	await openFolder(page, h, 'inbox');
	for (const s of h.params.subjects)
		await waitForRow(page, h, s);

	// a range: the first row's box, then Shift+click on the third's
	const order = await page.$$eval('[data-testid=message-row] [data-testid=row-subject]',
		(els) => els.map((e) => e.textContent));
	await rowBySubject(page, order[0]).locator('[data-testid=row-select]').click();
	await rowBySubject(page, order[2]).locator('[data-testid=row-select]').click({ modifiers: ['Shift'] });
	const selected = await page.$$eval('[data-testid=row-select]:checked', (els) => els.length);
	await page.click('[data-testid=action-markread]');
	for (const s of order.slice(0, 3))
		await waitAttr(page, h, s, 'unread', 'false');
	await waitAttr(page, h, order[3], 'unread', 'true');
	await h.sync('read', { read: order.slice(0, 3), unread: order[3] });

	// keys on the open message: s flags it, Shift+U makes it unread again
	await openRow(page, h, s2);
	await page.locator('[data-testid=reader]').click({ position: { x: 5, y: 5 } });
	await page.keyboard.press('s');
	await waitAttr(page, h, s2, 'flagged', 'true');
	await h.until((s) => document.querySelector('[data-testid=action-flag]').getAttribute('aria-pressed') === 'true', s2);
	await page.keyboard.press('Shift+U');
	await waitAttr(page, h, s2, 'unread', 'true');
	await h.sync('flagged');

	// move s1 by the menu to the Archive
	await rowBySubject(page, s1).locator('[data-testid=row-select]').click();
	await page.click('[data-testid=action-move]');
	await page.click(`[data-testid=move-target][data-mailbox-id="${h.params.archive}"]`);
	await waitForNoRow(page, h, s1);
	await h.sync('moved');

	// drag s3 onto the Trash folder
	await rowBySubject(page, s3).dragTo(page.locator('[data-testid=folder][data-role=trash]'));
	await waitForNoRow(page, h, s3);
	await h.sync('dragged');

	// junk s4 from its box
	await rowBySubject(page, s4).locator('[data-testid=row-select]').click();
	await page.click('[data-testid=action-junk]');
	await waitForNoRow(page, h, s4);
	await h.sync('junked');

	// '#' deletes the open message (s2): into Trash, and the reader closes
	await openRow(page, h, s2);
	await page.keyboard.press('#');
	await waitForNoRow(page, h, s2);
	await h.until(() => !location.hash.includes('/email/'));
	await h.sync('deleted');

	// in Trash: Empty Trash, after the question
	await openFolder(page, h, 'trash');
	await waitForRow(page, h, s2);
	await confirmed(page, h, () => page.click('[data-testid=empty-trash]'),
		() => document.querySelectorAll('[data-testid=message-row]').length === 0);
	await h.screenshot('emptied');

	// in Junk: "Not junk" sends s4 back to the Inbox
	await openFolder(page, h, 'junk');
	await waitForRow(page, h, s4);
	await rowBySubject(page, s4).locator('[data-testid=row-select]').click();
	await page.click('[data-testid=action-notjunk]');
	await waitForNoRow(page, h, s4);
	await h.sync('notjunk');
	return { selected };
}

// j/k/o/u and ?, sort by size, conversations, search.
export async function browse(page, h) {
	const { subjects, thread, word, found } = h.params;
	await h.login(h.params.user, h.params.password);
	await openFolder(page, h, 'inbox');
	for (const s of subjects)
		await waitForRow(page, h, s);
	await page.keyboard.press('j');
	await page.keyboard.press('j');
	const cursor = await h.until(() => document.querySelector('[data-testid=message-row].cursor')?.dataset.emailId);
	await page.keyboard.press('o');
	await h.until((id) => location.hash.endsWith('/email/' + id) &&
		document.querySelector('[data-testid=reader]')?.dataset.emailId === id, cursor);
	await page.keyboard.press('u');
	await h.until(() => !location.hash.includes('/email/') && document.body.dataset.state === 'ready');
	await page.keyboard.press('?');
	await page.waitForSelector('[data-testid=keys-help]', { state: 'visible' });
	const helpRows = await page.$$eval('[data-testid=keys-help] dt', (els) => els.length);
	await page.keyboard.press('Escape');
	await page.waitForSelector('[data-testid=keys-help]', { state: 'detached' });

	// sort by size: the rows' bytes never grow down the list
	await page.selectOption('[data-testid=sort-select]', 'size');
	await h.until(() => {
		const b = [...document.querySelectorAll('[data-testid=message-row] [data-testid=row-size]')]
			.map((e) => Number(e.dataset.bytes));
		return b.length > 2 && b.every((v, i) => i === 0 || b[i - 1] >= v) && b[0] > b[b.length - 1];
	});
	const sizes = await page.$$eval('[data-testid=row-size]', (els) => els.map((e) => Number(e.dataset.bytes)));
	await page.selectOption('[data-testid=sort-select]', 'date');

	// conversations: the two messages of the thread are one row, its count opens both
	const before = await page.$$eval('[data-testid=message-row]', (els) => els.length);
	await page.click('[data-testid=thread-toggle]');
	await h.until((n) => document.querySelectorAll('[data-testid=message-row]').length === n - 1, before);
	const expand = rowBySubject(page, thread).locator('[data-testid=thread-expand]');
	const count = await expand.textContent();
	await expand.click();
	await h.until((n) => document.querySelectorAll('[data-testid=message-row]').length === n, before);
	await page.click('[data-testid=thread-toggle]');

	// search: '/' then the word and Enter; the results are the one message that has it
	await page.keyboard.press('/');
	await page.keyboard.type(word);
	await page.keyboard.press('Enter');
	await h.until((w) => location.hash === '#/search/' + encodeURIComponent(w) &&
		document.body.dataset.state === 'ready', word);
	await waitForRow(page, h, found);
	const results = await page.$$eval('[data-testid=message-row] [data-testid=row-subject]',
		(els) => els.map((e) => e.textContent));
	const where = await page.$$eval('[data-testid=message-row] [data-testid=row-mailbox]',
		(els) => els.map((e) => e.textContent));
	await h.screenshot('search');
	return { cursor, helpRows, sizes, count, results, where };
}

// The UI in German when the browser prefers it.
export async function german(page, h) {
	await page.goto(h.base + '/');
	await page.waitForSelector('[data-testid=login-submit]');
	const login = await page.textContent('[data-testid=login-submit]');
	await page.fill('[data-testid=login-username]', h.params.user);
	await page.fill('[data-testid=login-password]', 'wrong-' + h.params.password);
	await page.click('[data-testid=login-submit]');
	await page.waitForSelector('[data-testid=login-error]', { state: 'visible' });
	const error = await page.textContent('[data-testid=login-error]');
	await h.login(h.params.user, h.params.password);
	const inbox = await page.textContent('[data-testid=folder][data-role=inbox]');
	return { lang: await page.evaluate(() => document.documentElement.lang), login, error, inbox,
		search: await page.getAttribute('[data-testid=search-input]', 'placeholder') };
}

// The session ends elsewhere (the test logs its token out): the next request shows the
// login again, with the note that the session ended.
export async function expiry(page, h) {
	await h.login(h.params.user, h.params.password);
	await openFolder(page, h, 'inbox');
	const cookie = (await page.context().cookies()).find((c) => c.name === 'kasten_session');
	await h.sync('expire', { cookie: cookie.value });
	await page.click('[data-testid=folder][data-role=drafts]');
	await page.waitForSelector('[data-testid=login-error]', { state: 'visible' });
	return { error: await page.textContent('[data-testid=login-error]'),
		form: await page.isVisible('[data-testid=login-password]') };
}
