/* imap_parse.c: the IMAP command reader (see imap_parse.h): the command table, the
 * limits, and the state machine around the tokenizer: lines split at LF and handed
 * whole to imap_tok_segment() (in place when they arrived whole, else gathered in the
 * command arena), literals copied once into their argument, APPEND message data handed
 * to the session, and the skipping that resynchronizes after a refused command.
 * Owns: the partly received line (command arena, wiped after use: it may hold a
 * password). Limits: imap_limits (line, literal, total, literal_minus, stream,
 * discard, depth, args), each checked before the octets it counts are consumed. */
#include "imap/imap_parse.h"

#include <assert.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/arena.h"
#include "core/err.h"
#include "imap/imap_parse_int.h"
#include "core/banned.h"

#define N IMAP_ST_NOTAUTH
#define A IMAP_ST_AUTH
#define S IMAP_ST_SELECTED

const struct verb_spec imap_verbs[IMAP_VERB_COUNT] = {
    /* name        states   min max cleartext secret */
    [IMAP_VERB_NONE] = {"?", 0, 0, 0, false, false},
    [IMAP_VERB_CAPABILITY] = {"CAPABILITY", N | A | S, 0, 0, false, false},
    [IMAP_VERB_NOOP] = {"NOOP", N | A | S, 0, 0, false, false},
    [IMAP_VERB_LOGOUT] = {"LOGOUT", N | A | S, 0, 0, false, false},
    [IMAP_VERB_ID] = {"ID", N | A | S, 1, 1, false, false},
    [IMAP_VERB_COMPRESS] = {"COMPRESS", A | S, 1, 1, false, false},
    [IMAP_VERB_STARTTLS] = {"STARTTLS", N, 0, 0, false, false},
    [IMAP_VERB_AUTHENTICATE] = {"AUTHENTICATE", N, 1, 2, true, true},
    [IMAP_VERB_LOGIN] = {"LOGIN", N, 2, 2, true, true},
    [IMAP_VERB_ENABLE] = {"ENABLE", A | S, 1, 255, false, false},
    [IMAP_VERB_SELECT] = {"SELECT", A | S, 1, 2, false, false},
    [IMAP_VERB_EXAMINE] = {"EXAMINE", A | S, 1, 2, false, false},
    [IMAP_VERB_CREATE] = {"CREATE", A | S, 1, 2, false, false},
    [IMAP_VERB_DELETE] = {"DELETE", A | S, 1, 1, false, false},
    [IMAP_VERB_RENAME] = {"RENAME", A | S, 2, 2, false, false},
    [IMAP_VERB_SUBSCRIBE] = {"SUBSCRIBE", A | S, 1, 1, false, false},
    [IMAP_VERB_UNSUBSCRIBE] = {"UNSUBSCRIBE", A | S, 1, 1, false, false},
    [IMAP_VERB_LIST] = {"LIST", A | S, 2, 5, false, false},
    [IMAP_VERB_LSUB] = {"LSUB", A | S, 2, 2, false, false},
    [IMAP_VERB_NAMESPACE] = {"NAMESPACE", A | S, 0, 0, false, false},
    [IMAP_VERB_STATUS] = {"STATUS", A | S, 2, 2, false, false},
    /* MULTIAPPEND: the mailbox, then flags, date and literal per message, and one
     * message more, which the handler refuses with NO [LIMIT] rather than BAD */
    [IMAP_VERB_APPEND] = {"APPEND", A | S, 2, 1 + 3 * (LIMIT_IMAP_APPEND_MSGS + 1), false, false},
    [IMAP_VERB_IDLE] = {"IDLE", A | S, 0, 0, false, false},
    [IMAP_VERB_GETQUOTA] = {"GETQUOTA", A | S, 1, 1, false, false},
    [IMAP_VERB_GETQUOTAROOT] = {"GETQUOTAROOT", A | S, 1, 1, false, false},
    [IMAP_VERB_SETQUOTA] = {"SETQUOTA", A | S, 2, 2, false, false},
    [IMAP_VERB_CHECK] = {"CHECK", S, 0, 0, false, false},
    [IMAP_VERB_CLOSE] = {"CLOSE", S, 0, 0, false, false},
    [IMAP_VERB_UNSELECT] = {"UNSELECT", S, 0, 0, false, false},
    [IMAP_VERB_EXPUNGE] = {"EXPUNGE", S, 0, 1, false, false},
    [IMAP_VERB_SEARCH] = {"SEARCH", S, 1, 255, false, false},
    [IMAP_VERB_FETCH] = {"FETCH", S, 2, 4, false, false},
    [IMAP_VERB_STORE] = {"STORE", S, 3, 255, false, false},
    [IMAP_VERB_COPY] = {"COPY", S, 2, 2, false, false},
    [IMAP_VERB_MOVE] = {"MOVE", S, 2, 2, false, false},
    [IMAP_VERB_SORT] = {"SORT", S, 3, 255, false, false},
    [IMAP_VERB_THREAD] = {"THREAD", S, 3, 255, false, false},
};

