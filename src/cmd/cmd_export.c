/* cmd_export.c: `kasten export ADDRESS [--mailbox NAME]`: one mailbox as an mboxrd file
 * on stdout, for backups, tests and mail readers (mutt, Python's mailbox module).
 * One line-ending convention for the whole file, LF, as Unix mbox readers expect
 * (RFC 4155 2: the local system's line ends); docs/operations.md documents the format:
 *   - "From SENDER DATE" starts each message. SENDER is the envelope sender, taken from
 *     the Return-Path field that delivery puts first in every stored message;
 *     MAILER-DAEMON for the null sender "<>", a missing field, or a sender that cannot
 *     stand in a From_ line (spaces or controls). DATE: the internal date, asctime, UTC.
 *   - The stored CRLF line ends are written as LF; any other byte as it is. A line that
 *     matches ^>*From  gets one more '>' (mboxrd); one LF follows each message, which
 *     makes the usual empty line before the next "From ".
 * Reversible: the store keeps CRLF line ends (SMTP refuses bare CR and LF), so dropping
 * the LF after each message, unquoting and turning every LF back into CRLF gives the
 * stored bytes exactly (tests/kasten_test.py split_mboxrd). Only a bare LF (no way in
 * today: BINARYMIME is not offered) could not come back: export counts and reports it.
 * Messages stream through a fixed buffer: memory does not grow with message size. */
#include "cmd.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "store/store.h"
#include "core/banned.h"

const char cmd_export_usage[] =
	"usage: kasten export ADDRESS [--mailbox NAME] [--config FILE | --data DIR]\n"
	"  Write the mailbox (default INBOX) to stdout as an mboxrd file with LF line ends:\n"
	"  \"From SENDER DATE\" lines with the envelope sender, \">From \" quoting, CRLF\n"
	"  turned into LF. Readable by mutt and other mbox readers; see docs/operations.md.\n";

/* One message on its way out: CRLF to LF, then mboxrd quoting. */
struct mbox_out {
	FILE *out;
	bool cr;       /* a stored CR held back until we know whether LF follows */
	bool at_start; /* at the start of an output line */
	size_t gt;     /* '>' held at the start of the line */
	size_t from;   /* octets of "From " matched after them */
	bool inexact;  /* a bare LF: LF -> CRLF cannot restore it */
};

static void put_n(FILE *out, int c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		putc_unlocked(c, out);
}

/* Release what mbox_quote holds back, unquoted: it did not become ">*From ". */
static void quote_release(struct mbox_out *w)
{
	put_n(w->out, '>', w->gt);
	fwrite("From ", 1, w->from, w->out);
	w->gt = w->from = 0;
}

/* mboxrd quoting over a byte stream: at a line start, hold '>'s and the start of
 * "From " while the line could still be ">*From "; once it is, write one more '>'.
 * Counts instead of buffering, so no run of '>' is too long to quote. */
static void mbox_quote(struct mbox_out *w, int c)
{
	static const char from[] = "From ";
	if (w->at_start) {
		if (w->from == 0 && c == '>') {
			w->gt++;
			return;
		}
		if (c == from[w->from]) {
			if (++w->from < 5)
				return;
			putc_unlocked('>', w->out);
			quote_release(w);
			w->at_start = false;
			return;
		}
		quote_release(w);
	}
	putc_unlocked(c, w->out);
	w->at_start = c == '\n';
}

static void mbox_put(struct mbox_out *w, int c)
{
	if (w->cr) {
		w->cr = false;
		if (c == '\n') {
			mbox_quote(w, '\n');
			return;
		}
		mbox_quote(w, '\r');
	}
	if (c == '\r') {
		w->cr = true;
		return;
	}
	if (c == '\n')
		w->inexact = true; /* a bare LF: it will come back as CRLF */
	mbox_quote(w, c);
}

/* End the message with one LF. After a message that ends in a line end (all but some
 * BDAT ones) that is the empty line mbox readers expect before the next "From "; a
 * reader that drops exactly this LF gets every message back, with or without one. */
static void mbox_end(struct mbox_out *w)
{
	if (w->cr) {
		w->cr = false;
		mbox_quote(w, '\r');
	}
	quote_release(w);
	putc_unlocked('\n', w->out);
}

