/* log.c: line-buffered logging to stderr with a per-thread context.
 * One write(2) per line so lines from different threads never interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

static enum log_level level = LOG_INFO;
static unsigned debug_cats;

static _Thread_local struct {
	char role[16];
	uint64_t cid;
	char peer[64];
	char user[128];
} ctx;

void log_set_level(enum log_level lvl)
{
	level = lvl;
}

void log_debug_on(unsigned cats)
{
	debug_cats = cats;
	if (cats)
		level = LOG_DEBUG;
}

bool log_debug_enabled(unsigned cat)
{
	return (debug_cats & cat) != 0;
}

static void copy(char *dst, size_t cap, const char *src)
{
	if (!src) {
		dst[0] = '\0';
		return;
	}
	(void)snprintf(dst, cap, "%s", src); /* truncation is fine for a log tag */
}

void log_ctx(const char *role, uint64_t cid, const char *peer, const char *user)
{
	copy(ctx.role, sizeof(ctx.role), role);
	ctx.cid = cid;
	copy(ctx.peer, sizeof(ctx.peer), peer);
	copy(ctx.user, sizeof(ctx.user), user);
}

void log_ctx_user(const char *user)
{
	copy(ctx.user, sizeof(ctx.user), user);
}

static const char *level_name[] = {"error", "warn", "info", "debug"};

__attribute__((format(printf, 2, 0))) static void vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	char line[2048];
	size_t off = 0;
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	off += strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	int n = snprintf(line + off, sizeof(line) - off, ".%03ldZ %s %s", ts.tv_nsec / 1000000,
			 level_name[lvl], ctx.role[0] ? ctx.role : "main");
	if (n > 0)
		off += (size_t)n;
	if (ctx.cid && off < sizeof(line)) {
		n = snprintf(line + off, sizeof(line) - off, " cid=%llu", (unsigned long long)ctx.cid);
		if (n > 0)
			off += (size_t)n;
	}
	if (ctx.peer[0] && off < sizeof(line)) {
		n = snprintf(line + off, sizeof(line) - off, " peer=%s", ctx.peer);
		if (n > 0)
			off += (size_t)n;
	}
	if (ctx.user[0] && off < sizeof(line)) {
		n = snprintf(line + off, sizeof(line) - off, " user=%s", ctx.user);
		if (n > 0)
			off += (size_t)n;
	}
	if (off < sizeof(line) - 1) {
		line[off++] = ' ';
		n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
		if (n > 0)
			off += (size_t)n;
	}
	if (off > sizeof(line) - 2)
		off = sizeof(line) - 2;
	line[off++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, off);
	(void)w; /* nowhere to report a failed log write */
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	if (lvl > level)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

const char *log_esc(char out[static 512], const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = p;
	size_t o = 0, max = n > 120 ? 120 : n;
	for (size_t i = 0; i < max; i++) {
		unsigned char c = s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (n > max) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
