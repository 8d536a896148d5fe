/* imap_append.c: APPEND (RFC 9051 6.3.12) and MULTIAPPEND (RFC 3502) as they arrive:
 * each message literal is checked before the client sends it, then streamed to a
 * spool file of deliver/ (<data>/spool); the complete command is stored by
 * imap_append_save.c on the worker pool, all messages in one commit.
 *
 * Before the "+" of a synchronizing literal (or before reading a non-synchronizing
 * one, which is otherwise read and thrown away: RFC 7888 4), in this order:
 *   the session is logged in (else BAD, as the dispatcher answers);
 *   flags and date parse (BAD);
 *   the mailbox exists: NO [TRYCREATE] (6.3.12);
 *   at most LIMIT_IMAP_APPEND_MSGS messages and LIMIT_IMAP_APPEND_TOTAL octets:
 *   NO [LIMIT];
 *   the message is not empty: NO (as Dovecot: a {0} literal is no message);
 *   it fits the account's quota with the messages before it: NO [OVERQUOTA]
 *   (RFC 9208; the store checks again when it commits).
 * APPENDLIMIT itself (NO [TOOBIG], RFC 7889) is the parser's. A refused literal ends
 * the command at once: the files of its earlier messages go too (RFC 3502: all or
 * none).
 *
 * The data: octets are written as they come, through a LIMIT_IMAP_SPOOL_BUF buffer; a
 * bare LF becomes CRLF (as Dovecot stores it: the message then has the size FETCH
 * reports), a bare CR and NUL stay as they are, and a literal8 is kept exactly (RFC
 * 3516 4.4: binary content). A write error is remembered and answered NO when the
 * command is complete; the client's octets are still read, so the stream stays in
 * step. A connection that goes away mid-literal leaves no file (imap_job_free). */
#include "imap/imap_write.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "deliver/deliver.h"
#include "store/store.h"
#include "core/banned.h"

void imap_append_release(struct imap_job *j)
{
	struct imap_append_state *t = j->state;
	if (!t)
		return;
	if (t->fd >= 0)
		(void)close(t->fd); /* the file goes next: its close status is moot */
	t->fd = -1;
	for (size_t i = 0; i < t->nfiles; i++) {
		if (t->files[i].path && unlink(t->files[i].path) < 0 && errno != ENOENT)
			log_warn("imap: cannot remove spool file %s: %s", t->files[i].path,
			         strerror(errno));
		t->files[i].path = NULL;
	}
}

/* ---- refusing a literal ---- */

/* The command ends here: the parser forgets it (a synchronizing literal is never sent,
 * a non-synchronizing one is skipped), the answer goes out with its tag (text NULL:
 * answered already), and the command's memory and files go. */
static void refuse(struct imap_session *s, const char *text)
{
	imap_parse_refuse_literal(&s->parser);
	imap_job_free(s);
	if (text && !strncmp(text, "BAD ", 4))
		imap_bad(s, text + 4);
	else if (text)
		imap_tagged(s, "%s", text);
	s->cmd = NULL;
	s->tag = NULL;
	s->receiving = false; /* the parser holds nothing of it any more */
	arena_reset(&s->ca);
}

/* The quota with the messages before this one and this one (size octets). */
static int quota_check(struct imap_session *s, const struct imap_append_state *t, uint64_t size)
{
	struct arena a;
	arena_init(&a, 4096);
	struct store_account acct;
	int r = store_account_get_id(imap_env, s->account, &a, &acct);
	arena_free(&a);
	if (r < 0)
		return r;
	uint64_t bytes = t->announced + size, count = t->nfiles + 1;
	if (acct.quota_bytes &&
	    (acct.used_bytes > acct.quota_bytes || bytes > acct.quota_bytes - acct.used_bytes))
		return ERR_QUOTA;
	if (acct.quota_messages &&
	    (acct.messages > acct.quota_messages || count > acct.quota_messages - acct.messages))
		return ERR_QUOTA;
	return 0;
}

