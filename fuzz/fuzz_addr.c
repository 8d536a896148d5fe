/* fuzz_addr.c: libFuzzer target for src/core/addr.c (mailbox address syntax).
 * Checks, for every input: the three checks agree with each other (an account address
 * is a mailbox; a mailbox's domain is a domain), what passes respects every limit and
 * holds no control, space (outside quotes) or invalid byte, the utf8 flag is set exactly
 * when a byte is non-ASCII, a failure always gives a reason, and the verdict does not
 * depend on the bytes after len. Seeds: fuzz/corpus/addr/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/err.h"
#include "core/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_verdict(int r, const char *why)
{
	assert(r == 0 || r == ERR_BAD_SYNTAX || r == ERR_TOO_LONG);
	assert(r == 0 || (why && why[0]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *why = NULL;
	struct addr_info info;
	int mr = addr_mailbox_check(s, size, &info, &why);
	check_verdict(mr, why);
	why = NULL;
	int ar = addr_account_check(s, size, &why);
	check_verdict(ar, why);
	assert(addr_account_ok(s, size) == (ar == 0));
	why = NULL;
	bool du = false;
	int dr = addr_domain_check(s, size, &du, &why);
	check_verdict(dr, why);

	if (ar == 0)
		assert(mr == 0 && !info.quoted);
	if (dr == 0) {
		assert(size >= 1 && size <= LIMIT_ADDR_DOMAIN);
		for (size_t i = 0; i < size; i++)
			assert(data[i] >= 0x80 || data[i] == '-' || data[i] == '.' ||
			       (data[i] >= '0' && data[i] <= '9') ||
			       ((data[i] | 0x20) >= 'a' && (data[i] | 0x20) <= 'z'));
		assert(data[0] != '.' && data[size - 1] != '.' && !memmem(s, size, "..", 2));
	}
	if (mr == 0) {
		assert(size <= LIMIT_ADDR_MAILBOX);
		assert(info.local_len >= 1 && info.local_len <= LIMIT_ADDR_LOCAL);
		assert(info.local_len < size && data[info.local_len] == '@');
		assert(info.quoted == (data[0] == '"'));
		bool high = false;
		for (size_t i = 0; i < size; i++) {
			high |= data[i] >= 0x80;
			assert(data[i] >= 0x20 && data[i] != 0x7f);
			if (!info.quoted)
				assert(data[i] != ' ' && data[i] != '"' && data[i] != '\\');
		}
		assert(info.utf8 == high);
		bool u = false;
		assert(addr_domain_check(s + info.local_len + 1, size - info.local_len - 1, &u,
		                         NULL) == 0);
		if (!info.quoted)
			assert(!memchr(s, '@', info.local_len));
	}

	/* the same bytes followed by more must give the same verdicts */
	char *more = malloc(size + 4);
	assert(more);
	memcpy(more, data, size);
	memcpy(more + size, "@a.b", 4);
	assert(addr_mailbox_check(more, size, NULL, NULL) == mr);
	assert(addr_account_check(more, size, NULL) == ar);
	assert(addr_domain_check(more, size, NULL, NULL) == dr);
	free(more);
	return 0;
}
