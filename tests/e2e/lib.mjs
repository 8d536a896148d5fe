// lib.mjs: what the scenarios share, written only against the webmail's DOM hooks
// (contract C6). Every wait is explicit and bounded by h.timeout.

export const ROW = '[data-testid=message-row]';

// The rows of the open list: [{id, subject, from, unread, flagged, size}] in list order.
export function rows(page) {
	return page.$$eval(ROW, (els) => els.map((r) => ({
		id: r.dataset.emailId,
		subject: (r.querySelector('[data-testid=row-subject]') || {}).textContent || '',
		from: (r.querySelector('[data-testid=row-from]') || {}).textContent || '',
		size: (r.querySelector('[data-testid=row-size]') || {}).textContent || '',
		unread: r.dataset.unread,
		flagged: r.dataset.flagged,
	})));
}

// The row whose subject contains `subject` (a playwright Locator).
export function rowBySubject(page, subject) {
	return page.locator(ROW).filter({
		has: page.locator('[data-testid=row-subject]', { hasText: subject }),
	});
}

// Until a row with this subject is listed; its data.
export async function waitForRow(page, h, subject) {
	return h.until((s) => {
		for (const r of document.querySelectorAll('[data-testid=message-row]')) {
			const subj = r.querySelector('[data-testid=row-subject]');
			if (subj && subj.textContent.includes(s))
				return { id: r.dataset.emailId, unread: r.dataset.unread, subject: subj.textContent };
		}
		return null;
	}, subject);
}

// Until no row with this subject is listed.
export async function waitForNoRow(page, h, subject) {
	await h.until((s) => ![...document.querySelectorAll('[data-testid=message-row] [data-testid=row-subject]')]
		.some((e) => e.textContent.includes(s)), subject);
}

// Whether a locator's element is shown within the screen's width (an off-canvas menu
// counts as visible to playwright while it sits beside the screen).
async function onScreen(page, target) {
	if (!(await target.isVisible()))
		return false;
	const box = await target.boundingBox();
	const width = page.viewportSize().width;
	return !!box && box.x >= 0 && box.x + box.width <= width + 1;
}

// Make a navigation element clickable: on a phone the folder list and the page links
// sit behind the menu button (nav-toggle) until it is opened.
export async function reveal(page, selector) {
	const target = page.locator(selector).first();
	if (await onScreen(page, target))
		return target;
	const toggle = page.locator('[data-testid=nav-toggle]');
	if (await toggle.count() && await toggle.isVisible())
		await toggle.click();
	const deadline = Date.now() + 20000;
	while (!(await onScreen(page, target))) {
		if (Date.now() > deadline)
			throw new Error(`${selector} is not on the screen, menu opened or not`);
		await page.waitForTimeout(100);
	}
	return target;
}

// Open the folder of this role (unless its list is already shown) and wait for its list.
export async function openFolder(page, h, role) {
	const sel = `[data-testid=folder][data-role="${role}"]`;
	const id = await page.locator(sel).getAttribute('data-mailbox-id');
	const shown = await page.evaluate((mid) => location.hash === '#/mailbox/' + encodeURIComponent(mid) &&
		document.body.dataset.state === 'ready', id);
	if (!shown)
		await (await reveal(page, sel)).click();
	await h.until((mid) => location.hash.startsWith('#/mailbox/' + encodeURIComponent(mid)) &&
		document.body.dataset.state === 'ready', id);
	return id;
}

// Go to a page of the navigation (nav-cleanup, nav-devices, nav-settings) and wait for it.
export async function openPage(page, h, testid, hash) {
	await (await reveal(page, `[data-testid=${testid}]`)).click();
	await h.until((want) => location.hash.startsWith(want) && document.body.dataset.state === 'ready', hash);
}

// A page marker that a reload would lose: proves "without reload".
export async function markPage(page) {
	await page.evaluate(() => { window.__e2eNoReload = 'kept'; });
}

export async function pageKept(page) {
	return page.evaluate(() => window.__e2eNoReload === 'kept');
}

// Run `action` (a click that may ask "are you sure?" in a <dialog>, ui.mjs confirmDialog,
// or a native confirm()), confirm if asked, and wait until done(arg) is true in the page.
export async function confirmed(page, h, action, done, arg) {
	page.once('dialog', (d) => d.accept());
	await action();
	const finished = page.waitForFunction(done, arg, { timeout: h.timeout, polling: 100 })
		.then(() => 'done');
	const asked = page.waitForSelector('dialog[open] [data-testid$="-ok"]', { timeout: h.timeout })
		.then(() => 'ask');
	finished.catch(() => {});
	asked.catch(() => {});
	if (await Promise.race([finished, asked]) === 'ask')
		await page.click('dialog[open] [data-testid$="-ok"]');
	await finished;
}

// The quota bar's numbers (bytes).
export async function quota(page) {
	const bar = page.locator('[data-testid=quota-bar]');
	return { used: Number(await bar.getAttribute('data-used')),
		quota: Number(await bar.getAttribute('data-quota')) };
}
