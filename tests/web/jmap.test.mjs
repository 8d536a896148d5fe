// The webmail's JMAP client (web/js/jmap.mjs) against fakes of fetch and EventSource:
// the CSRF token from the login goes with every state-changing request and lives in
// memory only; a 401 ends the session (onUnauthorized); method errors become JmapError;
// URL templates are filled with escaped values (RFC 8620 2, 6.2); push events of other
// accounts are ignored and a dropped event source is reopened after 1, 2, 4 ... 60 s.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { JmapClient, JmapError, CORE, MAIL } from '../../web/js/jmap.mjs';

const CSRF = 'c'.repeat(64);
const JMAP_LIMIT = 'urn:ietf:params:jmap:error:limit';
const SESSION = {
	apiUrl: '/jmap/api', uploadUrl: '/jmap/upload/{accountId}/',
	downloadUrl: '/jmap/download/{accountId}/{blobId}/{name}?type={type}',
	eventSourceUrl: '/jmap/eventsource?types={types}&closeafter={closeafter}&ping={ping}',
	capabilities: { [CORE]: { maxObjectsInSet: 500 }, [MAIL]: {} },
	accounts: { A7: {} }, primaryAccounts: { [MAIL]: 'A7' }, username: 'a@example.test',
};

// fetch answering from handler(url, opts) -> [status, body]; the requests made.
function fakeFetch(handler) {
	const calls = [];
	globalThis.fetch = async (url, opts = {}) => {
		calls.push({ url, opts });
		const [status, body] = handler(url, opts);
		return new Response(body === null ? null : JSON.stringify(body),
			{ status, headers: { 'Content-Type': 'application/json' } });
	};
	return calls;
}

function server(apiAnswer) {
	return fakeFetch((url, opts) => {
		if (url === '/jmap/login')
			return [200, { csrfToken: CSRF, accessToken: 'x', accountId: 'A7' }];
		if (url === '/jmap/session')
			return [200, SESSION];
		if (url === '/jmap/api')
			return apiAnswer(JSON.parse(opts.body), opts);
		return [404, { type: 'about:blank', status: 404 }];
	});
}

test('the CSRF token from the login goes with every API call, in memory only', async () => {
	const stored = [];
	globalThis.localStorage = { setItem: (k, v) => stored.push([k, v]), getItem: () => null };
	globalThis.sessionStorage = globalThis.localStorage;
	const calls = server((req) => [200, { methodResponses: req.methodCalls.map(([n, a, id]) =>
		[n, { accountId: a.accountId, list: [] }, id]) }]);
	const c = new JmapClient();
	await c.login('a@example.test', 'secret');
	assert.equal(c.accountId, 'A7');
	const r = await c.calls([['Mailbox/get', { ids: null }, 'm'], ['Email/set', { update: {} }, 's']]);
	assert.equal(r.m.accountId, 'A7');
	const api = calls.find((x) => x.url === '/jmap/api');
	assert.equal(api.opts.method, 'POST');
	assert.equal(api.opts.headers['X-CSRF-Token'], CSRF);
	assert.equal(api.opts.headers['Content-Type'], 'application/json');
	assert.deepEqual(JSON.parse(api.opts.body).using, [CORE, MAIL]);   // only what the server has
	const login = calls.find((x) => x.url === '/jmap/login');
	assert.deepEqual(JSON.parse(login.opts.body), { username: 'a@example.test', password: 'secret' });
	assert.equal(login.opts.headers['X-CSRF-Token'], undefined);
	assert.deepEqual(stored, []);
	assert.ok(!JSON.stringify(calls.map((x) => x.url)).includes(CSRF)); // never in a URL
});

test('a 401 ends the session: onUnauthorized, the token forgotten', async () => {
	server(() => [401, { type: 'about:blank', status: 401, detail: 'unknown or expired session' }]);
	const c = new JmapClient();
	await c.login('a@example.test', 'secret');
	let told = 0;
	c.onUnauthorized = () => told++;
	await assert.rejects(c.call('Mailbox/get', {}), (e) => e instanceof JmapError && e.status === 401);
	assert.equal(told, 1);
	assert.equal(c.csrf, null);
	assert.equal(c.session, null);
});

test('a wrong password is a JmapError with status 401, nothing stored', async () => {
	fakeFetch(() => [401, { type: 'about:blank', status: 401, detail: 'wrong user name or password' }]);
	const c = new JmapClient();
	await assert.rejects(c.login('a@example.test', 'bad'), (e) => e.status === 401);
	assert.equal(c.csrf, null);
});

test('method errors throw with their type', async () => {
	server((req) => [200, { methodResponses: [['error', { type: 'invalidArguments', description: 'x' },
		req.methodCalls[0][2]]] }]);
	const c = new JmapClient();
	await c.login('a@example.test', 'secret');
	await assert.rejects(c.call('Email/query', {}), (e) => e.type === 'invalidArguments');
	await assert.rejects(c.calls([['Email/query', {}, 'q']]), (e) => e.type === 'invalidArguments');
});

