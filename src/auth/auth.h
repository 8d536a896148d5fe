/* auth.h: password hashes (libxcrypt) and SASL mechanism decoding (RFC 4422).
 * Pure functions: no account lookup here; sessions fetch the hash from the store and
 * verify it on the worker pool (hashing is deliberately slow).
 * Every buffer that held a password or a SASL payload is wiped with OPENSSL_cleanse. */
#ifndef KASTEN_AUTH_H
#define KASTEN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

/* New hash for password: yescrypt ($y$) at libxcrypt's default cost, salt from the OS.
 * out must hold 128 bytes. Returns 0, ERR_NOMEM, ERR_INVAL (NULL password) or ERR_TEMP
 * (libxcrypt failed, e.g. no entropy). Slow on purpose: call it on the worker pool. */
int auth_hash_password(const char *password, char out[static 128]);
/* Constant-time check against $y$, $gy$, $7$, $6$, $5$, $2b$/$2y$ hashes.
 * Also $2a$ (the bcrypt prefix most imports carry). Any other or malformed hash
 * ("", "*", "!", "!$6$...", DES, $1$ md5crypt, garbage) never verifies.
 * password and hash are NUL-terminated; NULL never verifies. */
bool auth_verify_password(const char *password, const char *hash);
/* True when hash should be replaced by a fresh auth_hash_password() after the next
 * successful login: not yescrypt, or libxcrypt calls its method legacy or its
 * parameters too cheap. Meant for a hash that has just verified; it does not re-check
 * a yescrypt hash's structure (a malformed one never verifies anyway). */
bool auth_hash_needs_rehash(const char *hash);

/* ---- remembered password checks (auth_cache.c) ----
 * auth_login remembers a successful check of password against an account's stored
 * hash for LIMIT_AUTH_CACHE_TTL seconds, as an HMAC under a per-process random key
 * (nothing recoverable is kept). A changed password changes the stored hash, so an
 * old check no longer matches. Thread-safe (one mutex); a put or a hit costs one
 * HMAC-SHA256. Without auth_cache_init (or after it failed) nothing is remembered. */
#define AUTH_HASH_MAX 127 /* the longest stored hash a login checks (auth_hash_password: 128) */
int auth_cache_init(void); /* 0 or ERR_TEMP (no random bytes) */
bool auth_cache_hit(int64_t account, const char *hash, const char *password);
void auth_cache_put(int64_t account, const char *hash, const char *password);

/* RFC 4648 base64. decode rejects bad characters and bad padding; whitespace too.
 * Strict RFC 4648 section 4 alphabet (no URL-safe variant), length a multiple of 4,
 * '=' only as one or two final pad characters, pad bits zero (canonical, 3.5), so
 * encode(decode(x)) == x for every accepted x. Empty input decodes to "".
 * *out is an arena copy with a NUL appended (len_out excludes it; the data may hold
 * NULs). Returns 0, ERR_BAD_SYNTAX, or ERR_NOMEM. Input is at most INT_MAX bytes. */
int auth_b64_decode(const char *in, size_t len, struct arena *a, char **out, size_t *len_out);
/* *out: NUL-terminated base64 of [in, in+len) without line breaks. 0 or ERR_NOMEM
 * (ERR_INVAL past INT_MAX/2 input bytes). */
int auth_b64_encode(const void *in, size_t len, struct arena *a, char **out);

/* SASL PLAIN (RFC 4616): base64 of authzid NUL authcid NUL passwd.
 * Strings come from the arena; authzid is "" when absent. Each part must be
 * non-empty (but authzid), at most 255 bytes, without NUL. ERR_BAD_SYNTAX otherwise.
 * The three strings live in one decoded arena buffer; it is wiped on failure, and on
 * success the caller wipes *passwd_out (auth_wipe) once it has been verified.
 * Returns 0, ERR_BAD_SYNTAX or ERR_NOMEM; the out pointers are set only on success. */
int auth_sasl_plain(const char *b64, size_t len, struct arena *a, char **authzid_out,
                    char **authcid_out, char **passwd_out);
/* Limits of RFC 4616 section 2 (each of authzid, authcid, passwd). */
#define AUTH_SASL_PART_MAX 255

/* AUTH LOGIN (draft-murchison-sasl-login): each client line is the base64 of the
 * username or the password. Decodes one line into a NUL-terminated arena string that
 * is non-empty, at most AUTH_SASL_PART_MAX bytes and NUL-free; ERR_BAD_SYNTAX otherwise.
 * The decoded copy is wiped on failure; on success the caller wipes it (auth_wipe). */
int auth_sasl_login_decode(const char *b64, size_t len, struct arena *a, char **out);

/* Wipe a NUL-terminated secret in place (NULL is ignored). */
void auth_wipe(char *s);

/* ---- the SASL exchange (RFC 4422 3) every protocol runs: one state machine ----
 * The protocol frames it (SMTP "334 ...", POP3 and IMAP "+ ...") and answers failures
 * in its own words; this decides what comes next. Mechanisms: PLAIN (RFC 4616; the
 * authorization identity must be empty or the user itself: no proxy logins) and LOGIN
 * (draft-murchison-sasl-login: user name, then password, one base64 line each). */
#define AUTH_EXCHANGE_MECHS "PLAIN LOGIN" /* as listed in EHLO, CAPA, CAPABILITY */

enum auth_exchange_next {
	AUTH_EXCHANGE_CHALLENGE, /* send step.challenge (base64, may be "") and read a line */
	AUTH_EXCHANGE_CHECK,     /* over: check step.user and step.pass (auth_login) */
	AUTH_EXCHANGE_FAIL,      /* over: step.fail says why */
};

enum auth_exchange_fail {
	AUTH_EXCHANGE_UNKNOWN_MECH, /* a mechanism we do not offer */
	AUTH_EXCHANGE_MALFORMED,    /* bad base64 or a response of the wrong shape */
	AUTH_EXCHANGE_CANCELLED,    /* the client sent "*" (RFC 4422 3.5) */
	AUTH_EXCHANGE_AUTHZID,      /* PLAIN with another user's authorization identity */
};

struct auth_exchange_step {
	enum auth_exchange_next next;
	const char *challenge;     /* CHALLENGE */
	char *user, *pass;         /* CHECK: NUL-terminated, in the caller's arena; the
				    * caller wipes pass (auth_wipe) once it is handed over */
	enum auth_exchange_fail fail;
};

/* One exchange in progress. Zero it before the first start; the user name LOGIN holds
 * between its two lines is a malloc'ed copy, wiped and freed by auth_exchange_end(). */
struct auth_exchange {
	const char *mech; /* "PLAIN", "LOGIN"; NULL: none in progress */
	char *user;
};

/* Begin mech (case-insensitive) with an initial response (NULL: none; "=" is an empty
 * one: RFC 4954 4, RFC 5034 4, RFC 9051 6.2.2). Decoded data comes from arena a.
 * Returns 0 with *step filled, or ERR_NOMEM (the exchange is then over). */
int auth_exchange_start(struct auth_exchange *x, const char *mech, const char *initial,
			size_t initial_len, struct arena *a, struct auth_exchange_step *step);
/* The client's next line (CRLF removed). Same returns. */
int auth_exchange_next(struct auth_exchange *x, const char *line, size_t len,
		       struct arena *a, struct auth_exchange_step *step);
/* Forget the exchange (any state), wiping what it held. */
void auth_exchange_end(struct auth_exchange *x);

#endif
