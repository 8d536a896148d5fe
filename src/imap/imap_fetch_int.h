/* imap_fetch_int.h: shared by the FETCH files only (imap_fetch.c: the command, the walk
 * over the messages and its pauses; imap_fetch_msg.c: one message's response;
 * imap_fetch_body.c: where a body section's bytes come from; imap_fetch_stream.c:
 * sending them, decoded for BINARY).
 *
 * A FETCH is a job that can stop and go on: it answers the messages a step at a time
 * (LIMIT_IMAP_FETCH_BATCH of them read from the store at once), and it stops writing
 * whenever NET_OUTPUT_LOW octets wait for the client, also inside a literal, and goes
 * on when they have drained (imap_wait_output). So a FETCH of a whole mailbox or of a
 * 50 MB body holds one step's rows, one message's structure and two file chunks,
 * whatever its size. Everything that can fail or take long for a message (reading its
 * structure, opening its file, sizing a BINARY section) happens before the first octet
 * of its response, which is then written to the end without a way to fail short of a
 * broken file (the connection is then closed: an announced literal cannot be taken
 * back). */
#ifndef KASTEN_IMAP_FETCH_INT_H
#define KASTEN_IMAP_FETCH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "imap_int.h"
#include "mime/mime.h"

struct store;
struct store_msg;
struct store_msg_extra;

/* One message of the step being answered. */
struct imap_fetch_msg {
	uint32_t seq, uid;
	/* NULL: not in the store any more (expunged by another session), or under
	 * CHANGEDSINCE not changed since */
	struct store_msg *row;
	bool seen_set; /* this FETCH set \Seen: FLAGS (and UID, MODSEQ) go along */
};

/* Where a body item's octets come from and which of them are sent. */
enum imap_fetch_src {
	IMAP_FETCH_SRC_EMPTY, /* a part that does not exist: "" (as Dovecot answers) */
	IMAP_FETCH_SRC_MEM,   /* bytes in memory: a cached or filtered header block */
	IMAP_FETCH_SRC_FILE,  /* a range of the message file */
};

struct imap_fetch_body {
	enum imap_fetch_src src;
	const uint8_t *mem;  /* SRC_MEM */
	uint64_t start, len; /* the section's octets: of mem, or of the file */
	/* BINARY: the section is sent decoded from this Content-Transfer-Encoding */
	bool decode;
	const char *enc;
	size_t enc_len;
	bool measure;         /* BINARY: size and nul still to be found by reading */
	uint64_t size;        /* the section as sent (decoded for BINARY) */
	uint64_t from, count; /* the octets sent: [from, from + count) of it */
	bool nul;             /* BINARY: a NUL among them: literal8 (RFC 3516 4.2) */
};

/* Reading a file range through a decoder, a chunk at a time (measuring or sending). */
struct imap_fetch_pump {
	int fd;
	uint64_t off, end;     /* file octets still to read */
	size_t in_pos, in_len; /* what was read and not yet decoded, in the job's buffer */
	struct mime_cte_dec dec;
	bool done;
};

/* The literal being sent. */
struct imap_fetch_stream {
	bool active;
	const struct imap_fetch_body *b;
	bool nul80;    /* BODY: a NUL goes as 0x80 (a literal cannot carry it, RFC 9051 4.3) */
	uint64_t skip; /* decoded octets before `from` still to drop */
	uint64_t left; /* octets of the literal still to send */
	uint64_t pos;  /* SRC_MEM, and raw SRC_FILE: the next octet's offset */
	struct imap_fetch_pump pump; /* decoded SRC_FILE */
};

struct imap_fetch_job {
	struct imap_session *s;
	struct imap_fetch f; /* the parsed command (in the command arena) */
	bool by_uid;         /* UID FETCH */
	size_t nitems;
	unsigned want_extra; /* enum store_extra_want bits the items need */
	bool need_buffers;   /* body items: the chunk buffers below are needed */

	/* the messages to answer: ascending, disjoint ranges of sequence numbers */
	struct imap_range *ranges; /* malloc'ed */
	size_t nranges, ri;
	uint32_t next; /* the next sequence number to take */
	size_t run;    /* the map's run holding `next` and its first number */
	uint32_t run_seq;

	struct store *st; /* open while the job runs, closed while it waits */

	/* the step: its messages and rows, and the cached data read for them */
	struct arena step;
	struct imap_fetch_msg *msgs;
	size_t nmsgs, mi;
	struct arena xa;
	struct store_msg_extra *x;
	size_t nx, xi;
	uint32_t x_last; /* the extras read cover UIDs up to this one */
	bool x_loaded;

