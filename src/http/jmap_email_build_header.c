/* jmap_email_build_header.c: the header fields of an Email being created (RFC 8621
 * 4.1.2, 4.1.3, 4.6): the "header:Name:asForm:all" properties, "headers" and the
 * convenience properties collected and checked, and each parsed form written back as
 * the field it parses from (Raw as given, Text as unstructured text, Addresses and
 * GroupedAddresses as address lists, MessageIds as msg-ids, Date as an RFC 5322 date,
 * URLs as <url> lists).
 *
 * Nothing a client sends can end a field early or start another: every value is
 * checked for line breaks and controls (Raw may fold, with CRLF or LF, only before
 * whitespace), and address parts that could be read as structure are quoted. */
#include "http/jmap_email_build_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/banned.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"

#define NAME_MAX_LEN LIMIT_JMAP_BUILD_FIELD_NAME
#define ADDR_MAX_LEN LIMIT_JMAP_BUILD_ADDR

static const struct {
	const char *name;
	enum jeb_form form;
} form_names[] = {
	{"asRaw", JEB_FORM_RAW},           {"asText", JEB_FORM_TEXT},
	{"asAddresses", JEB_FORM_ADDRESSES}, {"asGroupedAddresses", JEB_FORM_GROUPED},
	{"asMessageIds", JEB_FORM_MESSAGEIDS}, {"asDate", JEB_FORM_DATE},
	{"asURLs", JEB_FORM_URLS},
};

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126 || s[i] == ':')
			return false;
	return true;
}

int jeb_hprop_parse(struct arena *a, const char *key, struct jeb_hprop *out)
{
	if (strncmp(key, "header:", 7) != 0)
		return ERR_BAD_SYNTAX;
	const char *p = key + 7;
	size_t n = strcspn(p, ":");
	if (!name_ok(p, n))
		return ERR_BAD_SYNTAX;
	out->name = arena_strndup(a, p, n);
	out->form = JEB_FORM_RAW;
	out->all = false;
	if (!out->name)
		return ERR_NOMEM;
	p += n;
	if (*p == ':' && strcmp(p, ":all") != 0) {
		size_t fl = strcspn(p + 1, ":");
		size_t i;
		for (i = 0; i < sizeof form_names / sizeof form_names[0]; i++)
			if (strlen(form_names[i].name) == fl &&
			    strncmp(form_names[i].name, p + 1, fl) == 0)
				break;
		if (i == sizeof form_names / sizeof form_names[0])
			return ERR_BAD_SYNTAX;
		out->form = form_names[i].form;
		p += 1 + fl;
	}
	if (strcmp(p, ":all") == 0)
		out->all = true;
	else if (*p)
		return ERR_BAD_SYNTAX;
	return 0;
}

/* RFC 8621 4.1.2: the fields the RFC names with the forms they may be read as (Raw is
 * always allowed); a field not listed allows every form. */
static const struct {
	const char *name;
	unsigned forms; /* bits of enum jeb_form */
} known_fields[] = {
#define ADDR (1u << JEB_FORM_ADDRESSES | 1u << JEB_FORM_GROUPED)
	{"from", ADDR}, {"sender", ADDR}, {"reply-to", ADDR}, {"to", ADDR}, {"cc", ADDR},
	{"bcc", ADDR}, {"resent-from", ADDR}, {"resent-sender", ADDR},
	{"resent-reply-to", ADDR}, {"resent-to", ADDR}, {"resent-cc", ADDR},
	{"resent-bcc", ADDR},
#undef ADDR
	{"message-id", 1u << JEB_FORM_MESSAGEIDS}, {"in-reply-to", 1u << JEB_FORM_MESSAGEIDS},
	{"references", 1u << JEB_FORM_MESSAGEIDS},
	{"resent-message-id", 1u << JEB_FORM_MESSAGEIDS},
	{"date", 1u << JEB_FORM_DATE}, {"resent-date", 1u << JEB_FORM_DATE},
	{"list-help", 1u << JEB_FORM_URLS}, {"list-unsubscribe", 1u << JEB_FORM_URLS},
	{"list-subscribe", 1u << JEB_FORM_URLS}, {"list-post", 1u << JEB_FORM_URLS},
	{"list-owner", 1u << JEB_FORM_URLS}, {"list-archive", 1u << JEB_FORM_URLS},
	{"subject", 1u << JEB_FORM_TEXT}, {"comments", 1u << JEB_FORM_TEXT},
	{"keywords", 1u << JEB_FORM_TEXT}, {"list-id", 1u << JEB_FORM_TEXT},
};

