/* jmap_email_patch.c: the pure readers behind Email/set and Email/import: JMAP keywords
 * (RFC 8621 4.1.1) and their mapping to the store's flag bits, the PatchObject of an
 * Email update (RFC 8620 5.3: "keywords", "keywords/<k>", "mailboxIds",
 * "mailboxIds/<id>"), and UTCDates (RFC 8620 1.4). No store, no I/O: unit tests
 * (tests/unit/test_jmap_email_patch.c) and fuzz/fuzz_jmap_email_patch.c drive them.
 *
 * Keywords are lower-cased when read: JMAP keywords are case-insensitive and Email/get
 * shows them lower-cased, so what a client sets is what it reads back; the store
 * compares them case-insensitively with what IMAP set. Bounds: what jansson parsed
 * (the request is bounded by LIMIT_JMAP_REQUEST_SIZE) and the arena's cap. */
#include "http/jmap_email_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "http/jmap.h"
#include "http/jmap_email.h"
#include "store/store.h"

const struct jmap_keyword_bit jmap_keyword_bits[] = {
	{"$seen", STORE_F_SEEN},         {"$answered", STORE_F_ANSWERED},
	{"$flagged", STORE_F_FLAGGED},   {"$draft", STORE_F_DRAFT},
	{"$forwarded", STORE_F_FORWARDED}, {"$junk", STORE_F_JUNK},
	{"$notjunk", STORE_F_NOTJUNK},
};
const size_t jmap_keyword_bits_n = sizeof jmap_keyword_bits / sizeof jmap_keyword_bits[0];

bool jmap_keyword_ok(const char *k, size_t n)
{
	if (n < 1 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];
		if (c < 0x21 || c > 0x7e || strchr("(){]%*\"\\", c))
			return false;
	}
	return true;
}

unsigned jmap_keyword_bit(const char *k, size_t n)
{
	for (size_t i = 0; i < jmap_keyword_bits_n; i++)
		if (str_ieq(k, n, jmap_keyword_bits[i].name))
			return jmap_keyword_bits[i].bit;
	return 0;
}

int jmap_keywords_split(struct arena *a, const char *keywords, unsigned *flags_out,
			const char **rest_out)
{
	size_t len = keywords ? strlen(keywords) : 0, used = 0;
	char *rest = arena_alloc(a, len + 1);
	if (!rest)
		return ERR_NOMEM;
	*flags_out = 0;
	for (const char *p = keywords; p && *p;) {
		size_t n = strcspn(p, " ");
		unsigned bit = n ? jmap_keyword_bit(p, n) : 0;
		if (bit) {
			*flags_out |= bit;
		} else if (n) {
			if (used)
				rest[used++] = ' ';
			memcpy(rest + used, p, n);
			used += n;
		}
		p += n;
		p += *p == ' ';
	}
	rest[used] = '\0';
	*rest_out = rest;
	return 0;
}

/* Does the space-separated list [list, list+len) hold k (any case)? */
static bool list_has(const char *list, size_t len, const char *k, size_t n)
{
	for (size_t i = 0; i < len;) {
		size_t m = strcspn(list + i, " ");
		if (m == n && strncasecmp(list + i, k, n) == 0)
			return true;
		i += m + 1;
	}
	return false;
}

/* A growing space-separated keyword list in an arena: each keyword once, lower-cased. */
struct kw_list {
	char *s;
	size_t len, cap;
};

static int kw_list_add(struct arena *a, struct kw_list *l, const char *k, size_t n)
{
	if (list_has(l->s, l->len, k, n))
		return 0;
	if (l->len + n + 2 > l->cap) {
		size_t cap = (l->cap + n + 2) * 2;
		char *s = arena_alloc(a, cap);
		if (!s)
			return ERR_NOMEM;
		if (l->len)
			memcpy(s, l->s, l->len);
		l->s = s;
		l->cap = cap;
	}
	if (l->len)
		l->s[l->len++] = ' ';
	for (size_t i = 0; i < n; i++)
		l->s[l->len++] = (char)tolower((unsigned char)k[i]);
	l->s[l->len] = '\0';
	return 0;
}

static const char *kw_list_str(const struct kw_list *l)
{
	return l->len ? l->s : "";
}

int jmap_keywords_from_json(struct arena *a, json_t *keywords, const char **out)
{
	struct kw_list l = {0};
	const char *k;
	json_t *v;
	if (!json_is_object(keywords))
		return ERR_INVAL;
	json_object_foreach(keywords, k, v) {
		/* RFC 8621 4.1.1: the value is always true */
		if (!json_is_true(v) || !jmap_keyword_ok(k, strlen(k)))
			return ERR_INVAL;
		int rc = kw_list_add(a, &l, k, strlen(k));
		if (rc < 0)
			return rc;
	}
	*out = kw_list_str(&l);
	return 0;
}

int jmap_keywords_parse(struct jmap_ctx *x, json_t *keywords, const char **out)
{
	return jmap_keywords_from_json(x->a, keywords, out);
}

/* RFC 6901 unescaping of one reference token [p, p+n): NULL for a raw '/' (the path
 * goes deeper than a keyword or mailbox id) or a bad '~' escape. */
