/* test_auth.c: password hashing (libxcrypt) and the SASL decoders.
 * Known-answer hashes were made once with Debian's mkpasswd (whois) and htpasswd
 * (apache2-utils) and cross-checked with Python's crypt module; they stand for hashes
 * imported from other servers. Base64 vectors are RFC 4648 section 10; PLAIN cases
 * follow RFC 4616 sections 2 and 4, each limit at -1, 0 and +1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/err.h"

#define PW "correct horse battery staple"

/* One hash per accepted family, all of PW. */
static const char *const known_hashes[] = {
    /* mkpasswd -m yescrypt */
    "$y$j9T$1lF7hv3kLgh64T/yVHsOg1$RwjXOgz.QCVPbhnwJfPazbnX8yJrUC6e6FoODtvcZkD",
    /* mkpasswd -m gost-yescrypt */
    "$gy$j9T$M8AYBoFePTMvUz6pHxR6f/$U.TRddODwT1IjvJ8envWxKS1TvUCZzL4P8.ZC4iPNU9",
    /* mkpasswd -m scrypt */
    "$7$CU..../....3iSlAAM7pE5faDQ.D.Z8U0$xupbreLW4QSIDrteYu4FmOk/6sjC/ReZw1CyXHcQ24D",
    /* mkpasswd -m sha512crypt (default 5000 rounds) */
    "$6$m7BsTR6RY66ybeSy$EHUUAsGgP7j21vCF42DNshw1O4mgCsxNdNTcnji9Cu0rDqoLg2U9JZIIJwSf5MqY"
    "CGTHTdEATsS7keqUx7rHt.",
    /* mkpasswd -m sha512crypt -R 10000 */
    "$6$rounds=10000$RgeCtfeCTEvz548q$F9pjZknWPxWxqqluRmQ8Qp0CEF8cIoUm.xzGc2Jg31g3fBHGkNJfC"
    "nJuzrSkmYmBBE2VA4yLmTNamMD3vpbs//",
    /* mkpasswd -m sha256crypt */
    "$5$gAM/2HK/L1xkg//9$nuJkJk/Y5oC764JAftyI/vdgq1wrMuwO4Imv5FgDlMD",
    /* mkpasswd -m bcrypt -R 5 */
    "$2b$05$VyyFEcHbCzrD5kMdWCYk2uPEKss1uePwnGMJ7YtWYx1Uh.yeZBC5W",
    /* htpasswd -nbB -C 5 */
    "$2y$05$m9cxFS8NOGK8EfibFPrYheEU4i8knI96HBBRbcRd/Ov76wlFyim2m",
    /* mkpasswd -m bcrypt-a -R 5 */
    "$2a$05$NINtO72q6wUJ5Ma9d4j2ZeWBdZ5ia.vvxWlqt.VcafkKmFtshgmOG",
};

static void hash_round_trip(void **state)
{
	char h1[128], h2[128];
	assert_int_equal(auth_hash_password("s3cret pass", h1), 0);
	assert_int_equal(strncmp(h1, "$y$", 3), 0);
	assert_true(auth_verify_password("s3cret pass", h1));
	assert_false(auth_verify_password("s3cret pasS", h1));
	assert_false(auth_verify_password("s3cret pas", h1));
	assert_false(auth_verify_password("", h1));
	assert_false(auth_hash_needs_rehash(h1));
	/* A fresh salt every time. */
	assert_int_equal(auth_hash_password("s3cret pass", h2), 0);
	assert_string_not_equal(h1, h2);
	assert_true(auth_verify_password("s3cret pass", h2));
	/* The empty password hashes and verifies like any other. */
	assert_int_equal(auth_hash_password("", h2), 0);
	assert_true(auth_verify_password("", h2));
	assert_false(auth_verify_password(" ", h2));
	assert_int_equal(auth_hash_password(NULL, h2), ERR_INVAL);
}

