/* imap_fetch_msg.c: one message's FETCH response (RFC 9051 7.5.2 msg-att): getting
 * ready (what the items need is read before the first octet goes out) and writing the
 * items in the order the client named them. Body items go through imap_fetch_send,
 * which may stop while the client reads; writing then goes on from the same item.
 * Owns nothing: the message's memory is the job's message arena, its file the job's.
 *
 * Where each item comes from, so that a listing (FLAGS, INTERNALDATE, RFC822.SIZE,
 * ENVELOPE, BODYSTRUCTURE, HEADER.FIELDS...) of a whole mailbox opens no message file:
 * FLAGS, UID, MODSEQ, dates, size and EMAILID from the store's row; ENVELOPE, BODY and
 * BODYSTRUCTURE from the MIME structure cached at delivery; THREADID, PREVIEW and the
 * top-level header from the store's cached data; only body octets from the file.
 *
 * When this FETCH set \Seen on the message (RFC 9051 6.4.5), its FLAGS go along
 * unasked, and under CONDSTORE its UID and MODSEQ too (RFC 7162 3.1: every FETCH
 * response caused by an implicit \Seen change carries them). They come first, after a
 * UID that leads the list (UID FETCH), as Dovecot places them. */
#include "imap_fetch_int.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "store/store.h"
#include "core/banned.h"

/* ---- getting ready ---- */

bool imap_fetch_body_item(enum imap_fetch_att att)
{
	switch (att) {
	case IMAP_FETCH_BODY_SECTION:
	case IMAP_FETCH_BINARY:
	case IMAP_FETCH_BINARY_SIZE:
	case IMAP_FETCH_RFC822:
	case IMAP_FETCH_RFC822_HEADER:
	case IMAP_FETCH_RFC822_TEXT:
		return true;
	default:
		return false;
	}
}

int imap_fetch_msg_prepare(struct imap_fetch_job *j)
{
	arena_reset(&j->ma);
	j->root = NULL;
	j->item = j->f.items;
	j->item_ix = 0;
	j->opened = j->implicit_done = j->wrote_item = false;
	j->out.active = false;
	if (j->want_extra && !j->mx)
		return ERR_NOTFOUND; /* the store has no such message any more */
	size_t i = 0;
	for (const struct imap_fetch_item *it = j->f.items; it; it = it->next, i++) {
		int r = 0;
		if (imap_fetch_body_item(it->att))
			r = imap_fetch_body_locate(j, it, &j->bodies[i]);
		else if (it->att == IMAP_FETCH_ENVELOPE || it->att == IMAP_FETCH_BODYSTRUCTURE ||
		         it->att == IMAP_FETCH_BODY)
			r = imap_fetch_need_root(j);
		if (r < 0)
			return r;
	}
	if (imap_fetch_measure_cost(j) > LIMIT_IMAP_FETCH_INLINE)
		return IMAP_FETCH_MEASURE;
	return imap_fetch_measure(j);
}

void imap_fetch_msg_end(struct imap_fetch_job *j)
{
	if (j->fd >= 0)
		(void)close(j->fd); /* read-only: nothing to lose */
	j->fd = -1;
	j->root = NULL;
	j->in_msg = j->opened = false;
	j->out.active = false;
	arena_reset(&j->ma);
}

/* ---- writing ---- */

/* RFC 9051 9 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz", in UTC (the store keeps the
 * instant, not the zone it was given in). */
