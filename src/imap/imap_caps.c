/* imap_caps.c: what the server says about itself and the commands of any state:
 * CAPABILITY (RFC 9051 6.1.1), NOOP and CHECK (6.1.2; rev1 CHECK is a NOOP here, every
 * change being on disk when it is answered), LOGOUT (6.1.3), ID (RFC 2971), ENABLE
 * (RFC 5161) and COMPRESS (RFC 4978). The capability list depends on the state: before
 * login it shows how to log in (STARTTLS, LOGINDISABLED, AUTH=); after, the extensions. */
#include "imap_int.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/auth_activity.h"
#include "core/conf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/str.h"
#include "core/banned.h"

/* The extensions of an authenticated session (docs/compliance.md lists each). */
#define CAPS_AUTHENTICATED                                                                    \
	"IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE IDLE LITERAL+ LITERAL- NAMESPACE UIDPLUS MOVE " \
	"UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS "         \
	"MULTIAPPEND ESEARCH SEARCHRES SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT "              \
	"THREAD=REFERENCES WITHIN QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE STATUS=SIZE "     \
	"BINARY UTF8=ACCEPT CONDSTORE QRESYNC OBJECTID SAVEDATE PREVIEW"

const char *imap_capabilities(struct imap_session *s)
{
	static _Thread_local char caps[1024];
	if (s->state != IMAP_STATE_NOTAUTH) {
		(void)snprintf(caps, sizeof(caps), "%s APPENDLIMIT=%llu%s", CAPS_AUTHENTICATED,
			       (unsigned long long)conf_get()->max_message_size,
			       net_conn_is_compressed(s->c) ? "" : " COMPRESS=DEFLATE");
		return caps;
	}
	bool tls = net_conn_is_tls(s->c);
	(void)snprintf(caps, sizeof(caps), "IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE IDLE LITERAL-%s%s",
		       tls ? "" : " STARTTLS",
		       imap_cleartext_ok(s) ? " AUTH=PLAIN AUTH=LOGIN" : " LOGINDISABLED");
	return caps;
}

int imap_cmd_capability(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_untagged(s, "CAPABILITY %s", imap_capabilities(s));
	imap_done(s, "OK Capability completed");
	return 0;
}

int imap_cmd_noop(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_done(s, "OK %s completed", cmd->verb == IMAP_VERB_CHECK ? "Check" : "NOOP");
	return 0;
}

int imap_cmd_logout(struct imap_session *s, struct imap_cmd *cmd)
{
	s->state = IMAP_STATE_LOGOUT;
	imap_untagged(s, "BYE %s kasten IMAP signing off", conf_get()->hostname);
	imap_tagged(s, "OK Logout completed");
	net_conn_close(s->c);
	return 0;
}

/* The ID parameter key (case-insensitive, RFC 2971 3.3), or NULL. */
static const struct imap_id_param *id_param(const struct imap_id_param *p, size_t n,
					    const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].value && str_ieq(p[i].key, p[i].key_len, key))
			return &p[i];
	return NULL;
}

/* "name version" from the ID parameters into the session arena, at most
 * LIMIT_ACTIVITY_STRING bytes (the store makes it printable); NULL without a name. */
static const char *id_client(struct imap_session *s, const struct imap_id_param *p, size_t n)
{
	const struct imap_id_param *name = id_param(p, n, "name");
	const struct imap_id_param *version = id_param(p, n, "version");
	if (!name || name->value_len == 0)
		return NULL;
	char buf[LIMIT_ACTIVITY_STRING + 1];
	int w = snprintf(buf, sizeof(buf), "%.*s%s%.*s",
			 (int)(name->value_len < LIMIT_ACTIVITY_STRING ? name->value_len
								      : LIMIT_ACTIVITY_STRING),
			 name->value, version ? " " : "",
			 version ? (int)(version->value_len < LIMIT_ACTIVITY_STRING
					     ? version->value_len
					     : LIMIT_ACTIVITY_STRING)
				 : 0,
			 version ? version->value : "");
	if (w < 0)
		return NULL;
	return arena_strdup(&s->sa, buf); /* snprintf cut it to the bound */
}

