/* cmd_smtp_send.c: `kasten smtp-send`: one message over SMTP with the outbound engine's
 * own client (src/outbound/smtpc.h), printing the conversation and each recipient's
 * result: a diagnostic like swaks or posttls-finger, and how the tests drive the client.
 * The message file is sent as it is when its lines end in CRLF; a file with LF line ends
 * is copied into an unlinked temporary file with CRLF first (never for BINARYMIME).
 * Exit 0 only when every recipient was accepted; 1 otherwise; 2 for a usage error. */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/smtpc.h"
#include "core/str.h"
#include "core/banned.h"

const char cmd_smtp_send_usage[] =
    "usage: kasten smtp-send --host H [--port P] [--starttls | --tls | --plain]\n"
    "         [--verify none|pkix|dane] [--name N]... [--tlsa \"U S M HEX\"]...\n"
    "         [--ca-file F] [--helo NAME] [--from A] --to B [--to C]...\n"
    "         [--auth-user U --password-file F [--auth-plaintext]]\n"
    "         [--notify NEVER|SUCCESS,FAILURE,DELAY] [--ret FULL|HDRS] [--envid ID]\n"
    "         [--body 7bit|8bitmime|binarymime] [--smtputf8] [--requiretls]\n"
    "         [--timeout SECONDS] FILE\n"
    "  Send FILE (a message; LF line ends become CRLF) in one SMTP transaction and\n"
    "  print the conversation and each recipient's result. TLS: STARTTLS when offered\n"
    "  (default), --starttls requires it, --tls from the first byte, --plain never.\n"
    "  --verify pkix checks the certificate against --name (default: the host) and the\n"
    "  system's or --ca-file's CAs; --tlsa records (usage selector mtype hex) mean\n"
    "  --verify dane. The null sender unless --from. --body and --smtputf8 are guessed\n"
    "  from the file and addresses when not given. Port 25 unless --port; timeouts\n"
    "  30s connect, 300s per command, 600s for the data unless --timeout (all).\n"
    "  Exit 0 when every recipient was accepted, 1 otherwise.\n";

enum send_tls { SEND_TLS_OPPORTUNISTIC, SEND_TLS_STARTTLS, SEND_TLS_IMPLICIT, SEND_TLS_PLAIN };

struct send_opts {
	const char *host, *port, *ca_file, *helo, *from, *auth_user, *password_file;
	const char *envid, *file;
	enum send_tls tls;
	enum smtpc_verify verify;
	bool verify_set, auth_plaintext, smtputf8, smtputf8_set, requiretls, body_set;
	enum smtpc_body body;
	enum smtpc_ret ret;
	unsigned notify, timeout_s;
	const char *names[LIMIT_SMTPC_RCPTS];
	size_t n_names;
	struct smtpc_rcpt *rcpts;
	size_t n_rcpts;
	struct smtpc_tlsa tlsa[LIMIT_DNS_ANSWER_RECORDS];
	uint8_t tlsa_data[LIMIT_DNS_ANSWER_RECORDS][LIMIT_DNS_TLSA_DATA];
	size_t n_tlsa;
};

static int send_usage(const char *why, const char *arg)
{
	fprintf(stderr, "kasten smtp-send: %s%s%s\n", why, arg ? ": " : "", arg ? arg : "");
	fputs(cmd_smtp_send_usage, stderr);
	return 2;
}

/* "3 1 1 HEX" (RFC 6698 2.2 presentation form) */
static bool parse_tlsa(struct send_opts *o, const char *s)
{
	unsigned u, sel, mt;
	int pos = 0;
	if (o->n_tlsa >= LIMIT_DNS_ANSWER_RECORDS ||
	    sscanf(s, "%u %u %u %n", &u, &sel, &mt, &pos) != 3 || u > 255 || sel > 255 || mt > 255)
		return false;
	const char *h = s + pos;
	size_t hl = strlen(h);
	if (hl == 0 || hl % 2 || hl / 2 > LIMIT_DNS_TLSA_DATA)
		return false;
	uint8_t *d = o->tlsa_data[o->n_tlsa];
	for (size_t i = 0; i < hl / 2; i++) {
		int a = str_hex_digit(h[2 * i]), b = str_hex_digit(h[2 * i + 1]);
		if (a < 0 || b < 0)
			return false;
		d[i] = (uint8_t)(a << 4 | b);
	}
	o->tlsa[o->n_tlsa++] =
	    (struct smtpc_tlsa){(uint8_t)u, (uint8_t)sel, (uint8_t)mt, d, hl / 2};
	return true;
}

