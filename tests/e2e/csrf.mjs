// csrf.mjs: another site's page, opened while the webmail is logged in, sends the JMAP
// API state-changing requests with the browser's cookie (issue 10, security: "CSRF
// protection on every state-changing request").
export async function crossSite(page, h) {
	await h.login(h.params.user, h.params.password);
	const cookie = (await page.context().cookies()).find((c) => c.name === 'kasten_session');
	const attack = await page.context().newPage();
	await attack.goto(h.params.attackUrl);
	await attack.waitForFunction(() => window.__done === true, null, { timeout: h.timeout });
	return { result: await attack.evaluate(() => window.__result), cookie: !!cookie };
}
