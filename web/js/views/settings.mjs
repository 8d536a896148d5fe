// views/settings.mjs: #/settings — how to set up a mail program for this account:
// the IMAP, POP3 and SMTP settings (host, port, security, user name = the address) in
// cards, the difference between POP3 and IMAP in plain words with this server's POP3
// retention policy, the autoconfig link, the Apple profile download and a QR code of
// the profile's URL for a phone's camera. Everything comes from the running
// configuration through ClientSettings/get (jmap_kasten.h), the same list autoconfig
// and `kasten dns` use, so the page never shows a port the server does not listen on.
import { el, clear, setState } from '../ui.mjs';
import { KASTEN } from '../jmap.mjs';
import { qrSvg } from '../qr.mjs';
import { pageStyles } from '../pages.mjs';
import qrcode from '../../vendor/qrcode.mjs';

const SECURITY = { tls: 'settings.sec.tls', starttls: 'settings.sec.starttls', plain: 'settings.sec.plain' };

export async function show(app) {
	const t = app.t;
	await pageStyles();
	const page = el('section', { class: 'page settings-page', testid: 'settings-page' },
		el('h1', { class: 'page-title', text: t('settings.title') }));
	clear(app.view).append(page);
	if (!app.jmap.has(KASTEN)) {
		page.append(el('p', { class: 'empty', text: t('settings.unavailable') }));
		setState('ready');
		return;
	}
	const cs = await app.jmap.call('ClientSettings/get', {});
	const user = app.jmap.username;
	const pop3 = cs.pop3 || { enabled: false, expireDays: null };

	// One card per protocol: the preferred entry large, other ways to reach it below;
	// none: emptyText (why), or that the server does not offer it.
	function card(testid, titleKey, entries, extra, emptyText) {
		const c = el('article', { class: 'card settings-card', testid });
		c.append(el('h3', { text: t(titleKey) }));
		if (!entries.length) {
			c.append(el('p', { class: 'muted settings-policy', testid: testid + '-none',
				text: emptyText || t('settings.notOffered') }));
			return c;
		}
		const [best, ...rest] = entries;
		const dl = el('dl', { class: 'settings-values' });
		// the spaces keep "Port 993" apart in the card's text (copy and paste, screen
		// readers' fallbacks); a grid does not lay out white space between items
		const row = (k, v, tid, cls) => dl.append(el('dt', { text: t(k) }), ' ',
			el('dd', { testid: tid, class: cls, text: String(v) }), ' ');
		row('settings.host', best.host, testid + '-host');
		row('settings.port', best.port, testid + '-port');
		row('settings.security', t(SECURITY[best.security] || best.security), testid + '-security');
		row('settings.username', user, testid + '-username');
		row('settings.password', t('settings.passwordSame'), null, 'prose');
		c.append(dl);
		if (rest.length)
			c.append(el('p', { class: 'muted' }, t('settings.alsoOn'), ' ',
				rest.map((e) => `${e.port} (${t(SECURITY[e.security] || e.security)})`).join(', ')));
		if (extra)
			c.append(extra);
		return c;
	}
	const incoming = cs.incoming || [];
	const imap = incoming.filter((e) => e.protocol === 'imap');
	const pop = pop3.enabled ? incoming.filter((e) => e.protocol === 'pop3') : [];
	const smtp = (cs.outgoing || []).filter((e) => e.protocol === 'smtp');

	let policy;
	if (!pop3.enabled)
		policy = t('settings.pop3Off');
	else if (pop3.expireDays)
		policy = t('settings.pop3Expire', { days: pop3.expireDays });
	else
		policy = t('settings.pop3Keep');
	const popCard = card('settings-pop3', 'settings.pop3', pop,
		el('p', { class: 'settings-policy', testid: 'settings-pop3-policy', text: policy }),
		pop3.enabled ? null : policy);
	if (!pop3.enabled)
		popCard.classList.add('off');

	page.append(
		el('p', { class: 'page-hint', text: t('settings.intro') }),
		el('h2', { text: t('settings.auto') }),
		autoSection(),
		el('h2', { text: t('settings.manual') }),
		el('div', { class: 'cards' },
			card('settings-imap', 'settings.imap', imap,
				el('p', { class: 'muted', text: t('settings.imapShort') })),
			popCard,
			card('settings-smtp', 'settings.smtp', smtp,
				el('p', { class: 'muted', text: t('settings.smtpShort') }))),
		el('h2', { text: t('settings.which') }),
		el('div', { class: 'explain', testid: 'settings-explain' },
			el('h3', { text: t('settings.imapTitle') }),
			el('p', { text: t('settings.imapExplain') }),
			el('h3', { text: t('settings.pop3Title') }),
			el('p', { text: t('settings.pop3Explain') }),
			el('ul', {},
				el('li', { text: t('settings.pop3Delete') }),
				el('li', { text: t('settings.pop3Leave') }),
				el('li', { text: t('settings.pop3Days') })),
			el('p', { class: 'settings-policy', text: policy }),
			el('p', {}, t('settings.seeDevices'), ' ',
				el('a', { href: '#/devices', text: t('nav.devices') }))));

	function autoSection() {
		const box = el('div', { class: 'settings-auto' });
		const links = el('div', { class: 'settings-links' },
			el('p', { text: t('settings.autoExplain') }));
		if (cs.autoconfigUrl)
			links.append(el('p', {}, el('a', { href: cs.autoconfigUrl, testid: 'settings-autoconfig-link',
				target: '_blank', rel: 'noopener', text: t('settings.autoconfigLink') })));
		if (cs.mobileconfigUrl) {
			// the download from the server this page came from, whatever name reached it
			// (a download attribute counts only on the same origin); the QR code carries
			// the public URL, which a phone can reach
			const u = new URL(cs.mobileconfigUrl, location.href);
			links.append(el('p', {}, el('a', { href: u.pathname + u.search,
				testid: 'settings-mobileconfig-link', download: '',
				text: t('settings.mobileconfigLink') })));
			const qr = qrSvg(document, qrcode, cs.mobileconfigUrl, t('settings.qrLabel'));
			qr.dataset.testid = 'settings-qr';
			qr.classList.add('qr');
			box.append(el('figure', { class: 'settings-qr' }, qr,
				el('figcaption', { text: t('settings.qrCaption') })));
		}
		box.prepend(links);
		return box;
	}
	setState('ready');
}
