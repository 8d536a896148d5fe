/* http_admin.h: the admin listener's handlers: GET /healthz (200 "ok" when the store
 * answers a directory lookup, else 503) and GET /metrics (metrics_render). */
#ifndef KASTEN_HTTP_ADMIN_H
#define KASTEN_HTTP_ADMIN_H

struct http_req;

void http_admin_healthz(struct http_req *r);
void http_admin_metrics(struct http_req *r);

#endif
