/* jmap_hform.c: RFC 8621 4.1.2 header forms and 4.1.3 header properties over a header
 * block (jmap_hform.h). The address reader is ENVELOPE's (mime_addr_parse), encoded
 * words and charsets are src/mime's, dates core/date.c's: one reading of a header for
 * IMAP and JMAP. What is left here are the two small list grammars JMAP adds: msg-id
 * lists (RFC 5322 3.6.4) and RFC 2369 URL lists. Bounds: the mime module's (a value is
 * cut at MIME_VALUE_MAX, address lists at MIME_ADDRS_MAX entries) and the header
 * iterator's LIMIT_HEADER_FIELDS. */
#include "http/jmap_hform.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "core/banned.h"
#include "core/date.h"
#include "core/err.h"
#include "mime/mime.h"

static const struct {
	const char *prefix; /* "as" + this */
	enum jmap_hform form;
} form_names[] = {
	{"Raw", JMAP_HF_RAW},       {"Text", JMAP_HF_TEXT},
	{"Addresses", JMAP_HF_ADDRESSES}, {"GroupedAddresses", JMAP_HF_GROUPED},
	{"MessageIds", JMAP_HF_MSGIDS},   {"Date", JMAP_HF_DATE},
	{"URLs", JMAP_HF_URLS},
};

/* RFC 8621 4.1.2: the fields whose forms are fixed (Raw is always allowed). */
static const struct {
	const char *name;
	enum jmap_hform form; /* Addresses stands for GroupedAddresses too */
} known_fields[] = {
	{"Subject", JMAP_HF_TEXT},         {"Comments", JMAP_HF_TEXT},
	{"Keywords", JMAP_HF_TEXT},        {"List-Id", JMAP_HF_TEXT},
	{"From", JMAP_HF_ADDRESSES},       {"Sender", JMAP_HF_ADDRESSES},
	{"Reply-To", JMAP_HF_ADDRESSES},   {"To", JMAP_HF_ADDRESSES},
	{"Cc", JMAP_HF_ADDRESSES},         {"Bcc", JMAP_HF_ADDRESSES},
	{"Resent-From", JMAP_HF_ADDRESSES}, {"Resent-Sender", JMAP_HF_ADDRESSES},
	{"Resent-Reply-To", JMAP_HF_ADDRESSES}, {"Resent-To", JMAP_HF_ADDRESSES},
	{"Resent-Cc", JMAP_HF_ADDRESSES},  {"Resent-Bcc", JMAP_HF_ADDRESSES},
	{"Message-ID", JMAP_HF_MSGIDS},    {"In-Reply-To", JMAP_HF_MSGIDS},
	{"References", JMAP_HF_MSGIDS},    {"Resent-Message-ID", JMAP_HF_MSGIDS},
	{"Date", JMAP_HF_DATE},            {"Resent-Date", JMAP_HF_DATE},
	{"List-Help", JMAP_HF_URLS},       {"List-Unsubscribe", JMAP_HF_URLS},
	{"List-Subscribe", JMAP_HF_URLS},  {"List-Post", JMAP_HF_URLS},
	{"List-Owner", JMAP_HF_URLS},      {"List-Archive", JMAP_HF_URLS},
};

static bool name_is(const char *name, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(name, lit, n) == 0;
}

bool jmap_hform_allowed(const char *name, size_t n, enum jmap_hform form)
{
	if (form == JMAP_HF_RAW)
		return true;
	for (size_t i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++)
		if (name_is(name, n, known_fields[i].name)) {
			enum jmap_hform f = known_fields[i].form;
			return form == f || (f == JMAP_HF_ADDRESSES && form == JMAP_HF_GROUPED);
		}
	return true;
}

int jmap_hform_prop(const char *prop, struct jmap_hprop *out)
{
	static const char pre[] = "header:";
	if (strncmp(prop, pre, sizeof pre - 1) != 0)
		return 1;
	const char *name = prop + sizeof pre - 1;
	size_t n = strcspn(name, ":");
	if (n == 0)
		return ERR_INVAL;
	for (size_t i = 0; i < n; i++) /* RFC 5322 ftext */
		if ((unsigned char)name[i] < 33 || (unsigned char)name[i] > 126)
			return ERR_INVAL;
	*out = (struct jmap_hprop){.name = name, .name_len = n, .form = JMAP_HF_RAW};
	const char *rest = name + n;
	if (*rest == ':' && strncmp(rest + 1, "as", 2) == 0) {
		size_t m = strcspn(rest + 3, ":");
		size_t k = 0, nforms = sizeof form_names / sizeof form_names[0];
		while (k < nforms && !(strlen(form_names[k].prefix) == m &&
				       strncmp(rest + 3, form_names[k].prefix, m) == 0))
			k++;
		if (k == nforms)
			return ERR_INVAL;
		out->form = form_names[k].form;
		rest += 3 + m;
	}
	if (strcmp(rest, ":all") == 0)
		out->all = true;
	else if (*rest)
		return ERR_INVAL;
	return jmap_hform_allowed(name, n, out->form) ? 0 : ERR_INVAL;
}