static bool parse_notify(const char *s, unsigned *out)
{
	char buf[64];
	*out = 0;
	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return false;
	if (!strcasecmp(buf, "NEVER")) {
		*out = SMTPC_NOTIFY_NEVER;
		return true;
	}
	for (char *p = buf, *end; p && *p; p = end) {
		end = strchr(p, ',');
		if (end)
			*end++ = '\0';
		if (!strcasecmp(p, "SUCCESS"))
			*out |= SMTPC_NOTIFY_SUCCESS;
		else if (!strcasecmp(p, "FAILURE"))
			*out |= SMTPC_NOTIFY_FAILURE;
		else if (!strcasecmp(p, "DELAY"))
			*out |= SMTPC_NOTIFY_DELAY;
		else
			return false;
	}
	return *out != 0;
}

/* The options with a value; false for an unknown one. */
static bool parse_value(struct send_opts *o, const char *opt, const char *v, int *rc)
{
	struct {
		const char *name;
		const char **dst;
	} strs[] = {{"--host", &o->host},
	            {"--port", &o->port},
	            {"--ca-file", &o->ca_file},
	            {"--helo", &o->helo},
	            {"--from", &o->from},
	            {"--auth-user", &o->auth_user},
	            {"--password-file", &o->password_file},
	            {"--envid", &o->envid}};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (!strcmp(opt, strs[i].name)) {
			*strs[i].dst = v;
			return true;
		}
	}
	if (!strcmp(opt, "--to")) {
		if (o->n_rcpts >= LIMIT_SMTPC_RCPTS)
			*rc = send_usage("too many --to", NULL);
		else
			o->rcpts[o->n_rcpts++].address = v;
	} else if (!strcmp(opt, "--name")) {
		if (o->n_names >= LIMIT_SMTPC_RCPTS)
			*rc = send_usage("too many --name", NULL);
		else
			o->names[o->n_names++] = v;
	} else if (!strcmp(opt, "--tlsa")) {
		if (!parse_tlsa(o, v))
			*rc = send_usage("bad --tlsa record", v);
	} else if (!strcmp(opt, "--verify")) {
		o->verify_set = true;
		if (!strcmp(v, "none"))
			o->verify = SMTPC_VERIFY_NONE;
		else if (!strcmp(v, "pkix"))
			o->verify = SMTPC_VERIFY_PKIX;
		else if (!strcmp(v, "dane"))
			o->verify = SMTPC_VERIFY_DANE;
		else
			*rc = send_usage("bad --verify", v);
	} else if (!strcmp(opt, "--notify")) {
		if (!parse_notify(v, &o->notify))
			*rc = send_usage("bad --notify", v);
	} else if (!strcmp(opt, "--ret")) {
		if (!strcasecmp(v, "FULL"))
			o->ret = SMTPC_RET_FULL;
		else if (!strcasecmp(v, "HDRS"))
			o->ret = SMTPC_RET_HDRS;
		else
			*rc = send_usage("bad --ret", v);
	} else if (!strcmp(opt, "--body")) {
		o->body_set = true;
		if (!strcasecmp(v, "7bit"))
			o->body = SMTPC_BODY_7BIT;
		else if (!strcasecmp(v, "8bitmime"))
			o->body = SMTPC_BODY_8BITMIME;
		else if (!strcasecmp(v, "binarymime"))
			o->body = SMTPC_BODY_BINARYMIME;
		else
			*rc = send_usage("bad --body", v);
	} else if (!strcmp(opt, "--timeout")) {
		char *end;
		unsigned long t = strtoul(v, &end, 10);
		if (*v < '0' || *v > '9' || *end || t == 0 || t > 86400)
			*rc = send_usage("bad --timeout", v);
		o->timeout_s = (unsigned)t;
	} else {
		return false;
	}
	return true;
}

