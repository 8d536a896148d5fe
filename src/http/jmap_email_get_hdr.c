/* jmap_email_get_hdr.c: the header properties of an Email (RFC 8621 4.1.2, 4.1.3):
 * headers, the convenience properties (messageId, inReplyTo, references, sender, from,
 * to, cc, bcc, replyTo, subject, sentAt: each the last instance of its field in its
 * fixed form) and header:{name}[:as{form}][:all], all over the top-level header block
 * (the store's cached copy for a stored message, so no file is opened for them). */
#include "http/jmap_email_get_int.h"

#include <string.h>

#include "core/arena.h"
#include "core/banned.h"
#include "core/err.h"
#include "http/jmap_hform.h"

static const struct {
	const char *prop, *field;
	enum jmap_hform form;
} convenience[] = {
	{"messageId", "Message-ID", JMAP_HF_MSGIDS},
	{"inReplyTo", "In-Reply-To", JMAP_HF_MSGIDS},
	{"references", "References", JMAP_HF_MSGIDS},
	{"sender", "Sender", JMAP_HF_ADDRESSES},
	{"from", "From", JMAP_HF_ADDRESSES},
	{"to", "To", JMAP_HF_ADDRESSES},
	{"cc", "Cc", JMAP_HF_ADDRESSES},
	{"bcc", "Bcc", JMAP_HF_ADDRESSES},
	{"replyTo", "Reply-To", JMAP_HF_ADDRESSES},
	{"subject", "Subject", JMAP_HF_TEXT},
	{"sentAt", "Date", JMAP_HF_DATE},
};
#define N_CONVENIENCE (sizeof convenience / sizeof convenience[0])

bool jmap_is_header_prop(const char *prop)
{
	if (strcmp(prop, "headers") == 0 || strncmp(prop, "header:", 7) == 0)
		return true;
	for (size_t i = 0; i < N_CONVENIENCE; i++)
		if (strcmp(prop, convenience[i].prop) == 0)
			return true;
	return false;
}

/* The value of one header property (prop known to be one). */
static json_t *header_prop(const char *prop, const uint8_t *hdr, size_t len, struct arena *a)
{
	if (strcmp(prop, "headers") == 0)
		return jmap_hform_headers(hdr, len, a);
	for (size_t i = 0; i < N_CONVENIENCE; i++)
		if (strcmp(prop, convenience[i].prop) == 0)
			return jmap_hform_field(convenience[i].field, convenience[i].form, hdr, len, a);
	struct jmap_hprop h;
	if (jmap_hform_prop(prop, &h) != 0)
		return json_null(); /* not reached: the properties were checked */
	return jmap_hform_get(&h, hdr, len, a);
}

int jmap_header_props(const char *const *props, size_t n, const uint8_t *hdr, size_t len,
		      struct arena *a, json_t *email)
{
	for (size_t i = 0; i < n; i++) {
		if (!jmap_is_header_prop(props[i]))
			continue;
		json_t *v = header_prop(props[i], hdr, len, a);
		if (!v || json_object_set_new(email, props[i], v) < 0)
			return ERR_NOMEM;
	}
	return 0;
}

int jmap_split_header_props(struct jmap_ctx *x, json_t *args, const char *member,
			    json_t **args_out, const char ***hdr_props_out, size_t *n_out)
{
	json_t *props = json_object_get(args, member);
	*hdr_props_out = NULL;
	*n_out = 0;
	if (!json_is_array(props)) { /* absent, null or wrong: the standard parser says */
		*args_out = json_incref(args);
		return 0;
	}
	size_t n = json_array_size(props);
	const char **hp = arena_alloc(x->a, (n ? n : 1) * sizeof *hp);
	json_t *rest = json_array(), *copy = json_copy(args);
	if (!hp || !rest || !copy)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(props, i);
		const char *s = json_string_value(e);
		struct jmap_hprop h;
		int r = s ? jmap_hform_prop(s, &h) : 1;
		if (r < 0) {
			json_decref(rest);
			json_decref(copy);
			return jmap_method_error(
				x, "invalidArguments",
				arena_printf(x->a, "%s: %.100s is not a header property RFC 8621 4.1.3 "
						   "allows", member, s));
		}
		if (r == 0) {
			size_t k = 0;
			while (k < *n_out && strcmp(hp[k], s) != 0)
				k++;
			if (k == *n_out)
				hp[(*n_out)++] = s;
		} else if (json_array_append(rest, e) < 0) {
			goto nomem;
		}
	}
	if (json_object_set_new(copy, member, rest) < 0) {
		rest = NULL;
		goto nomem;
	}
	*hdr_props_out = hp;
	*args_out = copy;
	return 0;
nomem:
	json_decref(rest);
	json_decref(copy);
	return jmap_method_error(x, "serverFail", "out of memory");
}
