/* fuzz_client_pop3.c: libFuzzer target for src/client/client_pop3_parse.c, the parser of
 * POP3 server responses. The first input byte picks what is expected (one status line,
 * a listing, a RETR body); the rest is a stream of such responses, fed whole, split in
 * two at an offset taken from the second byte, and (when short) one byte at a time: all
 * must give the same transcript. Every event must respect the limits, no call may take
 * more than it was given, and each listing line also goes through the UIDL, LIST, STAT
 * and CAPA line parsers. Seeds: fuzz/corpus/client_pop3/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_pop3_parse.h"
#include "core/err.h"
#include "core/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A running digest of the events: equal transcripts give equal digests. */
struct fz_tr {
	uint64_t h;
	size_t events;
	int end_rc;
	size_t end_pos;
};

static void fz_mix(struct fz_tr *t, const void *p, size_t n)
{
	const uint8_t *s = p;
	for (size_t i = 0; i < n; i++)
		t->h = (t->h ^ s[i]) * 0x100000001b3ull;
}

static void fz_event(struct fz_tr *t, const struct client_pop3_event *ev)
{
	/* DATA chunks may be cut differently: only their bytes count, not their number */
	if (ev->type != CLIENT_POP3_EV_DATA) {
		uint8_t tag[4] = {(uint8_t)ev->type, ev->ok, ev->cont, (uint8_t)ev->code};
		fz_mix(t, tag, sizeof(tag));
		t->events++;
	}
	if (ev->type == CLIENT_POP3_EV_STATUS || ev->type == CLIENT_POP3_EV_LINE) {
		assert(ev->text_len <= LIMIT_CLIENT_POP3_LINE);
		assert(ev->text[ev->text_len] == '\0');
		fz_mix(t, ev->text, ev->text_len);
		uint32_t n;
		uint64_t sz;
		char uid[LIMIT_CLIENT_POP3_UID + 1];
		if (client_pop3_parse_uidl(ev->text, ev->text_len, &n, uid) == 0)
			assert(n > 0 && strlen(uid) >= 1 && strlen(uid) <= LIMIT_CLIENT_POP3_UID);
		if (client_pop3_parse_list(ev->text, ev->text_len, &n, &sz) == 0)
			assert(n > 0 && sz <= INT64_MAX);
		(void)client_pop3_parse_stat(ev->text, ev->text_len, &n, &sz);
		(void)client_pop3_parse_capa(ev->text, ev->text_len);
	}
	if (ev->type == CLIENT_POP3_EV_DATA) {
		assert(ev->data_len > 0);
		fz_mix(t, ev->data, ev->data_len);
	}
}

static void fz_run(enum client_pop3_expect e, const uint8_t *in, size_t len, size_t step,
		   size_t cut, struct fz_tr *t)
{
	static struct client_pop3_parser ps;
	*t = (struct fz_tr){.h = 0xcbf29ce484222325ull};
	client_pop3_parse_expect(&ps, e);
	size_t pos = 0;
	while (pos < len) {
		/* the bytes available now: up to the cut, then by step, or everything */
		size_t avail = len;
		if (step)
			avail = pos + step < len ? pos + step : len;
		else if (pos < cut)
			avail = cut;
		for (;;) {
			size_t used;
			struct client_pop3_event ev;
			int rc = client_pop3_parse(&ps, in + pos, avail - pos, &used, &ev);
			assert(used <= avail - pos);
			pos += used;
			if (rc < 0) {
				t->end_rc = rc;
				t->end_pos = pos;
				return;
			}
			if (rc == 0) {
				assert(pos == avail);
				break;
			}
			fz_event(t, &ev);
			if (client_pop3_parse_done(&ps))
				client_pop3_parse_expect(&ps, e); /* the next response */
		}
	}
	t->end_pos = pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	enum client_pop3_expect e = (enum client_pop3_expect)(data[0] % 3);
	size_t cut = data[1];
	data += 2;
	size -= 2;
	if (cut > size)
		cut = size;
	struct fz_tr whole, split, bytes;
	fz_run(e, data, size, 0, 0, &whole);
	fz_run(e, data, size, 0, cut, &split);
	assert(whole.h == split.h && whole.events == split.events &&
	       whole.end_rc == split.end_rc && whole.end_pos == split.end_pos);
	if (size <= 4096) {
		fz_run(e, data, size, 1, 0, &bytes);
		assert(whole.h == bytes.h && whole.events == bytes.events &&
		       whole.end_rc == bytes.end_rc && whole.end_pos == bytes.end_pos);
	}
	return 0;
}
