/*
 * bench/imap_response.c: the resumable IMAP response reader of imap_response.h.
 * Owns nothing but the struct it is handed; bounded by IMAP_RESPONSE_KEEP.
 */
#include "imap_response.h"

#include <string.h>

#define NUMBER_MAX (INT64_C(1) << 40)

int64_t imap_response_number(const char *p, size_t n, size_t *used_out)
{
	int64_t v = 0;
	size_t i = 0;
	while (i < n && p[i] >= '0' && p[i] <= '9') {
		v = v * 10 + (p[i++] - '0');
		if (v > NUMBER_MAX)
			return -1;
	}
	*used_out = i;
	return i ? v : -1;
}

void imap_response_reset(struct imap_response *r)
{
	r->len = r->dropped = r->tail_len = 0;
	r->literal_bytes = r->literal_left = 0;
}

/* a piece of the current line: its head to text, its last bytes to tail */
static void add_text(struct imap_response *r, const char *p, size_t n)
{
	size_t room = IMAP_RESPONSE_KEEP - r->len, keep = n < room ? n : room;
	memcpy(r->text + r->len, p, keep);
	r->len += keep;
	r->dropped += n - keep;
	if (n >= IMAP_RESPONSE_TAIL) {
		memcpy(r->tail, p + n - IMAP_RESPONSE_TAIL, IMAP_RESPONSE_TAIL);
		r->tail_len = IMAP_RESPONSE_TAIL;
		return;
	}
	size_t old = r->tail_len + n > IMAP_RESPONSE_TAIL ? IMAP_RESPONSE_TAIL - n : r->tail_len;
	memmove(r->tail, r->tail + r->tail_len - old, old);
	memcpy(r->tail + old, p, n);
	r->tail_len = old + n;
}

/* the size announced by a "{n}" that ends the current line, or -1 */
static int64_t line_literal(const struct imap_response *r)
{
	size_t end = r->tail_len, i, used;
	if (end < 3 || r->tail[end - 1] != '}')
		return -1;
	i = end - 1;
	while (i > 0 && r->tail[i - 1] >= '0' && r->tail[i - 1] <= '9')
		i--;
	if (i == 0 || r->tail[i - 1] != '{' || i == end - 1)
		return -1;
	int64_t size = imap_response_number(r->tail + i, end - 1 - i, &used);
	return used == end - 1 - i ? size : -1;
}

size_t imap_response_feed(struct imap_response *r, const char *p, size_t n, bool *complete_out)
{
	size_t used = 0;
	*complete_out = false;
	while (used < n) {
		if (r->literal_left > 0) {
			size_t k = n - used < r->literal_left ? n - used : (size_t)r->literal_left;
			r->literal_left -= k;
			r->literal_bytes += k;
			used += k;
			continue;
		}
		const char *lf = memchr(p + used, '\n', n - used);
		size_t k = lf ? (size_t)(lf - (p + used)) : n - used;
		add_text(r, p + used, k);
		used += k;
		if (!lf)
			break;
		used++;
		if (r->tail_len > 0 && r->tail[r->tail_len - 1] == '\r') {
			r->tail_len--;
			if (r->dropped > 0)
				r->dropped--;
			else
				r->len--;
		}
		int64_t literal = line_literal(r);
		r->tail_len = 0;
		if (literal < 0) {
			*complete_out = true;
			break;
		}
		r->literal_left = (uint64_t)literal; /* {0} too: the response goes on */
	}
	return used;
}
