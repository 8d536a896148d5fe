// jmap.mjs: the webmail's JMAP client (RFC 8620): the login (POST /jmap/login, which
// sets the HttpOnly session cookie), the session resource, API calls, blob upload and
// download URLs, and push over EventSource.
//
// The cookie authenticates every request by itself; what a foreign page cannot have is
// the CSRF token, which /jmap/login and the session resource hand only to our own page.
// It lives in memory only (never in storage a script of another origin or a later
// visitor could read) and goes with every state-changing request as X-CSRF-Token.
// A 401 anywhere means the session ended (expired, logged out elsewhere): the client
// calls onUnauthorized and the app shows the login again.

export const CORE = 'urn:ietf:params:jmap:core';
export const MAIL = 'urn:ietf:params:jmap:mail';
export const SUBMISSION = 'urn:ietf:params:jmap:submission';
export const QUOTA = 'urn:ietf:params:jmap:quota';
export const KASTEN = 'https://kasten.dev/jmap/account';

// A JMAP method error ("error" response) or an HTTP problem, as an Error.
export class JmapError extends Error {
	constructor(type, detail, status = 0, extra = null) {
		super(detail ? `${type}: ${detail}` : type);
		this.type = type;
		this.status = status;
		this.extra = extra;
	}
}

async function problem(resp) {
	let p = null;
	try {
		p = await resp.json();
	} catch (e) {
		p = null;
	}
	return new JmapError((p && p.type) || 'http' + resp.status, p && p.detail, resp.status, p);
}

export class JmapClient {
	constructor() {
		this.session = null;
		this.accountId = null;
		this.csrf = null;
		this.username = null;
		this.onUnauthorized = null; // () => void
		this.es = null;
		this.running = 0; // API requests in flight
		this.waiting = []; // resolvers of requests waiting for a slot
	}

	// The server answers 429 past maxConcurrentRequests (RFC 8620 2) API requests of one
	// account at a time; a refresh after a push and an action of the user can meet, so
	// requests wait for a slot here instead of failing.
	async slot() {
		const core = this.session && this.session.capabilities[CORE];
		const max = (core && core.maxConcurrentRequests) || 4;
		if (this.running >= max)
			await new Promise(resolve => this.waiting.push(resolve));
		this.running++;
	}

	release() {
		this.running--;
		const next = this.waiting.shift();
		if (next)
			next();
	}

	// fetch within a slot; a 429 (another tab or client of the account using the slots)
	// is tried again after 0.2, 0.4, 0.8 ... seconds, at most 6 times.
	async fetchLimited(url, opts) {
		for (let attempt = 0; ; attempt++) {
			await this.slot();
			try {
				return await this.fetch(url, opts);
			} catch (e) {
				if (!(e instanceof JmapError) || e.status !== 429 || attempt >= 5)
					throw e;
			} finally {
				this.release();
			}
			await new Promise(resolve => setTimeout(resolve, 200 << attempt));
		}
	}

	headers(json) {
		const h = {};
		if (json)
			h['Content-Type'] = 'application/json';
		if (this.csrf)
			h['X-CSRF-Token'] = this.csrf;
		return h;
	}

	async fetch(url, opts) {
		const resp = await fetch(url, { credentials: 'same-origin', cache: 'no-store', ...opts });
		if (resp.status === 401) {
			this.forget();
			if (this.onUnauthorized)
				this.onUnauthorized();
			throw await problem(resp);
		}
		if (!resp.ok)
			throw await problem(resp);
		return resp;
	}

	forget() {
		this.session = null;
		this.accountId = null;
		this.csrf = null;
		this.stopPush();
	}

	// POST /jmap/login; then the session. Throws JmapError (status 401: wrong password).
	async login(username, password) {
		const resp = await fetch('/jmap/login', {
			method: 'POST',
			credentials: 'same-origin',
			cache: 'no-store',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify({ username, password }),
		});
		if (!resp.ok)
			throw await problem(resp);
		const r = await resp.json();
		this.csrf = r.csrfToken;
		return this.loadSession();
	}

	// The session resource with the cookie we may have; null when not logged in.
	async loadSession() {
		const resp = await fetch('/jmap/session', { credentials: 'same-origin', cache: 'no-store' });
		if (resp.status === 401 || resp.status === 403)
			return null;
		if (!resp.ok)
			throw await problem(resp);
		const s = await resp.json();
		this.session = s;
		this.username = s.username;
		if (s.csrfToken)
			this.csrf = s.csrfToken;
		this.accountId = (s.primaryAccounts && s.primaryAccounts[MAIL]) || Object.keys(s.accounts)[0];
		return s;
	}

