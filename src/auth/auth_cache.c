/* auth_cache.c: remembered password checks (see auth.h).
 *
 * A mail client logs in again for every poll: a phone's POP3 check every few minutes,
 * a sync run, a webmail's Basic request. Each login would cost a yescrypt hash (tens
 * of milliseconds of CPU, slow on purpose), the largest part of a short session on
 * both sides. So a check that succeeded is remembered for LIMIT_AUTH_CACHE_TTL seconds,
 * as Dovecot's auth cache does, and the same password against the same stored hash is
 * then accepted after one HMAC.
 *
 * What a slot keeps is HMAC-SHA256 under a key drawn at startup and never written
 * anywhere, over the stored hash and the password: neither can be recovered from it,
 * and the key dies with the process. The stored hash is part of what is authenticated,
 * so a password changed anywhere (the CLI, another node sharing the directory) changes
 * the hash the login reads, and the remembered check no longer matches: nothing needs
 * to invalidate anything. Only successes are remembered; a wrong password always pays
 * the full hash, and the failure delay comes before any of this (auth_login.c).
 *
 * The table is direct-mapped on the account id: a second account landing on a slot
 * takes it over, which costs that one account a full hash at its next login. */
#include "auth/auth.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/banned.h"

struct slot {
	int64_t account; /* 0: empty */
	int64_t expires; /* CLOCK_MONOTONIC seconds */
	uint8_t tag[32];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[LIMIT_AUTH_CACHE_SLOTS];
static uint8_t key[32];
static bool ready;

static int64_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

int auth_cache_init(void)
{
	pthread_mutex_lock(&lock);
	int rc = RAND_bytes(key, sizeof(key)) == 1 ? 0 : ERR_TEMP;
	memset(slots, 0, sizeof(slots));
	ready = rc == 0;
	pthread_mutex_unlock(&lock);
	return rc;
}

/* The tag of (hash, password): the NUL between them keeps ("ab","c") apart from
 * ("a","bc"); a hash never holds a NUL. Longer inputs than a login takes are never
 * remembered. */
static bool tag_of(const char *hash, const char *password, uint8_t out[32])
{
	uint8_t msg[AUTH_HASH_MAX + 1 + 1024];
	size_t hl = strlen(hash), pl = strlen(password);
	if (hl > AUTH_HASH_MAX || pl > sizeof(msg) - hl - 1)
		return false;
	memcpy(msg, hash, hl + 1);
	memcpy(msg + hl + 1, password, pl);
	unsigned len = 0;
	bool ok = HMAC(EVP_sha256(), key, sizeof(key), msg, hl + 1 + pl, out, &len) && len == 32;
	OPENSSL_cleanse(msg, hl + 1 + pl);
	return ok;
}

static struct slot *slot_of(int64_t account)
{
	uint64_t x = (uint64_t)account * UINT64_C(0x9e3779b97f4a7c15); /* spread ids */
	return &slots[(x >> 32) % LIMIT_AUTH_CACHE_SLOTS];
}

bool auth_cache_hit(int64_t account, const char *hash, const char *password)
{
	uint8_t tag[32];
	if (account <= 0 || !hash || !password || !ready || !tag_of(hash, password, tag))
		return false;
	pthread_mutex_lock(&lock);
	struct slot *s = slot_of(account);
	bool hit = s->account == account && s->expires > now_s() &&
		   CRYPTO_memcmp(s->tag, tag, sizeof(tag)) == 0;
	pthread_mutex_unlock(&lock);
	OPENSSL_cleanse(tag, sizeof(tag));
	return hit;
}

void auth_cache_put(int64_t account, const char *hash, const char *password)
{
	uint8_t tag[32];
	if (account <= 0 || !hash || !password || !ready || !tag_of(hash, password, tag))
		return;
	pthread_mutex_lock(&lock);
	struct slot *s = slot_of(account);
	s->account = account;
	s->expires = now_s() + LIMIT_AUTH_CACHE_TTL;
	memcpy(s->tag, tag, sizeof(tag));
	pthread_mutex_unlock(&lock);
	OPENSSL_cleanse(tag, sizeof(tag));
}
