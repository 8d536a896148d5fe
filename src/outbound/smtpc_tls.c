/* smtpc_tls.c: the SMTP client's TLS: the shared client context (TLS 1.2 and up, DANE
 * on) and one handshake on a session's socket with the verification the caller's policy
 * asks for: none (opportunistic, RFC 7435), PKIX against names (MTA-STS, RFC 8461 4.2;
 * a relay), or DANE (RFC 7672 through OpenSSL's SSL_dane_* functions: DANE-EE(3) without
 * name checks (3.1.1), DANE-TA(2) with the names given (3.2.2)). Each wait of the
 * handshake is bounded by connect_ms in all. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/err.h"
#include "outbound/smtpc_int.h"

int smtpc_tls_ctx_new(const char *ca_file, struct ssl_ctx_st **out, char *err_out, size_t err_cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int ok;

	*out = NULL;
	if (!ctx) {
		snprintf(err_out, err_cap, "cannot make a TLS context");
		return ERR_NOMEM;
	}
	(void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION); /* cannot fail for a
	                                                           * known version */
	if (ca_file && ca_file[0])
		ok = SSL_CTX_load_verify_locations(ctx, ca_file, NULL);
	else
		ok = SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1 || SSL_CTX_dane_enable(ctx) <= 0) {
		unsigned long e = ERR_get_error();
		char eb[128];
		ERR_error_string_n(e, eb, sizeof(eb));
		ERR_clear_error();
		snprintf(err_out, err_cap, "TLS trust store %s: %s",
		         ca_file && ca_file[0] ? ca_file : "(system)", eb);
		SSL_CTX_free(ctx);
		return ERR_INVAL;
	}
	*out = ctx;
	return 0;
}

/* Set up the verification of o on ssl. */
static int smtpc_tls_verify_setup(struct smtpc *s, SSL *ssl, const struct smtpc_tls_opts *o)
{
	size_t usable = 0;

	if (o->verify == SMTPC_VERIFY_NONE) {
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
		return 0;
	}
	if (o->n_names == 0 && o->verify == SMTPC_VERIFY_PKIX)
		return smtpc_fail(s, ERR_INVAL, "PKIX verification needs a name");
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	if (o->verify == SMTPC_VERIFY_DANE) {
		const char *base = o->n_names > 0 ? o->names[0] : o->sni;
		if (SSL_dane_enable(ssl, base) <= 0)
			return smtpc_fail(s, ERR_INVAL, "DANE cannot be enabled");
		(void)SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS); /* returns
		                                                                 * the old flags */
		for (size_t i = 1; i < o->n_names; i++)
			if (SSL_add1_host(ssl, o->names[i]) != 1)
				return smtpc_fail(s, ERR_INVAL, "bad name %s", o->names[i]);
		for (size_t i = 0; i < o->n_tlsa; i++) {
			const struct smtpc_tlsa *t = &o->tlsa[i];
			/* 0: a record OpenSSL cannot use (unknown usage, digest): skipped */
			int rc = SSL_dane_tlsa_add(ssl, t->usage, t->selector, t->mtype, t->data,
			                           t->len);
			if (rc > 0)
				usable++;
			ERR_clear_error();
		}
		if (usable == 0)
			return smtpc_fail(s, ERR_AUTH, "no usable TLSA record");
		return 0;
	}
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	/* RFC 6125 6.4.3 as RFC 8461 4.2 wants it: "*" only as a whole left-most label */
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	for (size_t i = 0; i < o->n_names; i++) {
		int ok = i == 0 ? SSL_set1_host(ssl, o->names[i]) : SSL_add1_host(ssl, o->names[i]);
		if (ok != 1)
			return smtpc_fail(s, ERR_INVAL, "bad name %s", o->names[i]);
	}
	return 0;
}

static int64_t smtpc_tls_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What verified the peer, once the handshake is done. */
static enum smtpc_tls_state smtpc_tls_how(SSL *ssl, const struct smtpc_tls_opts *o)
{
	uint8_t usage = 0, selector = 0, mtype = 0;
	const unsigned char *data = NULL;
	size_t dlen = 0;

	if (o->verify == SMTPC_VERIFY_NONE)
		return SMTPC_TLS_UNVERIFIED;
	if (o->verify == SMTPC_VERIFY_PKIX)
		return SMTPC_TLS_PKIX;
	if (SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data, &dlen) >= 0 && usage == 2)
		return SMTPC_TLS_DANE_TA;
	return SMTPC_TLS_DANE_EE;
}

int smtpc_tls_handshake(struct smtpc *s, const struct smtpc_tls_opts *o)
{
	SSL_CTX *ctx = s->cfg.ssl_ctx;
	int64_t deadline = smtpc_tls_now_ms() + s->cfg.timeouts.connect_ms;
	char eb[160];
	int rc;

	if (!ctx) {
		if (!s->own_ctx) {
			rc = smtpc_tls_ctx_new(NULL, &s->own_ctx, eb, sizeof(eb));
			if (rc < 0)
				return smtpc_fail(s, ERR_IO, "%s", eb);
		}
		ctx = s->own_ctx;
	}
	s->ssl = SSL_new(ctx);
	if (!s->ssl || SSL_set_fd(s->ssl, s->fd) != 1)
		return smtpc_fail(s, ERR_IO, "cannot start TLS");
	if (o->sni && o->sni[0] && SSL_set_tlsext_host_name(s->ssl, o->sni) != 1)
		return smtpc_fail(s, ERR_INVAL, "bad server name %s", o->sni);
	rc = smtpc_tls_verify_setup(s, s->ssl, o);
	if (rc < 0) {
		s->broken = true;
		return rc;
	}
	for (;;) {
		ERR_clear_error();
		int r = SSL_connect(s->ssl);
		if (r == 1)
			break;
		int e = SSL_get_error(s->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			long v = SSL_get_verify_result(s->ssl);
			if (o->verify != SMTPC_VERIFY_NONE && v != X509_V_OK) {
				s->broken = true;
				return smtpc_fail(s, ERR_AUTH, "certificate does not verify: %s",
				                  X509_verify_cert_error_string(v));
			}
			unsigned long le = ERR_get_error();
			if (le)
				ERR_error_string_n(le, eb, sizeof(eb));
			else
				snprintf(eb, sizeof(eb), "%s",
				         e == SSL_ERROR_SYSCALL && errno ? strerror(errno)
				                                         : "connection closed");
			ERR_clear_error();
			return smtpc_fail(s, ERR_IO, "TLS handshake: %s", eb);
		}
		int64_t left = deadline - smtpc_tls_now_ms();
		struct pollfd pfd = {.fd = s->fd,
		                     .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
		int n = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (n == 0)
			return smtpc_fail(s, ERR_IO, "TLS handshake: timed out after %u ms",
			                  s->cfg.timeouts.connect_ms);
		if (n < 0 && errno != EINTR)
			return smtpc_fail(s, ERR_IO, "poll: %s", strerror(errno));
	}
	s->tls = smtpc_tls_how(s->ssl, o);
	if (snprintf(s->tls_desc, sizeof(s->tls_desc), "%s %s", SSL_get_version(s->ssl),
	             SSL_get_cipher_name(s->ssl)) < 0)
		s->tls_desc[0] = '\0';
	return 0;
}