#undef N
#undef A
#undef S

bool imap_verb_uid_ok(enum imap_verb v)
{
	switch (v) {
	case IMAP_VERB_COPY:
	case IMAP_VERB_MOVE:
	case IMAP_VERB_FETCH:
	case IMAP_VERB_SEARCH:
	case IMAP_VERB_STORE:
	case IMAP_VERB_EXPUNGE:
	case IMAP_VERB_SORT:
	case IMAP_VERB_THREAD:
		return true;
	default:
		return false;
	}
}

/* Parser states. LINE with no command is "between commands". */
enum {
	PS_LINE,     /* reading a line (the first of a command, or one after a literal) */
	PS_LITERAL,  /* reading the octets of a held literal */
	PS_CONTINUE, /* CONTINUE returned: the next call means "+" went out */
	PS_STREAM,   /* STREAM returned: the session takes the octets */
	PS_SKIP,     /* throwing away the rest of a line */
	PS_SKIP_LIT, /* throwing away skip_left octets of a literal */
};

/* How the end of a skipped line looks, octet by octet: "{" digits ["+"] "}" [CR]. */
enum { TAIL_NONE, TAIL_OPEN, TAIL_DIGITS, TAIL_PLUS, TAIL_CLOSE, TAIL_CR };

void imap_limits_default(struct imap_limits *lim, bool authenticated, uint64_t appendlimit)
{
	if (appendlimit == 0)
		appendlimit = LIMIT_MESSAGE_SIZE;
	lim->stream = appendlimit;
	lim->args = LIMIT_ARGS;
	if (!authenticated) {
		lim->line = LIMIT_IMAP_LINE_PREAUTH;
		lim->literal = LIMIT_IMAP_LITERAL_PREAUTH;
		lim->total = LIMIT_IMAP_TOTAL_PREAUTH;
		lim->literal_minus = LIMIT_IMAP_LITERAL_MINUS;
		lim->depth = LIMIT_IMAP_DEPTH_PREAUTH;
		lim->discard = LIMIT_IMAP_DISCARD_PREAUTH;
		return;
	}
	lim->line = LIMIT_IMAP_LINE;
	lim->literal = LIMIT_IMAP_LITERAL;
	lim->total = LIMIT_IMAP_TOTAL;
	/* LITERAL+ (RFC 7888 3): a non-synchronizing literal has the limits of any other */
	lim->literal_minus = SIZE_MAX;
	lim->depth = LIMIT_IMAP_DEPTH;
	/* a LITERAL+ message a little over APPENDLIMIT is read and thrown away, so its
	 * client gets NO [TOOBIG] and keeps the session (RFC 7888 4 allows either); one
	 * past twice the limit is not worth the bandwidth: the connection closes */
	lim->discard = appendlimit * 2;
}

