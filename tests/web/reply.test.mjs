// Reply, reply-all and forward (web/js/reply.mjs): subjects with "Re:"/"Fwd:" once,
// recipients without the user's own addresses, In-Reply-To/References (RFC 5322
// 3.6.4), the quoted body. Run: node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
	replySubject, forwardSubject, quoteLines, replyRecipients, threadHeaders, replyBody,
	forwardBody, REFS_MAX,
} from '../../web/js/reply.mjs';

const t = (k, p) => k + (p ? JSON.stringify(p) : '');
const fmt = (d) => 'D(' + d + ')';
const noHtml = () => 'HTML';

test('Re: and Fwd: once (RFC 5322 3.6.5)', () => {
	assert.equal(replySubject('Hello'), 'Re: Hello');
	assert.equal(replySubject('Re: Hello'), 'Re: Hello');
	assert.equal(replySubject('RE:Hello'), 'RE:Hello');
	assert.equal(replySubject('AW: Hallo'), 'AW: Hallo');
	assert.equal(replySubject(''), 'Re: ');
	assert.equal(replySubject(null), 'Re: ');
	assert.equal(replySubject('Fwd: x'), 'Re: Fwd: x');
	assert.equal(forwardSubject('Hello'), 'Fwd: Hello');
	assert.equal(forwardSubject('Fwd: Hello'), 'Fwd: Hello');
	assert.equal(forwardSubject('FW: Hello'), 'FW: Hello');
	assert.equal(forwardSubject('WG: Hallo'), 'WG: Hallo');
	assert.equal(forwardSubject('Re: Hello'), 'Fwd: Re: Hello');
	assert.equal(replySubject('Reply needed'), 'Re: Reply needed');
});

test('quoting: "> " before text, ">" before quoted and empty lines', () => {
	assert.equal(quoteLines('a\r\n\r\n> b\nc\n\n'), '> a\n>\n>> b\n> c');
	assert.equal(quoteLines(''), '');
});

const own = new Set(['me@x.org', 'alias@x.org']);
const orig = {
	from: [{ name: 'Anna', email: 'anna@x.org' }],
	to: [{ name: 'Me', email: 'ME@x.org' }, { name: 'Bob', email: 'bob@x.org' }],
	cc: [{ name: null, email: 'alias@x.org' }, { name: 'Cy', email: 'cy@x.org' },
		{ name: 'Anna again', email: 'anna@X.org' }],
};

test('reply goes to From, or Reply-To when set', () => {
	assert.deepEqual(replyRecipients(orig, false, own),
		{ to: [{ name: 'Anna', email: 'anna@x.org' }], cc: [] });
	const rt = { ...orig, replyTo: [{ name: 'List', email: 'list@x.org' }] };
	assert.deepEqual(replyRecipients(rt, false, own).to, [{ name: 'List', email: 'list@x.org' }]);
});

test('reply-all: From + To, Cc; never the user, never twice', () => {
	const r = replyRecipients(orig, true, own);
	assert.deepEqual(r.to.map((a) => a.email), ['anna@x.org', 'bob@x.org']);
	assert.deepEqual(r.cc.map((a) => a.email), ['cy@x.org']);
});

test('a reply to one\'s own sent message goes to its recipients', () => {
	const sent = { from: [{ name: 'Me', email: 'me@x.org' }], to: [{ name: 'Bob', email: 'bob@x.org' }],
		cc: [{ name: null, email: 'cy@x.org' }] };
	assert.deepEqual(replyRecipients(sent, false, own).to.map((a) => a.email), ['bob@x.org']);
	const all = replyRecipients(sent, true, own);
	assert.deepEqual(all.to.map((a) => a.email), ['bob@x.org']);
	assert.deepEqual(all.cc.map((a) => a.email), ['cy@x.org']);
	const note = { from: [{ email: 'me@x.org' }], to: [{ email: 'me@x.org' }] };
	assert.deepEqual(replyRecipients(note, false, own).to.map((a) => a.email), ['me@x.org']);
});

test('In-Reply-To and References (RFC 5322 3.6.4)', () => {
	assert.deepEqual(threadHeaders({ messageId: ['m1@x'] }),
		{ inReplyTo: ['m1@x'], references: ['m1@x'] });
	assert.deepEqual(threadHeaders({ messageId: ['m3@x'], references: ['m1@x', 'm2@x'] }),
		{ inReplyTo: ['m3@x'], references: ['m1@x', 'm2@x', 'm3@x'] });
	assert.deepEqual(threadHeaders({ messageId: null, references: null }),
		{ inReplyTo: null, references: null });
	const long = Array.from({ length: 50 }, (_, i) => `r${i}@x`);
	const h = threadHeaders({ messageId: ['new@x'], references: long });
	assert.equal(h.references.length, REFS_MAX);
	assert.equal(h.references[0], 'r0@x');
	assert.equal(h.references[REFS_MAX - 1], 'new@x');
	assert.equal(h.references[REFS_MAX - 2], 'r49@x');
});

const withBody = {
	...orig, subject: 'Hi', sentAt: '2026-01-02T10:00:00Z',
	textBody: [{ partId: '1', type: 'text/plain' }],
	bodyValues: { 1: { value: 'line one\nline two\n' } },
};

test('reply body: the wrote line and the quoted text', () => {
	assert.equal(replyBody(withBody, t, fmt, noHtml),
		'\n\ncompose.wrote{"date":"D(2026-01-02T10:00:00Z)","name":"Anna"}\n> line one\n> line two\n');
	const html = { ...withBody, textBody: [{ partId: '2', type: 'text/html' }],
		bodyValues: { 2: { value: '<p>x</p>' } } };
	assert.match(replyBody(html, t, fmt, noHtml), /\n> HTML\n$/);
});

test('forward body: a header block, then the text', () => {
	const b = forwardBody(withBody, t, fmt, noHtml);
	assert.match(b, /^\n\n---------- compose.forwarded ----------\n/);
	assert.match(b, /compose.hdrFrom: Anna <anna@x.org>\n/);
	assert.match(b, /compose.hdrCc: alias@x.org, Cy <cy@x.org>, Anna again <anna@X.org>\n/);
	assert.match(b, /\n\nline one\nline two\n\n$/);
});
