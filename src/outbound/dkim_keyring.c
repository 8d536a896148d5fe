/* dkim_keyring.c: the keys a running server signs with, per domain, loaded on first use
 * and again when the domain's key directory changed. `kasten dkim keygen` and `delete`
 * add or remove a name there, which moves the directory's mtime: one stat() per
 * signature notices it, no signal or restart needed. The mtime comes from a coarse
 * clock, so a directory changed in the last LIMIT_DKIM_DIR_QUIET seconds is read again
 * at every signature until it has been quiet that long. A mutex guards the cache; signers
 * hold their own key references, so a reload never pulls a key from under one.
 * Bound: LIMIT_DKIM_DOMAINS cached domains (past it the cache starts over). */
#include "outbound/dkim.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "core/banned.h"

struct keyring_domain {
	char domain[LIMIT_ADDR_DOMAIN + 1];
	struct timespec mtime; /* of <data>/dkim/<domain>, when loaded; 0: no directory */
	ino_t ino;
	bool settled; /* mtime was LIMIT_DKIM_DIR_QUIET old when loaded */
	struct dkim_key *keys;
	size_t n;
	int error; /* the load's error, kept until the directory changes */
};

struct dkim_keyring {
	char *data_dir;
	pthread_mutex_t lock;
	struct keyring_domain *dom;
	size_t n, cap;
};

int dkim_keyring_new(const char *data_dir, struct dkim_keyring **out)
{
	struct dkim_keyring *kr = calloc(1, sizeof(*kr));
	*out = NULL;
	if (!kr || !(kr->data_dir = strdup(data_dir))) {
		free(kr);
		return ERR_NOMEM;
	}
	if (pthread_mutex_init(&kr->lock, NULL) != 0) {
		free(kr->data_dir);
		free(kr);
		return ERR_NOMEM;
	}
	*out = kr;
	return 0;
}

static void keyring_clear(struct dkim_keyring *kr)
{
	for (size_t i = 0; i < kr->n; i++)
		dkim_keys_free(&kr->dom[i].keys, kr->dom[i].n);
	kr->n = 0;
}

void dkim_keyring_free(struct dkim_keyring **krp)
{
	struct dkim_keyring *kr = *krp;
	if (!kr)
		return;
	keyring_clear(kr);
	free(kr->dom);
	pthread_mutex_destroy(&kr->lock);
	free(kr->data_dir);
	free(kr);
	*krp = NULL;
}

/* The cache entry of dom, made (empty, never loaded: ino 0 and mtime -1) if new. */
static struct keyring_domain *keyring_entry(struct dkim_keyring *kr, const char *dom)
{
	for (size_t i = 0; i < kr->n; i++)
		if (!strcmp(kr->dom[i].domain, dom))
			return &kr->dom[i];
	if (kr->n == LIMIT_DKIM_DOMAINS)
		keyring_clear(kr);
	if (kr->n == kr->cap) {
		size_t cap = kr->cap ? kr->cap * 2 : 16;
		struct keyring_domain *nd = realloc(kr->dom, cap * sizeof(*nd));
		if (!nd)
			return NULL;
		kr->dom = nd;
		kr->cap = cap;
	}
	struct keyring_domain *d = &kr->dom[kr->n++];
	memset(d, 0, sizeof(*d));
	memcpy(d->domain, dom, strlen(dom) + 1);
	d->mtime.tv_sec = -1;
	return d;
}

/* Load d's keys again if its directory is not the one they were loaded from. */
static void keyring_refresh(struct dkim_keyring *kr, struct keyring_domain *d)
{
	char dir[PATH_MAX];
	struct stat st;
	struct timespec mt = {0, 0};
	ino_t ino = 0;
	int n = snprintf(dir, sizeof(dir), "%s/dkim/%s", kr->data_dir, d->domain);
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		d->error = ERR_INVAL;
		return;
	}
	if (stat(dir, &st) == 0) {
		mt = st.st_mtim;
		ino = st.st_ino;
	}
	if (d->settled && mt.tv_sec == d->mtime.tv_sec && mt.tv_nsec == d->mtime.tv_nsec &&
	    ino == d->ino)
		return;
	/* a directory changed within the last clock ticks may change again without its
	 * mtime moving: until it has been quiet for a while, load it every time */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	d->settled = now.tv_sec - mt.tv_sec >= LIMIT_DKIM_DIR_QUIET;
	dkim_keys_free(&d->keys, d->n);
	d->n = 0;
	d->mtime = mt;
	d->ino = ino;
	char bad[PATH_MAX] = "";
	d->error = dkim_keys_load(kr->data_dir, d->domain, &d->keys, &d->n, bad, sizeof(bad));
	if (d->error < 0)
		log_err("dkim: keys of domain=%s not loaded: %s %s", d->domain, err_str(d->error),
		        bad);
	else if (d->n && d->settled)
		log_info("dkim: domain=%s keys=%zu loaded", d->domain, d->n);
}

int dkim_keyring_signer(struct dkim_keyring *kr, const char *domain, time_t now,
                        struct dkim_signer **out)
{
	char dom[LIMIT_ADDR_DOMAIN + 1];
	*out = NULL;
	if (dkim_domain_norm(domain, dom, sizeof(dom)) < 0)
		return ERR_INVAL;
	pthread_mutex_lock(&kr->lock);
	int rc = ERR_NOMEM;
	struct keyring_domain *d = keyring_entry(kr, dom);
	if (d) {
		keyring_refresh(kr, d);
		rc = d->error < 0 ? d->error : d->n == 0 ? ERR_NOTFOUND : 0;
		/* at most LIMIT_DKIM_KEYS keys sign; keygen refuses to make more */
		if (rc == 0)
			rc = dkim_signer_new(dom, d->keys,
			                     d->n < LIMIT_DKIM_KEYS ? d->n : LIMIT_DKIM_KEYS, now,
			                     out);
	}
	pthread_mutex_unlock(&kr->lock);
	return rc;
}
