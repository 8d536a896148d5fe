/* jmap_blob.c: binary data over HTTP (RFC 8620 6): POST /jmap/upload/{accountId}/ and
 * GET /jmap/download/{accountId}/{blobId}/{name}?type=.
 *
 * Isolation: a request names an account in its path, and only the authenticated
 * account's own id is served; any other (existing or not) is 404, the same answer as
 * an unknown blob, so the answers tell nothing about other accounts. Blob ids are only
 * ever looked up inside that account's store (jmap_blob_open_any: uploads by
 * store_blob_open, messages and parts by EMAILID through store_email_get), never as
 * paths.
 *
 * Uploads are bounded by the route ([http] max_upload_size, 413 before the body is
 * read) and by what the quota has left (store_blob_put: ERR_QUOTA -> 413). The store
 * writes the file on the I/O worker pool. Downloads stream in bounded memory
 * (http_reply_file) and are always attachments in a sandbox (Content-Disposition,
 * CSP sandbox, nosniff): a blob's type comes from the client and must never make the
 * browser render it as one of our pages. */
#include "http/jmap_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/banned.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/http.h"
#include "net/net.h"
#include "store/store.h"

#define UPLOAD_PREFIX "/jmap/upload/"
#define DOWNLOAD_PREFIX "/jmap/download/"
#define OCTET_STREAM "application/octet-stream"

static void not_found(struct http_req *r)
{
	http_problem(r, 404, NULL, "no such blob");
}

/* "A<id>" up to the next '/' of *p, advancing *p past the '/'; -1 if malformed. */
static int64_t path_account(struct http_req *r, const char **p)
{
	const char *slash = strchr(*p, '/');
	if (!slash)
		return -1;
	char *acct = arena_strndup(r->a, *p, (size_t)(slash - *p));
	*p = slash + 1;
	return acct ? jmap_account_parse(acct) : -1;
}

/* ---- upload ---- */

struct upload_job {
	struct http_req *r;
	int64_t account_id;
	const char *account_str;
	const char *type;
	char blob_id[40];
	int rc;
};

static void upload_work(void *arg)
{
	struct upload_job *j = arg;
	struct store *st;
	struct arena a;
	const char *id = NULL;
	arena_init(&a, 4096);
	j->rc = store_open(http_store_env(), j->account_id, &st);
	if (j->rc == 0) {
		struct http_req *r = j->r;
		if (r->body_fd >= 0)
			j->rc = store_blob_put(st, r->body_fd, r->body_size, j->type, &a, &id);
		else
			j->rc = store_blob_put_mem(st, r->body ? r->body : (const uint8_t *)"",
						   r->body_len, j->type, &a, &id);
		store_close(&st);
	}
	if (j->rc == 0 && (!id || strlen(id) >= sizeof j->blob_id))
		j->rc = ERR_IO;
	if (j->rc == 0)
		memcpy(j->blob_id, id, strlen(id) + 1);
	arena_free(&a);
}

static void upload_done(struct net_conn *c, void *arg)
{
	struct upload_job *j = arg;
	struct http_req *r = j->r;
	(void)c;
	jmap_slot_put(j->account_id, JMAP_SLOT_UPLOAD);
	switch (j->rc) {
	case 0:
		http_reply_json(r, 201,
				json_pack("{s:s,s:s,s:s,s:I}", "accountId", j->account_str, "blobId",
					  j->blob_id, "type", j->type, "size",
					  (json_int_t)r->body_size));
		break;
	case ERR_QUOTA:
		jmap_problem(r, 413, JMAP_ERR_LIMIT, "the upload does not fit in the quota",
			     "quota");
		break;
	case ERR_TOO_BIG:
		jmap_problem(r, 413, JMAP_ERR_LIMIT, "the upload is too large", "maxSizeUpload");
		break;
	case ERR_INVAL:
		http_problem(r, 400, NULL, "Content-Type is not a media type");
		break;
	default:
		http_problem(r, err_is_temp(j->rc) ? 503 : 500, NULL, NULL);
		break;
	}
	free(j);
}

static void upload_authed(struct http_req *r, const struct jmap_auth *au)
{
	const char *p = r->path + strlen(UPLOAD_PREFIX);
	int64_t id = path_account(r, &p);
	if (id != au->account_id || *p != '\0') {
		http_problem(r, 404, NULL, "no such account");
		return;
	}
	if (r->body_size > conf_get()->http_max_upload_size) {
		jmap_problem(r, 413, JMAP_ERR_LIMIT, "the upload is too large", "maxSizeUpload");
		return;
	}
	const char *type = http_header(r, "Content-Type");
	struct upload_job *j = calloc(1, sizeof *j);
	if (!j) {
		http_problem(r, 500, NULL, NULL);
		return;
	}
	if (!jmap_slot_take(id, JMAP_SLOT_UPLOAD)) {
		free(j);
		jmap_problem(r, 429, JMAP_ERR_LIMIT, "too many concurrent uploads",
			     "maxConcurrentUpload");
		return;
	}
	j->r = r;
	j->account_id = id;
	j->account_str = au->account_str;
	j->type = type && *type ? type : OCTET_STREAM;
	if (net_conn_work_io(r->conn, upload_work, upload_done, j) < 0) {
		jmap_slot_put(id, JMAP_SLOT_UPLOAD);
		free(j);
		http_problem(r, 503, NULL, NULL);
	}
}

