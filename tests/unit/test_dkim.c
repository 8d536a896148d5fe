/* test_dkim.c: the DKIM signer, verifier, key store and keyring (src/outbound/dkim.h).
 * The RFC 8463 A.3 message (ed25519-sha256 and rsa-sha256, the appendix's keys) must
 * verify byte-exact; kasten's own signatures verify and any change to what they cover
 * fails; the signature does not depend on how the message is split; the keyring picks up
 * keys made and deleted while it is in use. dkimpy checks the same from outside
 * (tests/proto/test_dkim.py). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/dkim.h"

/* RFC 8463 A.2 (ed25519, selector brisbane) and the RSA key of A.2 (selector test). */
static const char rfc8463_ed[] =
    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char rfc8463_rsa[] =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08"
    "a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMK"
    "rM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

/* RFC 8463 A.3, byte for byte */
static const char rfc8463_msg[] = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
                                  " d=football.example.com; i=@football.example.com;\r\n"
                                  " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
                                  " subject : date : message-id : from : subject : date;\r\n"
                                  " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
                                  " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
                                  " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
                                  "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
                                  " d=football.example.com; i=@football.example.com;\r\n"
                                  " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
                                  " date : message-id : from : subject : date;\r\n"
                                  " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
                                  " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
                                  " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
                                  " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
                                  "From: Joe SixPack <joe@football.example.com>\r\n"
                                  "To: Suzie Q <suzie@shopping.example.net>\r\n"
                                  "Subject: Is dinner ready?\r\n"
                                  "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
                                  "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
                                  "\r\n"
                                  "Hi.\r\n"
                                  "\r\n"
                                  "We lost the game.  Are you hungry yet?\r\n"
                                  "\r\n"
                                  "Joe.\r\n";

/* A table of key records by name, as the lookup callback sees them. */
struct keytab {
	const char *name[4];
	const char *rec[4];
	int error; /* returned for any name when set */
};

static int keytab_lookup(void *ctx, const char *name, char *out, size_t cap, size_t *len_out)
{
	const struct keytab *t = ctx;
	if (t->error)
		return t->error;
	for (size_t i = 0; i < 4 && t->name[i]; i++) {
		if (strcmp(t->name[i], name) != 0)
			continue;
		size_t n = strlen(t->rec[i]);
		if (n >= cap)
			return ERR_TOO_BIG;
		memcpy(out, t->rec[i], n + 1);
		*len_out = n;
		return 0;
	}
	return ERR_NOTFOUND;
}

/* Verify msg (fed in pieces of step bytes; 0: whole) at time now. */
static size_t verify(const char *msg, size_t len, size_t step, time_t now, struct keytab *kt,
                     struct dkim_verify_result *res)
{
	struct dkim_verifier *v = NULL;
	assert_int_equal(dkim_verifier_new(now, &v), 0);
	if (!step)
		step = len ? len : 1;
	for (size_t i = 0; i < len; i += step)
		assert_int_equal(dkim_verifier_feed(v, (const uint8_t *)msg + i,
		                                    len - i < step ? len - i : step),
		                 0);
	size_t n = 0;
	assert_int_equal(dkim_verifier_finish(v, keytab_lookup, kt, res, LIMIT_DKIM_SIGS, &n), 0);
	dkim_verifier_free(&v);
	assert_null(v);
	return n;
}

