/* client_mbox.c: reading an mbox file message by message for kasten migrate (the
 * contract is in client_maildir.h). Owns the open file, a read buffer and an output
 * buffer of LIMIT_CLIENT_MBOX_BUF bytes each: a message of any size passes through in
 * pieces, never whole.
 *
 * Decisions (mboxo and mboxrd read alike; Content-Length is never trusted):
 *  - A message starts at a line beginning "From " that is the first line of the file or
 *    follows an empty line; the empty line is the separator and not part of the message
 *    before it (so is one at the end of the file). A "From " line elsewhere is body text.
 *    A From_ line whose date does not read gives the date 0, not a merged message.
 *  - Line ends: CR LF becomes LF; a CR elsewhere, NUL and 8-bit bytes are data; the
 *    last line may lack its LF and is given as it is.
 *  - ">From ", ">>From ", ... lose one '>' (mboxrd; for mboxo, ">From " is the only form).
 *  - In the header (up to the first empty line), Status: and X-Status: fields and their
 *    continuation lines are left out; their letters give the flags: R \Seen, A
 *    \Answered, F \Flagged, T \Draft, D \Deleted (O, old, is no flag).
 *  - A line is judged by its first LIMIT_CLIENT_MBOX_LOOKAHEAD bytes (a ">" run or a
 *    From_ line longer than that is body text or has the date 0), so what comes out does
 *    not depend on how the file is read.
 *  - The output never holds more bytes than the input: only separators, CRs, '>'s and
 *    Status fields are taken away, nothing is added. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client_mbox_int.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "core/banned.h"

#define MBOX_LOOK LIMIT_CLIENT_MBOX_LOOKAHEAD

struct client_mbox {
	int fd;
	bool eof;            /* read(2) said end of file */
	int err;             /* a failed read or a callback's stop: sticky */
	size_t cap;          /* of buf and out */
	size_t start, end;   /* unread bytes: buf[start..end) */
	unsigned char *buf;
	unsigned char *out;  /* message bytes not yet given to the callback */
	size_t out_len;
	client_mbox_data_fn cb;
	void *arg;
	bool have_from;      /* a From_ line was read: a message follows */
	time_t next_date;    /* its date */
};

/* Read more into buf, moving the unread bytes to the front when the end is reached. */
static int mbox_read(struct client_mbox *mb)
{
	if (mb->end == mb->cap && mb->start > 0) {
		memmove(mb->buf, mb->buf + mb->start, mb->end - mb->start);
		mb->end -= mb->start;
		mb->start = 0;
	}
	if (mb->end == mb->cap)
		return 0;
	for (;;) {
		ssize_t r = read(mb->fd, mb->buf + mb->end, mb->cap - mb->end);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return mb->err = ERR_IO;
		if (r == 0)
			mb->eof = true;
		mb->end += (size_t)r;
		return 0;
	}
}

/* At a line start: read until the line's end or MBOX_LOOK + 1 of its bytes are in
 * buf (or the file ends). */
static int mbox_fill_line(struct client_mbox *mb)
{
	while (!mb->eof && mb->end - mb->start < MBOX_LOOK + 1 &&
	       !memchr(mb->buf + mb->start, '\n', mb->end - mb->start))
		if (mbox_read(mb) < 0)
			return mb->err;
	return 0;
}

/* The judged start of the line at buf[start]: its bytes without the line end, at most
 * MBOX_LOOK of them; *empty_out when the line is empty. */
static size_t mbox_look(const struct client_mbox *mb, bool *empty_out)
{
	const unsigned char *p = mb->buf + mb->start;
	size_t avail = mb->end - mb->start;
	size_t lim = avail < MBOX_LOOK + 1 ? avail : MBOX_LOOK + 1;
	const unsigned char *lf = memchr(p, '\n', lim);
	size_t n = lf ? (size_t)(lf - p) : lim;
	if (lf && n > 0 && p[n - 1] == '\r')
		n--;
	*empty_out = lf && n == 0;
	return n < MBOX_LOOK ? n : MBOX_LOOK;
}

