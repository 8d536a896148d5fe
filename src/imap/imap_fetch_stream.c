/* imap_fetch_stream.c: sending a body item's octets as a literal, a chunk at a time
 * (LIMIT_IMAP_FETCH_CHUNK), stopping whenever NET_OUTPUT_LOW octets wait for the
 * client (the job goes on when they have drained), and sizing BINARY sections before
 * their literal is announced. Owns nothing: the two chunk buffers are the job's (its
 * command arena), the descriptor the job's.
 *
 * NUL (RFC 9051 4.3: a literal carries CHAR8, %x01-ff): BODY[...] sends the stored
 * octets with every NUL as 0x80, as Dovecot does, so the length stays what
 * BODYSTRUCTURE and RFC822.SIZE say; BINARY[...] sends NUL as it is in a literal8
 * ("~{n}", RFC 3516 4.2), and a plain literal when the octets sent hold no NUL (RFC
 * 3516 4.2: 8-bit data without NUL SHOULD be a string; Dovecot uses literal8 for any
 * 8-bit part).
 *
 * Sizing BINARY: the decoded size (BINARY.SIZE, and the literal's length) and whether
 * the octets to send hold a NUL are found by decoding the section once, counting; the
 * octets are decoded again as they are sent. Both passes read the file in chunks. */
#include "imap_fetch_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/banned.h"

/* ---- reading a file range through a decoder ---- */

static void pump_init(struct imap_fetch_pump *p, int fd, const struct imap_fetch_body *b)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->off = b->start;
	p->end = b->start + b->len;
	/* known to work: imap_fetch_body_locate checked the encoding */
	(void)mime_cte_init(&p->dec, b->enc, b->enc_len);
}

/* Read [off, off + n) into buf; 0 or ERR_IO (logged). */
static int read_at(int fd, uint8_t *buf, size_t n, uint64_t off)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			log_err("fetch: read message file: %s",
			        r < 0 ? strerror(errno) : "short file");
			return ERR_IO;
		}
		got += (size_t)r;
	}
	return 0;
}

/* The next decoded octets into out[0..cap): 1 with *n_out > 0, 0 when the range is
 * decoded to the end, ERR_IO. */
static int pump_next(struct imap_fetch_pump *p, uint8_t *in, uint8_t *out, size_t cap,
                     size_t *n_out)
{
	*n_out = 0;
	while (!p->done) {
		if (p->in_pos == p->in_len && p->off < p->end) {
			size_t want = p->end - p->off < LIMIT_IMAP_FETCH_CHUNK
			                  ? (size_t)(p->end - p->off)
			                  : LIMIT_IMAP_FETCH_CHUNK;
			if (read_at(p->fd, in, want, p->off) < 0)
				return ERR_IO;
			p->off += want;
			p->in_pos = 0;
			p->in_len = want;
		}
		bool eof = p->off == p->end;
		size_t used = 0, written = 0;
		int r = mime_cte_decode(&p->dec, in + p->in_pos, p->in_len - p->in_pos, eof, &used,
		                        out, cap, &written);
		p->in_pos += used;
		if (r == 0 && eof)
			p->done = true; /* every input octet consumed and flushed */
		if (written) {
			*n_out = written;
			return 1;
		}
	}
	return 0;
}

/* ---- sizing BINARY ---- */

static uint64_t window_end(const struct imap_fetch_body *b)
{
	return b->count > UINT64_MAX - b->from ? UINT64_MAX : b->from + b->count;
}

/* Does a chunk holding decoded octets [pos, pos + n) have a NUL inside [lo, hi)? */
static bool nul_in(const uint8_t *p, size_t n, uint64_t pos, uint64_t lo, uint64_t hi)
{
	uint64_t a = pos > lo ? pos : lo, e = pos + n < hi ? pos + n : hi;
	return a < e && memchr(p + (a - pos), 0, (size_t)(e - a)) != NULL;
}

static int measure_one(struct imap_fetch_job *j, struct imap_fetch_body *b)
{
	uint64_t lo = b->from, hi = window_end(b);
	if (!b->decode) {
		/* the stored octets: the size is known, only the window is scanned */
		b->size = b->len;
		if (lo > b->size)
			lo = b->size;
		if (hi > b->size)
			hi = b->size;
		for (uint64_t pos = lo; pos < hi && !b->nul;) {
			size_t n = hi - pos < LIMIT_IMAP_FETCH_CHUNK ? (size_t)(hi - pos)
			                                             : LIMIT_IMAP_FETCH_CHUNK;
			if (read_at(j->fd, j->in_buf, n, b->start + pos) < 0)
				return ERR_IO;
			b->nul = memchr(j->in_buf, 0, n) != NULL;
			pos += n;
		}
	} else {
		struct imap_fetch_pump p;
		pump_init(&p, j->fd, b);
		uint64_t pos = 0;
		size_t n;
		int r;
		while ((r = pump_next(&p, j->in_buf, j->out_buf, LIMIT_IMAP_FETCH_CHUNK, &n)) > 0) {
			b->nul = b->nul || nul_in(j->out_buf, n, pos, lo, hi);
			pos += n;
		}
		if (r < 0)
			return r;
		b->size = pos;
	}
	b->measure = false;
	if (b->from > b->size)
		b->from = b->size;
	if (b->count > b->size - b->from)
		b->count = b->size - b->from;
	return 0;
}

