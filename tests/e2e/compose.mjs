// compose.mjs: writing and sending a message in the webmail (issue 10: compose,
// attachments upload, sent mail in Sent).
import { openFolder, reveal, rowBySubject } from './lib.mjs';

// compose-status carries data-kind progress | ok | error (views/compose.mjs).
const DONE = '[data-testid=compose-status][data-kind="ok"], [data-testid=compose-status][data-kind="error"]';

// Log in, open a new message from the inbox and fill in its fields; the inbox's id.
async function composeNew(page, h) {
	const { to, subject, body } = h.params;
	await h.login(h.params.user, h.params.password);
	const inboxId = await openFolder(page, h, 'inbox');
	await (await reveal(page, '[data-testid=compose]')).click();
	await page.waitForSelector('[data-testid=compose-to]');
	await h.ready();
	await page.fill('[data-testid=compose-to]', to);
	await page.fill('[data-testid=compose-subject]', subject);
	await page.fill('[data-testid=compose-body]', body);
	return inboxId;
}

export async function send(page, h) {
	const { attachment } = h.params;
	await composeNew(page, h);
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

async function fields(page) {
	return {
		to: await page.inputValue('[data-testid=compose-to]'),
		subject: await page.inputValue('[data-testid=compose-subject]'),
		body: await page.inputValue('[data-testid=compose-body]'),
	};
}

async function clickAndWait(page, testid) {
	// a status of an earlier step is not this one's
	await page.evaluate(() => {
		const s = document.querySelector('[data-testid=compose-status]');
		if (s) delete s.dataset.kind;
	});
	await page.click(`[data-testid=${testid}]`);
	const status = await page.waitForSelector(DONE);
	return { kind: await status.getAttribute('data-kind'), status: await status.textContent() };
}

// Save a draft, leave, resume it from its route (#/compose?draft=<id>), send it.
export async function draftThenSend(page, h) {
	const { subject } = h.params;
	const inboxId = await composeNew(page, h);
	const saved = await clickAndWait(page, 'compose-save-draft');
	const { id } = await h.sync('saved', saved);
	await page.evaluate((mid) => { location.hash = '#/mailbox/' + encodeURIComponent(mid); }, inboxId);
	await h.until((mid) => location.hash.startsWith('#/mailbox/' + encodeURIComponent(mid)) &&
		document.body.dataset.state === 'ready', inboxId);
	await page.evaluate((d) => { location.hash = '#/compose?draft=' + encodeURIComponent(d); }, id);
	await h.until((s) => {
		const e = document.querySelector('[data-testid=compose-subject]');
		return e && e.value === s && document.body.dataset.state === 'ready';
	}, subject);
	const resumed = await fields(page);
	const sent = await clickAndWait(page, 'compose-send');
	return { saved, resumed, sent };
}

// Reply to the open message: the form comes filled in; the answer goes out.
export async function reply(page, h) {
	const { subject, answer } = h.params;
	await h.login(h.params.user, h.params.password);
	await openFolder(page, h, 'inbox');
	await rowBySubject(page, subject).locator('[data-testid=row-subject]').click();
	await page.waitForSelector('[data-testid=reader] [data-testid=action-reply]');
	await page.click('[data-testid=action-reply]');
	await h.until(() => {
		const e = document.querySelector('[data-testid=compose-to]');
		return e && e.value !== '' && document.body.dataset.state === 'ready';
	});
	const prefilled = await fields(page);
	await page.fill('[data-testid=compose-body]', answer + '\n\n' + prefilled.body);
	await h.screenshot('reply');
	const sent = await clickAndWait(page, 'compose-send');
	// the page marks the original answered after the send: the test waits for that here,
	// with the page still open
	await h.sync('sent', sent);
	return { prefilled, sent };
}