	async logout() {
		try {
			await fetch('/jmap/logout', { method: 'POST', credentials: 'same-origin',
				headers: this.headers(false) });
		} finally {
			this.forget();
		}
	}

	has(capability) {
		return !!(this.session && this.session.capabilities[capability]);
	}

	using() {
		return [CORE, MAIL, SUBMISSION, QUOTA, KASTEN].filter(c => this.has(c));
	}

	// One request of several calls: [[name, args, callId]...] (accountId filled in where
	// absent). Returns the methodResponses. A whole-request error throws.
	async api(calls) {
		const methodCalls = calls.map(([name, args, id], i) =>
			[name, { accountId: this.accountId, ...args }, id || 'c' + i]);
		const resp = await this.fetchLimited(this.session.apiUrl || '/jmap/api', {
			method: 'POST',
			headers: this.headers(true),
			body: JSON.stringify({ using: this.using(), methodCalls }),
		});
		const r = await resp.json();
		return r.methodResponses;
	}

	// One call; its arguments, or a JmapError for an "error" response.
	async call(name, args) {
		const [res] = await this.api([[name, args]]);
		if (res[0] === 'error')
			throw new JmapError(res[1].type, res[1].description, 0, res[1]);
		return res[1];
	}

	// The responses of api(calls) by call id, throwing on the first "error" response.
	async calls(calls) {
		const out = {};
		for (const [name, args, id] of await this.api(calls)) {
			if (name === 'error')
				throw new JmapError(args.type, args.description, 0, args);
			if (!(id in out))
				out[id] = args;
		}
		return out;
	}

	// POST the blob to the upload URL; {blobId, type, size} (RFC 8620 6.1).
	async upload(blob, type) {
		const url = this.session.uploadUrl.replace('{accountId}', encodeURIComponent(this.accountId));
		const headers = this.headers(false);
		headers['Content-Type'] = type || blob.type || 'application/octet-stream';
		const resp = await this.fetch(url, { method: 'POST', headers, body: blob });
		return resp.json();
	}

	// The download URL of a blob (RFC 8620 6.2); a GET, so the cookie alone serves it.
	downloadUrl(blobId, name, type) {
		return this.session.downloadUrl
			.replace('{accountId}', encodeURIComponent(this.accountId))
			.replace('{blobId}', encodeURIComponent(blobId))
			.replace('{name}', encodeURIComponent(name || 'download'))
			.replace('{type}', encodeURIComponent(type || 'application/octet-stream'));
	}

	// Push (RFC 8620 7.3): onChange(changed) with {Email: state, Mailbox: state, ...} of
	// our account for every StateChange. A dropped connection is opened again after
	// 1, 2, 4 ... 60 seconds (the browser's own retry is not used: it does not back off).
	startPush(onChange, types = '*') {
		this.stopPush();
		let delay = 1000;
		const open = () => {
			const url = this.session.eventSourceUrl
				.replace('{types}', encodeURIComponent(types))
				.replace('{closeafter}', 'no').replace('{ping}', '60');
			const es = new EventSource(url, { withCredentials: true });
			this.es = es;
			es.addEventListener('open', () => { delay = 1000; });
			es.addEventListener('state', ev => {
				let msg;
				try {
					msg = JSON.parse(ev.data);
				} catch (e) {
					return;
				}
				const changed = msg.changed && msg.changed[this.accountId];
				if (changed)
					onChange(changed);
			});
			es.addEventListener('error', () => {
				es.close();
				if (this.es !== es)
					return;
				this.pushTimer = setTimeout(async () => {
					if (this.es !== es)
						return;
					// a 401 ends the session: loadSession tells
					if (!(await this.loadSession().catch(() => this.session))) {
						if (this.onUnauthorized)
							this.onUnauthorized();
						return;
					}
					open();
					onChange(null); // whatever happened while away
				}, delay);
				delay = Math.min(delay * 2, 60000);
			});
		};
		open();
	}

	stopPush() {
		if (this.es)
			this.es.close();
		this.es = null;
		clearTimeout(this.pushTimer);
	}
}