bool jeb_form_allowed(const char *name, enum jeb_form form)
{
	if (form == JEB_FORM_RAW)
		return true;
	for (size_t i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++)
		if (strcasecmp(known_fields[i].name, name) == 0)
			return (known_fields[i].forms >> form) & 1u;
	return true;
}

/* ---- collecting ---- */

static const struct {
	const char *prop;
	const char *field;
	enum jeb_form form;
} convenience[] = {
	{"messageId", "Message-ID", JEB_FORM_MESSAGEIDS},
	{"inReplyTo", "In-Reply-To", JEB_FORM_MESSAGEIDS},
	{"references", "References", JEB_FORM_MESSAGEIDS},
	{"sender", "Sender", JEB_FORM_ADDRESSES},
	{"from", "From", JEB_FORM_ADDRESSES},
	{"to", "To", JEB_FORM_ADDRESSES},
	{"cc", "Cc", JEB_FORM_ADDRESSES},
	{"bcc", "Bcc", JEB_FORM_ADDRESSES},
	{"replyTo", "Reply-To", JEB_FORM_ADDRESSES},
	{"subject", "Subject", JEB_FORM_TEXT},
	{"sentAt", "Date", JEB_FORM_DATE},
};

static char *lower_dup(struct arena *a, const char *s)
{
	char *l = arena_strdup(a, s);
	if (l)
		str_lower(l);
	return l;
}

/* The checks every collected field passes; 0 or ERR_INVAL. */
static int entry_check(json_t *seen, const char *lname, bool part)
{
	if (json_object_get(seen, lname))
		return ERR_INVAL;
	if (!part && strncmp(lname, "content-", 8) == 0)
		return ERR_INVAL;
	if (part && (strcmp(lname, "content-transfer-encoding") == 0 ||
		     strcmp(lname, "content-type") == 0))
		return ERR_INVAL;
	return json_object_set_new(seen, lname, json_true()) < 0 ? ERR_NOMEM : 0;
}

int jeb_headers_collect(struct arena *a, json_t *obj, const char *prefix, bool part,
			json_t *seen, struct jeb_hentry **out, size_t *n_out,
			const char **bad_out)
{
	size_t cap = json_object_size(obj), n = 0;
	json_t *hs = json_object_get(obj, "headers");
	if (json_is_array(hs))
		cap += json_array_size(hs);
	struct jeb_hentry *e = arena_zalloc(a, (cap + 1) * sizeof *e);
	const char *key;
	json_t *v;
	if (!e)
		return ERR_NOMEM;
	json_object_foreach(obj, key, v) {
		struct jeb_hentry *h = &e[n];
		h->key = arena_printf(a, "%s%s", prefix, key);
		if (!h->key)
			return ERR_NOMEM;
		if (strncmp(key, "header:", 7) == 0) {
			int rc = jeb_hprop_parse(a, key, &h->h);
			if (rc == ERR_NOMEM)
				return rc;
			if (rc < 0 || !jeb_form_allowed(h->h.name, h->h.form))
				goto bad;
		} else if (strcmp(key, "headers") == 0) {
			continue;
		} else {
			size_t i = 0;
			while (i < sizeof convenience / sizeof convenience[0] &&
			       (part || strcmp(convenience[i].prop, key) != 0))
				i++;
			if (i == sizeof convenience / sizeof convenience[0])
				continue;
			h->h.name = convenience[i].field;
			h->h.form = convenience[i].form;
		}
		h->value = v;
		h->lname = lower_dup(a, h->h.name);
		if (!h->lname)
			return ERR_NOMEM;
		int rc = entry_check(seen, h->lname, part);
		if (rc == ERR_NOMEM)
			return rc;
		if (rc < 0)
			goto bad;
		if (!json_is_null(v))
			n++;
		continue;
bad:
		*bad_out = h->key;
		return ERR_INVAL;
	}
	/* "headers": [{"name", "value"}] as raw fields */
	if (hs && !json_is_null(hs) && !json_is_array(hs)) {
		*bad_out = arena_printf(a, "%sheaders", prefix);
		return *bad_out ? ERR_INVAL : ERR_NOMEM;
	}
	size_t i;
	json_array_foreach(hs, i, v) {
		struct jeb_hentry *h = &e[n];
		json_t *name = json_object_get(v, "name"), *val = json_object_get(v, "value");
		const char *ns = json_string_value(name);
		h->key = arena_printf(a, "%sheaders/%s", prefix,
				      ns && name_ok(ns, strlen(ns)) ? ns : "name");
		if (!h->key)
			return ERR_NOMEM;
		if (!json_is_object(v) || json_object_size(v) != 2 || !ns ||
		    !name_ok(ns, strlen(ns)) || !json_is_string(val)) {
			*bad_out = h->key;
			return ERR_INVAL;
		}
		h->h.name = ns;
		h->h.form = JEB_FORM_RAW;
		h->value = val;
		h->lname = lower_dup(a, ns);
		if (!h->lname)
			return ERR_NOMEM;
		/* the same field more than once is what "headers" exists for; it conflicts
		 * only with a field given by another property */
		json_t *was = json_object_get(seen, h->lname);
		if (was && !json_is_integer(was)) {
			*bad_out = h->key;
			return ERR_INVAL;
		}
		if (!was) {
			int rc = entry_check(seen, h->lname, part);
			if (rc == ERR_NOMEM)
				return rc;
			if (rc < 0) {
				*bad_out = h->key;
				return ERR_INVAL;
			}
			if (json_object_set_new(seen, h->lname, json_integer(1)) < 0)
				return ERR_NOMEM;
		}
		n++;
	}
	*out = e;
	*n_out = n;
	return 0;
}

