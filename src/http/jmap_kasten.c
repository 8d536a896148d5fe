/* jmap_kasten.c: Activity/get and ClientSettings/get (jmap_kasten.h), the data of the
 * webmail's "devices and activity" and "client settings" pages. Both answer from what
 * the server already keeps: the store's bounded activity log (LIMIT_ACTIVITY_ROWS of
 * each kind, LIMIT_ACTIVITY_DAYS) and the running configuration, so a client sees the
 * same ports, security and POP3 policy that autoconfig and `kasten dns` announce. */
#include "http/jmap_kasten.h"

#include <string.h>

#include "core/arena.h"
#include "core/banned.h"
#include "core/conf.h"
#include "core/conf_services.h"
#include "core/err.h"
#include "http/jmap.h"
#include "store/store.h"

/* Both take nothing but accountId: anything else is a client's mistake to learn of. */
static int args_check(struct jmap_ctx *x, json_t *args)
{
	if (jmap_account_check(x, args) < 0)
		return ERR_INVAL;
	const char *k;
	json_t *v;
	json_object_foreach(args, k, v) if (strcmp(k, "accountId") != 0) return jmap_method_error(
	    x, "invalidArguments", arena_printf(x->a, "unknown argument %s", k));
	return 0;
}

/* ---- Activity/get ---- */

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *activity_item(const struct store_activity *e)
{
	if (e->kind == STORE_ACT_REMOVED)
		return json_pack("{s:s,s:s,s:o,s:o,s:I,s:I,s:o}", "kind", "removed", "protocol",
		                 e->protocol, "client", string_or_null(e->client), "address",
		                 string_or_null(e->address), "count", (json_int_t)e->count, "bytes",
		                 (json_int_t)e->bytes, "at", jmap_utc_date(e->last_seen));
	json_t *first = jmap_utc_date(e->first_seen), *last = jmap_utc_date(e->last_seen);
	if (!first || !last) {
		json_decref(first);
		json_decref(last);
		return NULL;
	}
	return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o}", "kind", "seen", "protocol", e->protocol,
	                 "client", string_or_null(e->client), "address", string_or_null(e->address),
	                 "firstSeen", first, "lastSeen", last);
}

int jmap_activity_get(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct store_activity *acts;
	size_t n;
	if (args_check(x, args) < 0)
		return ERR_INVAL;
	if (store_activity_list(x->env, x->account_id, x->a, &acts, &n) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	json_t *list = json_array();
	for (size_t i = 0; list && i < n; i++) {
		json_t *item = activity_item(&acts[i]);
		if (!item || json_array_append_new(list, item) < 0) {
			json_decref(list);
			list = NULL;
		}
	}
	if (!list)
		return jmap_method_error(x, "serverFail", "out of memory");
	*result_out = json_pack("{s:s,s:o}", "accountId", x->account_str, "list", list);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}

/* ---- ClientSettings/get ---- */

static json_t *service_item(const struct conf_service *s, const char *host)
{
	const char *proto = s->proto == CONF_SERVICE_IMAP   ? "imap"
	                    : s->proto == CONF_SERVICE_POP3 ? "pop3"
	                                                    : "smtp";
	/* kasten offers STARTTLS on every listener without implicit TLS ([tls] or the
	 * self-signed pair), so "plain" never describes one of ours */
	return json_pack("{s:s,s:s,s:i,s:s}", "protocol", proto, "host", host, "port", (int)s->port,
	                 "security", s->implicit_tls ? "tls" : "starttls");
}

/* The server's own public URL: the https listener when there is one (the scheme a phone
 * following the QR code should use), else http; the port left out when it is the
 * scheme's default. NULL when neither listens (then no web page asked). */
static const char *public_base(struct jmap_ctx *x, const struct conf *c)
{
	unsigned port = conf_listen_port(c->https);
	const char *scheme = "https";
	unsigned dflt = 443;
	if (!port) {
		port = conf_listen_port(c->http);
		scheme = "http";
		dflt = 80;
	}
	if (!port)
		return NULL;
	if (port == dflt)
		return arena_printf(x->a, "%s://%s", scheme, c->hostname);
	return arena_printf(x->a, "%s://%s:%u", scheme, c->hostname, port);
}

/* s percent-encoded for a query value (RFC 3986 2.3: unreserved characters stay). */
static const char *query_escape(struct arena *a, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = arena_alloc(a, 3 * n + 1), *o = out;
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

static json_t *settings_object(struct jmap_ctx *x, const struct conf *c, bool pop3_on)
{
	struct conf_service svc[CONF_SERVICES];
	conf_services(c, svc);
	json_t *in = json_array(), *out = json_array();
	int rc = in && out ? 0 : -1;
	for (size_t i = 0; i < CONF_SERVICES && rc == 0; i++) {
		if (!svc[i].port || (svc[i].proto == CONF_SERVICE_POP3 && !pop3_on))
			continue;
		rc = json_array_append_new(svc[i].proto == CONF_SERVICE_SUBMISSION ? out : in,
		                           service_item(&svc[i], c->hostname));
	}
	const char *base = public_base(x, c), *addr = query_escape(x->a, x->address);
	json_t *autoconfig = json_null(), *mobileconfig = json_null();
	if (base && addr) {
		autoconfig = json_pack("s+++", base, "/.well-known/autoconfig/mail/config-v1.1.xml",
		                       "?emailaddress=", addr);
		mobileconfig = json_pack("s++", base, "/mobileconfig?email=", addr);
	}
	if (rc < 0 || !addr) {
		json_decref(in);
		json_decref(out);
		json_decref(autoconfig);
		json_decref(mobileconfig);
		return NULL;
	}
	json_t *expire = c->pop3_expire_days ? json_integer(c->pop3_expire_days) : json_null();
	return json_pack("{s:s,s:o,s:o,s:{s:b,s:o},s:o,s:o}", "accountId", x->account_str,
	                 "incoming", in, "outgoing", out, "pop3", "enabled", pop3_on, "expireDays",
	                 expire, "autoconfigUrl", autoconfig, "mobileconfigUrl", mobileconfig);
}

int jmap_client_settings_get(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	const struct conf *c = conf_get();
	struct store_account acct;
	if (args_check(x, args) < 0)
		return ERR_INVAL;
	if (store_account_get_id(x->env, x->account_id, x->a, &acct) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	/* POP3 is this account's when the server offers it (conf_services leaves its
	 * ports 0 when [pop3] enabled = no) and the account is not switched off */
	bool pop3_on = acct.pop3_enabled && c->pop3_enabled &&
	               (conf_listen_port(c->pop3) || conf_listen_port(c->pop3s));
	*result_out = settings_object(x, c, pop3_on);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}
