/* dkim_key.c: the domain keys on disk, <data>/dkim/<domain>/<selector>.key (PKCS#8 PEM,
 * 0600 in 0700 directories): make, delete, load, and the public key record. Names are
 * checked before they become path components. Bounds: LIMIT_DKIM_KEY_FILE per file,
 * LIMIT_DKIM_RECORD per record. */
#include "outbound/dkim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/err.h"
#include "core/banned.h"

const char *dkim_alg_name(enum dkim_alg alg)
{
	return alg == DKIM_ALG_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

const char *dkim_alg_key_type(enum dkim_alg alg)
{
	return alg == DKIM_ALG_ED25519_SHA256 ? "ed25519" : "rsa";
}

/* LDH labels of 1-63 bytes separated by single dots; extra allows '_' (selectors). */
static int key_name_norm(const char *in, char *out, size_t cap, size_t max, bool one_label)
{
	size_t n = strlen(in), label = 0;
	if (n == 0 || n > max || n >= cap)
		return ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		          (one_label && c == '_');
		if (c == '.' && !one_label) {
			if (label == 0 || in[i - 1] == '-')
				return ERR_INVAL;
			label = 0;
		} else if (!ok || ++label > LIMIT_ADDR_LABEL || (label == 1 && c == '-')) {
			return ERR_INVAL;
		}
		out[i] = c;
	}
	if (label == 0 || in[n - 1] == '-')
		return ERR_INVAL;
	out[n] = '\0';
	return 0;
}

int dkim_domain_norm(const char *in, char *out, size_t cap)
{
	return key_name_norm(in, out, cap, 253, false);
}

int dkim_selector_norm(const char *in, char *out, size_t cap)
{
	return key_name_norm(in, out, cap, LIMIT_DKIM_SELECTOR, true);
}

void dkim_selector_default(enum dkim_alg alg, time_t now, char *out, size_t cap)
{
	struct tm tm;
	gmtime_r(&now, &tm);
	int n = snprintf(out, cap, "k%04d%02d%c", tm.tm_year + 1900, tm.tm_mon + 1,
	                 alg == DKIM_ALG_ED25519_SHA256 ? 'e' : 'r');
	if (n < 0 || (size_t)n >= cap)
		out[0] = '\0';
}

static int key_path(char *out, size_t cap, const char *data, const char *domain,
                    const char *selector, const char *suffix)
{
	int n = selector ? snprintf(out, cap, "%s/dkim/%s/%s%s", data, domain, selector, suffix)
	        : domain ? snprintf(out, cap, "%s/dkim/%s", data, domain)
	                 : snprintf(out, cap, "%s/dkim", data);
	return n < 0 || (size_t)n >= cap ? ERR_INVAL : 0;
}

static int key_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ERR_IO;
	int rc = fsync(fd) == 0 ? 0 : ERR_IO;
	close(fd);
	return rc;
}

static int key_mkdir(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return ERR_IO;
}

/* Write pem to dir/selector.key: a temporary file, fsync, link() (which fails rather
 * than replace a key of the same name), unlink the temporary name, fsync the dir. */