void jmap_http_upload(struct http_req *r)
{
	jmap_authenticate(r, upload_authed);
}

/* ---- download ---- */

/* ?type=: a media type we can put into Content-Type as it is (type "/" subtype of token
 * characters, then parameters of printable ASCII), else application/octet-stream. */
static const char *download_type(const char *t)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	if (!t || !*t || strlen(t) > LIMIT_BLOB_TYPE)
		return OCTET_STREAM;
	size_t slashes = 0, i = 0;
	for (; t[i] && t[i] != ';'; i++) {
		char c = t[i];
		if (c == '/')
			slashes++;
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || strchr(tchar, c)))
			return OCTET_STREAM;
	}
	for (; t[i]; i++)
		if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] > 0x7e)
			return OCTET_STREAM;
	return slashes == 1 && t[0] != '/' ? t : OCTET_STREAM;
}

/* RFC 6266 4.3 / RFC 8187: attachment; filename="ASCII fallback"; filename*=UTF-8''... */
static const char *disposition(struct http_req *r, const char *name)
{
	static const char attr[] = "!#$&+-.^_`|~";
	size_t n = strlen(name);
	char *plain = arena_alloc(r->a, n + 1), *enc = arena_alloc(r->a, 3 * n + 1);
	if (!plain || !enc)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		plain[i] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '_';
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    (c && strchr(attr, c))) {
			enc[k++] = (char)c;
		} else {
			static const char digits[] = "0123456789ABCDEF";
			enc[k++] = '%';
			enc[k++] = digits[c >> 4];
			enc[k++] = digits[c & 15];
		}
	}
	plain[n] = '\0';
	enc[k] = '\0';
	return arena_printf(r->a, "attachment; filename=\"%s\"; filename*=UTF-8''%s", plain, enc);
}

/* A download runs on the I/O worker pool: a part is decoded into a temporary file
 * there (a large attachment would otherwise stall every connection of the loop). */
struct download_job {
	struct http_req *r;
	int64_t account_id;
	char *blob_id;             /* copies: the worker uses no request memory */
	const char *cd;            /* in r->a, used on the loop thread only */
	int fd;
	uint64_t size;
	char type[LIMIT_BLOB_TYPE + 1]; /* the blob's own media type, "" if none */
	int rc;
};

/* Open the blob through the one opener every blob user shares (jmap_blob_open_any:
 * uploads, messages, parts); it reads only x->st and x->a. */
static void download_work(void *arg)
{
	struct download_job *j = arg;
	struct store *st;
	struct arena a;
	const char *type = NULL;
	arena_init(&a, 4096);
	j->rc = store_open(http_store_env(), j->account_id, &st);
	if (j->rc == 0) {
		struct jmap_ctx x = {.st = st, .a = &a};
		j->rc = jmap_blob_open_any(&x, j->blob_id, &j->fd, &j->size, &type);
		store_close(&st);
	}
	if (j->rc == 0 && type && strlen(type) < sizeof j->type)
		memcpy(j->type, type, strlen(type) + 1);
	arena_free(&a);
}

static void download_done(struct net_conn *c, void *arg)
{
	struct download_job *j = arg;
	struct http_req *r = j->r;
	(void)c;
	int rc = j->rc, fd = j->fd;
	uint64_t size = j->size;
	char type[sizeof j->type];
	memcpy(type, j->type, sizeof type);
	const char *cd = j->cd;
	free(j->blob_id);
	free(j);
	if (rc == ERR_NOTFOUND) {
		not_found(r);
		return;
	}
	if (rc < 0) {
		http_problem(r, err_is_temp(rc) ? 503 : 500, NULL, NULL);
		return;
	}
	http_add_header(r, "Content-Disposition", cd);
	/* a blob id names immutable content (RFC 8620 6.2) */
	http_add_header(r, "Cache-Control", "private, immutable, max-age=31536000");
	http_add_header(r, "Content-Security-Policy", "default-src 'none'; sandbox");
	/* ?type= as RFC 8620 6.2 asks; without it the blob's own (a part's type) */
	const char *want = http_query_param(r, "type");
	http_reply_file(r, 200, download_type(want && *want ? want : type), fd, size);
}

static void download_authed(struct http_req *r, const struct jmap_auth *au)
{
	const char *p = r->path + strlen(DOWNLOAD_PREFIX);
	int64_t id = path_account(r, &p);
	const char *slash = strchr(p, '/');
	if (id != au->account_id || !slash || slash == p || slash[1] == '\0') {
		not_found(r);
		return;
	}
	struct download_job *j = calloc(1, sizeof *j);
	if (j) {
		j->r = r;
		j->account_id = id;
		j->fd = -1;
		j->blob_id = strndup(p, (size_t)(slash - p));
		j->cd = disposition(r, slash + 1);
	}
	if (!j || !j->blob_id || !j->cd ||
	    net_conn_work_io(r->conn, download_work, download_done, j) < 0) {
		if (j)
			free(j->blob_id);
		free(j);
		http_problem(r, 503, NULL, NULL);
	}
}

void jmap_http_download(struct http_req *r)
{
	jmap_authenticate(r, download_authed);
}
