// main.mjs: the webmail's boot, shell and router.
//
// Boot: the session resource with the cookie we may have; without one, the login form.
// The shell is a header (search, storage bar, navigation, sign out), the folder list
// and <main id="view">, where the view of the route renders:
//   #/mailbox/<id>[/email/<id>]   views/list.mjs (with views/reader.mjs in its pane)
//   #/search/<text>[/email/<id>]  views/list.mjs over all mailboxes
//   #/compose[?reply=<id>&mode=reply|replyall|forward | ?draft=<id>]  views/compose.mjs
//   #/cleanup, #/devices, #/settings  views/<name>.mjs
// A view module exports `async function show(app, params)`, and may export
// `onKey(app, event)` (return true when it used the key). `app` is:
//   jmap       the JmapClient (jmap.mjs): api(), call(), calls(), upload(), downloadUrl()
//   session    the JMAP session resource
//   mailboxes  {id: Mailbox} (Mailbox/get, with role, unreadEmails, ...), kept fresh
//   byRole(r)  the Mailbox of role r ("inbox", "trash", ...) or undefined
//   t          i18n's t(key, params)
//   navigate(hash)  go to a route ("#/mailbox/…"); the router shows its view
//   quota      {used, hardLimit} in bytes (Quota/get, "octets") or null, kept fresh
//   on(event, fn)   'change' (a push StateChange: {Email: state, Mailbox: …}, or null
//                   after a reconnect), 'mailboxes', 'quota'; handlers a view adds are
//                   dropped when another view module is shown. Returns an off function.
//   view       the <main> element the view renders into (it owns its children)
//   refresh()  Mailbox/get + Quota/get again (after a view changed mail)
// body[data-state="ready"] is set after each view has rendered (the browser tests wait
// for it), "loading" while a route is on its way.
import { JmapClient } from './jmap.mjs';
import { t } from './i18n.mjs';
import { el, clear, setState, toast } from './ui.mjs';
import { renderFolders, renderQuota, sortedMailboxes } from './shell.mjs';
import { installKeys } from './keys.mjs';

const jmap = new JmapClient();
const root = document.getElementById('app');

const app = {
	jmap,
	session: null,
	mailboxes: {},
	quota: null,
	t,
	view: null,
	byRole(role) {
		return Object.values(this.mailboxes).find(m => m.role === role);
	},
	navigate(hash) {
		if (location.hash === hash)
			route();
		else
			location.hash = hash;
	},
	on(event, fn) {
		const h = { event, fn, owner: current.module };
		handlers.push(h);
		return () => {
			const i = handlers.indexOf(h);
			if (i >= 0)
				handlers.splice(i, 1);
		};
	},
	emit(event, arg) {
		for (const h of handlers.slice())
			if (h.event === event)
				Promise.resolve().then(() => h.fn(arg)).catch(e => console.error(e));
	},
	refresh,
	sortedMailboxes: () => sortedMailboxes(app),
	current: null,
};
const handlers = [];
const current = { module: null, name: null };

// ---- login ----

function showLogin(message) {
	jmap.stopPush();
	document.body.classList.remove('nav-open', 'has-reader');
	const user = el('input', { id: 'login-username', type: 'email', name: 'username',
		autocomplete: 'username', required: true, testid: 'login-username' });
	const pass = el('input', { id: 'login-password', type: 'password', name: 'password',
		autocomplete: 'current-password', required: true, testid: 'login-password' });
	const err = el('p', { class: 'login-error', testid: 'login-error', hidden: !message,
		text: message || '', attrs: { role: 'alert' } });
	const submit = el('button', { type: 'submit', class: 'primary', testid: 'login-submit',
		text: t('login.submit') });
	const form = el('form', { class: 'login', attrs: { 'aria-labelledby': 'login-title' } },
		el('h1', { id: 'login-title', text: t('login.title') }),
		el('label', { attrs: { for: 'login-username' }, text: t('login.username') }), user,
		el('label', { attrs: { for: 'login-password' }, text: t('login.password') }), pass,
		err, submit);
	form.addEventListener('submit', async ev => {
		ev.preventDefault();
		submit.disabled = true;
		err.hidden = true;
		try {
			await jmap.login(user.value.trim(), pass.value);
			pass.value = '';
			await startApp();
		} catch (e) {
			err.textContent = e.status === 401 ? t('login.failed') : t('login.error', { error: e.message });
			err.hidden = false;
			submit.disabled = false;
			pass.focus();
			setState('ready');
		}
	});
	clear(root).append(el('div', { class: 'login-page' }, form));
	document.title = t('app.title');
	setState('ready');
	user.focus();
}

