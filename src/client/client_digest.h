/* client_digest.h: what identifies a message across a server and a local copy, for
 * kasten sync (re-matching after a UIDVALIDITY change, finding an upload whose UID was
 * lost): the SHA-256 of its bytes with LF line ends (a CR before an LF dropped, as the
 * Maildir layer stores them), its size as a server counts it (RFC822.SIZE: CRLF line
 * ends), and its Message-ID. Bytes come in pieces, CRLF or LF, a CR LF split between two
 * pieces included. The header is held up to LIMIT_CLIENT_DIGEST_HEADER bytes to find
 * the Message-ID; past that the message has none for this purpose. */
#ifndef KASTEN_CLIENT_DIGEST_H
#define KASTEN_CLIENT_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

#define CLIENT_DIGEST_HEX 65 /* 64 hex digits and a NUL */

struct client_digest {
	void *md;          /* EVP_MD_CTX */
	uint64_t crlf_size;
	bool cr_pending;   /* the last piece ended in a CR */
	bool header_done;  /* the empty line was seen, or the header outgrew its bound */
	bool header_cut;
	char *header;      /* malloc'ed, LIMIT_CLIENT_DIGEST_HEADER */
	size_t header_len;
};

/* 0 or ERR_NOMEM. */
int client_digest_init(struct client_digest *d);
void client_digest_update(struct client_digest *d, const void *p, size_t n);
/* The results: sha_out (CLIENT_DIGEST_HEX bytes), the size, and the Message-ID as
 * "<id>" into msgid_out ("" if none; LIMIT_MSGID + 3 bytes suffice). Frees d. */
int client_digest_final(struct client_digest *d, char *sha_out, uint64_t *size_out,
			char *msgid_out, size_t msgid_cap);
/* The Message-ID of the header block [hdr, hdr+len) as "<id>" into out ("" if none). */
void client_digest_msgid(const char *hdr, size_t len, char *out, size_t cap);
/* Free without results (an aborted transfer). */
void client_digest_free(struct client_digest *d);

#endif
