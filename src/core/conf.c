/* conf.c: INI parsing into struct conf. Strings are process-lifetime (malloc, never
 * freed); that is the one lifetime config has. */
#include "conf.h"

#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "limits.h"
#include "log.h"
#include "str.h"
#include "banned.h"

static struct conf *current;

/* RFC 5321 4.5.4.1: at least 30 minutes between tries; ours grow to 4 hours, so that a
 * short outage costs little delay and a long one few connections. */
#define CONF_RETRY_SCHEDULE "5m,10m,20m,40m,1h,2h,4h"

static char *dup_or_die(const char *s)
{
	char *d = strdup(s);
	if (!d)
		die("out of memory reading config");
	return d;
}

void conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->data = dup_or_die("./kasten-data");
	c->hostname = dup_or_die("localhost");
	c->log_level = dup_or_die("info");
	c->smtp = dup_or_die("127.0.0.1:2525");
	c->submission = dup_or_die("127.0.0.1:1587");
	c->submissions = dup_or_die("127.0.0.1:1465");
	c->lmtp = dup_or_die("127.0.0.1:2424");
	c->imap = dup_or_die("127.0.0.1:1143");
	c->imaps = dup_or_die("127.0.0.1:1993");
	c->pop3 = dup_or_die("127.0.0.1:1110");
	c->pop3s = dup_or_die("127.0.0.1:1995");
	c->http = dup_or_die("127.0.0.1:8080");
	c->https = dup_or_die("127.0.0.1:8443");
	c->admin = dup_or_die("127.0.0.1:9090");
	c->http_timeout = LIMIT_TIMEOUT_HTTP;
	c->http_max_upload_size = LIMIT_HTTP_UPLOAD;
	c->http_session_days = LIMIT_JMAP_SESSION_DAYS;
	c->max_message_size = LIMIT_MESSAGE_SIZE;
	c->max_recipients = LIMIT_SMTP_RCPTS;
	c->login_timeout = LIMIT_TIMEOUT_LOGIN;
	c->smtp_timeout = LIMIT_TIMEOUT_SMTP;
	c->pop3_timeout = LIMIT_TIMEOUT_POP3;
	c->imap_timeout = LIMIT_TIMEOUT_IMAP;
	c->max_conns_per_ip = LIMIT_CONNS_PER_CLIENT;
	c->max_unauth_per_ip = LIMIT_UNAUTH_PER_CLIENT;
	c->plaintext_loopback = true;
	c->warn_percent = 90;
	c->pop3_enabled = true;
	c->backend = dup_or_die("sqlite");
	c->postmaster = dup_or_die("postmaster@localhost"); /* postmaster@ the hostname */
	c->submission_check_from = true;
	c->submission_max_rcpts = LIMIT_SUBMIT_RCPTS;
	c->submission_max_per_hour = LIMIT_SUBMIT_PER_HOUR;
	c->dns_dnssec = true;
	c->dns_timeout = LIMIT_DNS_QUERY_TIME;
	c->checks_spf = c->checks_dkim = c->checks_dmarc = c->checks_dmarc_reject = true;
	c->outbound_relay_tls = true;
	c->outbound_remote_port = 25;
	c->outbound_retry_schedule = dup_or_die(CONF_RETRY_SCHEDULE);
	c->outbound_retry_n = (unsigned)conf_duration_list(
		CONF_RETRY_SCHEDULE, c->outbound_retry, LIMIT_OUTBOUND_RETRY_STEPS);
	c->outbound_give_up = 5 * 86400;
	c->outbound_delay_notice = 4 * 3600;
	c->outbound_max_connections = 32;
	c->outbound_destination_connections = 4;
	c->outbound_mta_sts_port = 443;
	/* RFC 5321 4.5.3.2: at least 5 minutes for a reply, 10 for the one after the data */
	c->outbound_connect_timeout = 30;
	c->outbound_command_timeout = 300;
	c->outbound_data_timeout = 600;
}

int conf_duration(const char *s, unsigned *seconds_out)
{
	size_t n = strlen(s);
	uint64_t unit = 1, v;
	if (n > 1) {
		switch (s[n - 1]) {
		case 's': unit = 1; n--; break;
		case 'm': unit = 60; n--; break;
		case 'h': unit = 3600; n--; break;
		case 'd': unit = 86400; n--; break;
		default: break;
		}
	}
	if (str_to_u64(s, n, LIMIT_CONF_DURATION / unit, &v) < 0)
		return ERR_BAD_SYNTAX;
	*seconds_out = (unsigned)(v * unit);
	return 0;
}

