/* net_tls.c: the server TLS context, and the self-signed certificate a fresh install
 * uses until an administrator configures a real one. */
#include "net.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/bn.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/banned.h"

static void log_ssl(const char *what)
{
	unsigned long e = ERR_get_error();
	char msg[256] = "";
	if (e)
		ERR_error_string_n(e, msg, sizeof(msg));
	log_err("tls: %s: %s", what, msg);
}

static int write_pem(const char *path, EVP_PKEY *key, X509 *crt)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return ERR_INVAL;
	FILE *f = fopen(tmp, "wx");
	if (!f) {
		log_err("tls: %s: %s", tmp, strerror(errno));
		return ERR_IO;
	}
	int ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
		     : PEM_write_X509(f, crt);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = 0;
	if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
		(void)unlink(tmp);
		log_err("tls: cannot write %s", path);
		return ERR_IO;
	}
	return 0;
}

/* A P-256 key and a ten-year certificate naming hostname (CN and subjectAltName). */
static int make_self_signed(const char *cert, const char *key, const char *hostname)
{
	int r = ERR_IO;
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	if (!pk || !x)
		goto out;
	X509_set_version(x, 2);
	unsigned char serial[16];
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) {
		BN_free(bn);
		goto out;
	}
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3650L * 24 * 3600);
	X509_set_pubkey(x, pk);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)hostname, -1, -1, 0);
	X509_set_issuer_name(x, name);
	char san[300];
	if (snprintf(san, sizeof(san), "DNS:%s", hostname) >= (int)sizeof(san))
		goto out;
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (!ext || !X509_add_ext(x, ext, -1)) {
		X509_EXTENSION_free(ext);
		goto out;
	}
	X509_EXTENSION_free(ext);
	if (!X509_sign(x, pk, EVP_sha256()))
		goto out;
	mode_t old = umask(077);
	r = write_pem(key, pk, NULL);
	umask(old);
	if (r == 0)
		r = write_pem(cert, NULL, x);
	if (r == 0)
		log_info("tls: generated a self-signed certificate for %s in %s", hostname, cert);
out:
	if (r < 0)
		log_ssl("cannot create self-signed certificate");
	X509_free(x);
	EVP_PKEY_free(pk);
	return r;
}

SSL_CTX *net_tls_setup(const char *cert, const char *key, const char *data_dir,
		       const char *hostname)
{
	char cbuf[4096], kbuf[4096];
	if (!cert || !key) {
		char dir[4096];
		if (snprintf(dir, sizeof(dir), "%s/tls", data_dir) >= (int)sizeof(dir) ||
		    snprintf(cbuf, sizeof(cbuf), "%s/cert.pem", dir) >= (int)sizeof(cbuf) ||
		    snprintf(kbuf, sizeof(kbuf), "%s/key.pem", dir) >= (int)sizeof(kbuf))
			return NULL;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			log_err("tls: %s: %s", dir, strerror(errno));
			return NULL;
		}
		cert = cbuf;
		key = kbuf;
		if (access(cert, R_OK) != 0 || access(key, R_OK) != 0)
			if (make_self_signed(cert, key, hostname) < 0)
				return NULL;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		log_ssl("SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS); /* idle sessions keep no TLS buffers */
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		log_ssl(cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_ssl(key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}
