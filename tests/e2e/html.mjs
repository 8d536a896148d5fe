// html.mjs: an HTML message with a script, inline handlers, a javascript: link and remote
// resources, opened in the webmail (issue 10: "no script from a message ever runs;
// remote images blocked until the user allows them for that message").
import { openFolder, rowBySubject, waitForRow } from './lib.mjs';

const FRAME = 'iframe[data-testid=reader-html]';

// Whatever the message's scripts would have set, seen from the page and from the frame;
// where the frame is (a message that navigated it away is no longer about:srcdoc).
async function markers(page, frame) {
	const state = { top: await page.evaluate(() => window.__e2ePwned ?? null),
		title: await page.title(), frameUrl: frame.url() };
	try {
		Object.assign(state, await frame.evaluate(() => ({
			frame: window.__e2ePwned ?? null,
			frameTitle: document.title,
			shown: !!document.body && document.body.textContent.includes('Hello HTML world'),
			remoteImage: [...document.images].some((i) =>
				i.currentSrc.includes('remote-image') && i.complete && i.naturalWidth > 0),
		})));
	} catch (e) {
		state.unreadable = String(e);
	}
	return state;
}

// The message's frame once its document has loaded, or has been navigated away from the
// message (which the test then reports): looked up afresh on each poll, since the frame
// may be replaced while the message is shown again.
async function settledFrame(page, h, ready, arg) {
	const deadline = Date.now() + h.timeout;
	for (;;) {
		try {
			const iframe = await page.waitForSelector(FRAME);
			const frame = await iframe.contentFrame();
			// navigated away: to a web page, or to chromium's error page for a blocked one
			// (a frame still being set up has '' or about:blank)
			if (frame && (/^(https?|chrome-error):/.test(frame.url()) ||
				await frame.evaluate(ready, arg)))
				return { iframe, frame };
		} catch (e) {
			// detached or navigating: look again
		}
		if (Date.now() > deadline)
			throw new Error('the message frame did not load');
		await page.waitForTimeout(100);
	}
}

const LOADED = () => document.readyState === 'complete' && !!document.body &&
	document.body.textContent.includes('Hello HTML world');
const IMAGE_LOADED = () => [...document.images].some((i) =>
	i.currentSrc.includes('remote-image') && i.complete && i.naturalWidth > 0);

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

	const { iframe, frame } = await settledFrame(page, h, LOADED);
	const sandbox = await iframe.getAttribute('sandbox');
	// a javascript: link that slipped through would run on a click: click every link
	if (frame.url() === 'about:srcdoc')
		for (const a of await frame.$$('a'))
			await a.click({ timeout: h.timeout }).catch((e) => dialogs.push('click: ' + e.message));
	const blocked = await markers(page, frame);
	await h.screenshot('blocked');
	await h.sync('blocked', blocked);

	// "show remote images": now the image is fetched (so the test can see loads at all)
	await page.click('[data-testid=allow-remote-images]');
	const { frame: again } = await settledFrame(page, h, IMAGE_LOADED);
	await h.screenshot('allowed');
	await h.sync('allowed');
	const allowed = await markers(page, again);
	return { titleBefore, sandbox, blocked, allowed, popups, dialogs };
}

const SHOWS = (text) => document.readyState === 'complete' && !!document.body &&
	document.body.textContent.includes(text);
const IMAGE = (name) => [...document.images].some((i) =>
	i.currentSrc.includes(name) && i.complete && i.naturalWidth > 0);

// "Show remote images" for one message leaves the next one blocked.
export async function perMessage(page, h) {
	const { first, second } = h.params;
	await h.login(h.params.user, h.params.password);
	await openFolder(page, h, 'inbox');
	await waitForRow(page, h, first);
	await waitForRow(page, h, second);
	await rowBySubject(page, first).locator('[data-testid=row-subject]').click();
	await settledFrame(page, h, SHOWS, 'First message');
	await page.click('[data-testid=allow-remote-images]');
	await settledFrame(page, h, IMAGE, 'one.png');
	await h.sync('first');
	// the load event waits for the images: once the second message's frame has loaded,
	// an image it was allowed to fetch has been fetched
	await rowBySubject(page, second).locator('[data-testid=row-subject]').click();
	const { frame } = await settledFrame(page, h, SHOWS, 'Second message');
	const state = { frameUrl: frame.url(), image: await frame.evaluate(IMAGE, 'two.png'),
		offered: await page.locator('[data-testid=allow-remote-images]').count() };
	await h.sync('second', state);
	return state;
}

// A link in a message opens in a new tab; the webmail and the message stay.
export async function linkOpensTab(page, h) {
	const { subject } = h.params;
	await h.login(h.params.user, h.params.password);
	await openFolder(page, h, 'inbox');
	await waitForRow(page, h, subject);
	await rowBySubject(page, subject).locator('[data-testid=row-subject]').click();
	const { frame } = await settledFrame(page, h, SHOWS, 'Read more');
	const link = await frame.$('a');
	const attrs = { target: await link.getAttribute('target'), rel: await link.getAttribute('rel') };
	const [popup] = await Promise.all([
		page.context().waitForEvent('page', { timeout: h.timeout }), link.click()]);
	await popup.waitForLoadState('load');
	return {
		attrs,
		opened: popup.url(),
		pageUrl: page.url(),
		frameUrl: frame.url(),
	};
}