static void hash_known_answers(void **state)
{
	for (size_t i = 0; i < sizeof(known_hashes) / sizeof(known_hashes[0]); i++) {
		const char *h = known_hashes[i];
		assert_true(auth_verify_password(PW, h));
		assert_false(auth_verify_password(PW " ", h));
		assert_false(auth_verify_password("Correct horse battery staple", h));
		assert_false(auth_verify_password("", h));
		assert_false(auth_verify_password(NULL, h));
		/* Cut the hash short by one character: the computed hash has the full
		 * length, so the lengths differ and it must not verify. */
		char cut[200];
		size_t n = strlen(h);
		assert_true(n < sizeof(cut));
		memcpy(cut, h, n - 1);
		cut[n - 1] = '\0';
		assert_false(auth_verify_password(PW, cut));
		/* Flip the last character of the checksum. */
		memcpy(cut, h, n + 1);
		cut[n - 1] = cut[n - 1] == 'a' ? 'b' : 'a';
		assert_false(auth_verify_password(PW, cut));
		/* Locked accounts ("!" in front, as usermod -L does) never verify. */
		cut[0] = '!';
		memcpy(cut + 1, h, n + 1);
		assert_false(auth_verify_password(PW, cut));
	}
	/* Non-ASCII password (UTF-8), mkpasswd -m yescrypt. */
	assert_true(
	    auth_verify_password("p\xc3\xa4ssw\xc3\xb6rd \xe2\x82\xac",
	                         "$y$j9T$abIz3n4kWSGmI80caaDAA/$DxkOT4OsXqzXbW5QOLf67HMSTNvs"
	                         "ZC5sZEyDevifkYC"));
	assert_false(auth_verify_password(
	    "passwoerd", "$y$j9T$abIz3n4kWSGmI80caaDAA/$DxkOT4OsXqzXbW5QOLf67HMSTNvs"
	                 "ZC5sZEyDevifkYC"));
	/* Everything but fresh yescrypt wants an upgrade after the next login. */
	assert_false(auth_hash_needs_rehash(known_hashes[0]));
	for (size_t i = 1; i < sizeof(known_hashes) / sizeof(known_hashes[0]); i++)
		assert_true(auth_hash_needs_rehash(known_hashes[i]));
}

static void hash_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "*",
	    "!",
	    "!!",
	    "*LK*",
	    "x",
	    "$",
	    "$6$",
	    "$6$salt",
	    "$6$salt$",
	    "$y$",
	    "$y$j9T$",
	    "$2b$05$",
	    "$2b$99$VyyFEcHbCzrD5kMdWCYk2uPEKss1uePwnGMJ7YtWYx1Uh.yeZBC5W",
	    "$2x$05$VyyFEcHbCzrD5kMdWCYk2uPEKss1uePwnGMJ7YtWYx1Uh.yeZBC5W",
	    "$1$wQ8vPszC$j/SyPLTUWLBV9ftYgGTJZ1", /* md5crypt: refused on purpose */
	    "pyWPkI/z/bx26",                      /* DES crypt of "x": refused */
	    "$5$gAM/2HK/L1xkg//9$nuJkJk/Y5oC764JAftyI/vdgq1wrMuwO4Imv5FgDlMD\n",
	    " $5$gAM/2HK/L1xkg//9$nuJkJk/Y5oC764JAftyI/vdgq1wrMuwO4Imv5FgDlMD",
	    "user:$5$gAM/2HK/L1xkg//9$nuJkJk/Y5oC764JAftyI/vdgq1wrMuwO4Imv5FgDlMD",
	    "{SHA512-CRYPT}$6$m7BsTR6RY66ybeSy$EHUUAsGgP7j21vCF42DNshw1O4mgCsxNdNTcnji9Cu0rDq",
	    "$y$j9T$1lF7hv3kLgh64T/yVHsOg1$RwjXOgz.QCVPbhnwJfPazbnX8yJrUC6e6FoODtvcZkD$",
	    "garbage$6$",
	    "\xff\xfe$6$",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(auth_verify_password(PW, bad[i]));
		assert_false(auth_verify_password("", bad[i]));
		assert_false(auth_verify_password("x", bad[i]));
		if (strncmp(bad[i], "$y$", 3) != 0)
			assert_true(auth_hash_needs_rehash(bad[i]));
	}
	assert_false(auth_verify_password(PW, NULL));
	assert_true(auth_hash_needs_rehash(NULL));
	/* Longer than any crypt output. */
	char big[500];
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "$6$", 3);
	big[sizeof(big) - 1] = '\0';
	assert_false(auth_verify_password(PW, big));
}

