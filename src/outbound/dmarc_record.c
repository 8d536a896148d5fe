/* dmarc_record.c: the DMARC record parser (RFC 7489 6.3, 6.4; the tag-list syntax of
 * RFC 6376 3.2). Pure: reads only [p, p+len), allocates nothing. Decisions: tag names
 * are case-sensitive as in RFC 6376 but the values of v, p, sp, adkim and aspf are
 * compared without case (published records vary; nothing is lost); empty tag-specs
 * between semicolons are skipped; a byte outside %x09/%x20-7E is a syntax error.
 * Bound: LIMIT_DMARC_TAGS tags. */
#include "outbound/dmarc.h"

#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

struct dmarc_span {
	const char *p;
	size_t n;
};

static bool dmarc_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct dmarc_span dmarc_trim(const char *p, size_t n)
{
	while (n > 0 && dmarc_ws(p[0])) {
		p++;
		n--;
	}
	while (n > 0 && dmarc_ws(p[n - 1]))
		n--;
	return (struct dmarc_span){p, n};
}

static bool dmarc_tag_name(struct dmarc_span s)
{
	if (s.n == 0 || !((s.p[0] >= 'a' && s.p[0] <= 'z') || (s.p[0] >= 'A' && s.p[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < s.n; i++) {
		char c = s.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/* The next tag from p[*i]: 1 with name/value, 0 at the end, <0 on a syntax error. */
static int dmarc_next_tag(const char *p, size_t len, size_t *i, struct dmarc_span *name,
                          struct dmarc_span *value)
{
	for (;;) {
		if (*i >= len)
			return 0;
		const char *semi = memchr(p + *i, ';', len - *i);
		size_t end = semi ? (size_t)(semi - p) : len;
		struct dmarc_span spec = dmarc_trim(p + *i, end - *i);
		*i = end + 1;
		if (spec.n == 0)
			continue;
		const char *eq = memchr(spec.p, '=', spec.n);
		if (!eq)
			return ERR_BAD_SYNTAX;
		*name = dmarc_trim(spec.p, (size_t)(eq - spec.p));
		*value = dmarc_trim(eq + 1, spec.n - (size_t)(eq - spec.p) - 1);
		return dmarc_tag_name(*name) ? 1 : ERR_BAD_SYNTAX;
	}
}

bool dmarc_record_is_dmarc(const char *p, size_t len)
{
	size_t i = 0;
	struct dmarc_span name, value;
	return dmarc_next_tag(p, len, &i, &name, &value) == 1 && str_ieq(name.p, name.n, "v") &&
	       str_ieq(value.p, value.n, "DMARC1");
}

static int dmarc_policy_value(struct dmarc_span v, enum dmarc_policy *out)
{
	if (str_ieq(v.p, v.n, "none"))
		*out = DMARC_POLICY_NONE;
	else if (str_ieq(v.p, v.n, "quarantine"))
		*out = DMARC_POLICY_QUARANTINE;
	else if (str_ieq(v.p, v.n, "reject"))
		*out = DMARC_POLICY_REJECT;
	else
		return ERR_BAD_SYNTAX;
	return 0;
}

static void dmarc_apply_tag(struct dmarc_record *r, struct dmarc_span n, struct dmarc_span v,
                            bool *sp_seen)
{
	uint64_t pct;
	if (str_ieq(n.p, n.n, "p")) {
		r->p_valid = dmarc_policy_value(v, &r->p) == 0;
	} else if (str_ieq(n.p, n.n, "sp")) {
		*sp_seen = true;
		r->sp_valid = dmarc_policy_value(v, &r->sp) == 0;
	} else if (str_ieq(n.p, n.n, "adkim") || str_ieq(n.p, n.n, "aspf")) {
		bool strict = str_ieq(v.p, v.n, "s");
		if (n.n == 5)
			r->adkim_strict = strict;
		else
			r->aspf_strict = strict;
	} else if (str_ieq(n.p, n.n, "pct")) {
		if (str_to_u64(v.p, v.n, 100, &pct) == 0)
			r->pct = (unsigned)pct;
	} else if (str_ieq(n.p, n.n, "rua")) {
		r->has_rua = v.n > 0;
	}
}

int dmarc_record_parse(const char *p, size_t len, struct dmarc_record *out)
{
	*out = (struct dmarc_record){.pct = 100, .sp_valid = true};
	for (size_t k = 0; k < len; k++)
		if (p[k] != '\t' && ((unsigned char)p[k] < 0x20 || (unsigned char)p[k] > 0x7e))
			return ERR_BAD_SYNTAX;
	if (!dmarc_record_is_dmarc(p, len))
		return ERR_BAD_SYNTAX;
	struct dmarc_span names[LIMIT_DMARC_TAGS], name, value;
	size_t n = 0, i = 0;
	bool sp_seen = false;
	int r;
	while ((r = dmarc_next_tag(p, len, &i, &name, &value)) == 1) {
		if (n == LIMIT_DMARC_TAGS)
			return ERR_BAD_SYNTAX;
		for (size_t k = 0; k < n; k++)
			if (names[k].n == name.n && memcmp(names[k].p, name.p, name.n) == 0)
				return ERR_BAD_SYNTAX; /* RFC 6376 3.2: a tag twice */
		names[n++] = name;
		dmarc_apply_tag(out, name, value, &sp_seen);
	}
	if (r < 0)
		return r;
	if (!sp_seen)
		out->sp = out->p;
	return 0;
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT       ? "reject"
	       : p == DMARC_POLICY_QUARANTINE ? "quarantine"
	                                      : "none";
}
