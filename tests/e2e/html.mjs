// html.mjs: an HTML message with a script, inline handlers, a javascript: link and remote
// resources, opened in the webmail (issue 10: "no script from a message ever runs;
// remote images blocked until the user allows them for that message").
import { openFolder, rowBySubject, waitForRow } from './lib.mjs';

const FRAME = 'iframe[data-testid=reader-html]';

// Whatever the message's scripts would have set, seen from the page and from the frame.
async function markers(page, frame) {
	return {
		top: await page.evaluate(() => window.__e2ePwned ?? null),
		title: await page.title(),
		frame: await frame.evaluate(() => window.__e2ePwned ?? null),
		frameTitle: await frame.evaluate(() => document.title),
	};
}

async function shownFrame(page, h) {
	const iframe = await page.waitForSelector(FRAME);
	const frame = await iframe.contentFrame();
	await frame.waitForFunction(() => document.readyState === 'complete' && document.body &&
		document.body.textContent.includes('Hello HTML world'), null, { timeout: h.timeout });
	return { iframe, frame };
}

// The reader's frame once its remote image has loaded; the frame may be replaced while
// the message is shown again, so it is looked up afresh on each poll.
async function frameWithImage(page, h) {
	const deadline = Date.now() + h.timeout;
	for (;;) {
		try {
			const frame = await (await page.waitForSelector(FRAME)).contentFrame();
			if (frame && await frame.evaluate(() => [...document.images].some((i) =>
				i.currentSrc.includes('remote-image') && i.complete && i.naturalWidth > 0)))
				return frame;
		} catch (e) {
			// detached: the message was being shown again
		}
		if (Date.now() > deadline)
			throw new Error('the remote image did not load after "show remote images"');
		await page.waitForTimeout(100);
	}
}

export async function htmlMessage(page, h) {
	const { subject } = h.params;
	const popups = [];
	const dialogs = [];
	page.context().on('page', (p) => popups.push(p.url()));
	page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
	await h.login(h.params.user, h.params.password);
	await openFolder(page, h, 'inbox');
	await waitForRow(page, h, subject);
	const titleBefore = await page.title();
	await rowBySubject(page, subject).locator('[data-testid=row-subject]').click();

	const { iframe, frame: shown } = await shownFrame(page, h);
	let frame = shown;
	const sandbox = await iframe.getAttribute('sandbox');
	// a javascript: link that slipped through would run on a click: click every link
	for (const a of await frame.$$('a'))
		await a.click({ timeout: h.timeout }).catch((e) => dialogs.push('click: ' + e.message));
	const blocked = {
		...(await markers(page, frame)),
		remoteImage: await frame.evaluate(() => [...document.images].some((i) =>
			i.currentSrc.includes('remote-image') && i.complete && i.naturalWidth > 0)),
		html: (await frame.content()).slice(0, 3000),
	};
	await h.screenshot('blocked');
	await h.sync('blocked', blocked);

	// "show remote images": now the image is fetched (so the test can see loads at all)
	await page.click('[data-testid=allow-remote-images]');
	frame = await frameWithImage(page, h);
	await h.screenshot('allowed');
	await h.sync('allowed');
	const allowed = await markers(page, frame);
	return { titleBefore, sandbox, blocked, allowed, popups, dialogs };
}
