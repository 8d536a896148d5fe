/* imap_mailbox.c: the commands that change the mailbox tree: CREATE (RFC 9051 6.3.4,
 * with CREATE-SPECIAL-USE, RFC 6154 3), DELETE (6.3.5), RENAME (6.3.6) and SUBSCRIBE /
 * UNSUBSCRIBE (6.3.7, 6.3.8). Each store call commits with a flush, so it runs on the
 * worker pool (imap_async) and the client hears OK only once the change is on disk.
 *
 * Decisions where the RFCs leave a choice:
 *  - CREATE makes the missing levels above the name as mailboxes (the store does);
 *    RENAME makes the levels above the new name the same way. A trailing "/" is
 *    dropped (6.3.4: the name created is without it).
 *  - DELETE of a mailbox with mailboxes below it removes the mailbox and its messages;
 *    the name then lists as \Noselect (\NonExistent) with \HasChildren (6.3.5 allows
 *    it); DELETE of such a name is NO [HASCHILDREN]. DELETE of the selected mailbox
 *    closes it: "* OK [CLOSED]", the session is in the authenticated state after the
 *    OK (Dovecot disconnects instead). Other sessions that have it selected get
 *    "* BYE [NONEXISTENT]" (imap_sync.c).
 *  - RENAME of INBOX moves its messages to the new name and leaves INBOX empty (6.3.6;
 *    the store does it; a session with INBOX selected sees them expunged); RENAME into
 *    the mailbox's own subtree is NO [CANNOT]. The subscriptions of the renamed
 *    mailbox and of the names below it follow it (the store renames them in the same
 *    transaction; 6.3.6 leaves it open, Dovecot 2.3 leaves them under the old names).
 *  - Subscriptions are names, not mailboxes (store_subscription_set): SUBSCRIBE takes a
 *    name whether a mailbox has it or not (6.3.7 allows both; Dovecot 2.3 refuses one
 *    without a mailbox), at most LIMIT_SUBSCRIPTIONS of them (NO [LIMIT] past it);
 *    UNSUBSCRIBE of a name that is not subscribed is OK (6.3.8); DELETE leaves the name
 *    subscribed (RFC 3501 6.3.6: the server MUST NOT remove it unilaterally), and LIST
 *    (SUBSCRIBED) shows it as \NonExistent (imap_list.c).
 *  - An account may reach LIMIT_MAILBOXES mailboxes through CREATE and RENAME (NO
 *    [LIMIT] past it), so LIST can always show them all.
 * Names go through imap_name_in: never a path, never outside the account. */
#include "imap_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "notify/notify.h"
#include "store/store.h"
#include "core/banned.h"

enum mb_op { MB_CREATE, MB_DELETE, MB_RENAME, MB_SUBSCRIBE, MB_UNSUBSCRIBE };

static const char *const mb_verb[] = {"CREATE", "DELETE", "RENAME", "SUBSCRIBE",
				      "UNSUBSCRIBE"};

/* One command's work, in the command arena (nothing else to release if the
 * connection goes away while the pool works). */
struct mb_job {
	enum mb_op op;
	int64_t account;
	const char *name; /* stored form */
	const char *to;   /* RENAME */
	unsigned special; /* CREATE: enum store_special bits */
	int64_t selected; /* the session's selected mailbox, 0 if none */
	/* results */
	int r;
	bool children;    /* DELETE: name is no mailbox, but mailboxes lie below it */
	int64_t deleted;  /* DELETE: the id removed */
	char selname[LIMIT_MAILBOX_NAME + 1]; /* RENAME: the selected mailbox's name after */
};

/* ---- on the worker pool ---- */

struct survey {
	size_t total;  /* mailboxes of the account */
	size_t fresh;  /* levels of the name that are no mailbox yet */
	bool children; /* some mailbox below the name */
};

static bool listed(const struct store_mailbox *v, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (!strncmp(v[i].name, name, len) && v[i].name[len] == '\0')
			return true;
	return false;
}

/* What the account's tree says about name: its levels (itself too when self) that are
 * not mailboxes, and whether mailboxes lie below it. */
static int survey(struct store *st, const char *name, bool self, struct survey *out)
{
	struct arena a;
	arena_init(&a, LIMIT_COMMAND_ARENA);
	struct store_mailbox *v = NULL;
	size_t n = 0, len = strlen(name);
	int r = store_mailbox_list(st, &a, &v, &n);
	if (r == ERR_NOMEM) /* a tree too big to hold is one too big to grow */
		r = ERR_FULL;
	memset(out, 0, sizeof(*out));
	out->total = n;
	for (size_t l = 0; r == 0 && l <= len; l++)
		if ((l == len ? self : name[l] == '/') && !listed(v, n, name, l))
			out->fresh++;
	for (size_t i = 0; r == 0 && i < n && !out->children; i++)
		out->children = !strncmp(v[i].name, name, len) && v[i].name[len] == '/';
	arena_free(&a);
	return r;
}

