/* fuzz_client_mbox.c: libFuzzer target for the mbox reader of kasten migrate
 * (src/client/client_mbox.c, client_mbox_date.c). The input is an mbox file, read once
 * with the normal buffer and once with a small one (the smallest the reader takes plus
 * an offset from the input): both must give the same messages, flags and dates; no
 * piece handed to the callback may exceed the buffer, all messages together never hold
 * more bytes than the input, and there are no more messages than "From " line starts.
 * Memory stays bounded: the reader holds two buffers whatever the input.
 * Seeds: fuzz/corpus/client_mbox/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client/client_maildir.h"
#include "client/client_mbox_int.h"
#include "core/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MIN_BUF (2 * LIMIT_CLIENT_MBOX_LOOKAHEAD + 2)

/* Everything one read gave out, in one transcript: per message its bytes, then a
 * trailer with its flags and date. */
struct transcript {
	uint8_t *s;
	size_t len, cap;
	size_t bufsize;
	size_t msg_bytes; /* message bytes only, without trailers */
};

static void tr_add(struct transcript *t, const void *p, size_t n)
{
	if (t->len + n > t->cap) {
		size_t cap = (t->cap + n) * 2;
		uint8_t *s = realloc(t->s, cap);
		assert(s);
		t->s = s;
		t->cap = cap;
	}
	memcpy(t->s + t->len, p, n);
	t->len += n;
}

static int piece(void *arg, const void *p, size_t n)
{
	struct transcript *t = arg;
	assert(n > 0 && n <= t->bufsize);
	t->msg_bytes += n;
	tr_add(t, p, n);
	return 0;
}

static int read_with(const uint8_t *data, size_t size, size_t bufsize, struct transcript *t)
{
	int fd = memfd_create("mbox", MFD_CLOEXEC);
	assert(fd >= 0);
	size_t off = 0;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);
		assert(w > 0);
		off += (size_t)w;
	}
	assert(lseek(fd, 0, SEEK_SET) == 0);
	memset(t, 0, sizeof(*t));
	t->bufsize = bufsize;
	struct client_mbox *mb;
	int rc = client_mbox_open_fd(fd, bufsize, &mb);
	if (rc < 0)
		return rc;
	int count = 0;
	for (;;) {
		unsigned flags;
		time_t date;
		rc = client_mbox_next(mb, piece, t, &flags, &date);
		if (rc <= 0)
			break;
		assert(flags < 64 && date >= 0);
		long long trailer[2] = {(long long)flags, (long long)date};
		tr_add(t, trailer, sizeof(trailer));
		count++;
	}
	client_mbox_close(&mb);
	assert(rc == 0);
	return count;
}

/* Lines beginning "From ": an upper bound of the messages. */
static int from_lines(const uint8_t *data, size_t size)
{
	int n = 0;
	for (size_t i = 0; i + 5 <= size; i++)
		if ((i == 0 || data[i - 1] == '\n') && memcmp(data + i, "From ", 5) == 0)
			n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transcript a, b;
	int na = read_with(data, size, LIMIT_CLIENT_MBOX_BUF, &a);
	size_t small = MIN_BUF + (size ? data[size - 1] : 0);
	int nb = read_with(data, size, small, &b);
	assert(na == nb);
	assert(a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0));
	assert(a.msg_bytes <= size);
	assert(na <= from_lines(data, size));
	free(a.s);
	free(b.s);
	return 0;
}