/* Forget the command being built (its memory is the session's arena). */
static void cmd_drop(struct imap_parser *ps)
{
	if (ps->seg_len)
		OPENSSL_cleanse(ps->seg, ps->seg_len);
	ps->seg = NULL;
	ps->seg_len = ps->seg_cap = 0;
	ps->cmd = NULL;
	ps->lit = NULL;
	ps->depth = ps->nargs = ps->line_used = 0;
	ps->total = 0;
	ps->need_sep = ps->utf8_list = false;
}

void imap_parser_init(struct imap_parser *ps, struct arena *cmd_arena, uint64_t appendlimit)
{
	memset(ps, 0, sizeof(*ps));
	ps->arena = cmd_arena;
	ps->appendlimit = appendlimit;
	ps->state = PS_LINE;
	imap_limits_default(&ps->lim, false, appendlimit);
}

void imap_parser_set_auth(struct imap_parser *ps, bool authenticated)
{
	ps->authenticated = authenticated;
	imap_limits_default(&ps->lim, authenticated, ps->appendlimit);
}

static size_t clamp(size_t v, size_t lo, size_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void imap_parser_set_limits(struct imap_parser *ps, const struct imap_limits *lim)
{
	struct imap_limits d;
	imap_limits_default(&d, ps->authenticated, ps->appendlimit);
	/* The floors keep a LOGIN with two long-ish strings and a FETCH list possible. */
	ps->lim.line = clamp(lim->line, 64, d.line);
	ps->lim.literal = clamp(lim->literal, 0, d.literal);
	ps->lim.total = clamp(lim->total, 64, d.total);
	ps->lim.literal_minus = clamp(lim->literal_minus, 0, d.literal_minus);
	ps->lim.depth = clamp(lim->depth, 1, d.depth);
	ps->lim.args = clamp(lim->args, 8, d.args);
	ps->lim.stream = lim->stream < d.stream ? lim->stream : d.stream;
	ps->lim.discard = lim->discard < d.discard ? lim->discard : d.discard;
}

void imap_parser_reset(struct imap_parser *ps)
{
	cmd_drop(ps);
	ps->state = PS_LINE;
	ps->skip_left = 0;
	ps->tail_st = TAIL_NONE;
}

/* ---- skipping ---- */

static void tail_reset(struct imap_parser *ps)
{
	ps->tail_st = TAIL_NONE;
	ps->tail_n = 0;
	ps->tail_plus = ps->tail_ovf = false;
}

static void tail_feed(struct imap_parser *ps, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c == '{') {
			tail_reset(ps);
			ps->tail_st = TAIL_OPEN;
		} else if (imap_is_digit(c) &&
		           (ps->tail_st == TAIL_OPEN || ps->tail_st == TAIL_DIGITS)) {
			ps->tail_st = TAIL_DIGITS;
			unsigned d = (unsigned)(c - '0');
			if (ps->tail_n > ((uint64_t)IMAP_NUMBER64_MAX - d) / 10)
				ps->tail_ovf = true;
			else
				ps->tail_n = ps->tail_n * 10 + d;
		} else if (c == '+' && ps->tail_st == TAIL_DIGITS) {
			ps->tail_st = TAIL_PLUS;
		} else if (c == '}' && (ps->tail_st == TAIL_DIGITS || ps->tail_st == TAIL_PLUS)) {
			ps->tail_plus = ps->tail_st == TAIL_PLUS;
			ps->tail_st = TAIL_CLOSE;
		} else if (c == '\r' && ps->tail_st == TAIL_CLOSE) {
			ps->tail_st = TAIL_CR;
		} else {
			ps->tail_st = TAIL_NONE;
		}
	}
}

/* The skipped line has ended: if it announced a non-synchronizing literal, the client
 * sends it whatever we answered, so its octets must go too (RFC 7888 4); a
 * synchronizing one it never sends. Returns false if the literal is past
 * limits.discard or its size did not parse: the stream is lost. */
static bool tail_end(struct imap_parser *ps)
{
	bool lit = ps->tail_st == TAIL_CLOSE || ps->tail_st == TAIL_CR;
	bool ok = true;
	ps->state = PS_LINE;
	if (lit && ps->tail_plus) {
		if (ps->tail_ovf || ps->tail_n > ps->lim.discard)
			ok = false;
		ps->skip_left = ps->tail_n;
		ps->state = PS_SKIP_LIT;
	}
	tail_reset(ps);
	return ok;
}