static int work_create(struct store *st, struct mb_job *j)
{
	struct survey sv;
	int r = survey(st, j->name, true, &sv);
	if (r == 0 && sv.fresh && sv.total + sv.fresh > LIMIT_MAILBOXES)
		r = ERR_FULL;
	return r < 0 ? r : store_mailbox_create(st, j->name, j->special);
}

static int work_delete(struct store *st, struct mb_job *j)
{
	struct arena a;
	arena_init(&a, LIMIT_COMMAND_ARENA);
	struct store_mailbox mb;
	int r = store_mailbox_get(st, j->name, &a, &mb);
	arena_free(&a);
	if (r == ERR_NOTFOUND) {
		struct survey sv;
		if (survey(st, j->name, true, &sv) == 0)
			j->children = sv.children;
		return r;
	}
	if (r == 0)
		r = store_mailbox_delete(st, j->name);
	if (r == 0)
		j->deleted = mb.id;
	return r;
}

static int work_rename(struct store *st, struct mb_job *j)
{
	struct arena a;
	arena_init(&a, LIMIT_COMMAND_ARENA);
	struct store_mailbox mb;
	struct survey sv;
	int r = store_mailbox_get(st, j->name, &a, &mb);
	/* the levels above the new name, and INBOX's messages get a new mailbox */
	if (r == 0)
		r = survey(st, j->to, false, &sv);
	size_t fresh = r == 0 ? sv.fresh + !strcmp(j->name, "INBOX") : 0;
	if (r == 0 && fresh && sv.total + fresh > LIMIT_MAILBOXES)
		r = ERR_FULL;
	if (r == 0)
		r = store_mailbox_rename(st, j->name, j->to);
	if (r == 0 && sv.fresh) { /* RFC 9051 6.3.6: create the superior names */
		char *parent = arena_strdup(&a, j->to);
		char *slash = parent ? strrchr(parent, '/') : NULL;
		if (slash) {
			*slash = '\0';
			int c = store_mailbox_create(st, parent, STORE_SU_NONE);
			if (c < 0 && c != ERR_EXISTS) /* renamed: only the levels are missing */
				log_warn("rename: levels above the new name: %s", err_str(c));
		}
	}
	/* a mailbox below the renamed one may be the selected one: its name now */
	if (r == 0 && j->selected && store_mailbox_get_id(st, j->selected, &a, &mb) == 0 &&
	    strlen(mb.name) < sizeof(j->selname))
		memcpy(j->selname, mb.name, strlen(mb.name) + 1);
	arena_free(&a);
	return r;
}

static void mb_work(void *arg)
{
	struct mb_job *j = arg;
	struct store *st = NULL;
	j->r = store_open(imap_env, j->account, &st);
	if (j->r < 0)
		return;
	switch (j->op) {
	case MB_CREATE: j->r = work_create(st, j); break;
	case MB_DELETE: j->r = work_delete(st, j); break;
	case MB_RENAME: j->r = work_rename(st, j); break;
	case MB_SUBSCRIBE: j->r = store_subscription_set(st, j->name, true); break;
	case MB_UNSUBSCRIBE: j->r = store_subscription_set(st, j->name, false); break;
	}
	store_close(&st);
}

/* ---- on the session's loop ---- */

static void mb_fail(struct imap_session *s, const struct mb_job *j)
{
	const char *verb = mb_verb[j->op];
	switch (j->r) {
	case ERR_NOTFOUND:
		if (j->op == MB_DELETE && j->children)
			imap_done(s, "NO [HASCHILDREN] No mailbox of that name, only mailboxes "
				     "below it");
		else
			imap_done(s, "NO [NONEXISTENT] No such mailbox");
		return;
	case ERR_EXISTS:
		imap_done(s, "NO [ALREADYEXISTS] %s", j->op == MB_RENAME
							  ? "Target mailbox already exists"
							  : "Mailbox already exists");
		return;
	case ERR_PERM:
		imap_done(s, "NO [CANNOT] INBOX cannot be deleted");
		return;
	case ERR_INVAL:
		imap_done(s, "NO [CANNOT] Invalid mailbox name");
		return;
	case ERR_TOO_LONG:
		imap_done(s, "NO [CANNOT] A mailbox name would be longer than %d octets",
			  LIMIT_MAILBOX_NAME);
		return;
	case ERR_FULL:
		if (j->op == MB_SUBSCRIBE)
			imap_done(s, "NO [LIMIT] An account has at most %d subscriptions",
				  LIMIT_SUBSCRIPTIONS);
		else
			imap_done(s, "NO [LIMIT] An account has at most %d mailboxes",
				  LIMIT_MAILBOXES);
		return;
	default:
		break;
	}
	if (err_is_temp(j->r)) {
		imap_done(s, "NO [UNAVAILABLE] %s failed, try again later", verb);
		return;
	}
	log_err("%s: %s", verb, err_str(j->r));
	imap_done(s, "NO [SERVERBUG] %s failed", verb);
}