/* The mailbox of a new APPEND: it must exist (6.3.12: never created by APPEND). */
static int open_mailbox(struct imap_session *s, struct imap_append_state *t,
                        const struct imap_append *ap, struct arena *a)
{
	const char *name = imap_name_in(s, ap->mailbox);
	if (!name)
		return ERR_INVAL; /* answered */
	struct store *st = NULL;
	int r = store_open(imap_env, s->account, &st);
	struct store_mailbox mb;
	if (r == 0) {
		r = store_mailbox_get(st, name, a, &mb);
		store_close(&st);
	}
	if (r < 0)
		return r;
	t->mailbox = arena_strdup(a, name);
	t->mailbox_id = mb.id;
	return t->mailbox ? 0 : ERR_NOMEM;
}

/* A new APPEND command: its job and state. NULL after refusing. */
static struct imap_append_state *begin(struct imap_session *s, const struct imap_cmd *cmd,
                                       const struct imap_append *ap)
{
	struct imap_job *j = imap_job_new(s);
	struct imap_append_state *t = j ? arena_zalloc(&j->a, sizeof(*t)) : NULL;
	if (!t) { /* imap_job_new answered when j is NULL */
		refuse(s, j ? "NO [UNAVAILABLE] Out of memory, try again later" : NULL);
		return NULL;
	}
	t->fd = -1;
	t->cmd = cmd;
	j->state = t;
	j->release = imap_append_release;
	int r = open_mailbox(s, t, ap, &j->a);
	if (r == ERR_INVAL)
		refuse(s, NULL); /* imap_name_in answered */
	else if (r == ERR_NOTFOUND)
		refuse(s, "NO [TRYCREATE] No such mailbox");
	else if (r < 0)
		refuse(s, "NO [UNAVAILABLE] Mailbox store unavailable, try again later");
	return r < 0 ? NULL : t;
}

/* The checks of one message's literal (see the top of this file); "" if it may come. */
static const char *check_msg(struct imap_session *s, const struct imap_append_state *t,
                             uint64_t size)
{
	_Static_assert(6 * LIMIT_IMAP_APPEND_MSGS < LIMIT_ARGS,
		       "a MULTIAPPEND of LIMIT_IMAP_APPEND_MSGS with flags fits LIMIT_ARGS");
	if (t->nfiles >= LIMIT_IMAP_APPEND_MSGS)
		return "NO [LIMIT] Too many messages in one APPEND";
	if (t->announced + size > LIMIT_IMAP_APPEND_TOTAL)
		return "NO [LIMIT] Too much message data in one APPEND";
	if (size == 0)
		return "NO Cannot append an empty message";
	int r = quota_check(s, t, size);
	if (r == ERR_QUOTA)
		return "NO [OVERQUOTA] Quota exceeded (mailbox for user is full)";
	if (r < 0)
		return "NO [UNAVAILABLE] Cannot check the quota now, try again later";
	return "";
}

static int stream_next(struct imap_session *s, struct imap_cmd *partial,
		       const struct imap_append *ap);

int imap_append_stream(struct imap_session *s, struct imap_cmd *partial)
{
	s->cmd = partial;
	s->tag = partial->tag;
	if (s->state != IMAP_STATE_AUTH && s->state != IMAP_STATE_SELECTED) {
		refuse(s, "BAD Log in first");
		return 0;
	}
	if (partial->nargs > imap_verbs[IMAP_VERB_APPEND].max_args) {
		refuse(s, "BAD Too many arguments");
		return 0;
	}
	/* The command so far is parsed again at each message's literal: into scratch
	 * memory, or a MULTIAPPEND would fill the command arena with n^2/2 copies. */
	struct imap_append ap;
	const char *why = NULL;
	struct arena scratch;
	arena_init(&scratch, LIMIT_COMMAND_ARENA);
	int r = imap_parse_append(partial, &scratch, &ap, &why);
	if (r < 0) {
		arena_free(&scratch);
		refuse(s, why ? why : "NO [LIMIT] Out of memory");
		return 0;
	}
	r = stream_next(s, partial, &ap);
	arena_free(&scratch);
	return r;
}