static int key_write(const char *dir, const char *final, const char *pem, size_t len)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s/.tmp.%ld.key", dir, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return ERR_INVAL;
	(void)unlink(tmp); /* a leftover of a killed keygen of the same pid: ours to reuse */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return ERR_IO;
	int rc = 0;
	for (size_t off = 0; off < len && rc == 0;) {
		ssize_t w = write(fd, pem + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = ERR_IO;
		else
			off += (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = ERR_IO;
	if (close(fd) != 0)
		rc = ERR_IO;
	if (rc == 0 && link(tmp, final) != 0)
		rc = errno == EEXIST ? ERR_EXISTS : ERR_IO;
	(void)unlink(tmp); /* after link() the key lives under its final name */
	if (rc == 0)
		rc = key_fsync_dir(dir);
	return rc;
}

/* A domain signs with at most LIMIT_DKIM_KEYS keys: no more are made. */
static int key_room(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return ERR_IO;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		n += e->d_name[0] != '.' && len > 4 && !strcmp(e->d_name + len - 4, ".key");
	}
	closedir(d);
	return n < LIMIT_DKIM_KEYS ? 0 : ERR_FULL;
}

int dkim_key_generate(const char *data_dir, const char *domain, const char *selector,
                      enum dkim_alg alg)
{
	char dom[LIMIT_ADDR_DOMAIN + 1], sel[LIMIT_DKIM_SELECTOR + 1];
	char dir[PATH_MAX], top[PATH_MAX], final[PATH_MAX];
	if (dkim_domain_norm(domain, dom, sizeof(dom)) < 0 ||
	    dkim_selector_norm(selector, sel, sizeof(sel)) < 0 ||
	    key_path(top, sizeof(top), data_dir, NULL, NULL, NULL) < 0 ||
	    key_path(dir, sizeof(dir), data_dir, dom, NULL, NULL) < 0 ||
	    key_path(final, sizeof(final), data_dir, dom, sel, ".key") < 0)
		return ERR_INVAL;
	struct stat st;
	if (stat(final, &st) == 0)
		return ERR_EXISTS; /* before spending a second on an RSA key */
	int rc = key_mkdir(top);
	if (rc == 0)
		rc = key_mkdir(dir);
	if (rc == 0)
		rc = key_room(dir);
	if (rc < 0)
		return rc;
	EVP_PKEY *pkey = alg == DKIM_ALG_ED25519_SHA256
	                     ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
	                     : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (!pkey)
		return ERR_TEMP;
	BIO *bio = BIO_new(BIO_s_mem());
	rc = ERR_NOMEM;
	if (bio && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1) {
		char *pem = NULL;
		long len = BIO_get_mem_data(bio, &pem);
		rc = len > 0 ? key_write(dir, final, pem, (size_t)len) : ERR_NOMEM;
	}
	BIO_free_all(bio); /* BIO_s_mem clears its buffer on free */
	EVP_PKEY_free(pkey);
	if (rc == 0)
		rc = key_fsync_dir(top);
	return rc;
}

int dkim_key_delete(const char *data_dir, const char *domain, const char *selector)
{
	char dom[LIMIT_ADDR_DOMAIN + 1], sel[LIMIT_DKIM_SELECTOR + 1];
	char dir[PATH_MAX], final[PATH_MAX];
	if (dkim_domain_norm(domain, dom, sizeof(dom)) < 0 ||
	    dkim_selector_norm(selector, sel, sizeof(sel)) < 0 ||
	    key_path(dir, sizeof(dir), data_dir, dom, NULL, NULL) < 0 ||
	    key_path(final, sizeof(final), data_dir, dom, sel, ".key") < 0)
		return ERR_INVAL;
	if (unlink(final) != 0)
		return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
	int rc = key_fsync_dir(dir);
	/* the last key gone: the domain's directory goes too (fails, harmlessly, if not) */
	if (rmdir(dir) == 0) {
		char top[PATH_MAX];
		if (key_path(top, sizeof(top), data_dir, NULL, NULL, NULL) == 0 && rc == 0)
			rc = key_fsync_dir(top);
	}
	return rc;
}

/* Read one PEM private key file (at most LIMIT_DKIM_KEY_FILE bytes). *gone: the file
 * was deleted after the directory listing named it (a `kasten dkim delete` racing a
 * reload), which is no error. */
static EVP_PKEY *key_read(const char *path, time_t *mtime_out, bool *gone)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	*gone = fd < 0 && errno == ENOENT;
	if (fd < 0)
		return NULL;
	struct stat st;
	EVP_PKEY *pkey = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size <= (off_t)LIMIT_DKIM_KEY_FILE) {
		FILE *f = fdopen(fd, "r");
		if (f) {
			fd = -1;
			pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
			fclose(f);
		}
		*mtime_out = st.st_mtime;
	}
	if (fd >= 0)
		close(fd);
	return pkey;
}

static int key_cmp(const void *a, const void *b)
{
	const struct dkim_key *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);
	return c ? c : strcmp(x->selector, y->selector);
}

void dkim_keys_free(struct dkim_key **keys, size_t n)
{
	if (!*keys)
		return;
	for (size_t i = 0; i < n; i++)
		EVP_PKEY_free((*keys)[i].pkey);
	free(*keys);
	*keys = NULL;
}