static int parse_args(struct send_opts *o, int argc, char **argv)
{
	int rc = 0;
	for (int i = 1; i < argc && rc == 0; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--starttls"))
			o->tls = SEND_TLS_STARTTLS;
		else if (!strcmp(a, "--tls"))
			o->tls = SEND_TLS_IMPLICIT;
		else if (!strcmp(a, "--plain"))
			o->tls = SEND_TLS_PLAIN;
		else if (!strcmp(a, "--auth-plaintext"))
			o->auth_plaintext = true;
		else if (!strcmp(a, "--smtputf8"))
			o->smtputf8 = o->smtputf8_set = true;
		else if (!strcmp(a, "--requiretls"))
			o->requiretls = true;
		else if (a[0] == '-' && a[1] == '-' && i + 1 < argc &&
		         parse_value(o, a, argv[i + 1], &rc))
			i++;
		else if (a[0] == '-')
			return send_usage("unknown option or missing value", a);
		else if (o->file)
			return send_usage("more than one FILE", a);
		else
			o->file = a;
	}
	if (rc)
		return rc;
	if (!o->host || !o->file || o->n_rcpts == 0)
		return send_usage("--host, --to and FILE are needed", NULL);
	if (!!o->auth_user != !!o->password_file)
		return send_usage("--auth-user and --password-file go together", NULL);
	if (o->n_tlsa > 0 && !o->verify_set)
		o->verify = SMTPC_VERIFY_DANE;
	if (o->verify == SMTPC_VERIFY_DANE && o->n_tlsa == 0)
		return send_usage("--verify dane needs --tlsa", NULL);
	if (o->verify != SMTPC_VERIFY_NONE && o->tls == SEND_TLS_PLAIN)
		return send_usage("--verify needs TLS", NULL);
	if (o->n_names == 0)
		o->names[o->n_names++] = o->host;
	return 0;
}

static void send_trace(void *ctx, char who, const char *line, size_t len)
{
	printf("%c: ", who);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c == 0x7F)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('\n');
	(void)fflush(stdout); /* a live view: a failed flush shows in the exit status later */
}

/* The message as CRLF lines in *fd_out (the file itself or a converted copy), its size
 * in *size_out, and whether it has 8-bit bytes. */
static int open_message(const struct send_opts *o, int *fd_out, uint64_t *size_out, bool *eight_out)
{
	int fd = open(o->file, O_RDONLY | O_CLOEXEC);
	uint8_t buf[LIMIT_SMTPC_BODY_CHUNK];
	bool bare_lf = false, prev_cr = false;
	ssize_t n;

	*eight_out = false;
	if (fd < 0) {
		fprintf(stderr, "kasten smtp-send: %s: %s\n", o->file, strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] >= 0x80)
				*eight_out = true;
			if (buf[i] == '\n' && !prev_cr)
				bare_lf = true;
			prev_cr = buf[i] == '\r';
		}
	}
	bool binary = o->body_set && o->body == SMTPC_BODY_BINARYMIME;
	if (n < 0 || (bare_lf && !binary)) {
		FILE *tmp = n < 0 ? NULL : tmpfile();
		if (!tmp || lseek(fd, 0, SEEK_SET) != 0) {
			fprintf(stderr, "kasten smtp-send: %s: %s\n", o->file, strerror(errno));
			close(fd);
			if (tmp)
				fclose(tmp);
			return -1;
		}
		prev_cr = false;
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] == '\n' && !prev_cr)
					putc('\r', tmp);
				putc(buf[i], tmp);
				prev_cr = buf[i] == '\r';
			}
		}
		close(fd);
		if (n < 0 || fflush(tmp) != 0) {
			fprintf(stderr, "kasten smtp-send: %s: cannot convert to CRLF\n", o->file);
			fclose(tmp);
			return -1;
		}
		fd = dup(fileno(tmp));
		fclose(tmp);
		if (fd < 0)
			return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	*fd_out = fd;
	*size_out = (uint64_t)st.st_size;
	return 0;
}

