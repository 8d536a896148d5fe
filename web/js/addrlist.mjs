// addrlist.mjs: the compose form's address fields. What a person types into To/Cc/Bcc
// ("Anna <anna@example.org>, bob@example.org; \"Doe, John\" <j@d.example>") becomes
// JMAP EmailAddress objects {name, email} (RFC 8621 4.1.2.3), and what the server gave
// back becomes text again. Pure: no DOM, so node's test runner checks it
// (tests/web/test_addrlist.mjs) and throws random input at it.
//
// The grammar is RFC 5322 3.4 as people write it, not all of it: a list separated by
// ',' or ';' (outside quotes and angle brackets); an item is `addr-spec`, `<addr-spec>`
// or `display-name <addr-spec>` with the name quoted or not; (comments) are dropped;
// group syntax is not taken (nobody types it). An address must be RFC 5321 deliverable:
// a dot-atom or quoted local part of at most 64 octets, a domain of dot-separated
// labels, at most 254 octets in all (RFC 5321 4.5.3.1). Non-ASCII letters are allowed
// in both parts (RFC 6531); whether a server takes them is the server's to say.
// Bounded: a list is at most LIST_MAX characters and ITEMS_MAX items; beyond that
// parseAddressList reports the rest as one error instead of working on it.

export const LIST_MAX = 16384;
export const ITEMS_MAX = 500;
const LOCAL_MAX = 64;
const ADDRESS_MAX = 254;
const LABEL_MAX = 63;

// atext (RFC 5322 3.2.3) plus any non-ASCII character
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+$/;
const LABEL = /^[A-Za-z0-9\u0080-\uffff]([A-Za-z0-9\-\u0080-\uffff]*[A-Za-z0-9\u0080-\uffff])?$/;

// Is email a deliverable addr-spec (see the top)?
export function isValidEmail(email) {
	if (typeof email !== 'string' || email.length === 0 || email.length > ADDRESS_MAX)
		return false;
	const at = email.lastIndexOf('@');
	if (at <= 0 || at === email.length - 1)
		return false;
	const local = email.slice(0, at), domain = email.slice(at + 1);
	if (utf8Length(local) > LOCAL_MAX || utf8Length(email) > ADDRESS_MAX)
		return false;
	if (!localOk(local))
		return false;
	const labels = domain.split('.');
	return labels.every((l) => l.length > 0 && l.length <= LABEL_MAX && LABEL.test(l));
}

function localOk(local) {
	if (local.startsWith('"'))
		return /^"([\x20\x21\x23-\x5b\x5d-\x7e\u0080-\uffff]|\\[\x20-\x7e])*"$/.test(local);
	return local.split('.').every((p) => p.length > 0 && ATEXT.test(p));
}

function utf8Length(s) {
	return new TextEncoder().encode(s).length;
}

// Split at ',' / ';' that are outside "quotes", <angle brackets> and (comments).
function splitItems(text) {
	const items = [];
	let cur = '', quoted = false, angle = false, depth = 0;
	for (let i = 0; i < text.length; i++) {
		const c = text[i];
		if (quoted) {
			cur += c;
			if (c === '\\' && i + 1 < text.length)
				cur += text[++i];
			else if (c === '"')
				quoted = false;
			continue;
		}
		if (c === '"' && depth === 0)
			quoted = true;
		else if (c === '(')
			depth++;
		else if (c === ')' && depth > 0)
			depth--;
		else if (c === '<' && depth === 0)
			angle = true;
		else if (c === '>' && depth === 0)
			angle = false;
		else if ((c === ',' || c === ';') && !angle && depth === 0) {
			items.push(cur);
			cur = '';
			continue;
		}
		cur += c;
	}
	items.push(cur);
	return items;
}

// Drop (comments), nesting and quoted-pairs inside them respected; quoted strings kept.
function stripComments(s) {
	let out = '', depth = 0, quoted = false;
	for (let i = 0; i < s.length; i++) {
		const c = s[i];
		if (depth === 0 && c === '"')
			quoted = !quoted;
		if (!quoted && c === '(') {
			depth++;
			continue;
		}
		if (depth > 0) {
			if (c === '\\')
				i++;
			else if (c === ')')
				depth--;
			continue;
		}
		out += c;
		if (quoted && c === '\\' && i + 1 < s.length)
			out += s[++i];
	}
	return out;
}

function unquote(name) {
	const n = name.trim();
	if (n.length >= 2 && n.startsWith('"') && n.endsWith('"'))
		return n.slice(1, -1).replace(/\\(.)/g, '$1');
	return n.replace(/\s+/g, ' ');
}

// One item -> {name, email} or null when it is not an address.
function parseItem(raw) {
	const s = stripComments(raw).trim();
	const lt = s.lastIndexOf('<');
	let name = null, email;
	if (lt >= 0) {
		if (s.indexOf('>', lt) !== s.length - 1)
			return null;
		email = s.slice(lt + 1, -1).trim();
		const n = unquote(s.slice(0, lt));
		name = n.length ? n : null;
	} else {
		email = s;
	}
	return isValidEmail(email) ? { name, email } : null;
}

// text -> {addresses: [{name, email}], errors: [the items that are not addresses]}.
// Empty items (",,", a trailing ",") are skipped; the same address twice is kept once
// (compared case-insensitively), the first name it came with winning.
export function parseAddressList(text) {
	const addresses = [], errors = [], seen = new Set();
	if (typeof text !== 'string')
		return { addresses, errors };
	if (text.length > LIST_MAX) {
		errors.push(text.slice(0, 40) + '…');
		return { addresses, errors };
	}
	const items = splitItems(text);
	for (let i = 0; i < items.length; i++) {
		const raw = items[i].trim();
		if (!raw)
			continue;
		if (addresses.length + errors.length >= ITEMS_MAX) {
			errors.push(raw.slice(0, 40) + '…');
			break;
		}
		const a = parseItem(raw);
		if (!a) {
			errors.push(raw);
			continue;
		}
		const key = a.email.toLowerCase();
		if (!seen.has(key)) {
			seen.add(key);
			addresses.push(a);
		}
	}
	return { addresses, errors };
}

// {name, email} -> `Name <email>` (the name quoted when it holds a special, RFC 5322
// 3.2.3), or the bare email when there is no name.
export function formatAddress(a) {
	if (!a || !a.email)
		return '';
	const name = (a.name || '').replace(/[\r\n]+/g, ' ').trim();
	if (!name || name === a.email)
		return a.email;
	const needsQuote = /[()<>[\]:;@\\,."]/.test(name);
	const shown = needsQuote ? '"' + name.replace(/(["\\])/g, '\\$1') + '"' : name;
	return `${shown} <${a.email}>`;
}

export function formatAddressList(list) {
	return (list || []).map(formatAddress).filter((s) => s).join(', ');
}