int conf_duration_list(const char *s, unsigned *out, unsigned max)
{
	unsigned count = 0;
	for (;;) {
		while (*s == ' ')
			s++;
		size_t n = strcspn(s, ",");
		size_t end = n;
		while (end > 0 && s[end - 1] == ' ')
			end--;
		char item[32];
		if (count == max || end == 0 || end >= sizeof(item) ||
		    snprintf(item, sizeof(item), "%.*s", (int)end, s) != (int)end)
			return ERR_BAD_SYNTAX;
		if (conf_duration(item, &out[count]) < 0 || out[count] == 0)
			return ERR_BAD_SYNTAX;
		count++;
		if (!s[n])
			return (int)count;
		s += n + 1;
	}
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return ERR_BAD_SYNTAX;
	return 0;
}

static int parse_uint(const char *v, unsigned max, unsigned *out)
{
	uint64_t n;
	if (str_to_u64(v, strlen(v), max, &n) < 0)
		return ERR_BAD_SYNTAX;
	*out = (unsigned)n;
	return 0;
}

/* An empty value switches a listener off. */
static void set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = *v ? dup_or_die(v) : NULL;
}

struct key {
	const char *section, *name;
	enum { K_STR, K_BOOL, K_UINT, K_SIZE, K_DURATION } type;
	size_t off;
	unsigned max;
};

#define O(f) offsetof(struct conf, f)
static const struct key keys[] = {
	{"server", "data", K_STR, O(data), 0},
	{"server", "hostname", K_STR, O(hostname), 0},
	{"server", "threads", K_UINT, O(threads), 256},
	{"server", "user", K_STR, O(user), 0},
	{"server", "log_level", K_STR, O(log_level), 0},
	{"listen", "smtp", K_STR, O(smtp), 0},
	{"listen", "submission", K_STR, O(submission), 0},
	{"listen", "submissions", K_STR, O(submissions), 0},
	{"listen", "lmtp", K_STR, O(lmtp), 0},
	{"listen", "imap", K_STR, O(imap), 0},
	{"listen", "imaps", K_STR, O(imaps), 0},
	{"listen", "pop3", K_STR, O(pop3), 0},
	{"listen", "pop3s", K_STR, O(pop3s), 0},
	{"listen", "http", K_STR, O(http), 0},
	{"listen", "https", K_STR, O(https), 0},
	{"listen", "admin", K_STR, O(admin), 0},
	{"tls", "cert", K_STR, O(tls_cert), 0},
	{"tls", "key", K_STR, O(tls_key), 0},
	{"limits", "max_message_size", K_SIZE, O(max_message_size), 0},
	{"limits", "max_recipients", K_UINT, O(max_recipients), 100000},
	{"limits", "login_timeout", K_UINT, O(login_timeout), 3600},
	{"limits", "smtp_timeout", K_UINT, O(smtp_timeout), 3600},
	{"limits", "pop3_timeout", K_UINT, O(pop3_timeout), 3600},
	{"limits", "imap_timeout", K_UINT, O(imap_timeout), 7200},
	{"limits", "http_timeout", K_UINT, O(http_timeout), 3600},
	{"limits", "max_connections_per_ip", K_UINT, O(max_conns_per_ip), 1000000},
	{"limits", "max_unauthenticated_per_ip", K_UINT, O(max_unauth_per_ip), 1000000},
	{"auth", "plaintext_loopback", K_BOOL, O(plaintext_loopback), 0},
	{"auth", "plaintext_anywhere", K_BOOL, O(plaintext_anywhere), 0},
	{"quota", "default", K_SIZE, O(default_quota), 0},
	{"quota", "warn_percent", K_UINT, O(warn_percent), 100},
	{"pop3", "enabled", K_BOOL, O(pop3_enabled), 0},
	{"pop3", "expire_days", K_UINT, O(pop3_expire_days), 36500},
	{"http", "max_upload_size", K_SIZE, O(http_max_upload_size), 0},
	{"http", "session_days", K_UINT, O(http_session_days), LIMIT_JMAP_SESSION_DAYS_MAX},
	{"store", "backend", K_STR, O(backend), 0},
	/* sender and postmaster policy */
	{"server", "postmaster", K_STR, O(postmaster), 0},
	{"submission", "check_from", K_BOOL, O(submission_check_from), 0},
	{"submission", "max_recipients", K_UINT, O(submission_max_rcpts), 100000},
	{"submission", "max_messages_per_hour", K_UINT, O(submission_max_per_hour),
	 LIMIT_SUBMIT_PER_HOUR_MAX},
	{"smtp", "allow_local_sender", K_BOOL, O(smtp_allow_local_sender), 0},
	{"dns", "resolver", K_STR, O(dns_resolver), 0},
	{"dns", "trust_anchor", K_STR, O(dns_trust_anchor), 0},
	{"dns", "dnssec", K_BOOL, O(dns_dnssec), 0},
	{"dns", "timeout", K_UINT, O(dns_timeout), LIMIT_DNS_QUERY_TIME},
	{"checks", "spf", K_BOOL, O(checks_spf), 0},
	{"checks", "dkim", K_BOOL, O(checks_dkim), 0},
	{"checks", "dmarc", K_BOOL, O(checks_dmarc), 0},
	{"checks", "dmarc_reject", K_BOOL, O(checks_dmarc_reject), 0},
	{"outbound", "relay", K_STR, O(outbound_relay), 0},
	{"outbound", "relay_user", K_STR, O(outbound_relay_user), 0},
	{"outbound", "relay_password_file", K_STR, O(outbound_relay_password_file), 0},
	{"outbound", "relay_tls", K_BOOL, O(outbound_relay_tls), 0},
	{"outbound", "remote_port", K_UINT, O(outbound_remote_port), 65535},
	{"outbound", "retry_schedule", K_STR, O(outbound_retry_schedule), 0},
	{"outbound", "give_up", K_DURATION, O(outbound_give_up), 0},
	{"outbound", "delay_notice", K_DURATION, O(outbound_delay_notice), 0},
	{"outbound", "max_connections", K_UINT, O(outbound_max_connections), 4096},
	{"outbound", "destination_connections", K_UINT, O(outbound_destination_connections),
	 4096},
	{"outbound", "destination_rate", K_UINT, O(outbound_destination_rate), 1000000},
	{"outbound", "mta_sts_port", K_UINT, O(outbound_mta_sts_port), 65535},
	{"outbound", "mta_sts_ca_file", K_STR, O(outbound_mta_sts_ca_file), 0},
	{"outbound", "helo_name", K_STR, O(outbound_helo_name), 0},
	{"outbound", "connect_timeout", K_DURATION, O(outbound_connect_timeout), 0},
	{"outbound", "command_timeout", K_DURATION, O(outbound_command_timeout), 0},
	{"outbound", "data_timeout", K_DURATION, O(outbound_data_timeout), 0},
};

