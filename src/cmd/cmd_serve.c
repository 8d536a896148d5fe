/* cmd_serve.c: `kasten serve`: open the store, start delivery, bind every configured
 * listener, drop privileges, serve until SIGTERM, then finish in-flight work and exit 0. */
#include "cmd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/ssl.h>

#include "auth/auth_login.h"
#include "core/conf.h"
#include "core/log.h"
#include "deliver/deliver.h"
#include "net/net.h"
#include "pop3/pop3.h"
#include "smtp/smtp.h"
#include "store/store.h"
#include "core/banned.h"

/* Every configured listener; with [pop3] enabled = no the POP3 listeners stay up to
 * tell clients to use IMAP. */
static size_t listeners(const struct conf *cf, struct net_listen ls[16])
{
	size_t n = 0;
#define LISTEN(addr, proto, tlsmode, arg)                                                          \
	if (addr)                                                                                  \
		ls[n++] = (struct net_listen){addr, proto, tlsmode, arg};
	LISTEN(cf->smtp, &smtp_proto, NET_TLS_NONE, &smtp_flavour_mx);
	LISTEN(cf->submission, &smtp_proto, NET_TLS_NONE, &smtp_flavour_submission);
	LISTEN(cf->submissions, &smtp_proto, NET_TLS_IMPLICIT, &smtp_flavour_submission);
	LISTEN(cf->lmtp, &smtp_proto, NET_TLS_NONE, &smtp_flavour_lmtp);
	LISTEN(cf->pop3, &pop3_proto, NET_TLS_NONE, NULL);
	LISTEN(cf->pop3s, &pop3_proto, NET_TLS_IMPLICIT, NULL);
#undef LISTEN
	if (cf->imap || cf->imaps || cf->http)
		log_info("imap/http listeners are configured but not part of this build yet");
	return n;
}

int cmd_serve(int argc, char **argv)
{
	if (cmd_load_config(&argc, argv) < 0)
		return 1;
	if (argc > 1) {
		fprintf(stderr, "usage: kasten serve [--config FILE | --data DIR]\n");
		return 2;
	}
	const struct conf *cf = conf_get();
	/* block SIGTERM/SIGINT before any thread starts: net_wait_signal() takes them */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (mkdir(cf->data, 0700) < 0 && errno != EEXIST) {
		log_err("data dir %s: %s", cf->data, strerror(errno));
		return 1;
	}
	/* as root: read the key (it may be root's), bind the ports, then become the mail
	 * user before the store is opened or a byte is read from the network (STYLE 7) */
	struct ssl_ctx_st *tls = net_tls_setup(cf->tls_cert, cf->tls_key, cf->data, cf->hostname);
	if (!tls)
		return 1;
	struct net_listen ls[16];
	size_t n = listeners(cf, ls);
	if (net_start(ls, n, cf->threads, tls) < 0 || cmd_drop_privileges(true) < 0)
		return 1;
	struct store_env *env;
	if (store_env_open(cf->backend, cf->data, &env) < 0) {
		log_err("cannot open the store in %s", cf->data);
		return 1;
	}
	struct deliver_config dc = {cf->data, cf->hostname, cf->warn_percent};
	if (deliver_start(env, &dc) < 0)
		return 1;
	if (auth_login_init() < 0) {
		log_err("cannot initialise password checking");
		return 1;
	}
	smtp_init(env);
	pop3_init(env);

	if (net_run() < 0)
		return 1;
	log_info("kasten ready data=%s hostname=%s", cf->data, cf->hostname);
	net_wait_signal();
	net_stop(30);
	pop3_shutdown();
	deliver_stop();
	store_env_close(&env);
	SSL_CTX_free(tls);
	log_info("stopped");
	return 0;
}
