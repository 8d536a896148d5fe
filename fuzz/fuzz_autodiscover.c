/* fuzz_autodiscover.c: libFuzzer target for the POX autodiscover request reader
 * (src/http/http_autodiscover_parse.c) and the documents written from what it read
 * (src/http/http_autoconfig_*.c). Checks, for every input: the reader reads only
 * [0, size) (the input is a heap copy of exactly that size), returns one of its
 * documented codes, and on success leaves two NUL-terminated texts within their fields,
 * without white space at their ends; an address from it that passes
 * autoconfig_address_ok gives every document within LIMIT_AUTOCONFIG_XML.
 * Seeds: fuzz/corpus/autodiscover/. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/http_autoconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fuzz_trimmed(const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);
	if (len == cap)
		return false;
	return len == 0 || (!strchr(" \t\r\n", s[0]) && !strchr(" \t\r\n", s[len - 1]));
}

static void fuzz_documents(const char *address)
{
	static uint8_t storage[LIMIT_AUTOCONFIG_XML];
	struct autoconfig_settings s = {.hostname = "mail.example.org", .pop3_expire_days = 3};
	const char *names[] = {"imaps", "imap", "pop3s", "pop3", "submissions", "submission"};
	for (int i = 0; i < CONF_SERVICES; i++) {
		s.svc[i].proto = (enum conf_service_proto)(i / 2);
		s.svc[i].implicit_tls = i % 2 == 0;
		s.svc[i].name = names[i];
		s.svc[i].port = 65535;
	}
	struct buf b;
	buf_init(&b, storage, sizeof(storage));
	assert(autoconfig_write_thunderbird(&b, &s, address) == 0);
	buf_init(&b, storage, sizeof(storage));
	assert(autoconfig_write_pox(&b, &s, address) == 0);
	buf_init(&b, storage, sizeof(storage));
	assert(autoconfig_write_mobileconfig(&b, &s, address) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	struct autodiscover_request r;
	int rc = autodiscover_parse(p, size, &r);
	assert(rc == 0 || rc == ERR_BAD_SYNTAX || rc == ERR_TOO_BIG || rc == ERR_TOO_DEEP ||
	       rc == ERR_TOO_LONG);
	assert(rc != ERR_TOO_BIG || size > LIMIT_AUTODISCOVER_REQUEST);
	if (rc == 0) {
		assert(fuzz_trimmed(r.email, sizeof(r.email)));
		assert(fuzz_trimmed(r.schema, sizeof(r.schema)));
		if (autoconfig_address_ok(r.email))
			fuzz_documents(r.email);
	}
	free(p);
	return 0;
}