/* ---- writing the forms ---- */

/* Raw (4.1.2.1): the value after the colon as given; a line break (CRLF or LF) only
 * before SP/HTAB (a fold), written as CRLF; no other control but HTAB; no line past
 * 998 with the name. */
static int write_raw(struct jeb_out *o, const char *name, json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), line = strlen(name) + 1, start = 0;
	if (!s)
		return ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool crlf = c == '\r' && i + 1 < n && s[i + 1] == '\n';
		if (c == '\n' || crlf) {
			size_t next = i + 1 + crlf;
			if (next >= n || (s[next] != ' ' && s[next] != '\t'))
				return ERR_INVAL;
			line = 0;
			i += crlf;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f || ++line > JEB_LINE_MAX)
			return ERR_INVAL;
	}
	if (jeb_puts(o, name) < 0 || jeb_put(o, ":", 1) < 0)
		return o->err;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\n')
			continue;
		size_t end = i > start && s[i - 1] == '\r' ? i - 1 : i;
		if (jeb_put(o, s + start, end - start) < 0 || jeb_put(o, "\r\n", 2) < 0)
			return o->err;
		start = i + 1;
	}
	if (jeb_put(o, s + start, n - start) < 0)
		return o->err;
	return jeb_field_end(o);
}

/* An addr-spec's local part or domain as dot-atom text (UTF-8 allowed, RFC 6532)? */
static bool dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.' ? s[i - 1] == '.'
			     : !(c >= 0x80 || (c > 0x20 && c < 0x7f && !strchr("()<>[]:;@\\,.\"", c))))
			return false;
	}
	return true;
}

/* "<addr-spec>" (or the addr-spec alone) of an EmailAddress's email into t. The local
 * part is quoted when it is no dot-atom; the domain must be a dot-atom or a domain
 * literal. ERR_INVAL for what cannot be an address token. */
