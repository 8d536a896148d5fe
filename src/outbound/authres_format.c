/* authres_format.c: the Authentication-Results field we add (RFC 8601 2.2):
 *     Authentication-Results: mx.example.org;
 *     	spf=pass smtp.mailfrom=alice@example.test;
 *     	dkim=pass header.d=example.test header.s=sel header.b=AbCdEf12;
 *     	dmarc=pass (p=reject) header.from=example.test
 * Each result starts a line; a result too long for one line folds between its
 * properties, so lines stay under 78 columns (RFC 5322 2.1.1; a tab counts 8) unless a
 * single value is longer. Values that are not RFC 2045 tokens are quoted strings (an
 * address with a plain local part stays as it is: RFC 8601's pvalue allows it).
 * header.b holds the first 8 characters of b= (RFC 6008 4: enough to tell signatures
 * apart). Pure: writes only into the caller's buffer. */
#include "outbound/authres.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/banned.h"

#define AUTHRES_WIDTH 78
#define AUTHRES_TAB 8
#define AUTHRES_B_CHARS 8

struct authres_out {
	char *p;
	size_t len, cap;
	size_t col; /* columns used on the current line */
	bool over;
};

static void ar_raw(struct authres_out *o, const char *s, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->col += n;
}

/* RFC 2045 5.1 token characters. */
static bool ar_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

/* RFC 5322 atext plus '.', and '@': an address that needs no quotes as a pvalue. */
static bool ar_addr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~.@", c));
}

/* A property or method "name=value" as one unbreakable piece in piece (cap bytes). */
static void ar_piece(char *piece, size_t cap, const char *name, const char *value, bool addr)
{
	size_t o = 0, n = strlen(value);
	bool plain = n > 0;
	for (size_t i = 0; i < n && plain; i++)
		plain = addr ? ar_addr_char((unsigned char)value[i])
		             : ar_token_char((unsigned char)value[i]);
	int w = snprintf(piece, cap, "%s=%s", name, plain ? value : "\"");
	if (w < 0 || (size_t)w >= cap) {
		piece[0] = '\0';
		return;
	}
	if (plain)
		return;
	o = (size_t)w;
	for (size_t i = 0; i < n && o + 3 < cap; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c < 0x20 || c == 0x7f)
			continue; /* control characters cannot stand in a header: dropped */
		if (c == '"' || c == '\\')
			piece[o++] = '\\';
		piece[o++] = (char)c;
	}
	piece[o++] = '"';
	piece[o] = '\0';
}

/* Append a piece, folding before it when it does not fit. first: a result's first
 * piece, which always starts a line. */
static void ar_put(struct authres_out *o, const char *piece, bool first)
{
	size_t n = strlen(piece);
	if (n == 0)
		return;
	if (first || o->col + 1 + n > AUTHRES_WIDTH) {
		ar_raw(o, "\r\n\t", 3);
		o->col = AUTHRES_TAB;
	} else {
		ar_raw(o, " ", 1);
	}
	ar_raw(o, piece, n);
}

static void ar_spf(struct authres_out *o, const struct spf_outcome *s)
{
	char piece[LIMIT_ADDRESS * 2 + 32];
	ar_piece(piece, sizeof(piece), "spf", spf_result_name(s->result), false);
	ar_put(o, piece, true);
	if (s->identity[0]) {
		ar_piece(piece, sizeof(piece), "smtp.mailfrom", s->identity, true);
		ar_put(o, piece, false);
	}
}

static void ar_dkim(struct authres_out *o, const struct dkim_verify_result *d)
{
	char piece[LIMIT_ADDR_DOMAIN * 2 + 32], b[AUTHRES_B_CHARS + 1];
	ar_piece(piece, sizeof(piece), "dkim", dkim_result_name(d->result), false);
	ar_put(o, piece, true);
	if (d->result != DKIM_RESULT_PASS && d->reason[0]) {
		ar_piece(piece, sizeof(piece), "reason", d->reason, false);
		ar_put(o, piece, false);
	}
	if (d->domain[0]) {
		ar_piece(piece, sizeof(piece), "header.d", d->domain, false);
		ar_put(o, piece, false);
	}
	if (d->selector[0]) {
		ar_piece(piece, sizeof(piece), "header.s", d->selector, false);
		ar_put(o, piece, false);
	}
	if (d->header_b[0]) {
		size_t n = strnlen(d->header_b, AUTHRES_B_CHARS);
		memcpy(b, d->header_b, n);
		b[n] = '\0';
		ar_piece(piece, sizeof(piece), "header.b", b, false);
		ar_put(o, piece, false);
	}
}

static void ar_dmarc(struct authres_out *o, const struct dmarc_outcome *d)
{
	char piece[LIMIT_DNS_NAME * 2 + 32];
	ar_piece(piece, sizeof(piece), "dmarc", dmarc_result_name(d->result), false);
	ar_put(o, piece, true);
	if (d->has_policy) {
		/* a comment: RFC 7489 defines no property for the policy */
		int n = snprintf(piece, sizeof(piece), "(p=%s)", dmarc_policy_name(d->p));
		(void)n; /* fits: a fixed word */
		ar_put(o, piece, false);
	}
	ar_piece(piece, sizeof(piece), "header.from", d->domain, false);
	ar_put(o, piece, false);
}

int authres_format(const struct authres_results *r, char *out, size_t cap, size_t *len_out)
{
	struct authres_out o = {out, 0, cap, 0, false};
	char piece[LIMIT_DNS_NAME * 2 + 32];
	ar_raw(&o, "Authentication-Results: ", 24);
	ar_piece(piece, sizeof(piece), "", r->authserv_id, false);
	ar_raw(&o, piece + 1, strlen(piece + 1)); /* the value without the "=" */
	size_t results = 0;
	if (r->spf_on) {
		ar_raw(&o, ";", 1);
		ar_spf(&o, &r->spf);
		results++;
	}
	if (r->dkim_on) {
		for (size_t i = 0; i < r->n_dkim; i++) {
			ar_raw(&o, ";", 1);
			ar_dkim(&o, &r->dkim[i]);
		}
		if (r->n_dkim == 0) {
			ar_raw(&o, ";", 1);
			ar_put(&o,
			       r->dkim_unchecked ? "dkim=permerror reason=\"header too large\""
			                         : "dkim=none",
			       true);
		}
		results++;
	}
	if (r->dmarc_on) {
		for (size_t i = 0; i < r->n_dmarc; i++) {
			ar_raw(&o, ";", 1);
			ar_dmarc(&o, &r->dmarc[i]);
		}
		if (r->n_dmarc == 0) {
			ar_raw(&o, ";", 1);
			ar_put(&o, r->dmarc_permerror ? "dmarc=permerror" : "dmarc=none", true);
			if (r->dmarc_problem) {
				ar_piece(piece, sizeof(piece), "reason", r->dmarc_problem, false);
				ar_put(&o, piece, false);
			}
		}
		results++;
	}
	if (results == 0)
		ar_raw(&o, "; none", 6); /* RFC 8601 2.2: no method was applied */
	ar_raw(&o, "\r\n", 2);
	if (o.over)
		return ERR_FULL;
	*len_out = o.len;
	return 0;
}
