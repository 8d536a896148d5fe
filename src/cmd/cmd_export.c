/* cmd_export.c: `kasten export ADDRESS [--mailbox NAME]`: the mailbox as mboxrd on
 * stdout, for backups and tests. Message bytes are written as stored (CRLF inside);
 * each message is preceded by a "From " line and followed by one "\n"; lines that match
 * ^>*From  get one more '>' (mboxrd), so the export is reversible byte for byte.
 * Messages stream through a fixed buffer: memory does not grow with message size. */
#include "cmd.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "store/store.h"
#include "core/banned.h"

/* mboxrd quoting over a byte stream: at each line start, hold back bytes while they
 * could still become ">*From "; once they do, emit one extra '>'. Works across block
 * boundaries and on any bytes (NUL included). */
struct quoter {
	char pend[64];
	size_t len;
	bool at_start;
};

static void quote_byte(struct quoter *q, int c, FILE *out)
{
	static const char from[] = "From ";
	if (!q->at_start) {
		putc_unlocked(c, out);
		q->at_start = c == '\n';
		return;
	}
	q->pend[q->len++] = (char)c;
	size_t gt = 0;
	while (gt < q->len && q->pend[gt] == '>')
		gt++;
	size_t rest = q->len - gt;
	bool still = rest <= 5 && !memcmp(q->pend + gt, from, rest) && q->len < sizeof(q->pend);
	if (still && rest < 5)
		return; /* undecided: keep holding */
	if (still)
		putc_unlocked('>', out);
	fwrite(q->pend, 1, q->len, out);
	q->len = 0;
	q->at_start = !still && c == '\n';
}

static int export_one(int fd, FILE *out, int64_t date)
{
	char stamp[64];
	time_t t = (time_t)date;
	struct tm tm;
	gmtime_r(&t, &tm);
	if (!strftime(stamp, sizeof(stamp), "%a %b %e %H:%M:%S %Y", &tm))
		return ERR_INVAL;
	fprintf(out, "From MAILER-DAEMON %s\n", stamp);
	static unsigned char block[65536];
	struct quoter q = {.at_start = true};
	ssize_t n;
	while ((n = read(fd, block, sizeof(block))) > 0)
		for (ssize_t i = 0; i < n; i++)
			quote_byte(&q, block[i], out);
	if (n < 0)
		return ERR_IO;
	fwrite(q.pend, 1, q.len, out);
	fputc('\n', out);
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
		fprintf(stderr, "usage: kasten export ADDRESS [--mailbox NAME] [--config FILE | --data DIR]\n");
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
	size_t n;
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
		r = export_one(fd, stdout, msgs[i].internal_date);
		close(fd);
		if (r < 0) {
			fprintf(stderr, "kasten: export uid %u: %s\n", msgs[i].uid, err_str(r));
			goto out;
		}
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	store_close(&st);
	store_env_close(&env);
	arena_free(&a);
	return rc;
}
