// cleanup.mjs: the clean-up view deletes the largest messages across folders and the
// quota bar shrinks (issue 10: "clean up storage").
import { confirmed, openFolder, openPage, quota } from './lib.mjs';

function cleanupRows(page) {
	return page.$$eval('[data-testid=cleanup-row]', (els) => els.map((r) => ({
		id: r.dataset.emailId, size: Number(r.dataset.size) })));
}

export async function deleteLargest(page, h) {
	const { count, expect } = h.params;
	await h.login(h.params.user, h.params.password);
	await openFolder(page, h, 'inbox');
	const before = await quota(page);
	await openPage(page, h, 'nav-cleanup', '#/cleanup');
	await page.waitForSelector('[data-testid=cleanup-row]');
	await page.click('[data-testid=cleanup-tab-largest]');
	await h.until((n) => document.body.dataset.state === 'ready' &&
		document.querySelectorAll('[data-testid=cleanup-row]').length >= n, expect);
	const listed = await cleanupRows(page);
	const chosen = [...listed].sort((a, b) => b.size - a.size).slice(0, count);
	for (const r of chosen)
		await page.check(`[data-testid=cleanup-row][data-email-id="${r.id}"] [data-testid=cleanup-select]`);
	await h.screenshot('selected');
	await confirmed(page, h, () => page.click('[data-testid=cleanup-delete]'),
		(ids) => ids.every((id) => !document.querySelector(
			`[data-testid=cleanup-row][data-email-id="${id}"]`)), chosen.map((r) => r.id));
	await h.until((used) => {
		const bar = document.querySelector('[data-testid=quota-bar]');
		return bar && Number(bar.dataset.used) < used;
	}, before.used);
	await h.screenshot('deleted');
	return { before, after: await quota(page), listed, chosen, left: await cleanupRows(page) };
}