static int addr_spec(const char *email, size_t n, bool angle, char *t, size_t *tl)
{
	const char *at = NULL;
	for (size_t i = n; i > 0 && !at; i--)
		if (email[i - 1] == '@')
			at = email + i - 1;
	if (!at || n > ADDR_MAX_LEN || !jeb_text_ok(email, n))
		return ERR_INVAL;
	size_t ll = (size_t)(at - email), dl = n - ll - 1, k = 0;
	const char *dom = at + 1;
	bool literal = dl >= 2 && dom[0] == '[' && dom[dl - 1] == ']';
	for (size_t i = 1; literal && i + 1 < dl; i++)
		literal = dom[i] > 0x20 && dom[i] < 0x7f && !strchr("[]\\", dom[i]);
	if (!literal && !dot_atom(dom, dl))
		return ERR_INVAL;
	if (angle)
		t[k++] = '<';
	if (dot_atom(email, ll)) {
		memcpy(t + k, email, ll);
		k += ll;
	} else {
		t[k++] = '"';
		for (size_t i = 0; i < ll; i++) {
			if (email[i] == '"' || email[i] == '\\')
				t[k++] = '\\';
			t[k++] = email[i];
		}
		t[k++] = '"';
	}
	t[k++] = '@';
	memcpy(t + k, dom, dl);
	k += dl;
	if (angle)
		t[k++] = '>';
	*tl = k;
	return 0;
}

/* One EmailAddress {"name": String|null, "email": String}. */
static int write_address(struct jeb_out *o, json_t *v, const char *sep)
{
	json_t *name = json_object_get(v, "name"), *email = json_object_get(v, "email");
	char t[2 * ADDR_MAX_LEN + 8];
	size_t tl;
	const char *key;
	json_t *m;
	if (!json_is_object(v) || !json_is_string(email) || (name && !json_is_null(name) &&
							     !json_is_string(name)))
		return ERR_INVAL;
	json_object_foreach(v, key, m)
		if (strcmp(key, "name") != 0 && strcmp(key, "email") != 0)
			return ERR_INVAL;
	size_t nl = json_string_length(name);
	const char *ns = json_string_value(name);
	if (ns && !jeb_text_ok(ns, nl))
		return ERR_INVAL;
	bool named = ns && nl > 0;
	if (addr_spec(json_string_value(email), json_string_length(email), named, t, &tl) < 0)
		return ERR_INVAL;
	if (named && jeb_field_phrase(o, sep, ns, nl) < 0)
		return o->err;
	return jeb_field_token(o, named ? " " : sep, t, tl);
}

/* EmailAddress[] after what the field holds so far; *first tells whether a comma goes
 * before the next one. */
static int write_address_list(struct jeb_out *o, json_t *list, bool *first)
{
	size_t i;
	json_t *v;
	if (!json_is_array(list))
		return ERR_INVAL;
	json_array_foreach(list, i, v) {
		if (!*first && jeb_field_token(o, "", ",", 1) < 0)
			return o->err;
		int rc = write_address(o, v, " ");
		if (rc < 0)
			return rc;
		*first = false;
	}
	return 0;
}

/* EmailAddressGroup[] {"name": String|null, "addresses": EmailAddress[]} (4.1.2.4):
 * a null name lists its addresses outside any group. */
static int write_groups(struct jeb_out *o, json_t *list)
{
	size_t i;
	json_t *g;
	bool first = true;
	if (!json_is_array(list))
		return ERR_INVAL;
	json_array_foreach(list, i, g) {
		json_t *name = json_object_get(g, "name"), *addrs = json_object_get(g, "addresses");
		if (!json_is_object(g) || !json_is_array(addrs) ||
		    json_object_size(g) != (size_t)(name ? 2 : 1) ||
		    (name && !json_is_null(name) && !json_is_string(name)))
			return ERR_INVAL;
		if (!json_is_string(name)) {
			int rc = write_address_list(o, addrs, &first);
			if (rc < 0)
				return rc;
			continue;
		}
		const char *ns = json_string_value(name);
		size_t nl = json_string_length(name);
		if (nl == 0 || !jeb_text_ok(ns, nl))
			return ERR_INVAL;
		if (!first && jeb_field_token(o, "", ",", 1) < 0)
			return o->err;
		if (jeb_field_phrase(o, " ", ns, nl) < 0 || jeb_field_token(o, "", ":", 1) < 0)
			return o->err;
		bool inner = true;
		int rc = write_address_list(o, addrs, &inner);
		if (rc < 0)
			return rc;
		if (jeb_field_token(o, "", ";", 1) < 0)
			return o->err;
		first = false;
	}
	return 0;
}