/* The envelope sender from a leading "Return-Path: <addr>" CRLF field in p[0..n) into
 * out, or "MAILER-DAEMON" when there is none, it is "<>", or it holds a byte that would
 * break the From_ line (space, control). */
static void envelope_sender(const unsigned char *p, size_t n, char out[LIMIT_ADDRESS + 1])
{
	static const char field[] = "Return-Path:";
	(void)snprintf(out, LIMIT_ADDRESS + 1, "MAILER-DAEMON"); /* fits */
	size_t i = sizeof(field) - 1;
	if (n < i || !str_iprefix(p, n, field))
		return;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == n || p[i++] != '<')
		return;
	size_t start = i;
	while (i < n && p[i] != '>' && p[i] > 0x20 && p[i] != 0x7f)
		i++;
	size_t len = i - start;
	if (i + 2 >= n || p[i] != '>' || p[i + 1] != '\r' || p[i + 2] != '\n' || len == 0 ||
	    len > LIMIT_ADDRESS)
		return;
	memcpy(out, p + start, len);
	out[len] = '\0';
}

static int export_one(int fd, FILE *out, int64_t date, bool *inexact_out)
{
	static unsigned char block[65536];
	char stamp[64], sender[LIMIT_ADDRESS + 1];
	time_t t = (time_t)date;
	struct tm tm;
	gmtime_r(&t, &tm);
	if (!strftime(stamp, sizeof(stamp), "%a %b %e %H:%M:%S %Y", &tm))
		return ERR_INVAL;
	ssize_t n = read(fd, block, sizeof(block));
	if (n < 0)
		return ERR_IO;
	envelope_sender(block, (size_t)n, sender);
	fprintf(out, "From %s %s\n", sender, stamp);
	struct mbox_out w = {.out = out, .at_start = true};
	for (; n > 0; n = read(fd, block, sizeof(block)))
		for (ssize_t i = 0; i < n; i++)
			mbox_put(&w, block[i]);
	if (n < 0)
		return ERR_IO;
	mbox_end(&w);
	*inexact_out = w.inexact;
	return ferror(out) ? ERR_IO : 0;
}

int cmd_export(int argc, char **argv)
{
	if (cmd_load_config(&argc, argv) < 0)
		return 1;
	const char *addr = NULL, *mailbox = "INBOX";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mailbox") && i + 1 < argc)
			mailbox = argv[++i];
		else if (!addr && argv[i][0] != '-')
			addr = argv[i];
		else
			addr = NULL, i = argc;
	}
	if (!addr) {
		fputs(cmd_export_usage, stderr);
		return 2;
	}
	struct store_env *env = NULL;
	struct store *st = NULL;
	struct arena a;
	arena_init(&a, 1u << 30);
	int r, rc = 1;
	struct store_account acct;
	struct store_mailbox mb;
	struct store_msg *msgs;
	size_t n, inexact_n = 0;
	if (cmd_open_store(false, &env) < 0)
		goto out;
	if ((r = store_account_get(env, addr, &a, &acct)) < 0 ||
	    (r = store_open(env, acct.id, &st)) < 0 ||
	    (r = store_mailbox_get(st, mailbox, &a, &mb)) < 0 ||
	    (r = store_msg_list(st, mb.id, 1, UINT32_MAX, &a, &msgs, &n)) < 0) {
		fprintf(stderr, "kasten: export %s %s: %s\n", addr, mailbox, err_str(r));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int fd;
		uint64_t size;
		if ((r = store_msg_open(st, mb.id, msgs[i].uid, &fd, &size)) < 0) {
			/* expunged since the listing: not an error for a live export */
			if (r == ERR_NOTFOUND)
				continue;
			fprintf(stderr, "kasten: export uid %u: %s\n", msgs[i].uid, err_str(r));
			goto out;
		}
		bool inexact = false;
		r = export_one(fd, stdout, msgs[i].internal_date, &inexact);
		close(fd);
		inexact_n += inexact;
		if (r < 0) {
			fprintf(stderr, "kasten: export uid %u: %s\n", msgs[i].uid, err_str(r));
			goto out;
		}
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
	if (inexact_n)
		fprintf(stderr, "kasten: export: %zu message(s) had a bare LF: read back, it "
				"becomes CRLF, not byte for byte as stored\n",
			inexact_n);
out:
	store_close(&st);
	store_env_close(&env);
	arena_free(&a);
	return rc;
}