static void put_date(const struct imap_sink *o, int64_t t)
{
	static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		tt = 0; /* out of the calendar's range: the epoch, never a broken string */
		(void)gmtime_r(&tt, &tm);
	}
	imap_putf(o, "\"%02d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday, mon[tm.tm_mon],
	          tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* FLAGS, UID and MODSEQ the \Seen change brings along, unless they were asked for. */
static void put_implicit(struct imap_fetch_job *j)
{
	struct imap_session *s = j->s;
	const struct store_msg *row = j->m->row;
	j->implicit_done = true;
	if (!j->m->seen_set)
		return;
	unsigned have = j->f.have;
	if (!(have & (1u << IMAP_FETCH_FLAGS))) {
		imap_puts(&s->out, j->wrote_item ? " " : "");
		imap_put_msg_flags(s, row);
		j->wrote_item = true;
	}
	if (!s->condstore)
		return;
	if (!(have & (1u << IMAP_FETCH_UID))) {
		imap_putf(&s->out, "%sUID %u", j->wrote_item ? " " : "", row->uid);
		j->wrote_item = true;
	}
	if (!(have & (1u << IMAP_FETCH_MODSEQ))) {
		imap_putf(&s->out, "%sMODSEQ (%llu)", j->wrote_item ? " " : "",
		          (unsigned long long)row->modseq);
		j->wrote_item = true;
	}
}

static void put_simple(struct imap_fetch_job *j, const struct imap_fetch_item *it)
{
	struct imap_session *s = j->s;
	const struct imap_sink *o = &s->out;
	const struct store_msg *row = j->m->row;
	const struct store_msg_extra *x = j->mx;
	switch (it->att) {
	case IMAP_FETCH_FLAGS:
		imap_put_msg_flags(s, row);
		break;
	case IMAP_FETCH_INTERNALDATE:
		imap_puts(o, "INTERNALDATE ");
		put_date(o, row->internal_date);
		break;
	case IMAP_FETCH_RFC822_SIZE:
		imap_putf(o, "RFC822.SIZE %llu", (unsigned long long)row->size);
		break;
	case IMAP_FETCH_ENVELOPE:
		imap_puts(o, "ENVELOPE ");
		imap_put_envelope(o, j->root->envelope, s->utf8);
		break;
	case IMAP_FETCH_BODYSTRUCTURE:
	case IMAP_FETCH_BODY:
		imap_puts(o, it->att == IMAP_FETCH_BODY ? "BODY " : "BODYSTRUCTURE ");
		imap_put_bodystructure(o, j->root, it->att == IMAP_FETCH_BODYSTRUCTURE, s->utf8);
		break;
	case IMAP_FETCH_UID:
		imap_putf(o, "UID %u", row->uid);
		break;
	case IMAP_FETCH_MODSEQ: /* RFC 7162 3.1.4.1 */
		imap_putf(o, "MODSEQ (%llu)", (unsigned long long)row->modseq);
		break;
	case IMAP_FETCH_EMAILID: /* RFC 8474 5.1: the guid POP3's UIDL is made from */
		imap_puts(o, "EMAILID (");
		imap_puts(o, row->guid ? row->guid : "");
		imap_puts(o, ")");
		break;
	case IMAP_FETCH_THREADID: /* RFC 8474 5.2: NIL when the server has none */
		if (x && x->thread_id) {
			imap_puts(o, "THREADID (");
			imap_puts(o, x->thread_id);
			imap_puts(o, ")");
		} else {
			imap_puts(o, "THREADID NIL");
		}
		break;
	case IMAP_FETCH_SAVEDATE: /* RFC 8514 4.3: NIL where it is not known */
		imap_puts(o, "SAVEDATE ");
		if (row->saved_date)
			put_date(o, row->saved_date);
		else
			imap_puts(o, "NIL");
		break;
	case IMAP_FETCH_PREVIEW: {
		/* RFC 8970 3: made at delivery, so LAZY has it too; a message without text
		 * has the empty preview */
		const char *p = x && x->preview ? x->preview : "";
		imap_puts(o, "PREVIEW ");
		imap_put_string(o, p, strlen(p), s->utf8);
		break;
	}
	default:
		break;
	}
}

/* The item's name and origin before its literal: "BODY[1.MIME]<0> ". */
static void put_body_name(const struct imap_sink *o, const struct imap_fetch_item *it)
{
	switch (it->att) {
	case IMAP_FETCH_RFC822:
		imap_puts(o, "RFC822 ");
		return;
	case IMAP_FETCH_RFC822_HEADER:
		imap_puts(o, "RFC822.HEADER ");
		return;
	case IMAP_FETCH_RFC822_TEXT:
		imap_puts(o, "RFC822.TEXT ");
		return;
	default:
		break;
	}
	imap_puts(o, it->name);
	if (it->partial) /* RFC 9051 7.5.2: the origin octet, the length not echoed */
		imap_putf(o, "<%llu>", (unsigned long long)it->offset);
	imap_puts(o, " ");
}

/* Write one item, or start its literal. 1: the item is out; 0: its literal waits for
 * the client; <0: broken. */
static int put_item(struct imap_fetch_job *j, const struct imap_fetch_item *it)
{
	const struct imap_sink *o = &j->s->out;
	struct imap_fetch_body *b = &j->bodies[j->item_ix];
	if (j->wrote_item)
		imap_puts(o, " ");
	j->wrote_item = true;
	if (!imap_fetch_body_item(it->att)) {
		put_simple(j, it);
		return 1;
	}
	if (it->att == IMAP_FETCH_BINARY_SIZE) { /* RFC 3516 4.3: the decoded size */
		imap_puts(o, it->name);
		imap_putf(o, " %llu", (unsigned long long)b->size);
		return 1;
	}
	put_body_name(o, it);
	return imap_fetch_send(j, b, it->att == IMAP_FETCH_BINARY, true);
}

/* A response's many small pieces (names, numbers, flags) gather in the job's buffer and
 * go to the connection in one write, not one each: while a response is written, the
 * session's sink points at the buffer, so imap_put_msg_flags and the formatter write
 * there too. A file chunk does not fit and goes straight through, after what gathered. */
static void gather_flush(struct imap_fetch_job *j)
{
	imap_put(&j->conn, j->gather.data, j->gather.len);
	buf_clear(&j->gather);
}

static void gather_write(void *ctx, const void *p, size_t n)
{
	struct imap_fetch_job *j = ctx;
	if (buf_append(&j->gather, p, n) == 0)
		return;
	gather_flush(j);
	if (buf_append(&j->gather, p, n) < 0)
		imap_put(&j->conn, p, n);
}

static int write_response(struct imap_fetch_job *j)
{
	const struct imap_sink *o = &j->s->out;
	if (!j->opened) {
		imap_putf(o, "* %u FETCH (", j->m->seq);
		j->opened = true;
	}
	while (j->item) {
		const struct imap_fetch_item *it = j->item;
		int r;
		if (j->out.active) {
			r = imap_fetch_send(j, &j->bodies[j->item_ix], it->att == IMAP_FETCH_BINARY,
			                    false);
		} else {
			if (!j->implicit_done && it->att != IMAP_FETCH_UID)
				put_implicit(j);
			r = put_item(j, it);
		}
		if (r <= 0)
			return r;
		j->item = it->next;
		j->item_ix++;
	}
	if (!j->implicit_done)
		put_implicit(j);
	imap_puts(o, ")\r\n");
	return 1;
}

int imap_fetch_msg_write(struct imap_fetch_job *j)
{
	struct imap_session *s = j->s;
	j->conn = s->out;
	s->out = (struct imap_sink){gather_write, j};
	int r = write_response(j);
	gather_flush(j);
	s->out = j->conn;
	return r;
}
