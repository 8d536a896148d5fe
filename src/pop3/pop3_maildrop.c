/* pop3_maildrop.c: the TRANSACTION and UPDATE states (RFC 1939 5, 6). At login the
 * account's INBOX is locked and snapshotted; message numbers refer to that snapshot for
 * the whole session, whatever IMAP does meanwhile (a message expunged elsewhere answers
 * -ERR on RETR). DELE only marks; the expunge happens at QUIT, in one store call, so a
 * dropped connection deletes nothing. RETR/TOP stream the file through the dot-stuffing
 * encoder in fixed 64 KiB buffers: memory does not grow with the message. */
#include "pop3_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth_activity.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

#define STREAM_BUF (64u << 10)
#define SNAPSHOT_CAP (512u << 20)

int pop3_maildrop_open(struct pop3_session *s, int64_t account, const char *address)
{
	if (!pop3_lock(account)) {
		log_info("maildrop locked by another session");
		pop3_reply(s, "-ERR [IN-USE] Mailbox is locked by another POP3 session");
		return ERR_LOCKED;
	}
	s->account = account;
	s->address = arena_strdup(&s->sa, address);
	arena_init(&s->ma, SNAPSHOT_CAP);
	struct store_mailbox mb;
	struct store_msg *list;
	size_t n;
	int r = store_open(pop3_env, account, &s->st);
	if (r == 0)
		r = store_mailbox_get(s->st, "INBOX", &s->ma, &mb);
	if (r == 0)
		r = store_msg_list(s->st, mb.id, 1, UINT32_MAX, &s->ma, &list, &n);
	/* [pop3] expire_days: what has expired goes before the snapshot is taken; only
	 * then is the mailbox listed a second time */
	if (r == 0 && pop3_expire(s->st, mb.id, list, n, conf_get()->pop3_expire_days) > 0)
		r = store_msg_list(s->st, mb.id, 1, UINT32_MAX, &s->ma, &list, &n);
	if (r == 0 && n && !(s->msgs = arena_alloc(&s->ma, n * sizeof(*s->msgs))))
		r = ERR_NOMEM;
	if (r < 0) {
		log_err("maildrop open: %s", err_str(r));
		pop3_maildrop_close(s);
		pop3_reply(s, "-ERR [SYS/TEMP] Cannot open the mailbox now, try again later");
		return r;
	}
	s->inbox = mb.id;
	uint64_t octets = 0;
	for (size_t i = 0; i < n; i++) {
		s->msgs[i] = (struct pop3_msg){list[i].uid, false, false, list[i].size, list[i].guid};
		octets += list[i].size;
	}
	if (pop3_uidl_unique(s->msgs, n, &s->ma) < 0) {
		log_err("maildrop open: %s", err_str(ERR_NOMEM));
		pop3_maildrop_close(s);
		pop3_reply(s, "-ERR [SYS/TEMP] Cannot open the mailbox now, try again later");
		return ERR_NOMEM;
	}
	s->n_msgs = n;
	s->state = POP3_TRANSACTION;
	log_info("login ok messages=%zu octets=%llu", n, (unsigned long long)octets);
	pop3_reply(s, "+OK Logged in, %zu messages (%llu octets)", n, (unsigned long long)octets);
	return 0;
}

/* A message of the snapshot with the guid it came with, for sorting. */
struct uidl_ref {
	const char *guid;
	uint32_t uid;
	struct pop3_msg *m;
};

static int uidl_cmp(const void *a, const void *b)
{
	const struct uidl_ref *x = a, *y = b;
	int c = strcmp(x->guid, y->guid);
	return c ? c : (x->uid > y->uid) - (x->uid < y->uid);
}

int pop3_uidl_unique(struct pop3_msg *msgs, size_t n, struct arena *a)
{
	if (n < 2)
		return 0;
	/* sorted by guid, then UID: copies sit apart in UID order, together here */
	struct uidl_ref *v = malloc(n * sizeof(*v));
	if (!v)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct uidl_ref){msgs[i].uidl, msgs[i].uid, &msgs[i]};
	qsort(v, n, sizeof(*v), uidl_cmp);
	int r = 0;
	for (size_t k = 1; r == 0 && k < n; k++) {
		if (strcmp(v[k].guid, v[k - 1].guid) != 0)
			continue;
		const char *u = arena_printf(a, "%s.%u", v[k].guid, v[k].uid);
		if (u)
			v[k].m->uidl = u;
		else
			r = ERR_NOMEM;
	}
	free(v);
	return r;
}