static void test_rfc8463_vector(void **state)
{
	(void)state;
	struct keytab kt = {
	    .name = {"brisbane._domainkey.football.example.com",
	             "test._domainkey.football.example.com"},
	    .rec = {rfc8463_ed, rfc8463_rsa},
	};
	struct dkim_verify_result res[LIMIT_DKIM_SIGS];
	size_t steps[] = {0, 1, 7, 100};
	for (size_t k = 0; k < 4; k++) {
		size_t n = verify(rfc8463_msg, strlen(rfc8463_msg), steps[k], time(NULL), &kt, res);
		assert_int_equal(n, 2);
		assert_int_equal(res[0].result, DKIM_RESULT_PASS);
		assert_string_equal(res[0].alg, "ed25519-sha256");
		assert_string_equal(res[0].selector, "brisbane");
		assert_string_equal(res[0].header_b, "/gCrinpcQOoI");
		assert_int_equal(res[1].result, DKIM_RESULT_PASS);
		assert_string_equal(res[1].alg, "rsa-sha256");
	}
	/* one byte of the body changed: both fail on the body hash */
	char *m = strdup(rfc8463_msg);
	assert_non_null(m);
	*strstr(m, "hungry") = 'H';
	verify(m, strlen(m), 0, time(NULL), &kt, res);
	assert_int_equal(res[0].result, DKIM_RESULT_FAIL);
	assert_string_equal(res[0].reason, "body hash did not verify");
	assert_int_equal(res[1].result, DKIM_RESULT_FAIL);
	/* a signed field changed: the signature itself fails */
	strcpy(m, rfc8463_msg);
	*strstr(m, "dinner") = 'D';
	verify(m, strlen(m), 0, time(NULL), &kt, res);
	assert_int_equal(res[0].result, DKIM_RESULT_FAIL);
	assert_string_equal(res[0].reason, "signature did not verify");
	assert_int_equal(res[1].result, DKIM_RESULT_FAIL);
	free(m);
	/* the keys swapped: a= and k= disagree */
	kt.rec[0] = rfc8463_rsa;
	kt.rec[1] = rfc8463_ed;
	verify(rfc8463_msg, strlen(rfc8463_msg), 0, time(NULL), &kt, res);
	assert_int_equal(res[0].result, DKIM_RESULT_PERMERROR);
	assert_int_equal(res[1].result, DKIM_RESULT_PERMERROR);
	/* no key record; a temporary failure */
	struct keytab none = {.name = {NULL}};
	verify(rfc8463_msg, strlen(rfc8463_msg), 0, time(NULL), &none, res);
	assert_int_equal(res[0].result, DKIM_RESULT_PERMERROR);
	assert_string_equal(res[0].reason, "no key record");
	struct keytab temp = {.error = ERR_TEMP};
	verify(rfc8463_msg, strlen(rfc8463_msg), 0, time(NULL), &temp, res);
	assert_int_equal(res[0].result, DKIM_RESULT_TEMPERROR);
}

/* Insert ins before the first needle in m (which has room for it). */
static void insert_before(char *m, const char *needle, const char *ins)
{
	const char *p = strstr(m, needle);
	assert_non_null(p);
	size_t off = (size_t)(p - m), n = strlen(ins), len = strlen(m);
	memmove(m + off + n, m + off, len - off + 1);
	memcpy(m + off, ins, n);
}

/* ---- kasten's own keys and signatures ---- */

static char data_dir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(data_dir, sizeof(data_dir), "/tmp/kasten-dkim-XXXXXX");
	assert_non_null(mkdtemp(data_dir));
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char own_msg[] = "From: Alice <alice@example.org>\r\n"
                              "To: bob@example.net,\r\n"
                              "\tcarol@example.net\r\n"
                              "Subject:  Tricky   spacing\t \r\n"
                              "Date: Tue, 1 Dec 2026 12:00:00 +0000\r\n"
                              "Message-ID: <1@example.org>\r\n"
                              "X-Not-Signed: yes\r\n"
                              "\r\n"
                              "line  one \t\r\n"
                              "\r\n"
                              "\xc3\xa4 8-bit\r\n"
                              "no final line end";

/* The signature fields for msg with keys, the message fed in pieces of step. */
static char *sign(const struct dkim_key *keys, size_t n, const char *msg, size_t step)
{
	struct dkim_signer *s = NULL;
	assert_int_equal(dkim_signer_new("example.org", keys, n, 1796000000, &s), 0);
	size_t len = strlen(msg);
	if (!step)
		step = len;
	for (size_t i = 0; i < len; i += step)
		assert_int_equal(
		    dkim_signer_feed(s, (const uint8_t *)msg + i, len - i < step ? len - i : step),
		    0);
	char *out = NULL;
	size_t olen = 0;
	assert_int_equal(dkim_signer_finish(s, &out, &olen), 0);
	dkim_signer_free(&s);
	assert_int_equal(strlen(out), olen);
	char *all = malloc(olen + len + 1);
	assert_non_null(all);
	memcpy(all, out, olen);
	memcpy(all + olen, msg, len + 1);
	free(out);
	return all;
}

static void own_keytab(const struct dkim_key *keys, size_t n, struct keytab *kt, char names[][128],
                       char recs[][LIMIT_DKIM_RECORD])
{
	memset(kt, 0, sizeof(*kt));
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], 128, "%s._domainkey.%s", keys[i].selector, keys[i].domain);
		assert_int_equal(dkim_key_record(&keys[i], recs[i], LIMIT_DKIM_RECORD), 0);
		kt->name[i] = names[i];
		kt->rec[i] = recs[i];
	}
}