/* RFC 4648 section 10 test vectors. */
static const char *const b64_vec[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void b64_vectors(void **state)
{
	struct arena a;
	arena_init(&a, 1 << 20);
	for (size_t i = 0; i < sizeof(b64_vec) / sizeof(b64_vec[0]); i++) {
		char *s;
		size_t n;
		assert_int_equal(auth_b64_encode(b64_vec[i][0], strlen(b64_vec[i][0]), &a, &s), 0);
		assert_string_equal(s, b64_vec[i][1]);
		assert_int_equal(auth_b64_decode(b64_vec[i][1], strlen(b64_vec[i][1]), &a, &s, &n),
		                 0);
		assert_int_equal(n, strlen(b64_vec[i][0]));
		assert_memory_equal(s, b64_vec[i][0], n);
		assert_int_equal(s[n], '\0');
	}
	arena_free(&a);
}

static void b64_binary(void **state)
{
	struct arena a;
	arena_init(&a, 1 << 20);
	unsigned char all[300];
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof(all); len++) {
		char *e, *d;
		size_t n;
		assert_int_equal(auth_b64_encode(all, len, &a, &e), 0);
		assert_int_equal(strlen(e), (len + 2) / 3 * 4);
		assert_int_equal(auth_b64_decode(e, strlen(e), &a, &d, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(d, all, len);
		arena_reset(&a);
	}
	/* NUL bytes survive and the NUL terminator is extra. */
	char *d;
	size_t n;
	assert_int_equal(auth_b64_decode("AAAA", 4, &a, &d, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(d, "\0\0\0", 4);
	arena_free(&a);
}

static void b64_invalid(void **state)
{
	static const char *const bad[] = {
	    "Zg=", /* length not a multiple of 4 */
	    "Zg",  /* padding missing (RFC 4648 3.2) */
	    "Z",
	    "Zm9vY",
	    "Zh==", /* pad bits not zero (3.5) */
	    "Zm9=", /* pad bits not zero */
	    "Zm9vYh==",
	    "Z===",
	    "====",
	    "A===",
	    "=Zm9",
	    "Zm=v",
	    "Zm9v====",
	    "Zm9v=",
	    "Zm 9v",
	    "Zm9v\n",
	    " Zm9v",
	    "Zm9v ",
	    "Zm9v\r\n",
	    "Zm\t9",
	    "Zm-_", /* URL-safe alphabet (section 5) is not base64 */
	    "Zm9v\x80\x80\x80\x80",
	    "Zm.v",
	    "Zm9vYmFy=",
	};
	struct arena a;
	arena_init(&a, 1 << 20);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *s = NULL;
		size_t n = 99;
		assert_int_equal(auth_b64_decode(bad[i], strlen(bad[i]), &a, &s, &n),
		                 ERR_BAD_SYNTAX);
		assert_null(s);
		assert_int_equal(n, 99);
	}
	/* An embedded NUL is a bad character, not the end of the input. */
	char *s;
	size_t n;
	assert_int_equal(auth_b64_decode("Zm9\0", 4, &a, &s, &n), ERR_BAD_SYNTAX);
	assert_int_equal(auth_b64_decode("Zm9vYmFy", 4, &a, &s, &n), 0); /* len bounds */
	assert_int_equal(n, 3);
	arena_free(&a);
	/* Arena exhaustion is ERR_NOMEM, not a syntax error. */
	arena_init(&a, 16);
	assert_int_equal(auth_b64_decode("Zm9vYmFyZm9vYmFyZm9vYmFy", 24, &a, &s, &n), ERR_NOMEM);
	assert_int_equal(auth_b64_encode("foobarfoobarfoobar", 18, &a, &s), ERR_NOMEM);
	arena_free(&a);
}

/* base64 of [p, p+n) into the arena (auth_b64_encode is checked above). */
static char *enc(struct arena *a, const void *p, size_t n)
{
	char *s;
	assert_int_equal(auth_b64_encode(p, n, a, &s), 0);
	return s;
}

static int plain(struct arena *a, const void *msg, size_t n, char **z, char **c, char **p)
{
	char *s = enc(a, msg, n);
	return auth_sasl_plain(s, strlen(s), a, z, c, p);
}

static void sasl_plain_valid(void **state)
{
	struct arena a;
	arena_init(&a, 1 << 20);
	char *z, *c, *p;
	/* RFC 4616 section 4 examples. */
	assert_int_equal(plain(&a, "\0tim\0tanstaaftanstaaf", 21, &z, &c, &p), 0);
	assert_string_equal(z, "");
	assert_string_equal(c, "tim");
	assert_string_equal(p, "tanstaaftanstaaf");
	assert_int_equal(plain(&a, "Ursel\0Kurt\0xipj3plmq", 20, &z, &c, &p), 0);
	assert_string_equal(z, "Ursel");
	assert_string_equal(c, "Kurt");
	assert_string_equal(p, "xipj3plmq");
	/* The example's own base64 from the RFC text. */
	const char *b = "AHRpbQB0YW5zdGFhZnRhbnN0YWFm";
	assert_int_equal(auth_sasl_plain(b, strlen(b), &a, &z, &c, &p), 0);
	assert_string_equal(c, "tim");
	assert_string_equal(p, "tanstaaftanstaaf");
	/* Passwords may hold spaces and UTF-8; no normalisation happens here. */
	assert_int_equal(plain(&a, "\0u@example.org\0 a b \xc3\xa4", 22, &z, &c, &p), 0);
	assert_string_equal(c, "u@example.org");
	assert_string_equal(p, " a b \xc3\xa4");
	auth_wipe(p);
	assert_int_equal(p[0], '\0');
	auth_wipe(NULL);
	arena_free(&a);
}

static void sasl_plain_invalid(void **state)
{
	struct arena a;
	arena_init(&a, 1 << 20);
	char *z = NULL, *c = NULL, *p = NULL;
	assert_int_equal(plain(&a, "", 0, &z, &c, &p), ERR_BAD_SYNTAX);
	assert_int_equal(plain(&a, "timpass", 7, &z, &c, &p), ERR_BAD_SYNTAX);   /* no NUL */
	assert_int_equal(plain(&a, "tim\0pass", 8, &z, &c, &p), ERR_BAD_SYNTAX); /* one NUL */
	assert_int_equal(plain(&a, "\0\0pass", 6, &z, &c, &p), ERR_BAD_SYNTAX);  /* no authcid */
	assert_int_equal(plain(&a, "\0tim\0", 5, &z, &c, &p), ERR_BAD_SYNTAX);   /* no passwd */
	assert_int_equal(plain(&a, "\0\0", 2, &z, &c, &p), ERR_BAD_SYNTAX);
	assert_int_equal(plain(&a, "\0tim\0pa\0ss", 10, &z, &c, &p), ERR_BAD_SYNTAX); /* 3 NULs */
	assert_int_equal(plain(&a, "\0tim\0pass\0", 10, &z, &c, &p), ERR_BAD_SYNTAX);
	assert_int_equal(plain(&a, "\0\0tim\0pass", 10, &z, &c, &p), ERR_BAD_SYNTAX);
	assert_null(z);
	assert_null(c);
	assert_null(p);
	/* Not base64 at all, or not strict base64. */
	assert_int_equal(auth_sasl_plain("AHRpbQB0YW5z!", 13, &a, &z, &c, &p), ERR_BAD_SYNTAX);
	assert_int_equal(auth_sasl_plain("AHRpbQB0YW5 zdGFh", 17, &a, &z, &c, &p), ERR_BAD_SYNTAX);
	assert_int_equal(auth_sasl_plain("=", 1, &a, &z, &c, &p), ERR_BAD_SYNTAX);
	assert_int_equal(auth_sasl_plain("*", 1, &a, &z, &c, &p), ERR_BAD_SYNTAX);
	arena_free(&a);
}

/* Build authzid NUL authcid NUL passwd with the given part lengths. */
static int plain_sized(struct arena *a, size_t zl, size_t cl, size_t pl)
{
	char msg[1024];
	size_t n = 0;
	memset(msg + n, 'z', zl);
	n += zl;
	msg[n++] = '\0';
	memset(msg + n, 'c', cl);
	n += cl;
	msg[n++] = '\0';
	memset(msg + n, 'p', pl);
	n += pl;
	char *z, *c, *p;
	int rc = plain(a, msg, n, &z, &c, &p);
	if (rc == 0) {
		assert_int_equal(strlen(z), zl);
		assert_int_equal(strlen(c), cl);
		assert_int_equal(strlen(p), pl);
	}
	return rc;
}

static void sasl_plain_limits(void **state)
{
	struct arena a;
	arena_init(&a, 1 << 20);
	/* Each part at 254, 255 and 256 octets (RFC 4616 section 2: 1*255 SAFE). */
	assert_int_equal(plain_sized(&a, 0, 254, 8), 0);
	assert_int_equal(plain_sized(&a, 0, 255, 8), 0);
	assert_int_equal(plain_sized(&a, 0, 256, 8), ERR_BAD_SYNTAX);
	assert_int_equal(plain_sized(&a, 0, 8, 254), 0);
	assert_int_equal(plain_sized(&a, 0, 8, 255), 0);
	assert_int_equal(plain_sized(&a, 0, 8, 256), ERR_BAD_SYNTAX);
	assert_int_equal(plain_sized(&a, 254, 8, 8), 0);
	assert_int_equal(plain_sized(&a, 255, 8, 8), 0);
	assert_int_equal(plain_sized(&a, 256, 8, 8), ERR_BAD_SYNTAX);
	/* All three at the maximum: the longest message there is. */
	assert_int_equal(plain_sized(&a, 255, 255, 255), 0);
	assert_int_equal(plain_sized(&a, 255, 255, 256), ERR_BAD_SYNTAX);
	/* Base64 longer than the longest valid message is refused before decoding. */
	char big[1100];
	memset(big, 'A', sizeof(big));
	char *z, *c, *p;
	assert_int_equal(auth_sasl_plain(big, 1028, &a, &z, &c, &p), ERR_BAD_SYNTAX);
	/* ERR_NOMEM when the arena is full. */
	struct arena tiny;
	arena_init(&tiny, 8);
	const char *b = "AHRpbQB0YW5zdGFhZnRhbnN0YWFm";
	assert_int_equal(auth_sasl_plain(b, strlen(b), &tiny, &z, &c, &p), ERR_NOMEM);
	arena_free(&tiny);
	arena_free(&a);
}

static void sasl_login(void **state)
{
	struct arena a;
	arena_init(&a, 1 << 20);
	char *s = NULL;
	assert_int_equal(auth_sasl_login_decode("dGlt", 4, &a, &s), 0);
	assert_string_equal(s, "tim");
	assert_int_equal(auth_sasl_login_decode("", 0, &a, &s), ERR_BAD_SYNTAX);
	assert_int_equal(auth_sasl_login_decode("dGlt\r", 5, &a, &s), ERR_BAD_SYNTAX);
	assert_int_equal(auth_sasl_login_decode("dG\0t", 4, &a, &s), ERR_BAD_SYNTAX);
	char raw[300], *e;
	memset(raw, 'x', sizeof(raw));
	raw[3] = '\0';
	e = enc(&a, raw, 8);
	assert_int_equal(auth_sasl_login_decode(e, strlen(e), &a, &s), ERR_BAD_SYNTAX);
	memset(raw, 'x', sizeof(raw));
	e = enc(&a, raw, 254);
	assert_int_equal(auth_sasl_login_decode(e, strlen(e), &a, &s), 0);
	assert_int_equal(strlen(s), 254);
	e = enc(&a, raw, 255);
	assert_int_equal(auth_sasl_login_decode(e, strlen(e), &a, &s), 0);
	assert_int_equal(strlen(s), 255);
	e = enc(&a, raw, 256);
	assert_int_equal(auth_sasl_login_decode(e, strlen(e), &a, &s), ERR_BAD_SYNTAX);
	arena_free(&a);
}

/* ---- the SASL exchange (RFC 4422 3) ---- */

static void assert_check_step(struct auth_exchange_step *st, const char *user, const char *pass)
{
	assert_int_equal(st->next, AUTH_EXCHANGE_CHECK);
	assert_string_equal(st->user, user);
	assert_string_equal(st->pass, pass);
}

static void exchange_plain(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 16);
	struct auth_exchange x = {0};
	struct auth_exchange_step st;
	/* RFC 4616 4: "\0tim\0tanstaaftanstaaf" with an initial response (SASL-IR) */
	assert_int_equal(auth_exchange_start(&x, "plain", "AHRpbQB0YW5zdGFhZnRhbnN0YWFm", 28, &a,
					     &st), 0);
	assert_check_step(&st, "tim", "tanstaaftanstaaf");
	assert_null(x.mech);
	/* without one: an empty challenge, then the response */
	assert_int_equal(auth_exchange_start(&x, "PLAIN", NULL, 0, &a, &st), 0);
	assert_int_equal(st.next, AUTH_EXCHANGE_CHALLENGE);
	assert_string_equal(st.challenge, "");
	assert_int_equal(auth_exchange_next(&x, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm", 28, &a, &st), 0);
	assert_check_step(&st, "tim", "tanstaaftanstaaf");
	/* "=" is an empty initial response: a malformed PLAIN message */
	assert_int_equal(auth_exchange_start(&x, "PLAIN", "=", 1, &a, &st), 0);
	assert_int_equal(st.next, AUTH_EXCHANGE_FAIL);
	assert_int_equal(st.fail, AUTH_EXCHANGE_MALFORMED);
	/* authzid of the same user is fine; another user's is not (no proxy logins) */
	assert_int_equal(auth_exchange_start(&x, "PLAIN", "dGltAHRpbQBwdw==", 16, &a, &st), 0);
	assert_check_step(&st, "tim", "pw");
	assert_int_equal(auth_exchange_start(&x, "PLAIN", "Ym9zcwB0aW0AcHc=", 16, &a, &st), 0);
	assert_int_equal(st.next, AUTH_EXCHANGE_FAIL);
	assert_int_equal(st.fail, AUTH_EXCHANGE_AUTHZID);
	/* the client cancels (RFC 4422 3.5) */
	assert_int_equal(auth_exchange_start(&x, "PLAIN", NULL, 0, &a, &st), 0);
	assert_int_equal(auth_exchange_next(&x, "*", 1, &a, &st), 0);
	assert_int_equal(st.next, AUTH_EXCHANGE_FAIL);
	assert_int_equal(st.fail, AUTH_EXCHANGE_CANCELLED);
	assert_null(x.mech);
	/* a line after the exchange is over */
	assert_int_equal(auth_exchange_next(&x, "AA==", 4, &a, &st), 0);
	assert_int_equal(st.fail, AUTH_EXCHANGE_MALFORMED);
	arena_free(&a);
}

static void exchange_login(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 16);
	struct auth_exchange x = {0};
	struct auth_exchange_step st;
	assert_int_equal(auth_exchange_start(&x, "LOGIN", NULL, 0, &a, &st), 0);
	assert_int_equal(st.next, AUTH_EXCHANGE_CHALLENGE);
	assert_string_equal(st.challenge, "VXNlcm5hbWU6"); /* "Username:" */
	assert_int_equal(auth_exchange_next(&x, "dGlt", 4, &a, &st), 0);
	assert_int_equal(st.next, AUTH_EXCHANGE_CHALLENGE);
	assert_string_equal(st.challenge, "UGFzc3dvcmQ6"); /* "Password:" */
	assert_string_equal(x.user, "tim");
	arena_reset(&a); /* the user name lives on in the exchange, not in the arena */
	assert_int_equal(auth_exchange_next(&x, "c2VjcmV0", 8, &a, &st), 0);
	assert_check_step(&st, "tim", "secret");
	assert_null(x.user);
	/* the user name as an initial response; "=" is none */
	assert_int_equal(auth_exchange_start(&x, "login", "dGlt", 4, &a, &st), 0);
	assert_string_equal(st.challenge, "UGFzc3dvcmQ6");
	assert_int_equal(auth_exchange_start(&x, "LOGIN", "=", 1, &a, &st), 0);
	assert_string_equal(st.challenge, "VXNlcm5hbWU6");
	/* bad base64 or an empty line ends it */
	assert_int_equal(auth_exchange_next(&x, "d", 1, &a, &st), 0);
	assert_int_equal(st.fail, AUTH_EXCHANGE_MALFORMED);
	assert_int_equal(auth_exchange_start(&x, "LOGIN", NULL, 0, &a, &st), 0);
	assert_int_equal(auth_exchange_next(&x, "", 0, &a, &st), 0);
	assert_int_equal(st.fail, AUTH_EXCHANGE_MALFORMED);
	/* an exchange given up half-way holds nothing */
	assert_int_equal(auth_exchange_start(&x, "LOGIN", "dGlt", 4, &a, &st), 0);
	assert_non_null(x.user);
	auth_exchange_end(&x);
	assert_null(x.user);
	assert_null(x.mech);
	arena_free(&a);
}

static void exchange_unknown_mech(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 16);
	struct auth_exchange x = {0};
	struct auth_exchange_step st;
	const char *mechs[] = {"CRAM-MD5", "SCRAM-SHA-256", "XOAUTH2", "", "PLAINX", "LOGI"};
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		assert_int_equal(auth_exchange_start(&x, mechs[i], NULL, 0, &a, &st), 0);
		assert_int_equal(st.next, AUTH_EXCHANGE_FAIL);
		assert_int_equal(st.fail, AUTH_EXCHANGE_UNKNOWN_MECH);
		assert_null(x.mech);
	}
	arena_free(&a);
}

/* The auth cache remembers a verified (account, stored hash, password) and nothing
 * near it: another password, a changed stored hash (a password change), another
 * account or a lapsed init never match. */
static void cache_remembers_exactly(void **state)
{
	(void)state;
	const char *h1 = known_hashes[0], *h2 = known_hashes[1];
	assert_false(auth_cache_hit(7, h1, PW)); /* before init: nothing */
	auth_cache_put(7, h1, PW);
	assert_false(auth_cache_hit(7, h1, PW));
	assert_int_equal(auth_cache_init(), 0);
	assert_false(auth_cache_hit(7, h1, PW));
	auth_cache_put(7, h1, PW);
	assert_true(auth_cache_hit(7, h1, PW));
	assert_false(auth_cache_hit(7, h1, PW "x"));
	assert_false(auth_cache_hit(7, h1, "correct horse battery stapl"));
	assert_false(auth_cache_hit(7, h2, PW)); /* the password was changed */
	assert_false(auth_cache_hit(8, h1, PW));
	assert_false(auth_cache_hit(0, h1, PW));
	assert_false(auth_cache_hit(7, NULL, PW));
	/* the boundary between hash and password is part of what is authenticated */
	auth_cache_put(9, "$y$ab", "c");
	assert_false(auth_cache_hit(9, "$y$a", "bc"));
	assert_true(auth_cache_hit(9, "$y$ab", "c"));
	/* a new key (a restart) forgets every check */
	assert_int_equal(auth_cache_init(), 0);
	assert_false(auth_cache_hit(7, h1, PW));
	/* the hash of a changed password replaces the old check of that account */
	auth_cache_put(7, h1, PW);
	auth_cache_put(7, h2, "new password");
	assert_false(auth_cache_hit(7, h1, PW));
	assert_true(auth_cache_hit(7, h2, "new password"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hash_round_trip),   cmocka_unit_test(hash_known_answers),
	    cmocka_unit_test(hash_malformed),    cmocka_unit_test(b64_vectors),
	    cmocka_unit_test(b64_binary),        cmocka_unit_test(b64_invalid),
	    cmocka_unit_test(sasl_plain_valid),  cmocka_unit_test(sasl_plain_invalid),
	    cmocka_unit_test(sasl_plain_limits), cmocka_unit_test(sasl_login),
	    cmocka_unit_test(exchange_plain),    cmocka_unit_test(exchange_login),
	    cmocka_unit_test(exchange_unknown_mech), cmocka_unit_test(cache_remembers_exactly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