static char *pointer_token(struct arena *a, const char *p, size_t n, int *rc_out)
{
	char *t = arena_alloc(a, n + 1);
	size_t len = 0;
	*rc_out = ERR_NOMEM;
	if (!t)
		return NULL;
	*rc_out = ERR_BAD_SYNTAX;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '/')
			return NULL;
		if (p[i] == '~') {
			if (i + 1 >= n || (p[i + 1] != '0' && p[i + 1] != '1'))
				return NULL;
			t[len++] = p[++i] == '0' ? '~' : '/';
		} else {
			t[len++] = p[i];
		}
	}
	t[len] = '\0';
	*rc_out = 0;
	return t;
}

/* ids as a growing array in an arena */
struct id_list {
	const char **v;
	size_t n, cap;
};

static int id_list_add(struct arena *a, struct id_list *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], id) == 0)
			return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		const char **v = arena_alloc(a, cap * sizeof *v);
		if (!v)
			return ERR_NOMEM;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof *v);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = id;
	return 0;
}

/* A mailbox id as a patch may give it: an Id, or "#" and a creation id. */
static bool mailbox_ref_ok(const char *id)
{
	return jmap_id_ok(id[0] == '#' ? id + 1 : id);
}

struct patch_state {
	struct arena *a;
	struct kw_list set, add, remove;
	struct id_list mb_set, mb_add, mb_remove;
	bool kw_parts, mb_parts;
};

static int patch_member(struct patch_state *s, struct jmap_email_patch *out,
			const char *key, json_t *v)
{
	static const char kw[] = "keywords/", mb[] = "mailboxIds/";
	int rc;
	if (strcmp(key, "keywords") == 0) {
		out->kw_whole = true;
		const char *set;
		if ((rc = jmap_keywords_from_json(s->a, v, &set)) < 0)
			return rc;
		out->kw_set = set;
		return 0;
	}
	if (strcmp(key, "mailboxIds") == 0) {
		const char *id;
		json_t *t;
		out->mb_whole = true;
		if (!json_is_object(v))
			return ERR_INVAL;
		json_object_foreach(v, id, t) {
			if (!json_is_true(t) || !mailbox_ref_ok(id))
				return ERR_INVAL;
			if ((rc = id_list_add(s->a, &s->mb_set, id)) < 0)
				return rc;
		}
		return 0;
	}
	bool is_kw = strncmp(key, kw, sizeof kw - 1) == 0;
	bool is_mb = strncmp(key, mb, sizeof mb - 1) == 0;
	if (!is_kw && !is_mb)
		return ERR_INVAL; /* not a property an update may change */
	const char *rest = key + (is_kw ? sizeof kw : sizeof mb) - 1;
	char *name = pointer_token(s->a, rest, strlen(rest), &rc);
	if (!name)
		return rc;
	/* RFC 8620 5.3: the value at a member path is the new value, null removes it */
	if (!json_is_true(v) && !json_is_null(v))
		return ERR_INVAL;
	if (is_kw) {
		s->kw_parts = true;
		if (!jmap_keyword_ok(name, strlen(name)))
			return ERR_INVAL;
		return kw_list_add(s->a, json_is_true(v) ? &s->add : &s->remove, name,
				   strlen(name));
	}
	s->mb_parts = true;
	if (!mailbox_ref_ok(name))
		return ERR_INVAL;
	return id_list_add(s->a, json_is_true(v) ? &s->mb_add : &s->mb_remove, name);
}

int jmap_email_patch_parse(struct arena *a, json_t *patch, struct jmap_email_patch *out,
			   const char **bad_out)
{
	struct patch_state s = {.a = a};
	const char *key;
	json_t *v;
	memset(out, 0, sizeof *out);
	*bad_out = NULL;
	if (!json_is_object(patch))
		return ERR_BAD_SYNTAX;
	json_object_foreach(patch, key, v) {
		int rc = patch_member(&s, out, key, v);
		if (rc < 0) {
			if (rc == ERR_INVAL)
				*bad_out = key;
			return rc;
		}
	}
	/* RFC 8620 5.3: no path may be the prefix of another */
	if ((out->kw_whole && s.kw_parts) || (out->mb_whole && s.mb_parts))
		return ERR_BAD_SYNTAX;
	if (!out->kw_set)
		out->kw_set = "";
	out->kw_add = kw_list_str(&s.add);
	out->kw_remove = kw_list_str(&s.remove);
	out->mb_set = s.mb_set.v;
	out->n_mb_set = s.mb_set.n;
	out->mb_add = s.mb_add.v;
	out->n_mb_add = s.mb_add.n;
	out->mb_remove = s.mb_remove.v;
	out->n_mb_remove = s.mb_remove.n;
	return 0;
}

/* n decimal digits at s as a number, -1 if any is not a digit. */
static int digits(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t civil_days(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int jmap_utc_date_parse(const char *s, size_t n, int64_t *out)
{
	static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	/* "YYYY-MM-DDTHH:MM:SS" then an optional ".digits", then "Z" */
	if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[n - 1] != 'Z')
		return ERR_BAD_SYNTAX;
	if (n > 20 && (s[19] != '.' || n == 21 || n - 21 > 9 || digits(s + 20, n - 21) < 0))
		return ERR_BAD_SYNTAX;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || se < 0 || se > 59)
		return ERR_BAD_SYNTAX;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo == 2 && d == 29 && !leap)
		return ERR_BAD_SYNTAX;
	*out = civil_days(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}