// ---- the shell ----

function buildShell() {
	const search = el('input', { type: 'search', id: 'search', testid: 'search-input',
		placeholder: t('search.placeholder'), attrs: { 'aria-label': t('search.label') } });
	const searchForm = el('form', { class: 'search', attrs: { role: 'search' } }, search);
	searchForm.addEventListener('submit', ev => {
		ev.preventDefault();
		const text = search.value.trim();
		if (text)
			app.navigate('#/search/' + encodeURIComponent(text));
	});
	const navLink = (testid, hash, key) =>
		el('a', { href: hash, testid, class: 'nav-link', text: t(key) });
	const header = el('header', { class: 'topbar' },
		el('button', { type: 'button', class: 'nav-toggle', testid: 'nav-toggle',
			attrs: { 'aria-label': t('nav.menu'), 'aria-controls': 'sidebar' },
			on: { click: () => document.body.classList.toggle('nav-open') } }, '☰'),
		el('a', { class: 'brand', href: '#/', text: t('app.title') }),
		searchForm,
		el('div', { id: 'quota', class: 'quota' }),
		el('span', { class: 'user', text: jmap.username || '' }),
		el('button', { type: 'button', class: 'logout', testid: 'logout', text: t('nav.logout'),
			on: { click: logout } }));
	const sidebar = el('nav', { id: 'sidebar', class: 'sidebar', attrs: { 'aria-label': t('nav.folders') } },
		el('a', { href: '#/compose', class: 'compose-button primary', testid: 'compose',
			text: t('nav.compose') }),
		el('ul', { id: 'folders', class: 'folders' }),
		el('div', { class: 'nav-pages' },
			navLink('nav-cleanup', '#/cleanup', 'nav.cleanup'),
			navLink('nav-devices', '#/devices', 'nav.devices'),
			navLink('nav-settings', '#/settings', 'nav.settings')));
	sidebar.addEventListener('click', ev => {
		if (ev.target.closest('a'))
			document.body.classList.remove('nav-open');
	});
	app.view = el('main', { id: 'view', class: 'view', tabIndex: -1 });
	clear(root).append(header, el('div', { class: 'body' }, sidebar, app.view));
}

async function logout() {
	await jmap.logout().catch(() => {});
	location.hash = '';
	showLogin();
}

// Mailbox/get and Quota/get: the folder list and the storage bar.
function shellCalls() {
	const calls = [['Mailbox/get', { ids: null }, 'mb']];
	if (jmap.has('urn:ietf:params:jmap:quota'))
		calls.push(['Quota/get', { ids: null }, 'quota']);
	return calls;
}

function applyShell(res) {
	if (res.mb) {
		app.mailboxes = {};
		for (const m of res.mb.list)
			app.mailboxes[m.id] = m;
		renderFolders(app);
		app.emit('mailboxes');
	}
	if (res.quota) {
		const q = res.quota.list.find(x => x.resourceType === 'octets');
		app.quota = q ? { used: q.used, hardLimit: q.hardLimit } : null;
		renderQuota(app);
		app.emit('quota');
	}
}

let refreshing = null;
async function refresh() {
	if (refreshing)
		return refreshing;
	refreshing = jmap.calls(shellCalls()).then(applyShell).finally(() => { refreshing = null; });
	return refreshing;
}