static void test_sign_and_verify(void **state)
{
	(void)state;
	assert_int_equal(dkim_key_generate(data_dir, "Example.ORG", "k1r", DKIM_ALG_RSA_SHA256), 0);
	assert_int_equal(dkim_key_generate(data_dir, "example.org", "k1e", DKIM_ALG_ED25519_SHA256),
	                 0);
	struct dkim_key *keys = NULL;
	size_t n = 0;
	assert_int_equal(dkim_keys_load(data_dir, "example.org", &keys, &n, NULL, 0), 0);
	assert_int_equal(n, 2);
	assert_string_equal(keys[0].selector, "k1e"); /* sorted */
	assert_int_equal(keys[0].alg, DKIM_ALG_ED25519_SHA256);
	assert_int_equal(keys[1].alg, DKIM_ALG_RSA_SHA256);
	char names[4][128], recs[4][LIMIT_DKIM_RECORD];
	struct keytab kt;
	own_keytab(keys, n, &kt, names, recs);

	char *whole = sign(keys, n, own_msg, 0);
	/* the same bytes however the message arrives (both algorithms are deterministic) */
	for (size_t step = 1; step < 40; step += 13) {
		char *piece = sign(keys, n, own_msg, step);
		assert_string_equal(piece, whole);
		free(piece);
	}
	/* what is signed: c=relaxed/relaxed, t=, From oversigned, no l= or x= */
	assert_non_null(strstr(whole, "a=ed25519-sha256; c=relaxed/relaxed; d=example.org;"));
	assert_non_null(strstr(whole, "t=1796000000;"));
	assert_non_null(strstr(whole, "h=from:from:to:subject:date:message-id;"));
	assert_null(strstr(whole, " l="));
	assert_null(strstr(whole, " x="));
	/* every line of the fields at most 78 columns */
	for (const char *l = whole; *l && strncmp(l, "From:", 5) != 0;) {
		const char *e = strstr(l, "\r\n");
		assert_non_null(e);
		assert_true(e - l <= 78);
		l = e + 2;
	}
	struct dkim_verify_result res[LIMIT_DKIM_SIGS];
	assert_int_equal(verify(whole, strlen(whole), 0, 1796000001, &kt, res), 2);
	assert_int_equal(res[0].result, DKIM_RESULT_PASS);
	assert_int_equal(res[1].result, DKIM_RESULT_PASS);
	assert_int_equal(verify(whole, strlen(whole), 3, 1796000001, &kt, res), 2);
	assert_int_equal(res[1].result, DKIM_RESULT_PASS);

	/* relaxed: whitespace changes in body and header do not matter */
	char *m = malloc(strlen(whole) + 64);
	assert_non_null(m);
	strcpy(m, whole);
	insert_before(m, "  one", " "); /* one more space */
	assert_int_equal(verify(m, strlen(m), 0, 1796000001, &kt, res), 2);
	assert_int_equal(res[0].result, DKIM_RESULT_PASS);
	/* an unsigned field may be added */
	strcpy(m, whole);
	insert_before(m, "X-Not-Signed", "X-New: 1\r\n");
	verify(m, strlen(m), 0, 1796000001, &kt, res);
	assert_int_equal(res[0].result, DKIM_RESULT_PASS);
	/* a From added above the signed one (where a reader may show it): a verifier takes
	 * fields bottom-up, so only the extra "from" in h= (oversigning) makes it fail */
	strcpy(m, whole);
	insert_before(m, "From: Alice", "From: eve@evil.test\r\n");
	verify(m, strlen(m), 0, 1796000001, &kt, res);
	assert_int_equal(res[0].result, DKIM_RESULT_FAIL);
	assert_int_equal(res[1].result, DKIM_RESULT_FAIL);
	/* ... and one added below it fails too (it is the one the first "from" takes) */
	strcpy(m, whole);
	insert_before(m, "X-Not-Signed", "From: eve@evil.test\n");
	verify(m, strlen(m), 0, 1796000001, &kt, res);
	assert_int_equal(res[0].result, DKIM_RESULT_FAIL);
	/* the body's last line changed */
	strcpy(m, whole);
	strstr(m, "no final")[0] = 'N';
	verify(m, strlen(m), 0, 1796000001, &kt, res);
	assert_string_equal(res[0].reason, "body hash did not verify");
	/* a bad b= (not base64) is a signature that cannot be processed */
	strcpy(m, whole);
	memcpy(strstr(m, " b=") + 3, "!", 1);
	verify(m, strlen(m), 0, 1796000001, &kt, res);
	assert_int_equal(res[0].result, DKIM_RESULT_NEUTRAL);
	assert_string_equal(res[0].reason, "bad b=");
	/* the keys of another domain's generation: wrong key */
	assert_int_equal(dkim_key_generate(data_dir, "other.test", "k1e", DKIM_ALG_ED25519_SHA256),
	                 0);
	struct dkim_key *other = NULL;
	size_t on = 0;
	assert_int_equal(dkim_keys_load(data_dir, "other.test", &other, &on, NULL, 0), 0);
	assert_int_equal(dkim_key_record(&other[0], recs[0], LIMIT_DKIM_RECORD), 0);
	verify(whole, strlen(whole), 0, 1796000001, &kt, res);
	assert_int_equal(res[0].result, DKIM_RESULT_FAIL);
	assert_string_equal(res[0].reason, "signature did not verify");
	assert_int_equal(res[1].result, DKIM_RESULT_PASS);
	dkim_keys_free(&other, on);
	free(m);
	free(whole);
	dkim_keys_free(&keys, n);
	assert_null(keys);
}

