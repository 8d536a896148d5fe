// compose.mjs: writing and sending a message in the webmail (issue 10: compose,
// attachments upload, sent mail in Sent).
import { openFolder, reveal } from './lib.mjs';

// compose-status carries data-kind progress | ok | error (views/compose.mjs).
const DONE = '[data-testid=compose-status][data-kind="ok"], [data-testid=compose-status][data-kind="error"]';

export async function send(page, h) {
	const { to, subject, body, attachment } = h.params;
	await h.login(h.params.user, h.params.password);
	await openFolder(page, h, 'inbox');
	await (await reveal(page, '[data-testid=compose]')).click();
	await page.waitForSelector('[data-testid=compose-to]');
	await h.ready();
	await page.fill('[data-testid=compose-to]', to);
	await page.fill('[data-testid=compose-subject]', subject);
	await page.fill('[data-testid=compose-body]', body);
	if (attachment) {
		await page.setInputFiles('[data-testid=compose-attach]', {
			name: attachment.name, mimeType: attachment.type,
			buffer: Buffer.from(attachment.content, 'utf8'),
		});
		// uploaded (a blobId) before the message is sent
		await page.waitForSelector('[data-testid=compose-attachment]');
	}
	await h.screenshot('filled');
	await page.click('[data-testid=compose-send]');
	const status = await page.waitForSelector(DONE);
	return { kind: await status.getAttribute('data-kind'), status: await status.textContent() };
}
