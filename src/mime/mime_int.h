/* mime_int.h: declarations shared inside the mime module only. */
#ifndef KASTEN_MIME_INT_H
#define KASTEN_MIME_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime.h"

struct arena;

/* A growing byte string in an arena, cut (not failed) at max bytes. nomem sticks. */
struct mime_sb {
	struct arena *a;
	char *p;
	size_t len, cap, max;
	bool nomem;
};

void mime_sb_init(struct mime_sb *sb, struct arena *a, size_t max);
void mime_sb_put(struct mime_sb *sb, const void *p, size_t n);
void mime_sb_putc(struct mime_sb *sb, uint8_t c);
/* NUL-terminate into *out (never NIL). Returns 0 or ERR_NOMEM. */
int mime_sb_finish(struct mime_sb *sb, struct mime_str *out);

/* Append [p, p+n) to sb with every invalid UTF-8 byte as U+FFFD. */
void mime_sb_put_utf8(struct mime_sb *sb, const uint8_t *p, size_t n);
/* Convert charset -> UTF-8 appending to sb. Returns 0 or ERR_NOTFOUND (unknown charset,
 * sb unchanged). */
int mime_sb_put_charset(struct mime_sb *sb, const char *charset, size_t charset_len,
                        const uint8_t *p, size_t n);

/* Copy [p, p+n) into an arena string (cut at MIME_VALUE_MAX). */
int mime_str_dup(struct arena *a, const void *p, size_t n, struct mime_str *out);

static inline bool mime_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static inline uint8_t mime_lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* Structured header values (mime_param.c). v is an unfolded value.
 * mime_ct_parse: returns 0 and sets type/subtype (lower-cased) and params, 1 when the
 * value is not a valid type/subtype (outputs untouched), or ERR_NOMEM. */
int mime_ct_parse(struct arena *a, const uint8_t *v, size_t n, char **type_out, char **subtype_out,
                  struct mime_param **params_out);
/* Content-Disposition: 0 with the lower-cased type and params, 1 invalid, ERR_NOMEM. */
int mime_disp_parse(struct arena *a, const uint8_t *v, size_t n, char **type_out,
                    struct mime_param **params_out);
/* Content-Language: comma-separated tags, comments dropped. */
int mime_lang_parse(struct arena *a, const uint8_t *v, size_t n, struct mime_str **langs_out,
                    unsigned *n_out);
/* A single token with comments removed and lower-cased (Content-Transfer-Encoding). */
int mime_token_parse(struct arena *a, const uint8_t *v, size_t n, struct mime_str *out);

/* Address lists (mime_addr.c). v is an unfolded value. *out NULL if it holds none. */
int mime_addr_parse(struct arena *a, const uint8_t *v, size_t n, struct mime_addr **out);

#endif