static void test_expired_and_syntax(void **state)
{
	(void)state;
	/* RFC 8463's signature with an x= before now: fail before any crypto */
	struct keytab kt = {
	    .name = {"brisbane._domainkey.football.example.com"},
	    .rec = {rfc8463_ed},
	};
	char *m = malloc(sizeof(rfc8463_msg) + 32);
	assert_non_null(m);
	strcpy(m, rfc8463_msg);
	insert_before(m, " t=1528637909;", " x=1528637910;");
	struct dkim_verify_result res[LIMIT_DKIM_SIGS];
	verify(m, strlen(m), 0, 1528637911, &kt, res);
	assert_int_equal(res[0].result, DKIM_RESULT_FAIL);
	assert_string_equal(res[0].reason, "signature expired");
	/* x= before t=: not a valid signature */
	strcpy(m, rfc8463_msg);
	insert_before(m, " t=1528637909;", " x=1528637900;");
	verify(m, strlen(m), 0, 1528637901, &kt, res);
	assert_int_equal(res[0].result, DKIM_RESULT_NEUTRAL);
	/* rsa-sha1 is refused (RFC 8301) */
	strcpy(m, rfc8463_msg);
	memcpy(strstr(m, "a=rsa-sha256"), "a=rsa-sha1;  ", 13);
	verify(m, strlen(m), 0, 1528637901, &kt, res);
	assert_int_equal(res[1].result, DKIM_RESULT_NEUTRAL);
	assert_string_equal(res[1].reason, "rsa-sha1 not accepted (RFC 8301)");
	free(m);
	/* no signature at all: no result */
	assert_int_equal(verify("From: a@b\r\n\r\nx\r\n", 16, 0, 1, &kt, res), 0);
}