static void mb_done(struct imap_session *s, void *arg)
{
	struct mb_job *j = arg;
	if (j->r < 0) {
		mb_fail(s, j);
		return;
	}
	if (j->op == MB_DELETE && s->sel && s->sel->mailbox_id == j->deleted) {
		imap_select_free(s);
		if (s->watch)
			notify_rewatch(s->watch, -1);
		imap_untagged(s, "OK [CLOSED] The selected mailbox is deleted");
	}
	if (j->op == MB_RENAME && s->sel) {
		/* INBOX's messages left it; a mailbox below the renamed one has a new name */
		s->sel->woken = true;
		char *name = j->selname[0] && strcmp(j->selname, s->sel->name) ? strdup(j->selname)
										: NULL;
		if (name) {
			free(s->sel->name);
			s->sel->name = name;
		}
	}
	imap_done(s, "OK %s completed", mb_verb[j->op]);
}

static int start(struct imap_session *s, struct mb_job *j)
{
	j->account = s->account;
	j->selected = s->sel ? s->sel->mailbox_id : 0;
	if (imap_async(s, mb_work, mb_done, j) < 0)
		imap_tagged(s, "NO [UNAVAILABLE] %s failed, try again later", mb_verb[j->op]);
	return 0;
}

static struct mb_job *job_new(struct imap_session *s, enum mb_op op)
{
	struct mb_job *j = arena_zalloc(&s->ca, sizeof(*j));
	if (!j)
		imap_tagged(s, "NO [LIMIT] Out of memory for this command");
	else
		j->op = op;
	return j;
}

static void refuse(struct imap_session *s, const char *why)
{
	if (!strncmp(why, "BAD ", 4))
		imap_bad(s, why + 4);
	else
		imap_tagged(s, "%s", why);
}

/* RFC 6154 5.1: the uses the store keeps; \All and \Flagged are views, not folders. */
static bool special_use(unsigned use, unsigned *out)
{
	static const struct {
		unsigned imap, store;
	} map[] = {
		{IMAP_USE_ARCHIVE, STORE_SU_ARCHIVE}, {IMAP_USE_DRAFTS, STORE_SU_DRAFTS},
		{IMAP_USE_JUNK, STORE_SU_JUNK},       {IMAP_USE_SENT, STORE_SU_SENT},
		{IMAP_USE_TRASH, STORE_SU_TRASH},
	};
	*out = 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (use & map[i].imap)
			*out |= map[i].store, use &= ~map[i].imap;
	return use == 0;
}

int imap_cmd_create(struct imap_session *s, struct imap_cmd *cmd)
{
	struct imap_create p;
	const char *why = NULL;
	if (imap_parse_create(cmd, &p, &why) < 0) {
		refuse(s, why ? why : "BAD Invalid CREATE arguments");
		return 0;
	}
	unsigned special;
	if (!special_use(p.use, &special)) {
		imap_tagged(s, "NO [USEATTR] \\All and \\Flagged are not supported as mailboxes");
		return 0;
	}
	/* 6.3.4: a trailing delimiter declares children to come; the name is without it */
	struct imap_arg arg = *p.mailbox;
	size_t len;
	const char *raw = imap_arg_astring(&arg, &len);
	if (raw && len > 1 && raw[len - 1] == '/')
		arg.len--;
	const char *name = imap_name_in(s, &arg);
	struct mb_job *j = name ? job_new(s, MB_CREATE) : NULL;
	if (!j)
		return 0;
	j->name = name;
	j->special = special;
	return start(s, j);
}

int imap_cmd_delete(struct imap_session *s, struct imap_cmd *cmd)
{
	const char *name = imap_name_in(s, cmd->args);
	if (!name)
		return 0;
	if (!strcmp(name, "INBOX")) { /* 6.3.5: an error */
		imap_tagged(s, "NO [CANNOT] INBOX cannot be deleted");
		return 0;
	}
	struct mb_job *j = job_new(s, MB_DELETE);
	if (!j)
		return 0;
	j->name = name;
	return start(s, j);
}

int imap_cmd_rename(struct imap_session *s, struct imap_cmd *cmd)
{
	const char *from = imap_name_in(s, cmd->args);
	const char *to = from ? imap_name_in(s, cmd->args->next) : NULL;
	if (!to)
		return 0;
	size_t fl = strlen(from);
	if (strcmp(from, "INBOX") && !strncmp(to, from, fl) && to[fl] == '/') {
		imap_tagged(s, "NO [CANNOT] Cannot move a mailbox below itself");
		return 0;
	}
	struct mb_job *j = job_new(s, MB_RENAME);
	if (!j)
		return 0;
	j->name = from;
	j->to = to;
	return start(s, j);
}

int imap_cmd_subscribe(struct imap_session *s, struct imap_cmd *cmd)
{
	const char *name = imap_name_in(s, cmd->args);
	struct mb_job *j = name ? job_new(s, cmd->verb == IMAP_VERB_SUBSCRIBE ? MB_SUBSCRIBE
									    : MB_UNSUBSCRIBE)
				: NULL;
	if (!j)
		return 0;
	j->name = name;
	return start(s, j);
}