/* String[] of msg-ids (without angle brackets) or URLs, each written in <>. */
static int write_bracketed(struct jeb_out *o, json_t *list, bool commas)
{
	size_t i;
	json_t *v;
	char t[ADDR_MAX_LEN + 3];
	if (!json_is_array(list))
		return ERR_INVAL;
	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		if (!s || n == 0 || n > ADDR_MAX_LEN)
			return ERR_INVAL;
		for (size_t k = 0; k < n; k++)
			if ((unsigned char)s[k] <= 0x20 || (unsigned char)s[k] >= 0x7f ||
			    s[k] == '<' || s[k] == '>' || (!commas && s[k] == ','))
				return ERR_INVAL;
		if (commas && i > 0 && jeb_field_token(o, "", ",", 1) < 0)
			return o->err;
		t[0] = '<';
		memcpy(t + 1, s, n);
		t[n + 1] = '>';
		if (jeb_field_token(o, " ", t, n + 2) < 0)
			return o->err;
	}
	return 0;
}

static int write_one(struct jeb_out *o, const struct jeb_hprop *h, json_t *v)
{
	int rc;
	/* null, or an empty list: no field (an empty From: or Message-ID: would say
	 * there is one, and Date and Message-ID are then made as for none) */
	if (json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
		return 0;
	if (h->form == JEB_FORM_RAW)
		return write_raw(o, h->name, v);
	if (h->form == JEB_FORM_TEXT &&
	    (!json_is_string(v) || !jeb_text_ok(json_string_value(v), json_string_length(v))))
		return ERR_INVAL;
	char date[64];
	if (h->form == JEB_FORM_DATE &&
	    (!json_is_string(v) ||
	     jeb_date_format(json_string_value(v), json_string_length(v), date) < 0))
		return ERR_INVAL;
	if (jeb_field_start(o, h->name) < 0)
		return o->err;
	bool first = true;
	switch (h->form) {
	case JEB_FORM_TEXT:
		rc = jeb_field_text(o, json_string_value(v), json_string_length(v));
		break;
	case JEB_FORM_ADDRESSES:
		rc = write_address_list(o, v, &first);
		break;
	case JEB_FORM_GROUPED:
		rc = write_groups(o, v);
		break;
	case JEB_FORM_MESSAGEIDS:
		rc = write_bracketed(o, v, false);
		break;
	case JEB_FORM_URLS:
		rc = write_bracketed(o, v, true);
		break;
	case JEB_FORM_DATE:
		rc = jeb_field_token(o, " ", date, strlen(date));
		break;
	default:
		rc = ERR_INVAL;
		break;
	}
	return rc < 0 ? rc : jeb_field_end(o);
}

int jeb_header_write(struct jeb_out *o, struct arena *a, const struct jeb_hprop *h,
		     json_t *value)
{
	size_t i;
	json_t *v;
	(void)a;
	if (!h->all)
		return write_one(o, h, value);
	if (!json_is_array(value))
		return ERR_INVAL;
	json_array_foreach(value, i, v) {
		int rc = write_one(o, h, v);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- dates ---- */

static int digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int jeb_date_format(const char *s, size_t n, char out[64])
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static const char *const wdays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y, mo, d, h, mi, se, zh = 0, zm = 0;
	char sign = '+';
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':' || digits(s, 4, &y) < 0 || digits(s + 5, 2, &mo) < 0 ||
	    digits(s + 8, 2, &d) < 0 || digits(s + 11, 2, &h) < 0 ||
	    digits(s + 14, 2, &mi) < 0 || digits(s + 17, 2, &se) < 0)
		return ERR_BAD_SYNTAX;
	size_t i = 19;
	if (s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == 20)
			return ERR_BAD_SYNTAX;
	}
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
		sign = '+';
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' &&
		   digits(s + i + 1, 2, &zh) == 0 && digits(s + i + 4, 2, &zm) == 0) {
		sign = s[i];
	} else {
		return ERR_BAD_SYNTAX;
	}
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1000 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 60 || zh > 23 || zm > 59)
		return ERR_BAD_SYNTAX;
	int64_t days = days_from_civil(y, mo, d);
	int wd = (int)(((days % 7) + 7) % 7);
	int m = snprintf(out, 64, "%s, %u %s %04u %02u:%02u:%02u %c%02u%02u", wdays[wd], d,
			 months[mo - 1], y, h, mi, se, sign, zh, zm);
	return m > 0 && m < 64 ? 0 : ERR_BAD_SYNTAX;
}