async function startApp() {
	app.session = jmap.session;
	buildShell();
	setState('loading');
	// the first render is one request: the shell's calls and, when the route is a
	// mailbox we know, the list's (views/list.mjs preloadCalls)
	const list = await import('./views/list.mjs');
	let r = parseRoute();
	// without a route the Inbox shows: its id from the last visit lets its list come in
	// the same request (an id, nothing private; checked against Mailbox/get below)
	const inboxKey = 'kasten.inbox.' + jmap.accountId;
	if (r.redirect)
		r.params.mailboxId = localStorage.getItem(inboxKey);
	let pre = null;
	let calls = shellCalls();
	if (r.name === 'list' && r.params.mailboxId)
		calls = calls.concat((pre = list.preloadCalls(app, r.params)).calls);
	const res = await jmap.calls(calls);
	applyShell(res);
	const inbox = app.byRole('inbox');
	if (inbox)
		localStorage.setItem(inboxKey, inbox.id);
	if (r.redirect && (!inbox || inbox.id !== r.params.mailboxId)) {
		r = parseRoute();
		pre = null;
	}
	if (pre)
		r.params.preloaded = pre.take(res);
	jmap.startPush(changed => {
		app.emit('change', changed);
		refresh().catch(() => {});
	});
	await route(r);
}

// ---- router ----

function parseRoute() {
	const h = location.hash.replace(/^#\/?/, '');
	const [path, query] = h.split('?');
	const parts = path.split('/').map(p => {
		try {
			return decodeURIComponent(p);
		} catch (e) {
			return p;
		}
	});
	const params = Object.fromEntries(new URLSearchParams(query || ''));
	if (parts[0] === 'mailbox' && parts[1]) {
		params.mailboxId = parts[1];
		if (parts[2] === 'email' && parts[3])
			params.emailId = parts[3];
		return { name: 'list', params };
	}
	if (parts[0] === 'search' && parts[1] !== undefined) {
		params.search = parts[1];
		if (parts[2] === 'email' && parts[3])
			params.emailId = parts[3];
		return { name: 'list', params };
	}
	if (['compose', 'cleanup', 'devices', 'settings'].includes(parts[0]))
		return { name: parts[0], params };
	// no route, or one we do not know: the Inbox
	const inbox = app.byRole('inbox') || app.sortedMailboxes()[0];
	return { name: 'list', params: { mailboxId: inbox ? inbox.id : null }, redirect: true };
}

let routeSeq = 0;
async function route(r) {
	if (!jmap.session)
		return;
	r = r || parseRoute();
	if (r.redirect && r.params.mailboxId) {
		history.replaceState(null, '', '#/mailbox/' + encodeURIComponent(r.params.mailboxId));
	}
	const seq = ++routeSeq;
	setState('loading');
	try {
		const mod = await import(`./views/${r.name}.mjs`);
		if (seq !== routeSeq)
			return;
		if (current.module !== mod) {
			for (let i = handlers.length - 1; i >= 0; i--)
				if (handlers[i].owner && handlers[i].owner !== mod)
					handlers.splice(i, 1);
			current.module = mod;
			current.name = r.name;
			document.body.classList.remove('has-reader'); // the list's phone layout
			clear(app.view);
		}
		app.current = r;
		highlightFolder(r);
		await mod.show(app, r.params);
	} catch (e) {
		console.error(e);
		if (!jmap.session)
			return; // the login is showing
		toast(t('app.error', { error: e.message }), 'error');
	}
	if (seq === routeSeq)
		setState('ready');
}

function highlightFolder(r) {
	for (const a of document.querySelectorAll('[data-testid=folder]')) {
		const on = r.name === 'list' && !r.params.search && a.dataset.mailboxId === r.params.mailboxId;
		a.classList.toggle('current', on);
		if (on)
			a.setAttribute('aria-current', 'page');
		else
			a.removeAttribute('aria-current');
	}
}

// ---- boot ----

jmap.onUnauthorized = () => showLogin(t('login.expired'));
window.addEventListener('hashchange', () => route());
installKeys(app, () => current.module);
document.title = t('app.title');

(async () => {
	try {
		const s = await jmap.loadSession();
		if (s)
			await startApp();
		else
			showLogin();
	} catch (e) {
		console.error(e);
		showLogin(t('app.error', { error: e.message }));
	}
})();
