// useragent.mjs: a browser's User-Agent as a person reads it ("Firefox 128 on
// Windows") for the devices page, where the webmail's logins list their User-Agent
// (the store keeps at most 128 bytes of it). Only the well-known tokens are looked
// for, by fixed regular expressions that run in linear time; anything else (an IMAP
// ID such as "Thunderbird 115.3", an unknown agent) is shown as it is. Pure, so node's
// test runner checks it (tests/web/useragent.test.mjs).

// Browsers in the order their tokens must be tried: Edge and Opera also say Chrome,
// Chrome also says Safari.
const BROWSERS = [
	[/\bEdg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
	[/\bOPR\/(\d+)/, 'Opera'],
	[/\bSamsungBrowser\/(\d+)/, 'Samsung Internet'],
	[/\bFirefox\/(\d+)/, 'Firefox'],
	[/\bFxiOS\/(\d+)/, 'Firefox'],
	[/\bCriOS\/(\d+)/, 'Chrome'],
	[/\bHeadlessChrome\/(\d+)/, 'Chrome (headless)'],
	[/\bChromium\/(\d+)/, 'Chromium'],
	[/\bChrome\/(\d+)/, 'Chrome'],
	[/\bVersion\/(\d+)[.\d]* (?:Mobile\/\S+ )?Safari\//, 'Safari'],
];
const SYSTEMS = [
	[/\bWindows NT\b/, 'Windows'],
	[/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
	[/\bAndroid\b/, 'Android'],
	[/\bCrOS\b/, 'ChromeOS'],
	[/\bMac OS X\b/, 'macOS'],
	[/\bLinux\b/, 'Linux'],
];

// {browser, version, os} when ua is a browser's User-Agent we know, else null.
export function parseUserAgent(ua) {
	if (typeof ua !== 'string' || !ua.startsWith('Mozilla/'))
		return null;
	const b = BROWSERS.find(([re]) => re.test(ua));
	if (!b)
		return null;
	const s = SYSTEMS.find(([re]) => re.test(ua));
	return { browser: b[1], version: b[0].exec(ua)[1], os: s ? s[1] : null };
}

// What the devices page shows for a client: "Firefox 128 on Windows" (on: t's
// 'devices.browserOn' with {browser, os}), "Firefox 128", or client itself.
export function clientLabel(client, t) {
	const p = parseUserAgent(client);
	if (!p)
		return client;
	const browser = `${p.browser} ${p.version}`;
	return p.os ? t('devices.browserOn', { browser, os: p.os }) : browser;
}