static void test_keystore(void **state)
{
	(void)state;
	assert_int_equal(dkim_key_generate(data_dir, "store.test", "s1", DKIM_ALG_ED25519_SHA256),
	                 0);
	assert_int_equal(dkim_key_generate(data_dir, "store.test", "S1", DKIM_ALG_RSA_SHA256),
	                 ERR_EXISTS);
	assert_int_equal(dkim_key_generate(data_dir, "../etc", "s1", DKIM_ALG_RSA_SHA256),
	                 ERR_INVAL);
	assert_int_equal(dkim_key_generate(data_dir, "store.test", "a/b", DKIM_ALG_RSA_SHA256),
	                 ERR_INVAL);
	assert_int_equal(dkim_key_generate(data_dir, "store.test", "a.b", DKIM_ALG_RSA_SHA256),
	                 ERR_INVAL);
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/dkim/store.test/s1.key", data_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* LIMIT_DKIM_KEYS keys at most */
	for (int i = 2; i <= LIMIT_DKIM_KEYS; i++) {
		char sel[16];
		snprintf(sel, sizeof(sel), "s%d", i);
		assert_int_equal(
		    dkim_key_generate(data_dir, "store.test", sel, DKIM_ALG_ED25519_SHA256), 0);
	}
	assert_int_equal(
	    dkim_key_generate(data_dir, "store.test", "extra", DKIM_ALG_ED25519_SHA256), ERR_FULL);
	for (int i = 1; i <= LIMIT_DKIM_KEYS; i++) {
		char sel[16];
		snprintf(sel, sizeof(sel), "s%d", i);
		assert_int_equal(dkim_key_delete(data_dir, "store.test", sel), 0);
	}
	assert_int_equal(dkim_key_delete(data_dir, "store.test", "s1"), ERR_NOTFOUND);
	snprintf(path, sizeof(path), "%s/dkim/store.test", data_dir);
	assert_int_equal(stat(path, &st), -1); /* the last key took its directory along */
	/* a file that is not a key is an error, with its path */
	snprintf(path, sizeof(path), "%s/dkim/broken.test", data_dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/dkim/broken.test/bad.key", data_dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a key\n", f);
	fclose(f);
	struct dkim_key *keys = NULL;
	size_t n = 0;
	char bad[256] = "";
	assert_int_equal(dkim_keys_load(data_dir, "broken.test", &keys, &n, bad, sizeof(bad)),
	                 ERR_BAD_SYNTAX);
	assert_string_equal(bad, path);
	assert_int_equal(unlink(path), 0);
	/* default selectors */
	char sel[16];
	dkim_selector_default(DKIM_ALG_RSA_SHA256, 1796000000, sel, sizeof(sel));
	assert_string_equal(sel, "k202611r");
	dkim_selector_default(DKIM_ALG_ED25519_SHA256, 1796000000, sel, sizeof(sel));
	assert_string_equal(sel, "k202611e");
}