json_t *jmap_hform_utf8(const uint8_t *p, size_t n, struct arena *a)
{
	struct mime_str s;
	if (mime_charset_to_utf8("utf-8", p, n, a, &s) < 0)
		return NULL;
	return json_stringn(s.s ? s.s : "", s.s ? s.len : 0);
}

json_t *jmap_hform_date(int64_t utc, int32_t zone_min)
{
	time_t t = (time_t)(utc + (int64_t)zone_min * 60);
	struct tm tm;
	char s[40];
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999 ||
	    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return NULL;
	size_t l = strlen(s);
	int32_t z = zone_min < 0 ? -zone_min : zone_min;
	int r = zone_min == 0 ? snprintf(s + l, sizeof s - l, "Z")
			      : snprintf(s + l, sizeof s - l, "%c%02d:%02d",
					 zone_min < 0 ? '-' : '+', (int)(z / 60), (int)(z % 60));
	if (r < 0 || (size_t)r >= sizeof s - l)
		return NULL;
	return json_string(s);
}

/* ---- addresses ---- */

/* A display name (raw, quotes removed) decoded, or null when there is none. */
static json_t *addr_name(const struct mime_str *raw, struct arena *a)
{
	struct mime_str d;
	if (!raw->s || raw->len == 0)
		return json_null();
	if (mime_decode_words((const uint8_t *)raw->s, raw->len, a, &d) < 0)
		return NULL;
	return d.len ? json_stringn(d.s, d.len) : json_null();
}

/* EmailAddress {name, email}: email is local part "@" domain as written (the domain
 * left out when there is none: a phrase without an address has email ""). */
static json_t *email_address(const struct mime_addr *m, struct arena *a)
{
	size_t ml = m->mailbox.s ? m->mailbox.len : 0, hl = m->host.s ? m->host.len : 0;
	char *e = arena_alloc(a, ml + hl + 2);
	if (!e)
		return NULL;
	if (ml)
		memcpy(e, m->mailbox.s, ml);
	size_t k = ml;
	if (hl) {
		e[k++] = '@';
		memcpy(e + k, m->host.s, hl);
		k += hl;
	}
	return json_pack("{s:o,s:o}", "name", addr_name(&m->name, a), "email",
			 jmap_hform_utf8((const uint8_t *)e, k, a));
}

