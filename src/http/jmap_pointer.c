/* jmap_pointer.c: JSON Pointer (RFC 6901) with JMAP's '*' (RFC 8620 3.7), for result
 * references.
 *
 * Evaluation descends one level of the value per reference token, so its recursion
 * is bounded by the value's depth (LIMIT_JMAP_DEPTH for anything from a request or a
 * method result), however long the path is. A token is decoded ("~1" -> "/", "~0" ->
 * "~"; any other '~' makes the pointer invalid) into a heap copy as long as the token. */
#include "http/jmap.h"

#include <stdlib.h>
#include <string.h>

/* Decode the token at p (up to the next '/' or the end) into a new string; *end_out
 * is where it stopped. NULL for a bad escape or no memory. */
static char *pointer_token(const char *p, const char **end_out)
{
	const char *e = strchr(p, '/');
	size_t n = e ? (size_t)(e - p) : strlen(p);
	char *t = malloc(n + 1);
	if (!t)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '~') {
			t[k++] = p[i];
			continue;
		}
		if (i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
			t[k++] = p[i + 1] == '0' ? '~' : '/';
			i++;
			continue;
		}
		free(t);
		return NULL;
	}
	t[k] = '\0';
	*end_out = p + n;
	return t;
}

/* An array index (RFC 6901 4: "0" or digits without a leading zero), or -1. */
static long pointer_index(const char *t, size_t size)
{
	if (t[0] == '\0' || (t[0] == '0' && t[1] != '\0'))
		return -1;
	size_t v = 0;
	for (const char *q = t; *q; q++) {
		if (*q < '0' || *q > '9')
			return -1;
		v = v * 10 + (size_t)(*q - '0');
		if (v >= size)
			return -1;
	}
	return (long)v;
}

static json_t *pointer_eval(json_t *v, const char *path);

/* '*' over array v: the rest applied to each item, arrays flattened one level. */
static json_t *pointer_star(json_t *v, const char *rest)
{
	json_t *out = json_array();
	size_t i;
	json_t *item;
	if (!out)
		return NULL;
	json_array_foreach(v, i, item) {
		json_t *r = pointer_eval(item, rest);
		if (!r) {
			json_decref(out);
			return NULL;
		}
		int rc = json_is_array(r) ? json_array_extend(out, r) : json_array_append(out, r);
		json_decref(r);
		if (rc < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *pointer_eval(json_t *v, const char *path)
{
	if (*path == '\0')
		return json_incref(v);
	if (*path != '/')
		return NULL;
	const char *end;
	char *t = pointer_token(path + 1, &end);
	if (!t)
		return NULL;
	json_t *r = NULL;
	if (json_is_array(v)) {
		if (strcmp(t, "*") == 0) {
			r = pointer_star(v, end);
		} else {
			long i = pointer_index(t, json_array_size(v));
			if (i >= 0)
				r = pointer_eval(json_array_get(v, (size_t)i), end);
		}
	} else if (json_is_object(v)) {
		json_t *m = json_object_get(v, t);
		if (m)
			r = pointer_eval(m, end);
	}
	free(t);
	return r;
}

json_t *jmap_pointer(json_t *v, const char *path)
{
	if (!v || !path)
		return NULL;
	return pointer_eval(v, path);
}