static bool any_8bit(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* Read the password file's first line into pw. */
static int read_password(const char *path, char *pw, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f || !fgets(pw, (int)cap, f)) {
		fprintf(stderr, "kasten smtp-send: %s: cannot read the password\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	pw[strcspn(pw, "\r\n")] = '\0';
	return 0;
}

static const char *tls_state_name(enum smtpc_tls_state t)
{
	static const char *const names[] = {"off", "unverified", "pkix", "dane-ta", "dane-ee"};
	return names[t];
}

/* Connect to the first address that answers; the greeting in *g. */
static int send_connect(const struct send_opts *o, const struct smtpc_config *cfg,
                        const struct smtpc_tls_opts *tls, struct smtpc **s_out,
                        struct smtpc_reply *g)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int gai = getaddrinfo(o->host, o->port ? o->port : "25", &hints, &res);
	int rc = ERR_IO;

	if (gai != 0) {
		fprintf(stderr, "kasten smtp-send: %s: %s\n", o->host, gai_strerror(gai));
		return ERR_IO;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		rc = smtpc_new(cfg, s_out);
		if (rc < 0) {
			fprintf(stderr, "kasten smtp-send: %s\n",
			        rc == ERR_INVAL ? "bad --helo name" : err_str(rc));
			break;
		}
		rc = smtpc_connect(*s_out, ai->ai_addr, ai->ai_addrlen,
		                   o->tls == SEND_TLS_IMPLICIT ? tls : NULL, g);
		if (rc != ERR_IO || !ai->ai_next)
			break;
		fprintf(stderr, "kasten smtp-send: %s: %s; trying the next address\n", o->host,
		        smtpc_error(*s_out));
		smtpc_free(s_out);
	}
	freeaddrinfo(res);
	return rc;
}

/* EHLO, STARTTLS as asked, AUTH: 0 when the session is ready for the transaction. */
static int send_prepare(const struct send_opts *o, struct smtpc *s,
                        const struct smtpc_tls_opts *tls, const char *password)
{
	struct smtpc_reply r = {0};
	int rc = smtpc_ehlo(s, &r);

	if (rc == 0 && o->tls != SEND_TLS_IMPLICIT && o->tls != SEND_TLS_PLAIN) {
		bool offered = smtpc_extensions(s)->flags & SMTPC_EXT_STARTTLS;
		if (offered) {
			rc = smtpc_starttls(s, tls, &r);
		} else if (o->tls == SEND_TLS_STARTTLS) {
			fprintf(stderr, "kasten smtp-send: STARTTLS is not offered\n");
			return ERR_PERM;
		}
	}
	if (rc == 0)
		printf("TLS: %s%s%s\n", tls_state_name(smtpc_tls_state(s)),
		       smtpc_tls_state(s) ? " " : "", smtpc_tls_desc(s));
	if (rc == 0 && o->auth_user)
		rc = smtpc_auth(s, o->auth_user, password, o->auth_plaintext, &r);
	/* a refusing reply says most; else (a lost connection, a certificate) the error */
	if (rc < 0)
		fprintf(stderr, "kasten smtp-send: %s\n",
		        r.code >= 400       ? r.line
		        : smtpc_error(s)[0] ? smtpc_error(s)
		                            : err_str(rc));
	return rc;
}

/* Print each recipient's result; true when all were accepted. */
static bool send_report(const struct send_opts *o, const struct smtpc_reply *final)
{
	size_t ok = 0;
	for (size_t i = 0; i < o->n_rcpts; i++) {
		const struct smtpc_reply *r = &o->rcpts[i].reply;
		printf("RCPT %s: %s%s\n", o->rcpts[i].address,
		       r->code ? "" : "no result: ", r->line);
		ok += r->code / 100 == 2;
	}
	printf("result: %zu of %zu accepted%s%s\n", ok, o->n_rcpts, final->code ? "; " : "",
	       final->code ? final->line : "");
	return ok == o->n_rcpts;
}

/* One session: connect, prepare, the transaction, QUIT. 0 when all were accepted. */
static int send_run(struct send_opts *o, struct smtpc_msg *m, SSL_CTX *ctx, const char *pw)
{
	unsigned t = o->timeout_s;
	struct smtpc_config cfg = {
	    .timeouts = {(t ? t : LIMIT_SMTPC_CONNECT_TIMEOUT) * 1000u,
	                 (t ? t : LIMIT_SMTPC_COMMAND_TIMEOUT) * 1000u,
	                 (t ? t : LIMIT_SMTPC_DATA_TIMEOUT) * 1000u},
	    .helo = o->helo ? o->helo : "localhost",
	    .ssl_ctx = ctx,
	    .trace = send_trace,
	};
	struct in6_addr a6;
	bool literal =
	    inet_pton(AF_INET, o->host, &a6) == 1 || inet_pton(AF_INET6, o->host, &a6) == 1;
	struct smtpc_tls_opts tls = {
	    .sni = literal ? NULL : o->host, /* RFC 6066 3: no addresses in SNI */
	    .verify = o->verify,
	    .names = o->names,
	    .n_names = o->n_names,
	    .tlsa = o->tlsa,
	    .n_tlsa = o->n_tlsa,
	};
	struct smtpc *s = NULL;
	struct smtpc_reply g = {0}, final = {0};
	int rc = send_connect(o, &cfg, &tls, &s, &g);

	if (rc < 0) {
		/* without a session the name lookup failed, and said so */
		if (s)
			fprintf(stderr, "kasten smtp-send: %s\n",
			        g.code              ? g.line
			        : smtpc_error(s)[0] ? smtpc_error(s)
			                            : err_str(rc));
		if (s && g.code)
			(void)smtpc_quit(s); /* a refusing greeting: leave politely */
		smtpc_free(&s);
		return 1;
	}
	rc = send_prepare(o, s, &tls, pw);
	if (rc < 0) {
		(void)smtpc_quit(s); /* the error is already reported */
		smtpc_free(&s);
		return 1;
	}
	rc = smtpc_send(s, m, o->rcpts, o->n_rcpts, &final);
	if (rc == ERR_INVAL)
		fprintf(stderr, "kasten smtp-send: %s\n", smtpc_error(s));
	else if (rc == ERR_IO)
		fprintf(stderr, "kasten smtp-send: %s\n", smtpc_error(s));
	bool all = rc != ERR_INVAL && send_report(o, &final);
	(void)smtpc_quit(s); /* the results are known; QUIT's answer changes none */
	smtpc_free(&s);
	return all ? 0 : 1;
}

int cmd_smtp_send(int argc, char **argv)
{
	struct send_opts *o = calloc(1, sizeof(*o));
	char pw[LIMIT_CLIENT_PASSWORD + 2] = "";
	SSL_CTX *ctx = NULL;
	struct smtpc_msg m = {0};
	int fd = -1, rc;
	bool eight = false;

	if (!o || !(o->rcpts = calloc(LIMIT_SMTPC_RCPTS, sizeof(*o->rcpts)))) {
		fprintf(stderr, "kasten smtp-send: out of memory\n");
		free(o);
		return 1;
	}
	/* OpenSSL writes to the socket with write(2): a peer that hung up must give an
	 * error, not end the process */
	(void)signal(SIGPIPE, SIG_IGN);
	rc = parse_args(o, argc, argv);
	if (rc == 0 && open_message(o, &fd, &m.size, &eight) < 0)
		rc = 1;
	if (rc == 0 && o->password_file && read_password(o->password_file, pw, sizeof(pw)) < 0)
		rc = 1;
	if (rc == 0) {
		char err[LIMIT_SMTPC_ERROR];
		if (smtpc_tls_ctx_new(o->ca_file, &ctx, err, sizeof(err)) < 0) {
			fprintf(stderr, "kasten smtp-send: %s\n", err);
			rc = 1;
		}
	}
	if (rc == 0) {
		m.sender = o->from ? o->from : "";
		m.envid = o->envid;
		m.ret = o->ret;
		m.body = o->body_set ? o->body : eight ? SMTPC_BODY_8BITMIME : SMTPC_BODY_7BIT;
		m.smtputf8 = o->smtputf8_set || any_8bit(m.sender);
		m.requiretls = o->requiretls;
		m.fd = fd;
		for (size_t i = 0; i < o->n_rcpts; i++) {
			o->rcpts[i].notify = o->notify;
			m.smtputf8 = m.smtputf8 || any_8bit(o->rcpts[i].address);
		}
		rc = send_run(o, &m, ctx, pw);
	}
	OPENSSL_cleanse(pw, sizeof(pw));
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	free(o->rcpts);
	free(o);
	if (fflush(stdout) != 0 && rc == 0)
		rc = 1;
	return rc;
}