/* After an error in a complete line [s, s+n) (without its LF): drop the command and
 * skip whatever literal the line announced. */
static int fail_line(struct imap_parser *ps, int rc, const uint8_t *s, size_t n)
{
	tail_reset(ps);
	tail_feed(ps, s, n);
	ps->skip_literals = true;
	if (!tail_end(ps))
		ps->err.must_close = true;
	cmd_drop(ps);
	return rc;
}

/* Run the skip states on p[*i, len): true when a command line may start at *i. A lost
 * stream found while skipping gives *rc (untagged, must_close). */
static bool skip(struct imap_parser *ps, const uint8_t *p, size_t len, size_t *i, int *rc)
{
	*rc = 0;
	for (;;) {
		if (ps->state == PS_SKIP_LIT) {
			uint64_t take = len - *i;
			if (take > ps->skip_left)
				take = ps->skip_left;
			*i += (size_t)take;
			ps->skip_left -= take;
			if (ps->skip_left)
				return false;
			ps->state = PS_SKIP;
			continue;
		}
		if (ps->state != PS_SKIP)
			return true;
		const uint8_t *lf = *i < len ? memchr(p + *i, '\n', len - *i) : NULL;
		size_t end = lf ? (size_t)(lf - p) : len;
		if (ps->skip_literals)
			tail_feed(ps, p + *i, end - *i);
		*i = lf ? end + 1 : len;
		if (!lf)
			return false;
		if (!ps->skip_literals) {
			ps->state = PS_LINE;
			tail_reset(ps);
			continue;
		}
		if (!tail_end(ps)) {
			ps->err.tag = NULL;
			ps->err.text = "BAD [TOOBIG] Literal too large to skip";
			ps->err.must_close = true;
			*rc = ERR_TOO_BIG;
			return false;
		}
	}
}

/* ---- the partly received line ---- */

/* Room for need octets in the line buffer, kept in the command arena: doubling, so
 * a line that trickles in is copied O(1) times per octet. */
static int seg_reserve(struct imap_parser *ps, size_t need)
{
	if (need <= ps->seg_cap)
		return 0;
	size_t cap = ps->seg_cap ? ps->seg_cap * 2 : 256;
	if (cap < need)
		cap = need;
	if (cap > ps->lim.line)
		cap = ps->lim.line > need ? ps->lim.line : need;
	uint8_t *n = arena_alloc(ps->arena, cap);
	if (!n)
		return ERR_NOMEM;
	if (ps->seg_len) {
		memcpy(n, ps->seg, ps->seg_len);
		OPENSSL_cleanse(ps->seg, ps->seg_len);
	}
	ps->seg = n;
	ps->seg_cap = cap;
	return 0;
}

static int seg_append(struct imap_parser *ps, const uint8_t *p, size_t n)
{
	if (n == 0)
		return 0;
	int rc = seg_reserve(ps, ps->seg_len + n);
	if (rc < 0)
		return rc;
	memcpy(ps->seg + ps->seg_len, p, n);
	ps->seg_len += n;
	return 0;
}

static int nomem(struct imap_parser *ps)
{
	ps->err.tag = NULL;
	ps->err.text = "NO [LIMIT] Out of memory for this command";
	ps->err.must_close = true;
	return ERR_NOMEM;
}

/* The tag at the start of a line that is being refused before it was tokenized: the
 * buffered octets, then p[0, n). NULL if there is no valid tag followed by SP. */
static const char *peek_tag(struct imap_parser *ps, const uint8_t *p, size_t n)
{
	size_t all = ps->seg_len + n, k = 0;
	while (k < all && imap_is_tag_char(k < ps->seg_len ? ps->seg[k] : p[k - ps->seg_len]))
		k++;
	if (k == 0 || k == all || (k < ps->seg_len ? ps->seg[k] : p[k - ps->seg_len]) != ' ')
		return NULL;
	char *t = arena_alloc(ps->arena, k + 1);
	if (!t)
		return NULL;
	for (size_t j = 0; j < k; j++)
		t[j] = (char)(j < ps->seg_len ? ps->seg[j] : p[j - ps->seg_len]);
	t[k] = '\0';
	return t;
}

