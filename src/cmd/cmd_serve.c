/* cmd_serve.c: `kasten serve`: open the store, start delivery, bind every configured
 * listener, drop privileges, serve until SIGTERM, then finish in-flight work and exit 0. */
#include "cmd.h"
#include "cmd_metrics.h"

#include <errno.h>
#include <netdb.h>
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
#include "http/http.h"
#include "http/jmap_submission.h"
#include "imap/imap.h"
#include "notify/notify.h"
#include "outbound/bounce.h"
#include "outbound/dkim.h"
#include "outbound/out.h"
#include "outbound/queue.h"
#include "pop3/pop3.h"
#include "smtp/smtp.h"
#include "smtp/smtp_submit.h"
#include "store/store.h"
#include "core/banned.h"

/* How long a starting server waits for an admin command to finish with the data dir. */
#define SERVE_LOCK_WAIT_MS 10000

/* Every configured listener; with [pop3] enabled = no the POP3 listeners stay up to
 * tell clients to use IMAP. */
static size_t listeners(const struct conf *cf, struct net_listen ls[16])
{
	size_t n = 0;
#define LISTEN(addr, proto, tlsmode, arg, login, timeout)                                          \
	if (addr)                                                                                  \
		ls[n++] = (struct net_listen){addr, proto, tlsmode, arg, login, timeout};
	LISTEN(cf->smtp, &smtp_proto, NET_TLS_NONE, &smtp_flavour_mx, false, cf->smtp_timeout);
	LISTEN(cf->submission, &smtp_proto, NET_TLS_NONE, &smtp_flavour_submission, true,
	       cf->smtp_timeout);
	LISTEN(cf->submissions, &smtp_proto, NET_TLS_IMPLICIT, &smtp_flavour_submission, true,
	       cf->smtp_timeout);
	LISTEN(cf->lmtp, &smtp_proto, NET_TLS_NONE, &smtp_flavour_lmtp, false, cf->smtp_timeout);
	LISTEN(cf->pop3, &pop3_proto, NET_TLS_NONE, NULL, true, cf->pop3_timeout);
	LISTEN(cf->pop3s, &pop3_proto, NET_TLS_IMPLICIT, NULL, true, cf->pop3_timeout);
	LISTEN(cf->imap, &imap_proto, NET_TLS_NONE, NULL, true, cf->imap_timeout);
	LISTEN(cf->imaps, &imap_proto, NET_TLS_IMPLICIT, NULL, true, cf->imap_timeout);
	/* HTTP: clients log in per request (Basic, Bearer, a session cookie) */
	LISTEN(cf->http, &http_proto, NET_TLS_NONE, &http_listener_public, false, cf->http_timeout);
	LISTEN(cf->https, &http_proto, NET_TLS_IMPLICIT, &http_listener_public, false,
	       cf->http_timeout);
	LISTEN(cf->admin, &http_proto, NET_TLS_NONE, &http_listener_admin, false, cf->http_timeout);
#undef LISTEN
	return n;
}

/* Every address we listen on, for the outbound loop check (an MX that is us). */
static size_t own_addrs(const struct conf *cf, struct out_own_addr *out)
{
	const char *addrs[] = {cf->smtp, cf->submission, cf->submissions, cf->lmtp, cf->imap,
			       cf->imaps, cf->pop3, cf->pop3s, cf->http, cf->https, cf->admin};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		char host[256];
		const char *colon = addrs[i] ? strrchr(addrs[i], ':') : NULL;
		if (!colon)
			continue;
		const char *h = addrs[i];
		int hl = (int)(colon - h);
		if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
			h++;
			hl -= 2;
		}
		if (snprintf(host, sizeof(host), "%.*s", hl, h) != hl)
			continue;
		struct addrinfo hints = {.ai_flags = AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
		struct addrinfo *res, *ai;
		if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
			continue;
		for (ai = res; ai && n < LIMIT_OUTBOUND_OWN_ADDRS; ai = ai->ai_next) {
			memcpy(&out[n].sa, ai->ai_addr, ai->ai_addrlen);
			out[n++].len = ai->ai_addrlen;
		}
		freeaddrinfo(res);
	}
	return n;
}

/* Files made before kasten set its umask, or by hand, may be readable by others: say so
 * (the password hashes, the mail and the TLS key are in there). */