	/* the message being answered */
	struct arena ma;
	struct imap_fetch_msg *m;
	const struct store_msg_extra *mx; /* its cached data, NULL if none */
	struct mime_part *root;           /* its structure, once read */
	int fd;                           /* its file, once opened; -1 */
	uint64_t fsize;
	struct imap_fetch_body *bodies;     /* per item, in item order (nitems) */
	const struct imap_fetch_item *item; /* the next item to write */
	size_t item_ix;
	bool in_msg;        /* prepared: its response is being written */
	bool opened;        /* "* n FETCH (" is out */
	bool implicit_done; /* the FLAGS a \Seen change adds are out (or not needed) */
	bool wrote_item;    /* an item is out: the next one needs a SP */
	struct imap_fetch_stream out;
	uint8_t *in_buf, *out_buf; /* LIMIT_IMAP_FETCH_CHUNK each, in the command arena */
	struct buf gather;         /* a response's pieces before they go out (imap_fetch_msg.c):
	                            * LIMIT_IMAP_FETCH_GATHER, in the command arena */
	struct imap_sink conn;     /* the session's own sink while gather stands in for it */

	/* how it ends */
	bool gone;      /* a message named by number is not in the store */
	const char *no; /* the tagged NO instead of OK (static text) */
	bool broken;    /* the connection is being closed: stop */
	int measure_r;  /* imap_fetch_measure's result on the pool */
};

/* ---- imap_fetch.c ---- */
/* The account's store for this step (opened once, closed when the job waits); NULL
 * when it cannot be opened. */
struct store *imap_fetch_store(struct imap_fetch_job *j);

/* ---- imap_fetch_msg.c ---- */
/* Items answered with a section's octets (BODY[...], BINARY..., RFC822*). */
bool imap_fetch_body_item(enum imap_fetch_att att);
/* Get ready to answer j->m: its cached data, structure and file as the items need them,
 * and every body item's octets (j->bodies). Returns 0; IMAP_FETCH_MEASURE when a BINARY
 * section must be read to be sized and that is too much for the loop thread (the
 * caller runs imap_fetch_measure on the pool); ERR_NOTFOUND when the message is gone;
 * another error with j->no set. */
#define IMAP_FETCH_MEASURE 1
int imap_fetch_msg_prepare(struct imap_fetch_job *j);
/* Write j->m's response, from where it stopped. 1: complete; 0: stopped because the
 * output is full (call again after it drained); <0: the connection is broken. */
int imap_fetch_msg_write(struct imap_fetch_job *j);
/* Done with j->m: its file closed, its memory released. */
void imap_fetch_msg_end(struct imap_fetch_job *j);

/* ---- imap_fetch_body.c ---- */
/* The octets of body item it (BODY[...], RFC822*, BINARY[...], BINARY.SIZE[...]) of
 * j->m into *b, reading the message's structure, cached header or file as needed.
 * BINARY sections left with b->measure set are sized by imap_fetch_measure. Returns 0,
 * ERR_NOTFOUND (gone), or another error with j->no set. */
int imap_fetch_body_locate(struct imap_fetch_job *j, const struct imap_fetch_item *it,
                           struct imap_fetch_body *b);
/* The file of j->m opened (once); its structure read (once). Errors as above. */
int imap_fetch_need_file(struct imap_fetch_job *j);
int imap_fetch_need_root(struct imap_fetch_job *j);

/* ---- imap_fetch_stream.c ---- */
/* Size every body of j->m that needs it (b->measure): decoded size and whether the
 * octets to send hold a NUL. Reads the file; safe on the worker pool (touches only the
 * job's bodies, file and buffers). Returns 0 or ERR_IO. */
int imap_fetch_measure(struct imap_fetch_job *j);
/* The file octets measuring would read (to choose the loop thread or the pool). */
uint64_t imap_fetch_measure_cost(const struct imap_fetch_job *j);
/* Send body b as a literal ("{n}" CRLF or "~{n}" CRLF, then the octets). Starts it
 * with start set; returns 1 when it is all out, 0 when the output is full (call again
 * with start false after it drained), <0 when the file broke (logged; the caller
 * closes the connection). */
int imap_fetch_send(struct imap_fetch_job *j, const struct imap_fetch_body *b, bool binary,
                    bool start);

#endif
