/* client_digest.c: SHA-256 (OpenSSL EVP), the CRLF size and the Message-ID of a
 * message streamed in pieces (client_digest.h). Owns one EVP context and one header
 * buffer of LIMIT_CLIENT_DIGEST_HEADER bytes per message being digested. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "client/client_digest.h"
#include "core/arena.h"
#include "core/err.h"
#include "mime/mime.h"
#include "mime/mime_int.h"

int client_digest_init(struct client_digest *d)
{
	*d = (struct client_digest){0};
	d->md = EVP_MD_CTX_new();
	d->header = malloc(LIMIT_CLIENT_DIGEST_HEADER);
	if (!d->md || !d->header || !EVP_DigestInit_ex(d->md, EVP_sha256(), NULL)) {
		client_digest_free(d);
		return ERR_NOMEM;
	}
	return 0;
}

void client_digest_free(struct client_digest *d)
{
	EVP_MD_CTX_free(d->md);
	free(d->header);
	d->md = NULL;
	d->header = NULL;
}

/* Normalized bytes (LF line ends) into the hash and the held header. */
static void digest_take(struct client_digest *d, const char *p, size_t n)
{
	if (!n)
		return;
	(void)EVP_DigestUpdate(d->md, p, n); /* cannot fail for SHA-256 in memory */
	for (size_t i = 0; i < n; i++)
		d->crlf_size += p[i] == '\n' ? 2 : 1;
	if (d->header_done)
		return;
	size_t room = LIMIT_CLIENT_DIGEST_HEADER - d->header_len;
	size_t take = n < room ? n : room;
	/* the empty line may straddle the pieces: look from the byte before this one */
	size_t from = d->header_len ? d->header_len - 1 : 0;
	memcpy(d->header + d->header_len, p, take);
	d->header_len += take;
	if (d->header[0] == '\n' || memmem(d->header + from, d->header_len - from, "\n\n", 2))
		d->header_done = true;
	else if (d->header_len == LIMIT_CLIENT_DIGEST_HEADER)
		d->header_done = d->header_cut = true;
}

void client_digest_update(struct client_digest *d, const void *p, size_t n)
{
	const char *s = p;
	size_t start = 0;
	if (d->cr_pending && n) {
		d->cr_pending = false;
		if (s[0] != '\n')
			digest_take(d, "\r", 1); /* a bare CR stays */
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\r')
			continue;
		if (i + 1 == n) {
			digest_take(d, s + start, i - start);
			d->cr_pending = true;
			return;
		}
		if (s[i + 1] == '\n') {
			digest_take(d, s + start, i - start);
			start = i + 1;
		}
	}
	digest_take(d, s + start, n - start);
}

int client_digest_final(struct client_digest *d, char *sha_out, uint64_t *size_out,
			char *msgid_out, size_t msgid_cap)
{
	if (d->cr_pending)
		digest_take(d, "\r", 1);
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	int r = EVP_DigestFinal_ex(d->md, h, &hl) ? 0 : ERR_NOMEM;
	for (unsigned i = 0; !r && i < hl && 2 * i + 2 < CLIENT_DIGEST_HEX; i++)
		(void)snprintf(sha_out + 2 * i, 3, "%02x", h[i]); /* 2 digits always fit */
	*size_out = d->crlf_size;
	msgid_out[0] = '\0';
	if (!r && !d->header_cut)
		client_digest_msgid(d->header, d->header_len, msgid_out, msgid_cap);
	client_digest_free(d);
	return r;
}

void client_digest_msgid(const char *hdr, size_t len, char *out, size_t cap)
{
	struct mime_field fld;
	out[0] = '\0';
	if (mime_header_find((const uint8_t *)hdr, len, "Message-ID", &fld) != 1)
		return;
	struct arena a;
	struct mime_str id;
	arena_init(&a, 4 * LIMIT_MSGID + 1024);
	if (mime_msgid_first(&a, fld.value, fld.value_len, &id) == 0 && id.s && id.len < cap)
		memcpy(out, id.s, id.len + 1);
	arena_free(&a);
}