/* The literal of the message ap's last one is about to come. */
static int stream_next(struct imap_session *s, struct imap_cmd *partial,
		       const struct imap_append *ap_)
{
	const struct imap_append ap = *ap_;
	int r;
	struct imap_append_state *t = s->job ? s->job->state : NULL;
	bool more = ap.nmsgs > 1 && t && s->job->release == imap_append_release &&
	            t->cmd == partial && t->nfiles + 1 == ap.nmsgs && t->fd < 0;
	if (!more && ap.nmsgs > 1) {
		refuse(s, "NO [UNAVAILABLE] The messages before this one were lost");
		return 0;
	}
	if (!more && (t = begin(s, partial, &ap)) == NULL)
		return 0;
	const struct imap_append_msg *m = &ap.msgs[ap.nmsgs - 1];
	const char *no =
	    t->err ? "NO [UNAVAILABLE] Cannot store the message now" : check_msg(s, t, m->size);
	if (no[0]) {
		refuse(s, no);
		return 0;
	}
	char path[DELIVER_PATH_MAX];
	r = deliver_spool_create(path, sizeof(path), &t->fd);
	struct imap_append_file *f = &t->files[t->nfiles];
	f->path = r == 0 ? arena_strdup(&s->job->a, path) : NULL;
	if (r == 0 && !f->path) {
		(void)close(t->fd); /* ours alone: nothing refers to it yet */
		(void)unlink(path);
		t->fd = -1;
	}
	if (!f->path) {
		log_err("imap: APPEND: no spool file: %s", err_str(r < 0 ? r : ERR_NOMEM));
		refuse(s, "NO [UNAVAILABLE] Cannot store the message now, try again later");
		return 0;
	}
	f->size = 0;
	t->nfiles++;
	t->announced += m->size;
	t->left = m->size;
	t->binary = m->binary;
	t->last_cr = false;
	t->buflen = 0;
	s->mode = IMAP_MODE_STREAM;
	if (s->parser.stream_sync)
		(void)net_conn_write(s->c, "+ Ready for literal data\r\n", 26);
	return 0;
}

/* ---- the data ---- */

static int flush(struct imap_append_state *t)
{
	const uint8_t *p = t->buf;
	size_t n = t->buflen;
	t->buflen = 0;
	while (n > 0 && t->err == 0) {
		ssize_t k = write(t->fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			log_err("imap: APPEND: write to spool file failed: %s", strerror(errno));
			t->err = ERR_IO;
			break;
		}
		p += k;
		n -= (size_t)k;
	}
	return t->err;
}

/* Octets into the buffer, each bare LF as CRLF unless binary. */
static void take(struct imap_append_state *t, const uint8_t *p, size_t n)
{
	struct imap_append_file *f = &t->files[t->nfiles - 1];
	while (n > 0) {
		if (t->buflen + 2 > sizeof(t->buf))
			(void)flush(t); /* a failure sticks in t->err; the octets are still read */
		size_t room = sizeof(t->buf) - t->buflen - 1; /* one left for a CR */
		size_t k = n < room ? n : room;
		const uint8_t *lf = t->binary ? NULL : memchr(p, '\n', k);
		if (lf)
			k = (size_t)(lf - p); /* up to the LF */
		memcpy(t->buf + t->buflen, p, k);
		t->buflen += k;
		if (k)
			t->last_cr = p[k - 1] == '\r';
		p += k;
		n -= k;
		f->size += k;
		if (lf) {
			if (!t->last_cr) {
				t->buf[t->buflen++] = '\r';
				f->size++;
			}
			t->buf[t->buflen++] = '\n';
			t->last_cr = false;
			f->size++;
			p++;
			n--;
		}
	}
}