static int mbox_flush(struct client_mbox *mb)
{
	if (mb->out_len > 0 && mb->err == 0) {
		int rc = mb->cb(mb->arg, mb->out, mb->out_len);
		if (rc != 0)
			mb->err = rc < 0 ? rc : ERR_INVAL;
	}
	mb->out_len = 0;
	return mb->err;
}

static int mbox_put(struct client_mbox *mb, const unsigned char *p, size_t n)
{
	while (n > 0) {
		if (mb->out_len == mb->cap && mbox_flush(mb) < 0)
			return mb->err;
		size_t k = mb->cap - mb->out_len;
		if (k > n)
			k = n;
		memcpy(mb->out + mb->out_len, p, k);
		mb->out_len += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* Pass the rest of the current line on (emit) or drop it, its CR LF as LF, reading as
 * much as it takes. */
static int mbox_line_rest(struct client_mbox *mb, bool emit)
{
	for (;;) {
		unsigned char *p = mb->buf + mb->start;
		size_t avail = mb->end - mb->start;
		unsigned char *lf = memchr(p, '\n', avail);
		if (lf) {
			size_t n = (size_t)(lf - p);
			mb->start += n + 1;
			if (!emit)
				return 0;
			if (n > 0 && p[n - 1] == '\r')
				n--;
			if (mbox_put(mb, p, n) < 0 || mbox_put(mb, (const unsigned char *)"\n", 1) < 0)
				return mb->err;
			return 0;
		}
		/* A CR at the end of what is read waits: it may come before an LF. */
		size_t n = avail, keep = !mb->eof && n > 0 && p[n - 1] == '\r';
		if (emit && mbox_put(mb, p, n - keep) < 0)
			return mb->err;
		mb->start += n - keep;
		if (mb->eof)
			return 0;
		if (mbox_read(mb) < 0)
			return mb->err;
	}
}

/* The flags of a Status: or X-Status: value. */
static unsigned mbox_status_flags(const unsigned char *p, size_t n)
{
	unsigned flags = 0;
	for (size_t i = 0; i < n; i++)
		switch (p[i]) {
		case 'R': flags |= CLIENT_FLAG_SEEN; break;
		case 'A': flags |= CLIENT_FLAG_REPLIED; break;
		case 'F': flags |= CLIENT_FLAG_FLAGGED; break;
		case 'T': flags |= CLIENT_FLAG_DRAFT; break;
		case 'D': flags |= CLIENT_FLAG_TRASHED; break;
		default: break;
		}
	return flags;
}

static bool mbox_is_from(const unsigned char *p, size_t n)
{
	return n >= 5 && memcmp(p, "From ", 5) == 0;
}

/* Read the From_ line at buf[start] (judged: n bytes): its date, and skip it. */
static int mbox_take_from(struct client_mbox *mb, size_t n)
{
	mb->next_date = client_mbox_from_date((const char *)mb->buf + mb->start + 5, n - 5);
	mb->have_from = true;
	return mbox_line_rest(mb, false);
}

int client_mbox_open_fd(int fd, size_t bufsize, struct client_mbox **mb_out)
{
	*mb_out = NULL;
	if (bufsize < 2 * MBOX_LOOK + 2) {
		close(fd);
		return ERR_INVAL;
	}
	struct client_mbox *mb = calloc(1, sizeof(*mb));
	unsigned char *buf = malloc(bufsize), *out = malloc(bufsize);
	if (!mb || !buf || !out) {
		free(mb);
		free(buf);
		free(out);
		close(fd);
		return ERR_NOMEM;
	}
	mb->fd = fd;
	mb->cap = bufsize;
	mb->buf = buf;
	mb->out = out;
	bool empty;
	int rc = mbox_fill_line(mb);
	size_t n = rc == 0 ? mbox_look(mb, &empty) : 0;
	/* An empty file is an empty mbox (mutt and Dovecot create them so). */
	if (rc == 0 && mb->end > 0 && !mbox_is_from(mb->buf, n))
		rc = ERR_BAD_SYNTAX;
	if (rc == 0 && mb->end > 0)
		rc = mbox_take_from(mb, n);
	if (rc < 0) {
		client_mbox_close(&mb);
		return rc;
	}
	*mb_out = mb;
	return 0;
}

int client_mbox_open(const char *path, struct client_mbox **mb_out)
{
	*mb_out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? ERR_NOTFOUND
		       : errno == EACCES || errno == EPERM ? ERR_PERM : ERR_IO;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ERR_INVAL;
	}
	return client_mbox_open_fd(fd, LIMIT_CLIENT_MBOX_BUF, mb_out);
}

/* One line of the message at buf[start]: 1 if it was the next message's From_ line
 * (the message ends), 0 if it was part of this one, <0 on error. */
static int mbox_line(struct client_mbox *mb, unsigned *flags, bool *in_header,
		     bool *drop_field, bool *held_blank)
{
	bool empty;
	size_t n = mbox_look(mb, &empty);
	const unsigned char *p = mb->buf + mb->start;
	if (*held_blank && mbox_is_from(p, n)) {
		int rc = mbox_take_from(mb, n);
		return rc < 0 ? rc : 1;
	}
	if (*held_blank && mbox_put(mb, (const unsigned char *)"\n", 1) < 0)
		return mb->err;
	*held_blank = false;
	if (empty) { /* held: the separator, if a From_ line follows */
		*held_blank = true;
		*in_header = false;
		return mbox_line_rest(mb, false);
	}
	if (*in_header) {
		if (*drop_field && (p[0] == ' ' || p[0] == '\t'))
			return mbox_line_rest(mb, false);
		*drop_field = false;
		size_t skip = str_iprefix(p, n, "Status:") ? 7 : str_iprefix(p, n, "X-Status:") ? 9 : 0;
		if (skip) {
			*flags |= mbox_status_flags(p + skip, n - skip);
			*drop_field = true;
			return mbox_line_rest(mb, false);
		}
	}
	size_t k = 0;
	while (k < n && p[k] == '>')
		k++;
	if (k > 0 && mbox_is_from(p + k, n - k))
		mb->start++; /* mboxrd: one '>' of the run was the escape */
	return mbox_line_rest(mb, true);
}

int client_mbox_next(struct client_mbox *mb, client_mbox_data_fn cb, void *arg,
		     unsigned *flags_out, time_t *date_out)
{
	if (mb->err < 0)
		return mb->err;
	if (!mb->have_from)
		return 0;
	mb->have_from = false;
	mb->cb = cb;
	mb->arg = arg;
	unsigned flags = 0;
	time_t date = mb->next_date;
	bool in_header = true, drop_field = false, held_blank = false;
	for (;;) {
		if (mbox_fill_line(mb) < 0)
			return mb->err;
		if (mb->start == mb->end && mb->eof)
			break; /* a held empty line at the end is the last separator */
		int rc = mbox_line(mb, &flags, &in_header, &drop_field, &held_blank);
		if (rc < 0)
			return rc;
		if (rc == 1)
			break;
	}
	if (mbox_flush(mb) < 0)
		return mb->err;
	*flags_out = flags;
	*date_out = date;
	return 1;
}

void client_mbox_close(struct client_mbox **mbp)
{
	struct client_mbox *mb = *mbp;
	if (!mb)
		return;
	close(mb->fd);
	free(mb->buf);
	free(mb->out);
	free(mb);
	*mbp = NULL;
}

const char *client_mbox_strerror(int e)
{
	switch (e) {
	case ERR_BAD_SYNTAX:
		return "not an mbox file: it does not begin with a \"From \" line";
	case ERR_NOTFOUND:
		return "no such file";
	case ERR_PERM:
		return "permission denied";
	case ERR_INVAL:
		return "not a regular file";
	case ERR_NOMEM:
		return "out of memory";
	default:
		return "read error";
	}
}
