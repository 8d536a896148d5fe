/* net_compress.c: COMPRESS=DEFLATE (RFC 4978): raw DEFLATE (RFC 1951) in both
 * directions, as a libevent filter bufferevent over the connection's plain or TLS one.
 * Output is flushed (Z_SYNC_FLUSH) at the end of every write burst so a response never
 * waits in the compressor. Memory: the compressor uses a 4 KiB window and a small hash
 * table (about 24 KiB, LIMIT_DEFLATE_* in limits.h: cheap for idle connections, still
 * good for mail text); the decompressor needs the full 32 KiB window the client may use
 * (RFC 4978 4). Owns the two z_streams (freed with the filter). A closing connection
 * unwraps the filter (net_compress_unwrap) so the last compressed bytes leave through the
 * socket's own bufferevent, whose drain the connection watches. */
#include "net_int.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <zlib.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/banned.h"

#define CHUNK 16384

struct zpair {
	z_stream in, out;
};

/* Run the stream over the bytes of src into dst; flush: Z_NO_FLUSH or Z_SYNC_FLUSH.
 * Stops once it has added limit bytes to dst (limit >= 0; -1: no limit): a small
 * compressed input can expand a thousandfold, and the connection's input window must
 * stay bounded. libevent passes the room left in the window (its high watermark minus
 * what dst holds), not the window, so what counts is what this call added: comparing
 * all of dst with the room made every call between half and all of the window return
 * at once, and libevent, seeing neither progress nor a full window, called again
 * forever (a loop thread at 100 %). It calls again when the reader has taken some. */
static enum bufferevent_filter_result run(z_stream *z, bool deflating, struct evbuffer *src,
					  struct evbuffer *dst, int flush, ev_ssize_t limit)
{
	size_t start = evbuffer_get_length(dst);
	for (;;) {
		size_t added = evbuffer_get_length(dst) - start, room = CHUNK;
		if (limit >= 0 && added >= (size_t)limit)
			return BEV_OK;
		/* never past the window: an overshoot would make libevent's next limit
		 * negative, and -1 reads as "no limit" */
		if (limit >= 0 && (size_t)limit - added < room)
			room = (size_t)limit - added;
		struct evbuffer_iovec in;
		int have = evbuffer_peek(src, -1, NULL, &in, 1);
		z->next_in = have > 0 ? in.iov_base : NULL;
		z->avail_in = have > 0 ? (uInt)in.iov_len : 0;
		bool last = have <= 1; /* the chunk just peeked is the only (or no) one */
		struct evbuffer_iovec out;
		if (evbuffer_reserve_space(dst, (ev_ssize_t)room, &out, 1) < 1)
			return BEV_ERROR;
		if (out.iov_len > room)
			out.iov_len = room;
		z->next_out = out.iov_base;
		z->avail_out = (uInt)out.iov_len;
		size_t before = z->avail_in;
		int rc = deflating ? deflate(z, last ? flush : Z_NO_FLUSH)
				   : inflate(z, Z_SYNC_FLUSH);
		out.iov_len -= z->avail_out;
		if (evbuffer_commit_space(dst, &out, 1) < 0)
			return BEV_ERROR;
		if (have > 0)
			evbuffer_drain(src, before - z->avail_in);
		if (rc == Z_STREAM_END || (rc != Z_OK && rc != Z_BUF_ERROR))
			return BEV_ERROR; /* a raw stream never ends: anything else is damage */
		/* done when the input is used up and the stream had room to spare */
		if (evbuffer_get_length(src) == 0 && z->avail_out > 0)
			return BEV_OK;
	}
}

static enum bufferevent_filter_result on_input(struct evbuffer *src, struct evbuffer *dst,
					       ev_ssize_t limit, enum bufferevent_flush_mode mode,
					       void *ctx)
{
	struct zpair *zp = ctx;
	return run(&zp->in, false, src, dst, Z_NO_FLUSH, limit);
}

static enum bufferevent_filter_result on_output(struct evbuffer *src, struct evbuffer *dst,
						ev_ssize_t limit, enum bufferevent_flush_mode mode,
						void *ctx)
{
	struct zpair *zp = ctx;
	if (evbuffer_get_length(src) == 0)
		return BEV_OK;
	return run(&zp->out, true, src, dst, Z_SYNC_FLUSH, -1); /* bounded by the writer */
}

static void zpair_free(void *ctx)
{
	struct zpair *zp = ctx;
	inflateEnd(&zp->in);
	deflateEnd(&zp->out);
	free(zp);
}

struct bufferevent *net_compress_wrap(struct bufferevent *under)
{
	struct zpair *zp = calloc(1, sizeof(*zp));
	if (!zp)
		return NULL;
	if (inflateInit2(&zp->in, -15) != Z_OK) {
		free(zp);
		return NULL;
	}
	if (deflateInit2(&zp->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -LIMIT_DEFLATE_WINDOW_BITS,
			 LIMIT_DEFLATE_MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
		inflateEnd(&zp->in);
		free(zp);
		return NULL;
	}
	/* Not BEV_OPT_CLOSE_ON_FREE: net_compress_unwrap takes the underlying one back.
	 * The underlying buffers are bounded too: the filter moves output on only while the
	 * socket's buffer is below NET_OUTPUT_LOW (so what waits is counted in the filter's
	 * output, where the connection's backpressure looks), and compressed input is not
	 * read ahead past the connection's input window. */
	struct bufferevent *f = bufferevent_filter_new(under, on_input, on_output, 0, zpair_free, zp);
	if (!f) {
		zpair_free(zp);
		return NULL;
	}
	bufferevent_setwatermark(under, EV_WRITE, NET_OUTPUT_LOW / 2, NET_OUTPUT_LOW);
	bufferevent_setwatermark(under, EV_READ, 0, NET_INPUT_WINDOW * 2);
	return f;
}

struct bufferevent *net_compress_unwrap(struct bufferevent *f)
{
	struct bufferevent *under = bufferevent_get_underlying(f);
	/* whatever the filter still holds goes out compressed, past the watermark; no
	 * callback of the connection's runs meanwhile (it may be half torn down) */
	bufferevent_setcb(f, NULL, NULL, NULL, NULL);
	(void)bufferevent_flush(f, EV_WRITE, BEV_FLUSH);
	bufferevent_free(f); /* unhooks itself from under, frees the z_streams */
	bufferevent_setwatermark(under, EV_WRITE, 0, 0);
	return under;
}
