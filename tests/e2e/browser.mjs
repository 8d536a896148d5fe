// browser.mjs: run one browser scenario against a running kasten and report as JSON.
//
//   node tests/e2e/browser.mjs FILE.mjs#FUNCTION CONFIG_JSON
//
// Launches Debian's chromium (/usr/bin/chromium, headless; --no-sandbox only when run as
// root, where chromium's own sandbox cannot start) through playwright-core from
// web/node_modules, opens one page of CONFIG.viewport and CONFIG.locale, and calls
// `export async function FUNCTION(page, h)` of FILE.mjs (a path relative to this
// directory). Every stdout line is one JSON object:
//   {"event":"sync","name":N,"data":D}   the scenario waits for the test (h.sync): the
//                                        test answers with one JSON line on stdin
//   {"event":"result","ok":true,"result":R,...}  the scenario's return value, or
//   {"event":"result","ok":false,"error":E,...}  what failed, with an error screenshot
// Both results carry the page's console lines, page errors, every request the page or
// its frames made, and the screenshots taken. Waits are explicit (h.timeout each, 20 s
// by default, since tests run with both cores loaded); there are no fixed sleeps.
import { createInterface } from 'node:readline';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { chromium } = await import(
	pathToFileURL(resolve(here, '../../web/node_modules/playwright-core/index.mjs')).href);

const [target, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson || '{}');
const [file, fn] = target.split('#');

function emit(obj) {
	process.stdout.write(JSON.stringify(obj) + '\n');
}

// Replies from the test, one JSON line each, in the order the syncs were sent.
const replies = [];
const waiters = [];
createInterface({ input: process.stdin }).on('line', (line) => {
	const msg = JSON.parse(line);
	if (waiters.length) waiters.shift()(msg);
	else replies.push(msg);
});
function nextReply() {
	return replies.length ? Promise.resolve(replies.shift())
		: new Promise((res) => waiters.push(res));
}

const artifacts = config.artifacts || join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });
const timeout = config.timeout || 20000;
const report = { console: [], pageErrors: [], requests: [], failedResponses: [], screenshots: [] };

const args = ['--disable-gpu', '--disable-dev-shm-usage'];
if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
if (config.locale) args.push(`--lang=${config.locale}`);
const browser = await chromium.launch({
	executablePath: config.executablePath || '/usr/bin/chromium',
	headless: true,
	args,
	timeout: 60000,
});

let page;
try {
	const context = await browser.newContext({
		viewport: config.viewport || { width: 1280, height: 800 },
		locale: config.locale || 'en-US',
		isMobile: !!config.mobile,
		hasTouch: !!config.mobile,
		acceptDownloads: true,
	});
	context.setDefaultTimeout(timeout);
	// every request of the page and its frames (iframes included): what a message loaded
	context.on('request', (r) => report.requests.push({ url: r.url(), type: r.resourceType() }));
	context.on('response', (r) => {
		if (r.status() >= 400) report.failedResponses.push(`${r.status()} ${r.request().method()} ${r.url()}`);
	});
	page = await context.newPage();
	page.on('console', (m) => report.console.push(`${m.type()}: ${m.text()}`));
	page.on('pageerror', (e) => report.pageErrors.push(String(e)));

	const h = {
		base: config.base,
		params: config.params || {},
		timeout,
		report,
		// Hand control to the test (it delivers mail, checks IMAP...) and wait for its answer.
		async sync(name, data = null) {
			emit({ event: 'sync', name, data });
			const reply = await nextReply();
			if (reply && reply.error) throw new Error(`test failed at sync ${name}: ${reply.error}`);
			return reply ? reply.data : null;
		},
		// The app has rendered a view (contract C6: body[data-state=ready]).
		async ready() {
			await page.waitForSelector('body[data-state="ready"]', { timeout });
		},
		// Until fn(arg) is truthy in the page; its value.
		async until(fn, arg) {
			const handle = await page.waitForFunction(fn, arg, { timeout, polling: 100 });
			return handle.jsonValue();
		},
		// artifacts/<test>-<size>.png, or <test>-<size>-<label>.png with a label
		async screenshot(label = '', opts = {}) {
			const path = join(artifacts, `${config.name || 'scenario'}${label ? '-' + label : ''}.png`);
			await page.screenshot({ path, ...opts });
			report.screenshots.push(path);
			return path;
		},
		// Open the webmail and log in through its form; resolves once a view is ready.
		async login(user, password) {
			await page.goto(config.base + '/', { waitUntil: 'domcontentloaded' });
			await page.waitForSelector('[data-testid=login-username]', { timeout });
			await page.fill('[data-testid=login-username]', user);
			await page.fill('[data-testid=login-password]', password);
			await page.click('[data-testid=login-submit]');
			// the folders, or the form's error (then fail with what it says, at once)
			const shown = await page.waitForSelector(
				'[data-testid=folder], [data-testid=login-error]:not([hidden])', { timeout });
			if (await shown.getAttribute('data-testid') === 'login-error')
				throw new Error(`login as ${user} refused: ${await shown.textContent()}`);
			await page.waitForSelector('[data-testid=folder]', { timeout });
			await h.ready();
		},
	};

	const mod = await import(pathToFileURL(resolve(here, file)).href);
	if (typeof mod[fn] !== 'function') throw new Error(`${file} exports no function ${fn}`);
	const result = await mod[fn](page, h);
	emit({ event: 'result', ok: true, result: result === undefined ? null : result, ...report });
} catch (e) {
	let shot = null;
	try {
		if (page) {
			shot = join(artifacts, `${config.name || 'scenario'}-error.png`);
			await page.screenshot({ path: shot });
		}
	} catch {
		shot = null;
	}
	let dom = null;
	try {
		if (page) dom = (await page.content()).slice(0, 4000);
	} catch {
		dom = null;
	}
	emit({ event: 'result', ok: false, error: String(e && e.stack || e), errorShot: shot, dom,
		url: page ? page.url() : null, ...report });
} finally {
	await browser.close();
	process.exit(0);
}