static void check_modes(const char *data)
{
	static const char *const paths[] = {"", "/directory.db", "/directory.db-wal",
					    "/accounts", "/spool", "/tls", "/tls/key.pem"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char p[4096];
		struct stat sb;
		if (snprintf(p, sizeof(p), "%s%s", data, paths[i]) >= (int)sizeof(p) ||
		    lstat(p, &sb) < 0)
			continue;
		if (sb.st_mode & 077)
			log_warn("%s is mode %04o: others can read it; fix with chmod -R go= %s", p,
				 (unsigned)(sb.st_mode & 07777), data);
	}
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

	struct stat sb;
	if (stat(cf->data, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		log_err("data dir %s does not exist (create one with `kasten init --data %s`)",
			cf->data, cf->data);
		return 1;
	}
	/* One server per data dir, and the lock before the ports: a second server must not
	 * join the first one's listeners (SO_REUSEPORT) even for a moment */
	struct cmd_lock_holder holder;
	if (cmd_lock_data(cf->data, "serve", SERVE_LOCK_WAIT_MS, &holder) < 0) {
		if (holder.pid)
			log_err("data dir %s is locked by pid %ld (kasten %s): not starting a second "
				"server on it", cf->data, holder.pid, holder.role[0] ? holder.role : "?");
		return 1;
	}
	/* as root: read the key (it may be root's), bind the ports, then become the mail
	 * user before the store is opened or a byte is read from the network (STYLE 7) */
	struct ssl_ctx_st *tls = net_tls_setup(cf->tls_cert, cf->tls_key, cf->data, cf->hostname);
	if (!tls)
		return 1;
	struct net_listen ls[16];
	size_t n = listeners(cf, ls);
	struct net_limits limits = {cf->login_timeout, cf->max_conns_per_ip, cf->max_unauth_per_ip};
	if (net_start(ls, n, cf->threads, &limits, tls) < 0 || cmd_drop_privileges(true) < 0)
		return 1;
	check_modes(cf->data);
	struct store_env *env;
	if (store_env_open(cf->backend, cf->data, true, &env) < 0) {
		log_err("cannot open the store in %s", cf->data);
		return 1;
	}
	/* the outbound queue: the deliver hook adds to it in the group commit, the engine
	 * sends it (started once deliver/ runs: its DSNs to local senders go through it) */
	struct queue *queue;
	struct dkim_keyring *dkim;
	struct out_engine *engine;
	struct out_own_addr own[LIMIT_OUTBOUND_OWN_ADDRS];
	if (queue_open(cf->data, true, &queue) < 0) {
		log_err("cannot open the outbound queue in %s/queue", cf->data);
		return 1;
	}
	struct out_config oc = {queue, env, own, own_addrs(cf, own)};
	if (dkim_keyring_new(cf->data, &dkim) < 0 || out_new(&oc, &engine) < 0)
		return 1;
	struct deliver_config dc = {.data_dir = cf->data,
				    .hostname = cf->hostname,
				    .warn_percent = cf->warn_percent,
				    .outbound_add = out_deliver_add,
				    .outbound_ctx = engine};
	if (deliver_start(env, &dc) < 0)
		return 1;
	if (auth_login_init() < 0) {
		log_err("cannot initialise password checking");
		return 1;
	}
	smtp_init(env);
	smtp_set_dkim(dkim);
	smtp_set_queue(queue);
	/* JMAP EmailSubmission sends through submission's own checks and pipeline */
	jmap_submission_set_sender(smtp_submit_message, smtp_submit_queue_show);
	bounce_set_dkim(dkim); /* reports mailed out are signed for the postmaster's domain */
	pop3_init(env);
	notify_start(env);
	imap_init(env);
	http_init(env);
	if (cmd_metrics_start(cf->data, engine) < 0)
		return 1;

	if (out_run(engine) < 0 || net_run() < 0)
		return 1;
	log_info("kasten ready data=%s hostname=%s", cf->data, cf->hostname);
	net_wait_signal();
	net_stop(30);
	cmd_metrics_stop(); /* no render runs any more: the loops and workers are gone */
	/* a send still running after the wait keeps the engine and the queue (its lease
	 * makes the next start send that work again) */
	bool out_stopped = out_stop(engine) == 0;
	pop3_shutdown();
	notify_stop();
	deliver_stop();
	if (out_stopped) {
		dkim_keyring_free(&dkim); /* a send still running may sign a report */
		out_free(&engine);
		queue_close(&queue);
		store_env_close(&env); /* a running worker may still report through it */
	}
	SSL_CTX_free(tls);
	log_info("stopped");
	return 0;
}