test('URL templates are filled with escaped values', async () => {
	server(() => [200, { methodResponses: [] }]);
	const c = new JmapClient();
	await c.login('a@example.test', 'secret');
	assert.equal(c.downloadUrl('G1.2', 'a/b?c#d.pdf', 'application/pdf'),
		'/jmap/download/A7/G1.2/a%2Fb%3Fc%23d.pdf?type=application%2Fpdf');
	assert.equal(c.downloadUrl('G1', '', ''), '/jmap/download/A7/G1/download?type=application%2Foctet-stream');
});

class FakeEventSource {
	static all = [];
	constructor(url, opts) {
		this.url = url;
		this.opts = opts;
		this.handlers = {};
		this.closed = false;
		FakeEventSource.all.push(this);
	}
	addEventListener(type, fn) {
		(this.handlers[type] ||= []).push(fn);
	}
	fire(type, data) {
		for (const fn of this.handlers[type] || [])
			fn({ data: data === undefined ? undefined : JSON.stringify(data) });
	}
	close() {
		this.closed = true;
	}
}

test('push: our account only, reopened after 1, 2, 4 ... 60 s, reset by an open', async () => {
	mock.timers.enable({ apis: ['setTimeout'] });
	try {
		FakeEventSource.all = [];
		globalThis.EventSource = FakeEventSource;
		server(() => [200, { methodResponses: [] }]);
		const c = new JmapClient();
		await c.login('a@example.test', 'secret');
		const seen = [];
		c.startPush((changed) => seen.push(changed));
		let es = FakeEventSource.all[0];
		assert.equal(es.url, '/jmap/eventsource?types=*&closeafter=no&ping=60');
		es.fire('state', { '@type': 'StateChange', changed: { A7: { Email: '5' } } });
		es.fire('state', { '@type': 'StateChange', changed: { A8: { Email: '9' } } });
		es.fire('state', 'not json');
		assert.deepEqual(seen, [{ Email: '5' }]);
		const waits = [];
		for (let i = 0; i < 8; i++) {
			es.fire('error');
			assert.ok(es.closed);
			let waited = 0;
			while (FakeEventSource.all.length === i + 1) {
				mock.timers.tick(500);
				waited += 500;
				await new Promise((r) => setImmediate(r)); // the session probe resolves
				assert.ok(waited <= 60000, 'not reopened');
			}
			waits.push(waited);
			es = FakeEventSource.all[i + 1];
		}
		assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
		assert.equal(seen.filter((x) => x === null).length, 8); // a catch-up after each
		es.fire('open');
		es.fire('error');
		let waited = 0;
		while (FakeEventSource.all.length === 9) {
			mock.timers.tick(500);
			waited += 500;
			await new Promise((r) => setImmediate(r));
		}
		assert.equal(waited, 1000);
		c.stopPush();
	} finally {
		mock.timers.reset();
	}
});

test('API requests wait for one of maxConcurrentRequests slots; a 429 is tried again', async () => {
	let inFlight = 0, most = 0, refused = 0;
	const gates = [];
	globalThis.fetch = async (url, opts = {}) => {
		if (url === '/jmap/login')
			return new Response(JSON.stringify({ csrfToken: CSRF }), { status: 200 });
		if (url === '/jmap/session') {
			const s = { ...SESSION, capabilities: { ...SESSION.capabilities,
				[CORE]: { maxConcurrentRequests: 2 } } };
			return new Response(JSON.stringify(s), { status: 200 });
		}
		if (refused < 1) {   // RFC 8620 3.6.1: the server's limit was reached elsewhere
			refused++;
			return new Response(JSON.stringify({ type: JMAP_LIMIT, limit: 'maxConcurrentRequests' }),
				{ status: 429 });
		}
		inFlight++;
		most = Math.max(most, inFlight);
		await new Promise((resolve) => gates.push(resolve));
		inFlight--;
		const req = JSON.parse(opts.body);
		return new Response(JSON.stringify({ methodResponses: req.methodCalls.map(([n, a, id]) =>
			[n, {}, id]) }), { status: 200 });
	};
	const c = new JmapClient();
	await c.login('a@example.test', 'secret');
	const all = Promise.all([1, 2, 3, 4, 5].map((i) => c.call('Core/echo', { i })));
	// release the held answers one at a time until every call is through
	for (let done = 0, ticks = 0; done < 5 && ticks < 400; ticks++) {
		await new Promise((resolve) => setTimeout(resolve, 5));
		const g = gates.shift();
		if (g) {
			g();
			done++;
		}
	}
	await all;
	assert.equal(most, 2);
	assert.equal(refused, 1);
	assert.equal(c.running, 0);
});