/* The line being received cannot fit: refuse it with the octets up to the limit
 * (p[0, room)) consumed, and skip the rest. */
static int refuse_line(struct imap_parser *ps, int rc, const char *text, const uint8_t *p,
                       size_t room)
{
	ps->err.tag = ps->cmd ? ps->cmd->tag : peek_tag(ps, p, room);
	ps->err.text = text;
	ps->err.must_close = !ps->authenticated;
	tail_reset(ps);
	tail_feed(ps, ps->seg, ps->seg_len);
	tail_feed(ps, p, room);
	ps->state = PS_SKIP;
	ps->skip_literals = true;
	cmd_drop(ps);
	return rc;
}

/* ---- literals ---- */

/* Refuse a literal that was just announced: a synchronizing one is never sent; the
 * octets of a non-synchronizing one are thrown away if there are not too many. */
static int refuse_literal(struct imap_parser *ps, int rc, const char *text,
                          const struct imap_tok_lit *lit)
{
	imap_tok_fail(ps, rc, text);
	if (rc == ERR_NOMEM)
		ps->err.must_close = true;
	if (!lit->sync) {
		ps->skip_left = lit->size;
		ps->state = PS_SKIP_LIT;
		ps->skip_literals = true;
		if (lit->size > ps->lim.discard)
			ps->err.must_close = true;
	} else {
		ps->state = PS_LINE;
	}
	cmd_drop(ps);
	return rc;
}

/* A literal was announced at the end of a line: check it against the limits and set up
 * its argument. Returns STREAM or CONTINUE, 0 to read a non-synchronizing literal
 * right away, or an error. */
static int literal_begin(struct imap_parser *ps, const struct imap_tok_lit *lit)
{
	int rc = 0;
	if (!lit->sync && lit->size > ps->lim.literal_minus)
		return refuse_literal(ps, ERR_TOO_BIG,
		                      "BAD [TOOBIG] Non-synchronizing literal too large "
		                      "(LITERAL-: at most 4096 octets before login)",
		                      lit);
	if (lit->stream) {
		if (lit->size > ps->lim.stream)
			return refuse_literal(ps, ERR_TOO_BIG,
			                      "NO [TOOBIG] Message too large (APPENDLIMIT)", lit);
		struct imap_arg *a = imap_tok_add(ps, IMAP_ARG_STREAM, 0, &rc);
		if (!a)
			return refuse_literal(ps, rc, ps->err.text, lit);
		a->size = lit->size;
		a->binary = lit->binary;
		a->sync = lit->sync;
		ps->need_sep = true;
		ps->stream_size = lit->size;
		ps->stream_sync = lit->sync;
		ps->stream_binary = lit->binary;
		ps->state = PS_STREAM;
		return IMAP_PARSE_STREAM;
	}
	if (lit->size > ps->lim.literal)
		return refuse_literal(ps, ERR_TOO_BIG, "NO [TOOBIG] Literal too large", lit);
	if (ps->total >= ps->lim.total || lit->size > ps->lim.total - ps->total)
		return refuse_literal(ps, ERR_TOO_BIG, "NO [TOOBIG] Command too large", lit);
	struct imap_arg *a = imap_tok_new(ps, IMAP_ARG_LITERAL, (size_t)lit->size, &rc);
	if (!a)
		return refuse_literal(ps, rc, ps->err.text, lit);
	a->binary = lit->binary;
	a->sync = lit->sync;
	ps->need_sep = true;
	ps->total += lit->size;
	ps->lit = a;
	ps->lit_left = lit->size;
	if (lit->sync) {
		ps->state = PS_CONTINUE;
		return IMAP_PARSE_CONTINUE;
	}
	ps->state = PS_LITERAL;
	return 0;
}