/* A running server's keyring sees keys made and deleted after it started. */
static void test_keyring_reload(void **state)
{
	(void)state;
	struct dkim_keyring *kr = NULL;
	struct dkim_signer *s = NULL;
	assert_int_equal(dkim_keyring_new(data_dir, &kr), 0);
	assert_int_equal(dkim_keyring_signer(kr, "ring.test", 1, &s), ERR_NOTFOUND);
	assert_null(s);
	assert_int_equal(dkim_key_generate(data_dir, "ring.test", "r1", DKIM_ALG_ED25519_SHA256),
	                 0);
	const char *msg = "From: a@ring.test\r\n\r\nhi\r\n";
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(dkim_keyring_signer(kr, "ring.test", 1, &s), 0);
	assert_int_equal(dkim_signer_feed(s, (const uint8_t *)msg, strlen(msg)), 0);
	/* a key made while a signer is open does not change that signer; and the directory
	 * keeps its mtime, as two changes within one tick of the file system's clock do */
	char dir[128];
	struct stat st;
	snprintf(dir, sizeof(dir), "%s/dkim/ring.test", data_dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(dkim_key_generate(data_dir, "ring.test", "r2", DKIM_ALG_ED25519_SHA256),
	                 0);
	struct timespec same[2] = {st.st_atim, st.st_mtim};
	assert_int_equal(utimensat(AT_FDCWD, dir, same, 0), 0);
	assert_int_equal(dkim_signer_finish(s, &out, &len), 0);
	dkim_signer_free(&s);
	assert_non_null(strstr(out, "s=r1;"));
	assert_null(strstr(out, "s=r2;"));
	free(out);
	/* the next signer has both */
	assert_int_equal(dkim_keyring_signer(kr, "RING.test", 1, &s), 0);
	assert_int_equal(dkim_signer_feed(s, (const uint8_t *)msg, strlen(msg)), 0);
	assert_int_equal(dkim_signer_finish(s, &out, &len), 0);
	dkim_signer_free(&s);
	assert_non_null(strstr(out, "s=r1;"));
	assert_non_null(strstr(out, "s=r2;"));
	free(out);
	assert_int_equal(dkim_key_delete(data_dir, "ring.test", "r1"), 0);
	assert_int_equal(dkim_keyring_signer(kr, "ring.test", 1, &s), 0);
	assert_int_equal(dkim_signer_feed(s, (const uint8_t *)msg, strlen(msg)), 0);
	assert_int_equal(dkim_signer_finish(s, &out, &len), 0);
	dkim_signer_free(&s);
	assert_null(strstr(out, "s=r1;"));
	free(out);
	/* no From: nothing to sign (RFC 6376 5.4) */
	assert_int_equal(dkim_keyring_signer(kr, "ring.test", 1, &s), 0);
	assert_int_equal(dkim_signer_feed(s, (const uint8_t *)"To: x\r\n\r\n", 9), 0);
	assert_int_equal(dkim_signer_finish(s, &out, &len), ERR_INVAL);
	dkim_signer_free(&s);
	dkim_keyring_free(&kr);
	assert_null(kr);
}

/* The first LIMIT_DKIM_SIGS signatures are verified, later ones not looked at: the RFC
 * 8463 ed25519 signature field repeated LIMIT_DKIM_SIGS - 1, LIMIT_DKIM_SIGS and one more
 * times. */
static void test_signature_limit(void **state)
{
	(void)state;
	struct keytab kt = {
	    .name = {"brisbane._domainkey.football.example.com",
	             "test._domainkey.football.example.com"},
	    .rec = {rfc8463_ed, rfc8463_rsa},
	};
	const char *second = strstr(rfc8463_msg, "DKIM-Signature: v=1; a=rsa");
	assert_non_null(second);
	size_t flen = (size_t)(second - rfc8463_msg), rest = strlen(second);
	for (int n = LIMIT_DKIM_SIGS - 1; n <= LIMIT_DKIM_SIGS + 1; n++) {
		char *m = malloc(flen * (size_t)n + rest + 1);
		assert_non_null(m);
		for (int k = 0; k < n; k++)
			memcpy(m + flen * (size_t)k, rfc8463_msg, flen);
		memcpy(m + flen * (size_t)n, second, rest + 1);
		struct dkim_verify_result res[LIMIT_DKIM_SIGS];
		size_t got = verify(m, strlen(m), 0, time(NULL), &kt, res);
		assert_int_equal(got, n + 1 <= LIMIT_DKIM_SIGS ? (size_t)n + 1 : LIMIT_DKIM_SIGS);
		for (size_t k = 0; k < got; k++)
			assert_int_equal(res[k].result, DKIM_RESULT_PASS);
		free(m);
	}
}

struct ring_worker {
	struct dkim_keyring *kr;
	int signed_ok;
};

/* Sign again and again while the main thread makes and deletes keys. */
static void *ring_work(void *arg)
{
	struct ring_worker *w = arg;
	const char *msg = "From: a@busy.test\r\nSubject: s\r\n\r\nbody\r\n";
	for (int i = 0; i < 300; i++) {
		struct dkim_signer *s = NULL;
		if (dkim_keyring_signer(w->kr, "busy.test", 1, &s) != 0)
			continue;
		char *out = NULL;
		size_t len = 0;
		if (dkim_signer_feed(s, (const uint8_t *)msg, strlen(msg)) == 0 &&
		    dkim_signer_finish(s, &out, &len) == 0 && strstr(out, "s=b0;"))
			w->signed_ok++;
		free(out);
		dkim_signer_free(&s);
	}
	return NULL;
}

/* A keyring used from several threads while keys come and go (dkim.h: any thread);
 * under ASan a key freed under a signer would show. */
static void test_keyring_threads(void **state)
{
	(void)state;
	struct dkim_keyring *kr = NULL;
	assert_int_equal(dkim_keyring_new(data_dir, &kr), 0);
	assert_int_equal(dkim_key_generate(data_dir, "busy.test", "b0", DKIM_ALG_ED25519_SHA256),
	                 0);
	struct ring_worker w[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct ring_worker){.kr = kr};
		assert_int_equal(pthread_create(&th[i], NULL, ring_work, &w[i]), 0);
	}
	for (int i = 0; i < 20; i++) {
		assert_int_equal(
		    dkim_key_generate(data_dir, "busy.test", "b1", DKIM_ALG_ED25519_SHA256), 0);
		assert_int_equal(dkim_key_delete(data_dir, "busy.test", "b1"), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].signed_ok, 300); /* b0 was there all along */
	}
	dkim_keyring_free(&kr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc8463_vector),     cmocka_unit_test(test_sign_and_verify),
	    cmocka_unit_test(test_expired_and_syntax), cmocka_unit_test(test_keystore),
	    cmocka_unit_test(test_keyring_reload),     cmocka_unit_test(test_signature_limit),
	    cmocka_unit_test(test_keyring_threads),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