/* Remember first retrievals for [pop3] expire_days, in one write for the session. */
static void mark_retrieved(struct pop3_session *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_msgs; i++)
		n += s->msgs[i].retrieved;
	if (n == 0 || !conf_get()->pop3_expire_days)
		return;
	uint32_t *uids = arena_alloc(&s->ma, n * sizeof(*uids));
	if (!uids)
		return;
	n = 0;
	for (size_t i = 0; i < s->n_msgs; i++)
		if (s->msgs[i].retrieved)
			uids[n++] = s->msgs[i].uid;
	int r = store_pop3_mark(s->st, s->inbox, uids, n, time(NULL));
	if (r < 0)
		log_warn("cannot record retrievals: %s", err_str(r));
}

static void stream_end(struct pop3_session *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->in);
	free(s->out.data);
	s->in = NULL;
	s->out.data = NULL;
}

void pop3_maildrop_close(struct pop3_session *s)
{
	stream_end(s);
	if (!s->account)
		return;
	if (s->st) {
		mark_retrieved(s);
		store_close(&s->st);
	}
	pop3_unlock(s->account);
	s->account = 0;
	s->msgs = NULL;
	s->n_msgs = 0;
	arena_free(&s->ma);
}

/* The message numbered n (1-based), or NULL after replying -ERR. */
static struct pop3_msg *msg_arg(struct pop3_session *s, uint32_t n)
{
	if (n == 0 || n > s->n_msgs) {
		pop3_reply(s, "-ERR No such message");
		return NULL;
	}
	struct pop3_msg *m = &s->msgs[n - 1];
	if (m->deleted) {
		pop3_reply(s, "-ERR Message %u already deleted", n);
		return NULL;
	}
	return m;
}

int pop3_cmd_stat(struct pop3_session *s, struct pop3_cmd *cmd)
{
	size_t count = 0;
	uint64_t octets = 0;
	for (size_t i = 0; i < s->n_msgs; i++) {
		if (!s->msgs[i].deleted) {
			count++;
			octets += s->msgs[i].size;
		}
	}
	pop3_reply(s, "+OK %zu %llu", count, (unsigned long long)octets);
	return 0;
}

/* LIST and UIDL share their shape (RFC 1939 5, 7): one message or all undeleted. */
static int list_like(struct pop3_session *s, struct pop3_cmd *cmd, bool uidl)
{
	if (cmd->has_msg) {
		struct pop3_msg *m = msg_arg(s, cmd->msg);
		if (!m)
			return 0;
		if (uidl)
			pop3_reply(s, "+OK %u %s", cmd->msg, m->uidl);
		else
			pop3_reply(s, "+OK %u %llu", cmd->msg, (unsigned long long)m->size);
		return 0;
	}
	pop3_reply(s, "+OK %s", uidl ? "Unique-ID listing follows" : "Scan listing follows");
	for (size_t i = 0; i < s->n_msgs; i++) {
		const struct pop3_msg *m = &s->msgs[i];
		if (m->deleted)
			continue;
		if (uidl)
			pop3_reply(s, "%zu %s", i + 1, m->uidl);
		else
			pop3_reply(s, "%zu %llu", i + 1, (unsigned long long)m->size);
	}
	pop3_reply(s, ".");
	return 0;
}

int pop3_cmd_list(struct pop3_session *s, struct pop3_cmd *cmd)
{
	return list_like(s, cmd, false);
}

int pop3_cmd_uidl(struct pop3_session *s, struct pop3_cmd *cmd)
{
	return list_like(s, cmd, true);
}

int pop3_cmd_dele(struct pop3_session *s, struct pop3_cmd *cmd)
{
	struct pop3_msg *m = msg_arg(s, cmd->msg);
	if (!m)
		return 0;
	m->deleted = true;
	pop3_reply(s, "+OK Message %u deleted", cmd->msg);
	return 0;
}

int pop3_cmd_rset(struct pop3_session *s, struct pop3_cmd *cmd)
{
	size_t count = 0;
	uint64_t octets = 0;
	for (size_t i = 0; i < s->n_msgs; i++) {
		s->msgs[i].deleted = false;
		count++;
		octets += s->msgs[i].size;
	}
	pop3_reply(s, "+OK %zu messages (%llu octets)", count, (unsigned long long)octets);
	return 0;
}