/* Literal octets from p[*i, len) into the argument. True when it is complete. */
static bool literal_take(struct imap_parser *ps, const uint8_t *p, size_t len, size_t *i)
{
	uint64_t take = len - *i;
	if (take > ps->lit_left)
		take = ps->lit_left;
	if (take) {
		char *dst = (char *)ps->lit->s + (ps->lit->len - (size_t)ps->lit_left);
		memcpy(dst, p + *i, (size_t)take);
	}
	*i += (size_t)take;
	ps->lit_left -= take;
	if (ps->lit_left)
		return false;
	imap_tok_link(ps, ps->lit); /* the command so far never shows half a literal */
	ps->lit = NULL;
	ps->state = PS_LINE;
	return true;
}

/* ---- lines ---- */

/* One complete line [s, s+n) with its terminator counted already. */
static int line_done(struct imap_parser *ps, const uint8_t *s, size_t n, struct imap_cmd **cmd_out)
{
	struct imap_tok_lit lit;
	size_t content = n && s[n - 1] == '\r' ? n - 1 : n;
	int rc = imap_tok_segment(ps, s, content, &lit);
	if (rc < 0)
		return fail_line(ps, rc, s, n); /* "{3+}\r\r\n" announces nothing */
	if (ps->seg_len) {
		OPENSSL_cleanse(ps->seg, ps->seg_len);
		ps->seg_len = 0;
	}
	if (rc == IMAP_TOK_END) {
		*cmd_out = ps->cmd;
		ps->cmd = NULL;
		cmd_drop(ps);
		return IMAP_PARSE_DONE;
	}
	rc = literal_begin(ps, &lit);
	if (rc == IMAP_PARSE_STREAM || rc == IMAP_PARSE_CONTINUE)
		*cmd_out = ps->cmd;
	return rc;
}

/* Read from p[*i, len) towards the end of the current line. */
static int line_read(struct imap_parser *ps, const uint8_t *p, size_t len, size_t *i,
                     struct imap_cmd **cmd_out)
{
	const uint8_t *start = p + *i;
	size_t avail = len - *i;
	const uint8_t *lf = memchr(start, '\n', avail);
	size_t take = lf ? (size_t)(lf - start) + 1 : avail;
	size_t used = ps->line_used + ps->seg_len;
	size_t room = used < ps->lim.line ? ps->lim.line - used : 0;
	if (take > room) {
		*i += room;
		return refuse_line(ps, ERR_TOO_LONG, "BAD [TOOBIG] Command line too long", start,
		                   room);
	}
	uint64_t troom =
	    ps->total + ps->seg_len < ps->lim.total ? ps->lim.total - ps->total - ps->seg_len : 0;
	if (take > troom) {
		*i += (size_t)troom;
		return refuse_line(ps, ERR_TOO_BIG, "NO [TOOBIG] Command too large", start,
		                   (size_t)troom);
	}
	if (!lf) {
		if (seg_append(ps, start, avail) < 0)
			return nomem(ps);
		*i = len;
		return 0;
	}
	*i += take;
	ps->line_used += ps->seg_len + take;
	ps->total += ps->seg_len + take;
	if (ps->seg_len == 0)
		return line_done(ps, start, take - 1, cmd_out); /* tokenized in place */
	if (seg_append(ps, start, take - 1) < 0)
		return nomem(ps);
	return line_done(ps, ps->seg, ps->seg_len, cmd_out);
}

int imap_parse(struct imap_parser *ps, const uint8_t *p, size_t len, size_t *used_out,
               struct imap_cmd **cmd_out)
{
	size_t i = 0;
	int rc;
	*used_out = 0;
	*cmd_out = NULL;
	assert(ps->state != PS_STREAM); /* the session takes those octets itself */
	if (ps->state == PS_STREAM)
		return ERR_INVAL;
	if (ps->state == PS_CONTINUE)
		ps->state = PS_LITERAL; /* the session sent "+" */
	for (;;) {
		switch (ps->state) {
		case PS_SKIP:
		case PS_SKIP_LIT:
			if (!skip(ps, p, len, &i, &rc)) {
				*used_out = i;
				return rc;
			}
			break;
		case PS_LITERAL:
			if (!literal_take(ps, p, len, &i)) {
				*used_out = i;
				return 0;
			}
			break;
		default:
			if (i == len) {
				*used_out = i;
				return 0;
			}
			rc = line_read(ps, p, len, &i, cmd_out);
			if (rc != 0 || i == len) {
				*used_out = i;
				return rc;
			}
			break;
		}
	}
}

