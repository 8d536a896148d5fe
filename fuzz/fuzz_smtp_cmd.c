/* fuzz_smtp_cmd.c: libFuzzer target for src/smtp/smtp_parse.c.
 * The first input byte picks the options (SMTPUTF8 in force, a small or the full line
 * limit, the split offset); the rest is a command stream. It is fed whole, split in two,
 * and (up to 1 KiB) one byte at a time; the transcripts of results must be identical, no
 * call may take more than it was given, "need more" must take everything, every result
 * must respect the limits, and every canonical address must canonicalise to itself.
 * The whole stream is also handed to smtp_cmd_parse and smtp_addr_canon as one line.
 * Seeds: fuzz/corpus/smtp_cmd/. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "smtp/smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tr {
	char *s;
	size_t len, cap;
};

static void tr_add(struct tr *t, const void *p, size_t n)
{
	if (t->len + n > t->cap) {
		size_t cap = (t->cap + n) * 2 + 64;
		char *s = realloc(t->s, cap);
		assert(s);
		t->s = s;
		t->cap = cap;
	}
	memcpy(t->s + t->len, p, n);
	t->len += n;
}

static void tr_str(struct tr *t, const char *s)
{
	if (!s) {
		tr_add(t, "\x01", 1);
		return;
	}
	tr_add(t, s, strlen(s) + 1);
}

static void check_canon(const char *addr, bool utf8)
{
	struct arena a;
	const char *c1, *c2;
	arena_init(&a, 65536);
	int rc = smtp_addr_canon(&a, addr, strlen(addr), utf8, &c1);
	assert(rc == 0);
	assert(strcmp(c1, addr) == 0); /* addr is already canonical */
	rc = smtp_addr_canon(&a, c1, strlen(c1), utf8, &c2);
	assert(rc == 0 && strcmp(c1, c2) == 0);
	arena_free(&a);
}

/* Decoded xtext: no control characters (they would reach logs and DSNs). */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 32 || *s == 127)
			return false;
	return true;
}

/* One result, after checking its invariants. */
static void record(int rc, const struct smtp_cmd *c, bool utf8, struct tr *t)
{
	char hdr[64];
	int n = snprintf(hdr, sizeof(hdr), "%d:%d:%u:%d|", rc, (int)c->verb, c->reply_code,
	                 (int)c->must_close);
	assert(n > 0 && (size_t)n < sizeof(hdr));
	tr_add(t, hdr, (size_t)n);
	if (rc < 0) {
		assert(rc == ERR_BAD_SYNTAX || rc == ERR_TOO_LONG || rc == ERR_NOMEM);
		assert(c->reply_code >= 400 && c->reply_code < 600 && c->reason);
		if (c->verb == SMTP_VERB_BDAT)
			assert(c->must_close);
		tr_str(t, c->reason);
		return;
	}
	assert(rc == 1 && c->verb != SMTP_VERB_UNKNOWN);
	assert(c->n_params <= SMTP_PARAMS_MAX);
	if (c->domain)
		assert(strlen(c->domain) <= SMTP_DOMAIN_MAX);
	if (c->verb == SMTP_VERB_MAIL || c->verb == SMTP_VERB_RCPT) {
		const struct smtp_path *p = &c->path;
		assert(p->local && p->domain && p->addr);
		assert(strlen(p->local) <= SMTP_LOCAL_MAX && strlen(p->domain) <= SMTP_DOMAIN_MAX);
		assert(strlen(p->addr) + 2 <= SMTP_PATH_MAX);
		assert(!p->null || c->verb == SMTP_VERB_MAIL);
		if (p->utf8)
			assert(utf8 || c->mail.smtputf8);
		if (!p->null)
			check_canon(p->addr, true);
		tr_str(t, p->addr);
		tr_str(t, p->local);
		tr_str(t, p->domain);
		for (size_t i = 0; i < c->n_params; i++) {
			tr_str(t, c->params[i].key);
			tr_str(t, c->params[i].value);
		}
		if (c->rcpt.notify & SMTP_NOTIFY_NEVER)
			assert(c->rcpt.notify == SMTP_NOTIFY_NEVER);
		/* RFC 3461 / 8689 values: bounded, decoded to printable text, and only on
		 * the command they belong to */
		assert(c->rcpt.notify <= 15);
		if (c->mail.envid)
			assert(c->verb == SMTP_VERB_MAIL &&
			       strlen(c->mail.envid) <= SMTP_ENVID_MAX && printable(c->mail.envid));
		if (c->rcpt.orcpt_addr)
			assert(c->verb == SMTP_VERB_RCPT && c->rcpt.orcpt_type &&
			       strlen(c->rcpt.orcpt_type) + 1 + strlen(c->rcpt.orcpt_addr) <=
				   SMTP_ORCPT_MAX &&
			       printable(c->rcpt.orcpt_addr));
		if (c->mail.requiretls || c->mail.ret || c->mail.envid)
			assert(c->verb == SMTP_VERB_MAIL);
	}
	char num[64];
	n = snprintf(num, sizeof(num), "%llu:%d:%llu:%d:%d:%u:%d", (unsigned long long)c->bdat_size,
	             (int)c->bdat_last, (unsigned long long)c->mail.size, (int)c->mail.body,
	             (int)c->mail.ret, c->rcpt.notify, (int)c->mail.requiretls);
	tr_add(t, num, (size_t)n);
	tr_str(t, c->domain);
	tr_str(t, c->arg);
	tr_str(t, c->auth_mech);
	tr_str(t, c->auth_initial);
	tr_str(t, c->mail.auth);
	tr_str(t, c->mail.envid);
	tr_str(t, c->rcpt.orcpt_addr);
}