int pop3_cmd_retr(struct pop3_session *s, struct pop3_cmd *cmd)
{
	struct pop3_msg *m = msg_arg(s, cmd->msg);
	if (!m)
		return 0;
	uint64_t size;
	int r = store_msg_open(s->st, s->inbox, m->uid, &s->fd, &size);
	if (r == ERR_NOTFOUND) {
		pop3_reply(s, "-ERR Message %u was removed by another session", cmd->msg);
		return 0;
	}
	if (r < 0) {
		pop3_reply(s, "-ERR [SYS/TEMP] Cannot read message %u now", cmd->msg);
		return 0;
	}
	s->in = malloc(STREAM_BUF);
	uint8_t *out = malloc(STREAM_BUF);
	if (!s->in || !out) {
		free(out);
		stream_end(s);
		pop3_reply(s, "-ERR [SYS/TEMP] Out of memory");
		return 0;
	}
	buf_init(&s->out, out, STREAM_BUF);
	s->in_len = s->in_off = 0;
	s->eof = false;
	if (cmd->verb == POP3_CMD_TOP) {
		pop3_dot_init_top(&s->dot, cmd->lines);
		pop3_reply(s, "+OK Top of message follows");
	} else {
		pop3_dot_init(&s->dot);
		m->retrieved = true;
		pop3_reply(s, "+OK %llu octets", (unsigned long long)m->size);
	}
	s->busy = true; /* pipelined commands wait until the message is out */
	net_conn_pause(s->c);
	pop3_stream_more(s);
	return 0;
}

static bool flush_out(struct pop3_session *s)
{
	if (s->out.len == 0)
		return true;
	if (net_conn_write(s->c, s->out.data, s->out.len) < 0)
		return false;
	s->out.len = 0;
	return true;
}

void pop3_stream_more(struct pop3_session *s)
{
	if (s->fd < 0)
		return;
	while (net_conn_output_pending(s->c) < NET_OUTPUT_LOW) {
		if (s->in_off == s->in_len && !s->eof) {
			ssize_t n = read(s->fd, s->in, STREAM_BUF);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				/* +OK is already out: a truncated answer must not look complete */
				log_err("read message: %s", strerror(errno));
				stream_end(s);
				net_conn_close(s->c);
				return;
			}
			s->in_len = (size_t)n;
			s->in_off = 0;
			s->eof = n == 0;
		}
		if (s->in_off < s->in_len) {
			size_t used = 0;
			int top_done = pop3_dot_encode(&s->dot, s->in + s->in_off,
						       s->in_len - s->in_off, &used, &s->out);
			s->in_off += used;
			if (top_done) { /* TOP has its lines: skip the rest of the file */
				s->eof = true;
				s->in_off = s->in_len = 0;
			}
		} else if (s->eof) {
			int done = pop3_dot_finish(&s->dot, &s->out);
			if (!flush_out(s))
				return;
			if (done) {
				stream_end(s);
				pop3_session_resume(s);
				return;
			}
			continue;
		}
		if (buf_room(&s->out) < 16 && !flush_out(s))
			return;
	}
	if (!flush_out(s))
		return;
	net_conn_want_drain(s->c);
}

int pop3_cmd_quit_update(struct pop3_session *s)
{
	s->state = POP3_UPDATE;
	size_t n = 0;
	for (size_t i = 0; i < s->n_msgs; i++)
		n += s->msgs[i].deleted;
	uint32_t *uids = n ? arena_alloc(&s->ma, n * sizeof(*uids)) : NULL;
	int r = 0;
	if (n && !uids)
		r = ERR_NOMEM;
	if (uids) {
		uint64_t bytes = 0;
		n = 0;
		for (size_t i = 0; i < s->n_msgs; i++)
			if (s->msgs[i].deleted) {
				uids[n++] = s->msgs[i].uid;
				bytes += s->msgs[i].size;
			}
		uint64_t modseq;
		r = store_expunge(s->st, s->inbox, uids, n, &modseq);
		/* the user's record of what this client took off the server (webmail's
		 * activity page): only once the expunge is committed */
		if (r == 0)
			auth_activity_removed(s->c, pop3_env, s->account, "pop3",
					      n > UINT32_MAX ? UINT32_MAX : (uint32_t)n, bytes);
	}
	if (r < 0) {
		log_err("update: expunge failed: %s", err_str(r));
		pop3_reply(s, "-ERR [SYS/TEMP] Some deleted messages were not removed");
	} else {
		log_info("logout deleted=%zu", n);
		pop3_reply(s, "+OK %s POP3 server signing off (%zu messages deleted)",
			   conf_get()->hostname, n);
	}
	net_conn_close(s->c);
	return 0;
}
