// pages.mjs: the client settings page (the running config's ports, the autoconfig link
// and its QR code) and the devices & activity page (issue 10, webmail).
import { openPage } from './lib.mjs';

async function text(page, selector) {
	return (await page.textContent(selector)).replace(/\s+/g, ' ').trim();
}

export async function settings(page, h) {
	await h.login(h.params.user, h.params.password);
	await openPage(page, h, 'nav-settings', '#/settings');
	await page.waitForSelector('[data-testid=settings-imap]');
	const qr = page.locator('[data-testid=settings-qr]');
	await qr.waitFor({ state: 'visible' });
	const box = await qr.boundingBox();
	const link = page.locator('[data-testid=settings-autoconfig-link]');
	await h.screenshot();
	// the code alone, for the test to decode
	const qrShot = await h.screenshot('qr', { clip: { x: box.x - 16, y: box.y - 16,
		width: box.width + 32, height: box.height + 32 } });
	return {
		imap: await text(page, '[data-testid=settings-imap]'),
		pop3: await text(page, '[data-testid=settings-pop3]'),
		smtp: await text(page, '[data-testid=settings-smtp]'),
		qr: { tag: await qr.evaluate((e) => e.tagName.toLowerCase()), width: box.width, height: box.height,
			// the picture holds dark modules: an svg's rects/paths, or an image's pixels
			marks: await qr.evaluate((e) => e.tagName.toLowerCase() === 'img'
				? e.naturalWidth : e.querySelectorAll('rect, path').length) },
		autoconfig: await link.getAttribute('href'),
		qrShot,
	};
}

export async function devices(page, h) {
	await h.login(h.params.user, h.params.password);
	await openPage(page, h, 'nav-devices', '#/devices');
	await page.waitForSelector('[data-testid=device-row]');
	await h.screenshot();
	const rowsOf = (sel) => page.$$eval(sel, (els) => els.map((e) => ({
		text: e.textContent.replace(/\s+/g, ' ').trim(), data: { ...e.dataset } })));
	return { devices: await rowsOf('[data-testid=device-row]'),
		removals: await rowsOf('[data-testid=removal-row]') };
}