void imap_parse_stream_done(struct imap_parser *ps)
{
	assert(ps->state == PS_STREAM);
	ps->state = PS_LINE;
}

void imap_parse_refuse_literal(struct imap_parser *ps)
{
	if (ps->state == PS_STREAM && !ps->stream_sync) {
		ps->skip_left = ps->stream_size;
		ps->skip_literals = true;
		ps->state = PS_SKIP_LIT;
	} else {
		ps->state = PS_LINE;
	}
	ps->lit = NULL;
	cmd_drop(ps);
}

int imap_parse_line(struct imap_parser *ps, const uint8_t *p, size_t len, size_t *used_out,
                    const char **line_out, size_t *len_out)
{
	size_t i = 0;
	int rc;
	*used_out = 0;
	*line_out = NULL;
	*len_out = 0;
	if (!skip(ps, p, len, &i, &rc)) {
		*used_out = i;
		return rc;
	}
	assert(ps->state == PS_LINE && !ps->cmd);
	const uint8_t *start = p + i;
	size_t avail = len - i;
	const uint8_t *lf = avail ? memchr(start, '\n', avail) : NULL;
	size_t take = lf ? (size_t)(lf - start) + 1 : avail;
	size_t room = ps->seg_len < ps->lim.line ? ps->lim.line - ps->seg_len : 0;
	if (take > room) {
		*used_out = i + room;
		if (ps->seg_len)
			OPENSSL_cleanse(ps->seg, ps->seg_len);
		ps->seg = NULL;
		ps->seg_len = ps->seg_cap = 0;
		ps->err.tag = NULL;
		ps->err.text = "BAD Line too long";
		ps->err.must_close = !ps->authenticated;
		ps->state = PS_SKIP;
		ps->skip_literals = false;
		return ERR_TOO_LONG;
	}
	if (!lf) {
		if (seg_append(ps, start, avail) < 0) {
			*used_out = i;
			return nomem(ps);
		}
		*used_out = len;
		return 0;
	}
	*used_out = i + take;
	const uint8_t *s = start;
	size_t n = take - 1;
	if (ps->seg_len) {
		if (seg_append(ps, start, n) < 0)
			return nomem(ps);
		s = ps->seg;
		n = ps->seg_len;
	}
	if (n && s[n - 1] == '\r')
		n--;
	char *line = arena_strndup(ps->arena, s, n);
	if (ps->seg_len)
		OPENSSL_cleanse(ps->seg, ps->seg_len);
	ps->seg = NULL;
	ps->seg_len = ps->seg_cap = 0;
	if (!line)
		return nomem(ps);
	*line_out = line;
	*len_out = n;
	return 1;
}

void imap_cmd_wipe(struct imap_cmd *cmd)
{
	/* Depth-first over the tree without recursion: lists are at most
	 * LIMIT_IMAP_DEPTH deep, so an explicit stack of that size suffices. */
	struct imap_arg *stack[LIMIT_IMAP_DEPTH + 1];
	size_t sp = 0;
	struct imap_arg *a = cmd ? cmd->args : NULL;
	for (;;) {
		while (a) {
			if (a->len)
				OPENSSL_cleanse((char *)a->s, a->len);
			if (a->type == IMAP_ARG_LIST && a->list && sp < LIMIT_IMAP_DEPTH + 1) {
				stack[sp++] = a->next;
				a = a->list;
				continue;
			}
			a = a->next;
		}
		if (sp == 0)
			return;
		a = stack[--sp];
	}
}