/* RFC 2971: we say who we are. What the client says is logged (escaped), and its name
 * and version go to the account's activity log: at login, or now when logged in (once
 * per new name: repeating ID writes nothing). */
int imap_cmd_id(struct imap_session *s, struct imap_cmd *cmd)
{
	struct imap_id_param *params;
	size_t n;
	if (imap_parse_id(cmd->args, &s->ca, &params, &n) < 0) {
		imap_bad(s, "Invalid ID parameters");
		return 0;
	}
	for (size_t i = 0; i < n && log_debug_enabled(LOGC_PROTO); i++) {
		char k[512], v[512];
		log_debug(LOGC_PROTO, "client id %s=%s", log_esc(k, params[i].key, params[i].key_len),
			  params[i].value ? log_esc(v, params[i].value, params[i].value_len) : "NIL");
	}
	const char *client = id_client(s, params, n);
	if (client && (!s->client_id || strcmp(client, s->client_id) != 0)) {
		s->client_id = client;
		if (s->state != IMAP_STATE_NOTAUTH)
			auth_activity_seen(s->c, imap_env, s->account, "imap", client);
	}
	imap_untagged(s, "ID (\"name\" \"kasten\" \"version\" \"" KASTEN_VERSION "\")");
	imap_done(s, "OK ID completed");
	return 0;
}

/* RFC 5161 3: only capabilities that change behaviour are enabled; the response lists
 * those that were (newly) enabled. */
int imap_cmd_enable(struct imap_session *s, struct imap_cmd *cmd)
{
	unsigned caps;
	const char *why = NULL;
	if (imap_parse_enable(cmd, &caps, &why) < 0) {
		imap_tagged(s, "%s", why ? why : "BAD ENABLE takes capability names");
		return 0;
	}
	static const struct {
		unsigned bit;
		const char *name;
		size_t field;
	} known[] = {
		{IMAP_ENABLE_IMAP4REV2, "IMAP4rev2", offsetof(struct imap_session, rev2)},
		{IMAP_ENABLE_UTF8_ACCEPT, "UTF8=ACCEPT", offsetof(struct imap_session, utf8)},
		{IMAP_ENABLE_CONDSTORE, "CONDSTORE", offsetof(struct imap_session, condstore)},
		{IMAP_ENABLE_QRESYNC, "QRESYNC", offsetof(struct imap_session, qresync)},
	};
	char list[256] = "";
	size_t len = 0;
	bool condstore = s->condstore; /* before: enabling it says HIGHESTMODSEQ */
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		bool *flag = (bool *)((char *)s + known[i].field);
		if (!(caps & known[i].bit) || *flag)
			continue; /* not asked, or enabled before: not listed (RFC 5161 3.1) */
		*flag = true;
		int w = snprintf(list + len, sizeof(list) - len, " %s", known[i].name);
		if (w > 0 && (size_t)w < sizeof(list) - len)
			len += (size_t)w;
	}
	if (s->rev2)
		s->utf8 = true; /* RFC 9051 6.3.1: UTF-8 is part of IMAP4rev2 */
	if (s->qresync)
		s->condstore = true; /* RFC 7162 3.2.3 */
	if (s->condstore && !condstore) {
		s->condstore = false;
		imap_condstore_on(s); /* HIGHESTMODSEQ if selected */
	}
	imap_untagged(s, "ENABLED%s", list);
	imap_done(s, "OK Enabled");
	return 0;
}

/* RFC 4978 3: DEFLATE from the octet after the tagged OK, both ways. */
int imap_cmd_compress(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->args->type != IMAP_ARG_ATOM || strcasecmp(cmd->args->s, "DEFLATE")) {
		imap_tagged(s, "NO Unknown compression mechanism");
		return 0;
	}
	if (net_conn_is_compressed(s->c)) {
		imap_tagged(s, "NO [COMPRESSIONACTIVE] DEFLATE active already");
		return 0;
	}
	imap_done(s, "OK DEFLATE active");
	return net_conn_compress(s->c);
}