static json_t *addresses(const uint8_t *v, size_t n, bool grouped, struct arena *a)
{
	struct mime_str u;
	struct mime_addr *list;
	if (mime_unfold(v, n, a, &u) < 0 || mime_addr_parse(a, (const uint8_t *)u.s, u.len, &list) < 0)
		return NULL;
	/* grouped: the addresses array being filled; NULL outside a group until an
	 * address needs a group of its own (4.1.2.4: a run of addresses outside groups
	 * is one group with name null) */
	json_t *out = json_array(), *group = NULL;
	for (const struct mime_addr *m = list; out && m; m = m->next) {
		if (m->kind == MIME_ADDR_GROUP_END) {
			group = NULL;
			continue;
		}
		if (grouped && (m->kind == MIME_ADDR_GROUP_START || !group)) {
			json_t *g = json_pack("{s:o,s:[]}", "name",
					      m->kind == MIME_ADDR_GROUP_START ? addr_name(&m->mailbox, a)
									       : json_null(),
					      "addresses");
			if (!g || json_array_append_new(out, g) < 0)
				goto fail;
			group = json_object_get(g, "addresses");
		}
		if (m->kind == MIME_ADDR_GROUP_START)
			continue;
		json_t *e = email_address(m, a);
		if (!e || json_array_append_new(grouped ? group : out, e) < 0)
			goto fail;
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* ---- msg-id and URL lists ---- */

/* After CFWS at s[i]. */
static size_t skip_cfws(const uint8_t *s, size_t n, size_t i)
{
	return date_skip_cfws((const char *)s, n, i);
}

/* The content of "<...>" from s[*i] == '<' with whitespace and CR/LF removed; advances
 * *i past the '>'. NULL (and *i unchanged) when no '>' follows. */
static json_t *bracketed(const uint8_t *s, size_t n, size_t *i, struct arena *a, bool *ok)
{
	const uint8_t *close = memchr(s + *i, '>', n - *i);
	*ok = close != NULL;
	if (!close)
		return NULL;
	size_t start = *i + 1, end = (size_t)(close - s);
	char *b = arena_alloc(a, end - start + 1);
	if (!b)
		return NULL;
	size_t k = 0;
	for (size_t j = start; j < end; j++)
		if (s[j] != ' ' && s[j] != '\t' && s[j] != '\r' && s[j] != '\n')
			b[k++] = (char)s[j];
	*i = end + 1;
	return jmap_hform_utf8((const uint8_t *)b, k, a);
}

/* msg-id *(CFWS msg-id) (RFC 5322 3.6.4), with the obsolete phrases of In-Reply-To
 * (4.5.4) between ids skipped; null when something else is there or no id is. */
static json_t *msgids(const uint8_t *s, size_t n, struct arena *a)
{
	json_t *out = json_array();
	size_t i = 0;
	while (out && (i = skip_cfws(s, n, i)) < n) {
		bool ok;
		if (s[i] == '<') {
			json_t *id = bracketed(s, n, &i, a, &ok);
			if (!ok || (id && json_string_length(id) == 0)) {
				json_decref(id);
				break;
			}
			if (!id || json_array_append_new(out, id) < 0)
				goto fail;
		} else if (s[i] == '"') { /* a quoted word of an obs-phrase */
			for (i++; i < n && s[i] != '"'; i++)
				i += s[i] == '\\';
			if (i >= n)
				break;
			i++;
		} else if (s[i] > 32 && s[i] < 127 && !strchr("()<>[]:;@\\,.\"", s[i])) {
			while (i < n && s[i] > 32 && s[i] < 127 && !strchr("()<>[]:;@\\,\"", s[i]))
				i++; /* an atom of an obs-phrase (dots allowed) */
		} else {
			break;
		}
	}
	if (out && (i < n || json_array_size(out) == 0)) {
		json_decref(out);
		return json_null();
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* RFC 2369 2: "<" URL ">" separated by commas, comments and whitespace around them;
 * null when something else is there. */
static json_t *urls(const uint8_t *s, size_t n, struct arena *a)
{
	json_t *out = json_array();
	size_t i = skip_cfws(s, n, 0);
	while (out && i < n) {
		bool ok;
		if (s[i] != '<')
			break;
		json_t *u = bracketed(s, n, &i, a, &ok);
		if (!ok)
			break;
		if (!u || json_array_append_new(out, u) < 0)
			goto fail;
		i = skip_cfws(s, n, i);
		if (i < n && s[i] == ',')
			i = skip_cfws(s, n, i + 1);
		else if (i < n)
			break;
	}
	if (out && i < n) {
		json_decref(out);
		return json_null();
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

json_t *jmap_hform_value(enum jmap_hform form, const uint8_t *v, size_t n, struct arena *a)
{
	struct mime_str d;
	int64_t utc;
	int32_t zone;
	switch (form) {
	case JMAP_HF_RAW:
		return jmap_hform_utf8(v, n, a);
	case JMAP_HF_TEXT:
		if (mime_decode_words(v, n, a, &d) < 0)
			return NULL;
		return json_stringn(d.s ? d.s : "", d.s ? d.len : 0);
	case JMAP_HF_ADDRESSES:
	case JMAP_HF_GROUPED:
		return addresses(v, n, form == JMAP_HF_GROUPED, a);
	case JMAP_HF_MSGIDS:
		return msgids(v, n, a);
	case JMAP_HF_DATE:
		if (date_rfc5322_parse((const char *)v, n, &utc, NULL, &zone) < 0)
			return json_null();
		json_t *t = jmap_hform_date(utc, zone);
		return t ? t : json_null();
	case JMAP_HF_URLS:
		return urls(v, n, a);
	}
	return NULL;
}

json_t *jmap_hform_get(const struct jmap_hprop *h, const uint8_t *hdr, size_t len,
		       struct arena *a)
{
	struct mime_header_iter it;
	struct mime_field f, last = {0};
	bool found = false;
	json_t *all = h->all ? json_array() : NULL;
	if (h->all && !all)
		return NULL;
	mime_header_init(&it, 0);
	while (mime_header_next(&it, hdr, len, true, &f) == MIME_HDR_FIELD) {
		if (f.bad || f.name_len != h->name_len ||
		    strncasecmp((const char *)f.name, h->name, h->name_len) != 0)
			continue;
		found = true;
		last = f;
		if (all && json_array_append_new(all, jmap_hform_value(h->form, f.value,
								       f.value_len, a)) < 0) {
			json_decref(all);
			return NULL;
		}
	}
	if (all)
		return all;
	return found ? jmap_hform_value(h->form, last.value, last.value_len, a) : json_null();
}

json_t *jmap_hform_field(const char *name, enum jmap_hform form, const uint8_t *hdr,
			 size_t len, struct arena *a)
{
	struct jmap_hprop h = {.name = name, .name_len = strlen(name), .form = form};
	return jmap_hform_get(&h, hdr, len, a);
}

json_t *jmap_hform_headers(const uint8_t *hdr, size_t len, struct arena *a)
{
	struct mime_header_iter it;
	struct mime_field f;
	json_t *out = json_array();
	mime_header_init(&it, 0);
	while (out && mime_header_next(&it, hdr, len, true, &f) == MIME_HDR_FIELD) {
		if (f.bad)
			continue;
		json_t *o = json_pack("{s:o,s:o}", "name", jmap_hform_utf8(f.name, f.name_len, a),
				      "value", jmap_hform_utf8(f.value, f.value_len, a));
		if (!o || json_array_append_new(out, o) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}