struct load_ctx {
	struct conf *c;
	const char *path;
	int error;
};

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *lc = user;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key *k = &keys[i];
		if (strcmp(k->section, section) || strcmp(k->name, name))
			continue;
		void *slot = (char *)lc->c + k->off;
		int r = 0;
		switch (k->type) {
		case K_STR: set_str(slot, value); break;
		case K_BOOL: r = parse_bool(value, slot); break;
		case K_UINT: r = parse_uint(value, k->max, slot); break;
		case K_SIZE: r = str_parse_size(value, slot); break;
		case K_DURATION: r = conf_duration(value, slot); break;
		}
		if (r < 0) {
			log_err("config %s: [%s] %s = %s: bad value", lc->path, section, name, value);
			lc->error = ERR_BAD_SYNTAX;
		}
		return 1;
	}
	log_err("config %s: unknown key [%s] %s", lc->path, section, name);
	lc->error = ERR_BAD_SYNTAX;
	return 1; /* keep going: report every bad key at once */
}

/* "ADDR:PORT" with a port of 1..65535 (the address itself is resolved at bind time). */
static bool listen_ok(const char *v)
{
	const char *colon = strrchr(v, ':');
	uint64_t port;
	return colon && colon != v && str_to_u64(colon + 1, strlen(colon + 1), 65535, &port) == 0 &&
	       port > 0;
}

/* [server] postmaster: a mailbox (local@domain); unset or empty: postmaster@ the
 * hostname the file configured, wherever in the file the two keys stand. */
static int postmaster_load(struct conf *c, const char *path)
{
	if (!c->postmaster) {
		char pm[LIMIT_ADDRESS + 1];
		int n = snprintf(pm, sizeof(pm), "postmaster@%s", c->hostname ? c->hostname : "");
		if (n < 0 || (size_t)n >= sizeof(pm)) {
			log_err("config %s: [server] hostname too long", path);
			return ERR_BAD_SYNTAX;
		}
		set_str(&c->postmaster, pm);
	}
	const char *at = strrchr(c->postmaster, '@');
	if (!at || at == c->postmaster || !at[1] || strlen(c->postmaster) > LIMIT_ADDRESS ||
	    strpbrk(c->postmaster, " \t<>")) {
		log_err("config %s: [server] postmaster = %s: want a mailbox local@domain", path,
			c->postmaster);
		return ERR_BAD_SYNTAX;
	}
	return 0;
}

