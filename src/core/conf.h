/* conf.h: the configuration, read once at startup (INI via libinih) and then read-only.
 * Every key is documented in docs/config.md; conf_load() rejects unknown keys so a typo
 * never silently falls back to a default. */
#ifndef KASTEN_CONF_H
#define KASTEN_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "limits.h"

struct conf {
	/* [server] */
	char *data;            /* data directory */
	char *hostname;        /* greeting and Received: name */
	unsigned threads;      /* event-loop threads, 0 = one per core */
	char *user;            /* drop privileges to this user when started as root */
	char *log_level;       /* error|warn|info|debug */
	/* [listen]: "ADDR:PORT", NULL = off */
	char *smtp, *submission, *submissions, *lmtp, *imap, *imaps, *pop3, *pop3s, *http;
	char *https; /* implicit TLS with the [tls] context */
	char *admin; /* /metrics and /healthz only: never expose it publicly */
	/* [tls] */
	char *tls_cert, *tls_key; /* NULL: self-signed pair generated in the data dir */
	/* [limits] */
	uint64_t max_message_size;
	unsigned max_recipients;
	unsigned login_timeout, smtp_timeout, pop3_timeout, imap_timeout; /* seconds */
	unsigned http_timeout; /* seconds an HTTP connection may sit idle */
	unsigned max_conns_per_ip, max_unauth_per_ip; /* per IPv4 address or IPv6 /64 */
	/* [auth] */
	bool plaintext_loopback; /* allow AUTH/USER/PASS without TLS from 127.0.0.0/8, ::1 */
	bool plaintext_anywhere; /* allow it from anywhere (not recommended) */
	/* [quota] */
	uint64_t default_quota;  /* for `user add` without --quota; 0 = unlimited */
	unsigned warn_percent;
	/* [pop3] */
	bool pop3_enabled;
	unsigned pop3_expire_days; /* 0 = never */
	/* [http] */
	uint64_t http_max_upload_size; /* bytes of one body to /jmap/upload/ */
	unsigned http_session_days;    /* idle days until a webmail/JMAP login token expires */
	/* [store] */
	char *backend;
	/* Sender and postmaster policy: [server] postmaster, [submission] check_from,
	 * [smtp] allow_local_sender (docs/config.md) */
	char *postmaster;             /* RFC 5321 4.5.1 mailbox; never NULL after loading */
	bool submission_check_from;   /* header From: must be the account's or an alias */
	unsigned submission_max_rcpts;    /* [submission] max_recipients, per message */
	unsigned submission_max_per_hour; /* [submission] max_messages_per_hour, per account */
	bool smtp_allow_local_sender; /* port 25: MAIL FROM a local domain without AUTH */
	/* [dns] (src/outbound/dns.h) */
	char *dns_resolver;     /* "ADDR:PORT" every query goes to; NULL: recursion */
	char *dns_trust_anchor; /* DNSSEC trust anchor file; NULL: Debian's root key */
	bool dns_dnssec;        /* validate (default); no: every answer insecure */
	unsigned dns_timeout;   /* seconds per query (LIMIT_DNS_QUERY_TIME) */
	/* [checks]: SPF, DKIM, DMARC on port 25 (src/outbound/authres.h), default yes */
	bool checks_spf, checks_dkim, checks_dmarc;
	bool checks_dmarc_reject; /* 550 for a DMARC fail under p=reject */
	/* [outbound] (src/outbound/out.h); durations in seconds (conf_duration) */
	char *outbound_relay;               /* "host:port" smarthost; NULL: MX delivery */
	char *outbound_relay_user;          /* AUTH on the relay; NULL: no AUTH */
	char *outbound_relay_password_file; /* the relay password, first line of the file */
	bool outbound_relay_tls;            /* STARTTLS required on the relay (default yes) */
	unsigned outbound_remote_port;      /* port on MX hosts (25) */
	char *outbound_retry_schedule;      /* as written, e.g. "5m,10m,20m" */
	unsigned outbound_retry[LIMIT_OUTBOUND_RETRY_STEPS]; /* its waits; the last repeats */
	unsigned outbound_retry_n;          /* 1..LIMIT_OUTBOUND_RETRY_STEPS */
	unsigned outbound_give_up;          /* fail deferred mail this long after queueing */
	unsigned outbound_delay_notice;     /* delay DSN after this long; 0 = none */
	unsigned outbound_max_connections;  /* sending connections (worker threads) in all */
	unsigned outbound_destination_connections; /* ... to one destination at once */
	unsigned outbound_destination_rate; /* messages per minute to one destination, 0 = any */
	unsigned outbound_mta_sts_port;     /* HTTPS port of mta-sts.<domain> (443) */
	char *outbound_mta_sts_ca_file;     /* CAs for MTA-STS policy and MX certificates;
					     * NULL: the system's store */
	char *outbound_helo_name;           /* EHLO name; NULL: [server] hostname */
	unsigned outbound_connect_timeout, outbound_command_timeout, outbound_data_timeout;
};

/* Defaults = the embedded configuration `kasten serve` runs without --config. */
void conf_defaults(struct conf *c);
/* Read path over the defaults. Errors name file, line and key. */
int conf_load(struct conf *c, const char *path);
/* The process-wide configuration (set once at startup by conf_set). */
const struct conf *conf_get(void);
void conf_set(struct conf *c);

/* A duration: digits with an optional unit s, m, h or d ("30s", "5m", "4h", "5d"; plain
 * digits are seconds), at most LIMIT_CONF_DURATION seconds. 0 or ERR_BAD_SYNTAX. */
int conf_duration(const char *s, unsigned *seconds_out);
/* A comma list of durations (spaces around items allowed), 1..max items, each > 0.
 * Returns the count (>0) or ERR_BAD_SYNTAX. */
int conf_duration_list(const char *s, unsigned *out, unsigned max);

#endif
