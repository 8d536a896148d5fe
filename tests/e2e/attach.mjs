// attach.mjs: a received message's attachment listed in the reader and downloaded
// (issue 10, reading: "attachments listed and downloadable").
import { readFileSync } from 'node:fs';
import { openFolder, rowBySubject, waitForRow } from './lib.mjs';

export async function download(page, h) {
	const { subject } = h.params;
	await h.login(h.params.user, h.params.password);
	await openFolder(page, h, 'inbox');
	await waitForRow(page, h, subject);
	await rowBySubject(page, subject).locator('[data-testid=row-subject]').click();
	await page.waitForSelector('[data-testid=reader] [data-testid=attachment]');
	const links = await page.$$eval('[data-testid=attachment]', (els) => els.map((a) => ({
		text: a.textContent, download: a.getAttribute('download') })));
	const [dl] = await Promise.all([page.waitForEvent('download', { timeout: h.timeout }),
		page.click('[data-testid=attachment]')]);
	const failure = await dl.failure();
	const bytes = failure ? null : readFileSync(await dl.path()).toString('base64');
	return { links, filename: dl.suggestedFilename(), failure, bytes };
}
