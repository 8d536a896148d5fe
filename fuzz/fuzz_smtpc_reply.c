/* fuzz_smtpc_reply.c: libFuzzer target for the SMTP client's pure layer
 * (src/outbound/smtpc_parse.c, smtpc_fmt.c). The first byte picks the piece size the
 * stream of replies is fed in (1..256, or all at once); the rest is what a server sends.
 * Replies are parsed one after another with EHLO keyword collection on; the first
 * NUL-free stretch is also formatted as a sender, a recipient, an ORCPT and an ENVID.
 * Checks: every verdict is a documented one, used never exceeds what was offered, a
 * reply's code is 200..599, its kept line is NUL-terminated within
 * LIMIT_SMTPC_REPLY_TEXT and starts with the code, a command is one CRLF-terminated line
 * or refused, and nothing is read past the input (ASan). Seeds: fuzz/corpus/smtpc_reply/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/smtpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct smtpc_reply_parser parser;

static void check_reply(const struct smtpc_reply *r)
{
	char code[4];
	size_t len = strnlen(r->line, sizeof(r->line));
	assert(len < sizeof(r->line));
	assert(r->code >= 200 && r->code <= 599);
	snprintf(code, sizeof(code), "%03d", r->code);
	assert(memcmp(r->line, code, 3) == 0);
	assert(strnlen(r->status, sizeof(r->status)) < sizeof(r->status));
	for (size_t i = 0; i < len; i++)
		assert((unsigned char)r->line[i] >= 0x20 || r->line[i] == '\t');
}

static void check_command(int rc, const char *out, size_t len)
{
	assert(rc == 0 || rc == ERR_INVAL || rc == ERR_TOO_LONG);
	if (rc != 0)
		return;
	assert(len == strlen(out) && len >= 2 && len < LIMIT_SMTPC_COMMAND);
	assert(out[len - 2] == '\r' && out[len - 1] == '\n');
	for (size_t i = 0; i + 2 < len; i++)
		assert(out[i] != '\r' && out[i] != '\n');
}

static void fuzz_format(const uint8_t *data, size_t size)
{
	static char field[LIMIT_SMTPC_COMMAND + 8], out[LIMIT_SMTPC_COMMAND];
	static const struct smtpc_ext ext = {.flags = ~0u, .size = 1};
	size_t n = 0, len = 0;

	while (n < size && n < sizeof(field) - 1 && data[n] != 0) {
		field[n] = (char)data[n];
		n++;
	}
	field[n] = '\0';
	struct smtpc_msg m = {.sender = field,
	                      .envid = field,
	                      .ret = SMTPC_RET_FULL,
	                      .body = SMTPC_BODY_8BITMIME,
	                      .smtputf8 = true,
	                      .size = n};
	check_command(smtpc_format_mail(&ext, &m, out, sizeof(out), &len), out, len);
	struct smtpc_rcpt r = {.address = field, .orcpt = field, .notify = (unsigned)n & 15};
	check_command(smtpc_format_rcpt(&ext, &r, out, sizeof(out), &len), out, len);
	int rc = smtpc_xtext(field, out, sizeof(out));
	assert(rc == 0 || rc == ERR_TOO_LONG);
	if (rc == 0)
		for (const char *c = out; *c; c++)
			assert(*c >= '!' && *c <= '~' && *c != '=');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpc_reply reply;
	struct smtpc_ext ext;

	if (size < 1)
		return 0;
	size_t step = data[0] == 0 ? size : data[0];
	data++;
	size--;
	fuzz_format(data, size);
	smtpc_reply_parser_init(&parser, &reply, &ext);
	size_t off = 0;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		/* each piece in its own heap copy: ASan sees any read past it */
		uint8_t *piece = malloc(n);
		if (!piece)
			return 0;
		memcpy(piece, data + off, n);
		size_t used = 0;
		int rc = smtpc_reply_parse(&parser, piece, n, &used);
		free(piece);
		assert(used <= n);
		off += used;
		if (rc < 0) {
			assert(rc == ERR_TOO_LONG || rc == ERR_BAD_SYNTAX);
			break;
		}
		if (rc == 1) {
			check_reply(&reply);
			smtpc_reply_parser_init(&parser, &reply, &ext);
		} else {
			assert(rc == 0 && used == n);
		}
	}
	return 0;
}