/* The literal is complete: its file is closed, the parser goes on with the line. */
static void literal_end(struct imap_session *s, struct imap_append_state *t)
{
	if (flush(t) == 0 && close(t->fd) < 0) {
		log_err("imap: APPEND: closing a spool file failed: %s", strerror(errno));
		t->err = ERR_IO;
	} else if (t->err) {
		(void)close(t->fd); /* failed already; answered when the command is complete */
	}
	t->fd = -1;
	imap_parse_stream_done(&s->parser);
	s->mode = IMAP_MODE_COMMAND;
}

int imap_append_input(struct imap_session *s, const uint8_t *p, size_t len)
{
	assert(s->job && s->job->release == imap_append_release);
	struct imap_append_state *t = s->job->state;
	size_t n = len < t->left ? len : (size_t)t->left;
	take(t, p, n);
	t->left -= n;
	if (t->left == 0)
		literal_end(s, t);
	return (int)n;
}

/* ---- the complete command ---- */

static void append_done(struct imap_session *s, struct imap_job *j)
{
	struct imap_append_state *t = j->state;
	if (j->result == ERR_NOTFOUND) { /* deleted since the check */
		imap_done(s, "NO [TRYCREATE] No such mailbox");
		return;
	}
	if (j->result < 0) {
		imap_job_fail(s, j->result, "APPEND");
		return;
	}
	if (s->sel && s->sel->mailbox_id == t->mailbox_id) {
		for (size_t i = 0; i < t->nfiles; i++)
			if (t->msgs[i].keywords[0]) {
				imap_store_cmd_keywords(s, &j->a);
				break;
			}
		s->sel->woken = true; /* EXISTS before the tagged OK */
	}
	const char *set = imap_msgset_str(t->uids, t->nfiles, &j->a);
	if (set) /* RFC 4315 3: APPENDUID, a uid-set for MULTIAPPEND */
		imap_done(s, "OK [APPENDUID %u %s] Append completed", t->uidvalidity, set);
	else
		imap_done(s, "OK Append completed");
}

/* The messages of the command with their flags and dates, for the store. */
static int build(struct imap_job *j, struct imap_append_state *t, const struct imap_append *ap)
{
	t->msgs = arena_zalloc(&j->a, t->nfiles * sizeof(*t->msgs));
	t->uids = arena_zalloc(&j->a, t->nfiles * sizeof(*t->uids));
	if (!t->msgs || !t->uids)
		return ERR_NOMEM;
	for (size_t i = 0; i < t->nfiles; i++) {
		struct store_new_msg *m = &t->msgs[i];
		int r = imap_store_cmd_flags(&ap->msgs[i].flags, &j->a, &m->flags, &m->keywords);
		if (r < 0)
			return r;
		m->path = t->files[i].path;
		m->size = t->files[i].size;
		m->internal_date = ap->msgs[i].has_date ? ap->msgs[i].date : 0; /* 0: now */
	}
	return 0;
}

int imap_cmd_append(struct imap_session *s, struct imap_cmd *cmd)
{
	struct imap_append ap;
	const char *why = NULL;
	if (imap_parse_append(cmd, &s->ca, &ap, &why) < 0) {
		imap_job_refuse(s, why, "BAD Invalid APPEND arguments");
		return 0;
	}
	struct imap_job *j = s->job;
	struct imap_append_state *t = j && j->release == imap_append_release ? j->state : NULL;
	if (!t || t->cmd != cmd || t->nfiles != ap.nmsgs || t->fd >= 0) {
		imap_bad(s, "APPEND message data missing"); /* cannot happen: the parser streams */
		return 0;
	}
	if (t->err) {
		imap_job_free(s);
		imap_done(s, "NO [UNAVAILABLE] Cannot store the message now, try again later");
		return 0;
	}
	if (build(j, t, &ap) < 0) {
		imap_job_free(s);
		imap_done(s, "NO [UNAVAILABLE] Out of memory, try again later");
		return 0;
	}
	return imap_job_run(s, imap_append_save, append_done);
}
