// login.mjs: the webmail's login form, a wrong password, log out (issue 10 webmail item 1).

const USER = '[data-testid=login-username]';
const PASS = '[data-testid=login-password]';
const SUBMIT = '[data-testid=login-submit]';

async function submit(page, user, password) {
	await page.fill(USER, user);
	await page.fill(PASS, password);
	await page.click(SUBMIT);
}

export async function loginLogout(page, h) {
	const { user, password } = h.params;
	await page.goto(h.base + '/', { waitUntil: 'domcontentloaded' });
	await page.waitForSelector(USER);

	// a wrong password: the error shows, no folder does
	await submit(page, user, password + '-wrong');
	await page.waitForSelector('[data-testid=login-error]', { state: 'visible' });
	const wrong = {
		error: (await page.textContent('[data-testid=login-error]')).trim(),
		folders: await page.locator('[data-testid=folder]').count(),
		cookies: (await page.context().cookies()).map((c) => c.name),
	};
	await h.screenshot('wrong-password');

	// the right one: the folder list of the account
	await submit(page, user, password);
	await page.waitForSelector('[data-testid=folder]');
	await h.ready();
	const folders = await page.$$eval('[data-testid=folder]', (els) => els.map((e) => ({
		id: e.dataset.mailboxId, role: e.dataset.role })));
	const cookie = (await page.context().cookies()).find((c) => c.name === 'kasten_session');

	// log out: back at the login form, and still there after a reload (no session left)
	await page.click('[data-testid=logout]');
	await page.waitForSelector(USER);
	await page.reload({ waitUntil: 'domcontentloaded' });
	await page.waitForSelector(USER);
	await h.ready();
	const after = {
		folders: await page.locator('[data-testid=folder]').count(),
		cookie: ((await page.context().cookies()).find((c) => c.name === 'kasten_session') || {}).value || '',
	};
	return { wrong, folders, after,
		cookie: cookie && { value: cookie.value, httpOnly: cookie.httpOnly, sameSite: cookie.sameSite } };
}