/* [outbound]: the schedule parsed, the relay's form, nothing that must not be zero. */
static int outbound_load(struct conf *c, const char *path)
{
	int n = c->outbound_retry_schedule
			? conf_duration_list(c->outbound_retry_schedule, c->outbound_retry,
					     LIMIT_OUTBOUND_RETRY_STEPS)
			: ERR_BAD_SYNTAX;
	if (n < 0) {
		log_err("config %s: [outbound] retry_schedule: want a comma list of 1 to %u "
			"durations such as 5m,1h",
			path, LIMIT_OUTBOUND_RETRY_STEPS);
		return ERR_BAD_SYNTAX;
	}
	c->outbound_retry_n = (unsigned)n;
	if (c->outbound_relay && !listen_ok(c->outbound_relay)) {
		log_err("config %s: [outbound] relay = %s: want HOST:PORT", path,
			c->outbound_relay);
		return ERR_BAD_SYNTAX;
	}
	if (c->outbound_relay_user && !c->outbound_relay_password_file) {
		log_err("config %s: [outbound] relay_user needs relay_password_file", path);
		return ERR_BAD_SYNTAX;
	}
	if (!c->outbound_remote_port || !c->outbound_mta_sts_port ||
	    !c->outbound_max_connections || !c->outbound_destination_connections ||
	    !c->outbound_give_up || !c->outbound_connect_timeout ||
	    !c->outbound_command_timeout || !c->outbound_data_timeout) {
		log_err("config %s: [outbound] ports, connection counts, give_up and timeouts "
			"must not be 0",
			path);
		return ERR_BAD_SYNTAX;
	}
	return 0;
}

int conf_load(struct conf *c, const char *path)
{
	struct load_ctx lc = {c, path, 0};
	/* A config file names every listener it wants: one it leaves out is off, never a
	 * default port nobody asked for. */
	char **listeners[] = {&c->smtp, &c->submission, &c->submissions, &c->lmtp, &c->imap,
			      &c->imaps, &c->pop3, &c->pop3s, &c->http, &c->https,
			      &c->admin};
	for (size_t i = 0; i < sizeof(listeners) / sizeof(listeners[0]); i++)
		set_str(listeners[i], "");
	set_str(&c->postmaster, ""); /* derived from the hostname unless the file sets it */
	int r = ini_parse(path, on_key, &lc);
	if (r < 0) {
		log_err("config %s: cannot open", path);
		return ERR_IO;
	}
	if (r > 0) {
		log_err("config %s: syntax error on line %d", path, r);
		return ERR_BAD_SYNTAX;
	}
	if (lc.error)
		return lc.error;
	for (size_t i = 0; i < sizeof(listeners) / sizeof(listeners[0]); i++) {
		if (*listeners[i] && !listen_ok(*listeners[i])) {
			log_err("config %s: [listen] %s: want ADDR:PORT with a port of 1 to 65535",
				path, *listeners[i]);
			return ERR_BAD_SYNTAX;
		}
	}
	/* the address itself is checked where the resolver starts (dns_parse_server) */
	if (c->dns_resolver && !listen_ok(c->dns_resolver)) {
		log_err("config %s: [dns] resolver = %s: want ADDR:PORT or [IPv6]:PORT", path,
			c->dns_resolver);
		return ERR_BAD_SYNTAX;
	}
	unsigned *timeouts[] = {&c->login_timeout, &c->smtp_timeout, &c->pop3_timeout,
				&c->imap_timeout, &c->http_timeout, &c->dns_timeout};
	for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		if (*timeouts[i] == 0) {
			log_err("config %s: [limits] and [dns] timeouts must be at least 1 second",
				path);
			return ERR_BAD_SYNTAX;
		}
	}
	if (c->http_max_upload_size == 0 || c->http_max_upload_size > LIMIT_HTTP_UPLOAD_MAX) {
		log_err("config %s: [http] max_upload_size out of range", path);
		return ERR_BAD_SYNTAX;
	}
	if (c->http_session_days == 0) {
		log_err("config %s: [http] session_days must be at least 1", path);
		return ERR_BAD_SYNTAX;
	}
	if (c->max_message_size == 0 || c->max_message_size > LIMIT_MESSAGE_SIZE * 20ull) {
		log_err("config %s: [limits] max_message_size out of range", path);
		return ERR_BAD_SYNTAX;
	}
	r = outbound_load(c, path);
	return r < 0 ? r : postmaster_load(c, path);
}

const struct conf *conf_get(void)
{
	return current;
}

void conf_set(struct conf *c)
{
	current = c;
}