uint64_t imap_fetch_measure_cost(const struct imap_fetch_job *j)
{
	uint64_t cost = 0;
	for (size_t i = 0; i < j->nitems; i++) {
		const struct imap_fetch_body *b = &j->bodies[i];
		if (b->measure)
			cost +=
			    b->decode ? b->len : (window_end(b) < b->len ? window_end(b) : b->len);
	}
	return cost;
}

int imap_fetch_measure(struct imap_fetch_job *j)
{
	for (size_t i = 0; i < j->nitems; i++) {
		struct imap_fetch_body *b = &j->bodies[i];
		if (!b->measure)
			continue;
		int r = measure_one(j, b);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- sending ---- */

/* n octets to the client, with NUL as 0x80 when asked. p may be the job's in_buf (it
 * is changed in place then); other memory is copied through out_buf. */
static void put_octets(struct imap_fetch_job *j, const uint8_t *p, size_t n, bool nul80)
{
	const struct imap_sink *o = &j->s->out;
	if (!nul80 || !memchr(p, 0, n)) {
		imap_put(o, p, n);
		return;
	}
	while (n) {
		size_t k = n < LIMIT_IMAP_FETCH_CHUNK ? n : LIMIT_IMAP_FETCH_CHUNK;
		uint8_t *d = p == j->in_buf ? j->in_buf : j->out_buf;
		if (d != p)
			memcpy(d, p, k);
		for (size_t i = 0; i < k; i++)
			if (!d[i])
				d[i] = 0x80;
		imap_put(o, d, k);
		p += k;
		n -= k;
	}
}

static void send_start(struct imap_fetch_job *j, const struct imap_fetch_body *b, bool binary)
{
	struct imap_fetch_stream *st = &j->out;
	imap_putf(&j->s->out, "%s{%llu}\r\n", binary && b->nul ? "~" : "",
	          (unsigned long long)b->count);
	st->active = true;
	st->b = b;
	st->nul80 = !binary;
	st->left = b->count;
	st->pos = b->start + b->from;
	st->skip = b->from;
	if (b->src == IMAP_FETCH_SRC_FILE && b->decode)
		pump_init(&st->pump, j->fd, b);
}

/* One chunk of the literal; 0 or ERR_IO. */
static int send_chunk(struct imap_fetch_job *j)
{
	struct imap_fetch_stream *st = &j->out;
	const struct imap_fetch_body *b = st->b;
	size_t n = st->left < LIMIT_IMAP_FETCH_CHUNK ? (size_t)st->left : LIMIT_IMAP_FETCH_CHUNK;
	if (b->src == IMAP_FETCH_SRC_MEM) {
		put_octets(j, b->mem + st->pos, n, st->nul80);
	} else if (!b->decode) {
		if (read_at(j->fd, j->in_buf, n, st->pos) < 0)
			return ERR_IO;
		put_octets(j, j->in_buf, n, st->nul80);
	} else {
		int r = pump_next(&st->pump, j->in_buf, j->out_buf, LIMIT_IMAP_FETCH_CHUNK, &n);
		if (r <= 0) {
			if (r == 0)
				log_err("fetch: uid=%u: the section decoded shorter than measured",
				        j->m->uid);
			return ERR_IO;
		}
		size_t drop = st->skip < n ? (size_t)st->skip : n;
		st->skip -= drop;
		n -= drop;
		if (n > st->left)
			n = (size_t)st->left;
		imap_put(&j->s->out, j->out_buf + drop, n);
	}
	st->pos += n;
	st->left -= n;
	return 0;
}

int imap_fetch_send(struct imap_fetch_job *j, const struct imap_fetch_body *b, bool binary,
                    bool start)
{
	if (start)
		send_start(j, b, binary);
	while (j->out.left) {
		if (net_conn_output_pending(j->s->c) >= NET_OUTPUT_LOW)
			return 0;
		if (send_chunk(j) < 0)
			return ERR_IO;
	}
	j->out.active = false;
	return 1;
}