/* Add every <selector>.key of one domain directory to the growing array. */
static int key_load_dir(const char *data_dir, const char *dom, struct dkim_key **keys, size_t *n,
                        size_t *cap, char *bad, size_t bad_cap)
{
	char dir[PATH_MAX];
	if (key_path(dir, sizeof(dir), data_dir, dom, NULL, NULL) < 0)
		return ERR_INVAL;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : ERR_IO;
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 4, ".key") != 0)
			continue; /* ".", "..", temporary files, anything else */
		char sel[LIMIT_DKIM_SELECTOR + 1], path[PATH_MAX];
		e->d_name[len - 4] = '\0';
		if (dkim_selector_norm(e->d_name, sel, sizeof(sel)) < 0 || strcmp(sel, e->d_name))
			continue; /* not a name keygen makes */
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 8;
			struct dkim_key *nk = realloc(*keys, nc * sizeof(**keys));
			if (!nk) {
				rc = ERR_NOMEM;
				break;
			}
			*keys = nk;
			*cap = nc;
		}
		struct dkim_key *k = &(*keys)[*n];
		memset(k, 0, sizeof(*k));
		(void)key_path(path, sizeof(path), data_dir, dom, sel, ".key");
		bool gone;
		k->pkey = key_read(path, &k->created, &gone);
		if (gone)
			continue;
		int type = k->pkey ? EVP_PKEY_get_base_id(k->pkey) : 0;
		if (type != EVP_PKEY_RSA && type != EVP_PKEY_ED25519) {
			EVP_PKEY_free(k->pkey);
			if (bad && snprintf(bad, bad_cap, "%s", path) < 0)
				bad[0] = '\0';
			rc = ERR_BAD_SYNTAX;
			break;
		}
		k->alg = type == EVP_PKEY_ED25519 ? DKIM_ALG_ED25519_SHA256 : DKIM_ALG_RSA_SHA256;
		memcpy(k->domain, dom, strlen(dom) + 1);
		memcpy(k->selector, sel, strlen(sel) + 1);
		(*n)++;
	}
	closedir(d);
	return rc;
}

int dkim_keys_load(const char *data_dir, const char *domain, struct dkim_key **keys_out,
                   size_t *n_out, char *bad_path_out, size_t bad_cap)
{
	struct dkim_key *keys = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	*keys_out = NULL;
	*n_out = 0;
	if (domain) {
		char dom[LIMIT_ADDR_DOMAIN + 1];
		if (dkim_domain_norm(domain, dom, sizeof(dom)) < 0)
			return ERR_INVAL;
		rc = key_load_dir(data_dir, dom, &keys, &n, &cap, bad_path_out, bad_cap);
	} else {
		char top[PATH_MAX];
		if (key_path(top, sizeof(top), data_dir, NULL, NULL, NULL) < 0)
			return ERR_INVAL;
		DIR *d = opendir(top);
		if (!d && errno != ENOENT)
			return ERR_IO;
		struct dirent *e;
		while (d && rc == 0 && (e = readdir(d))) {
			char dom[LIMIT_ADDR_DOMAIN + 1];
			if (dkim_domain_norm(e->d_name, dom, sizeof(dom)) < 0 ||
			    strcmp(dom, e->d_name))
				continue;
			rc = key_load_dir(data_dir, dom, &keys, &n, &cap, bad_path_out, bad_cap);
		}
		if (d)
			closedir(d);
	}
	if (rc < 0) {
		dkim_keys_free(&keys, n);
		return rc;
	}
	if (n > 1)
		qsort(keys, n, sizeof(*keys), key_cmp);
	*keys_out = keys;
	*n_out = n;
	return 0;
}

int dkim_key_record(const struct dkim_key *key, char *out, size_t cap)
{
	unsigned char der[1024];
	size_t len = sizeof(der);
	if (key->alg == DKIM_ALG_ED25519_SHA256) {
		/* RFC 8463 4: the raw 32-byte public key */
		if (EVP_PKEY_get_raw_public_key(key->pkey, der, &len) != 1)
			return ERR_NOMEM;
	} else {
		/* RFC 6376 3.6.1: the SubjectPublicKeyInfo, DER */
		int n = i2d_PUBKEY(key->pkey, NULL);
		if (n <= 0 || (size_t)n > sizeof(der))
			return ERR_FULL;
		unsigned char *p = der;
		if (i2d_PUBKEY(key->pkey, &p) != n)
			return ERR_NOMEM;
		len = (size_t)n;
	}
	int pre = snprintf(out, cap, "v=DKIM1; k=%s; p=", dkim_alg_key_type(key->alg));
	if (pre < 0 || (size_t)pre + (len + 2) / 3 * 4 + 1 > cap)
		return ERR_FULL;
	EVP_EncodeBlock((unsigned char *)out + pre, der, (int)len);
	return 0;
}
