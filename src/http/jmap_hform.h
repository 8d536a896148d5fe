/* jmap_hform.h: the parsed forms of header fields (RFC 8621 4.1.2) and the header
 * properties of Email/get and Email/parse (4.1.3: header:{name}[:as{form}][:all],
 * headers, and the convenience properties built on them). Pure over the bytes of a
 * header block: no store, no I/O; allocation from the arena it is handed (scratch) and
 * from jansson (the values returned). unit tests: tests/unit/test_jmap_hform.c; fuzz:
 * fuzz/fuzz_jmap_header_forms.c. */
#ifndef KASTEN_JMAP_HFORM_H
#define KASTEN_JMAP_HFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct arena;

enum jmap_hform {
	JMAP_HF_RAW,       /* String: the octets after the colon, folds kept (4.1.2.1) */
	JMAP_HF_TEXT,      /* String: unfolded, RFC 2047 decoded, trimmed (4.1.2.2) */
	JMAP_HF_ADDRESSES, /* EmailAddress[]: groups flattened (4.1.2.3) */
	JMAP_HF_GROUPED,   /* EmailAddressGroup[] (4.1.2.4) */
	JMAP_HF_MSGIDS,    /* String[]|null: msg-ids without brackets (4.1.2.5) */
	JMAP_HF_DATE,      /* Date|null: RFC 3339 with the zone as written (4.1.2.6) */
	JMAP_HF_URLS,      /* String[]|null: RFC 2369 URLs without brackets (4.1.2.7) */
};

/* A header property: the field name (as asked; compared case-insensitively), the form
 * and :all. */
struct jmap_hprop {
	const char *name;
	size_t name_len;
	enum jmap_hform form;
	bool all;
};

/* Read a property name. 1: it is no header property (does not start "header:"); 0 and
 * *out: a valid one (out->name points into prop); ERR_INVAL: it starts "header:" but is
 * not valid (empty or bad field name, unknown form, a suffix after :all, or a form
 * RFC 8621 4.1.2 does not allow for a field it names, e.g. From:asDate). */
int jmap_hform_prop(const char *prop, struct jmap_hprop *out);

/* Whether form may be asked for field name[0..n) (4.1.2: the fields it lists allow only
 * their forms and Raw; any other field any form). */
bool jmap_hform_allowed(const char *name, size_t n, enum jmap_hform form);

/* The value of one raw field value v[0..n) (as struct mime_field.value: after the colon,
 * folds kept, without the last line end) in a form. A new reference (JSON null where
 * the form says a value that cannot be parsed is null), NULL when memory ran out. */
json_t *jmap_hform_value(enum jmap_hform form, const uint8_t *v, size_t n, struct arena *a);

/* The value of property h over the header block hdr[0..len) (fields up to the empty
 * line): the last instance of the field, or null when there is none; with :all an
 * array of every instance in order ([] when none). NULL when memory ran out. */
json_t *jmap_hform_get(const struct jmap_hprop *h, const uint8_t *hdr, size_t len,
		       struct arena *a);

/* The value of field name in form over a header block (a convenience property:
 * "subject" = Subject as Text, "from" = From as Addresses...): jmap_hform_get without
 * :all. */
json_t *jmap_hform_field(const char *name, enum jmap_hform form, const uint8_t *hdr,
			 size_t len, struct arena *a);

/* EmailHeader[] of a header block (4.1.3 "headers"): every field in order, {"name" as
 * written, "value" in Raw form}. NULL when memory ran out. */
json_t *jmap_hform_headers(const uint8_t *hdr, size_t len, struct arena *a);

/* RFC 3339 date-time of unix seconds shown at zone minutes east of UTC: "Z" for 0,
 * else "+hh:mm"/"-hh:mm" (RFC 8620 1.4 Date). NULL when memory ran out or the time
 * is outside years 0-9999. */
json_t *jmap_hform_date(int64_t utc, int32_t zone_min);

/* Valid UTF-8 of any bytes (every invalid byte U+FFFD) as a JSON string. */
json_t *jmap_hform_utf8(const uint8_t *p, size_t n, struct arena *a);

#endif