/* Feed p[0..len) in pieces of at most step bytes after a first piece of first bytes. */
static void run(const uint8_t *p, size_t len, size_t first, size_t step, bool utf8, size_t max_line,
                struct tr *t)
{
	struct arena sa, ca;
	struct smtp_cmd_reader r;
	arena_init(&sa, LIMIT_SESSION_ARENA);
	arena_init(&ca, LIMIT_COMMAND_ARENA);
	int rc = smtp_cmd_reader_init(&r, &sa, max_line);
	assert(rc == 0);
	r.smtputf8 = utf8;
	size_t pos = 0;
	while (pos < len) {
		size_t piece = pos == 0 ? first : step;
		size_t end = len - pos < piece ? len : pos + piece;
		size_t off = pos;
		for (;;) {
			struct smtp_cmd cmd;
			size_t used = (size_t)-1;
			rc = smtp_cmd_read(&r, p + off, end - off, &used, &ca, &cmd);
			assert(used <= end - off);
			off += used;
			if (rc == 0) {
				assert(off == end);
				break;
			}
			record(rc, &cmd, utf8, t);
			arena_reset(&ca);
		}
		pos = end;
	}
	smtp_cmd_reader_reset(&r);
	arena_free(&ca);
	arena_free(&sa);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t opt = data[0];
	const uint8_t *p = data + 1;
	size_t len = size - 1;
	bool utf8 = opt & 1;
	size_t max_line = (opt & 2) ? SMTP_LINE_MIN + (opt >> 3) : LIMIT_SMTP_LINE;
	size_t split = len ? (size_t)(opt * 2654435761u) % (len + 1) : 0;

	struct tr whole = {0}, two = {0}, bytes = {0};
	run(p, len, len ? len : 1, len ? len : 1, utf8, max_line, &whole);
	run(p, len, split ? split : 1, len ? len : 1, utf8, max_line, &two);
	assert(whole.len == two.len && (whole.len == 0 || memcmp(whole.s, two.s, whole.len) == 0));
	if (len <= 1024) {
		run(p, len, 1, 1, utf8, max_line, &bytes);
		assert(whole.len == bytes.len &&
		       (whole.len == 0 || memcmp(whole.s, bytes.s, whole.len) == 0));
	}
	free(whole.s);
	free(two.s);
	free(bytes.s);

	/* the whole input as one line, and as an address */
	struct arena a;
	struct smtp_cmd cmd;
	const char *out;
	arena_init(&a, LIMIT_COMMAND_ARENA);
	int rc = smtp_cmd_parse(p, len, utf8, &a, &cmd);
	struct tr t = {0};
	record(rc, &cmd, utf8, &t);
	free(t.s);
	rc = smtp_addr_canon(&a, (const char *)p, len, utf8, &out);
	assert(rc == 0 || rc == ERR_BAD_SYNTAX || rc == ERR_TOO_LONG);
	if (rc == 0 && *out)
		check_canon(out, utf8);
	arena_free(&a);
	return 0;
}
