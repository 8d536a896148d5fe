// layout.mjs: the inbox at desktop and phone size (screenshots as test artifacts), the
// keyboard shortcuts j/k/o, the German UI (issue 10: "keyboard shortcuts for the common
// actions; works on a phone-sized screen; UI in English and German").
import { ROW, openFolder, openPage, rows, rowBySubject, waitForRow } from './lib.mjs';

const READER = '[data-testid=reader]';

async function visible(page, selector) {
	const l = page.locator(selector);
	return (await l.count()) > 0 && l.first().isVisible();
}

// The page is no wider than the screen (no sideways scrolling on a phone).
function fits(page) {
	return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

export async function inbox(page, h) {
	const { subjects } = h.params;
	await h.login(h.params.user, h.params.password);
	await openFolder(page, h, 'inbox');
	for (const s of subjects)
		await waitForRow(page, h, s);
	await h.screenshot();
	const listed = {
		rows: (await rows(page)).length,
		listVisible: await page.locator(ROW).first().isVisible(),
		readerVisible: await visible(page, READER),
		fits: await fits(page),
	};
	// open one: the reader shows (and on a phone takes the screen: one pane at a time)
	await rowBySubject(page, subjects[0]).locator('[data-testid=row-subject]').click();
	await page.waitForSelector(`${READER} [data-testid=reader-subject]`, { state: 'visible' });
	await h.screenshot('reader');
	const reading = {
		listVisible: await page.locator(ROW).first().isVisible(),
		readerVisible: await visible(page, READER),
		fits: await fits(page),
	};
	return { listed, reading };
}

async function readerSubjectAfter(page, h, keys, previous) {
	// keys go to the document, not to a field that happens to have the focus
	await page.evaluate(() => document.activeElement && document.activeElement.blur());
	for (const k of keys)
		await page.keyboard.press(k);
	return h.until((prev) => {
		const e = document.querySelector('[data-testid=reader] [data-testid=reader-subject]');
		return e && e.textContent !== prev && e.textContent;
	}, previous);
}

export async function keyboard(page, h) {
	await h.login(h.params.user, h.params.password);
	await openFolder(page, h, 'inbox');
	for (const s of h.params.subjects)
		await waitForRow(page, h, s);
	const order = (await rows(page)).map((r) => r.subject);
	const first = await readerSubjectAfter(page, h, ['j', 'o'], null);
	const second = await readerSubjectAfter(page, h, ['j', 'o'], first);
	const back = await readerSubjectAfter(page, h, ['k', 'o'], second);
	return { order, first, second, back };
}

export async function german(page, h) {
	await page.goto(h.base + '/', { waitUntil: 'domcontentloaded' });
	await page.waitForSelector('[data-testid=login-submit]');
	const login = {
		lang: await page.evaluate(() => document.documentElement.lang),
		languages: await page.evaluate(() => navigator.languages),
		submit: (await page.textContent('[data-testid=login-submit]')).trim(),
	};
	await page.fill('[data-testid=login-username]', h.params.user);
	await page.fill('[data-testid=login-password]', h.params.password);
	await page.click('[data-testid=login-submit]');
	await page.waitForSelector('[data-testid=folder]');
	await h.ready();
	const inbox = (await page.textContent('[data-testid=folder][data-role=inbox]')).trim();
	const logout = (await page.textContent('[data-testid=logout]')).trim();
	await h.screenshot();
	return { login, inbox, logout };
}

// Every page of the navigation on a phone: reached through the menu, no wider than the
// screen.
export async function phonePages(page, h) {
	await h.login(h.params.user, h.params.password);
	const out = {};
	for (const [testid, hash] of [['nav-settings', '#/settings'], ['nav-devices', '#/devices'],
		['nav-cleanup', '#/cleanup'], ['compose', '#/compose']]) {
		await openPage(page, h, testid, hash);
		await h.screenshot(testid);
		out[testid] = { fits: await fits(page), width: await page.evaluate(() => document.documentElement.scrollWidth) };
	}
	return out;
}
