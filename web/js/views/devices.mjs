// views/devices.mjs: #/devices — which clients used the account (protocol, client
// name as IMAP ID or the browser sent it, address, first and last seen) and what POP3
// clients removed from the server (how many messages, how many bytes, when, by which
// client), from the store's bounded activity log (Activity/get, jmap_kasten.h). The
// second table answers "where did my mail go?" after a POP3 download-and-delete, so a
// sentence above it says exactly that. Times relative ("3 hours ago") with the
// absolute one beside it.
import { el, clear, setState } from '../ui.mjs';
import { KASTEN } from '../jmap.mjs';
import { formatSize, formatAbsolute, formatRelative } from '../when.mjs';
import { pageStyles, tn } from '../pages.mjs';
import { clientLabel } from '../useragent.mjs';

const PROTOCOLS = { imap: 'IMAP', pop3: 'POP3', submission: 'SMTP', smtp: 'SMTP', http: 'Webmail',
	jmap: 'JMAP', lmtp: 'LMTP' };

function protocolName(p) {
	return PROTOCOLS[p] || (p || '').toUpperCase();
}

// A cell with its content in one box: on a phone a row becomes a card whose cells
// show their column's name (data-label, pages.css) beside that box.
function cell(cls, ...children) {
	return el('td', { class: cls }, el('div', { class: 'cell' }, ...children));
}

// A time cell: "3 hours ago" with the absolute time under it (and as a machine date).
function when(v) {
	const abs = formatAbsolute(v);
	return cell('when', el('time', { dateTime: v || '', title: abs, text: formatRelative(v) }),
		el('span', { class: 'abs', text: abs }));
}

// The column names onto the cells (data-label) for the phone layout.
function labelCells(table) {
	const names = [...table.tHead.rows[0].cells].map((th) => th.textContent);
	for (const row of table.tBodies[0].rows)
		[...row.cells].forEach((td, i) => { td.dataset.label = names[i] || ''; });
	return table;
}

const offs = [];

export async function show(app) {
	const t = app.t;
	await pageStyles();
	// a POP3 download-and-delete elsewhere shows up here while the page is open: every
	// Email change (the push) reads the log again
	for (const off of offs.splice(0))
		off();
	let pending = null;
	offs.push(app.on('change', (changed) => {
		if (changed && !changed.Email)
			return;
		clearTimeout(pending);
		pending = setTimeout(() => {
			if (app.current && app.current.name === 'devices')
				show(app).catch(() => {});
		}, 500);
	}));
	const page = el('section', { class: 'page devices-page', testid: 'devices-page' },
		el('h1', { class: 'page-title', text: t('devices.title') }));
	clear(app.view).append(page);
	if (!app.jmap.has(KASTEN)) {
		page.append(el('p', { class: 'empty', text: t('devices.unavailable') }));
		setState('ready');
		return;
	}
	const res = await app.jmap.call('Activity/get', {});
	const list = res.list || [];
	const seen = list.filter((a) => a.kind === 'seen');
	const removed = list.filter((a) => a.kind === 'removed');
	const unknown = t('devices.unknown');
	// a browser's User-Agent read as "Firefox 128 on Windows", the whole string on hover
	const client = (c) => {
		const td = cell('client', c ? clientLabel(c, t) : unknown);
		if (c)
			td.title = c;
		return td;
	};

	const clientRows = seen.map((a) => el('tr', { class: 'device-row', testid: 'device-row',
		dataset: { protocol: a.protocol } },
	cell('protocol', protocolName(a.protocol)),
	client(a.client),
	cell('address', a.address || unknown),
	when(a.firstSeen), when(a.lastSeen)));
	const removalRows = removed.map((a) => el('tr', { class: 'removal-row', testid: 'removal-row',
		dataset: { count: a.count, bytes: a.bytes } },
	when(a.at),
	cell('count', tn(t, 'devices.messages', a.count)),
	cell('size', formatSize(a.bytes)),
	cell('client', protocolName(a.protocol), a.client ? ' · ' + clientLabel(a.client, t) : '',
		el('span', { class: 'abs', text: a.address || '' }))));

	const head = (...keys) => el('thead', {}, el('tr', {}, keys.map((k) => el('th', { text: t(k) }))));
	page.append(
		el('h2', { text: t('devices.clients') }),
		el('p', { class: 'page-hint', text: t('devices.clientsHint') }),
		clientRows.length
			? el('div', { class: 'table-wrap' }, labelCells(el('table', { class: 'devices-table',
				testid: 'device-table' },
			head('devices.col.protocol', 'devices.col.client', 'devices.col.address',
				'devices.col.firstSeen', 'devices.col.lastSeen'),
			el('tbody', {}, clientRows))))
			: el('p', { class: 'empty', testid: 'device-empty', text: t('devices.noClients') }),
		el('h2', { text: t('devices.removals') }),
		el('p', { class: 'page-hint', testid: 'removal-explain', text: t('devices.removalsHint') }),
		removalRows.length
			? el('div', { class: 'table-wrap' }, labelCells(el('table', { class: 'devices-table',
				testid: 'removal-table' },
			head('devices.col.when', 'devices.col.count', 'devices.col.bytes', 'devices.col.by'),
			el('tbody', {}, removalRows))))
			: el('p', { class: 'empty', testid: 'removal-empty', text: t('devices.noRemovals') }),
		el('p', { class: 'page-hint', text: t('devices.kept') }));
	setState('ready');
}
