/* out_policy.c: the engine's pure decisions (no I/O, no threads): when a deferred
 * recipient is tried again, whether an address is one of our own listeners (the loop
 * check of RFC 5321 5.1), and the relay's host:port. Bounds: LIMIT_DNS_NAME. */
#include "outbound/out.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

int64_t out_retry_at(const unsigned *retry, unsigned n, unsigned attempts, int64_t now,
                     int64_t queued_at, unsigned give_up)
{
	unsigned wait = n ? retry[attempts < n ? attempts : n - 1] : 0;
	int64_t at = now + (int64_t)wait;
	int64_t last = queued_at + (int64_t)give_up;
	/* the final try happens when the time is up, not a whole wait after it */
	if (at > last)
		at = last > now ? last : now;
	return at;
}

/* The address bytes of sa (4 or 16) and its port, or NULL for other families. */
static const uint8_t *addr_bytes(const struct sockaddr *sa, size_t *len_out, unsigned *port_out)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		*len_out = 4;
		*port_out = ntohs(s4->sin_port);
		return (const uint8_t *)&s4->sin_addr;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		*len_out = 16;
		*port_out = ntohs(s6->sin6_port);
		return (const uint8_t *)&s6->sin6_addr;
	}
	return NULL;
}

static bool is_wildcard(const uint8_t *a, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i])
			return false;
	return true;
}

static bool is_loopback(const uint8_t *a, size_t len)
{
	static const uint8_t v6_loop[16] = {[15] = 1};
	return len == 4 ? a[0] == 127 : !memcmp(a, v6_loop, 16);
}

/* Does sa carry the address of one of local[0..n) (ports ignored)? */
static bool is_local(const uint8_t *a, size_t len, int family, const struct sockaddr_storage *local,
                     size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t l;
		unsigned port;
		const uint8_t *b = addr_bytes((const struct sockaddr *)&local[i], &l, &port);
		if (b && local[i].ss_family == family && l == len && !memcmp(a, b, len))
			return true;
	}
	return false;
}

bool out_addr_is_own(const struct out_own_addr *own, size_t n, const struct sockaddr *sa,
                     const struct sockaddr_storage *local, size_t n_local)
{
	size_t len;
	unsigned port;
	const uint8_t *a = addr_bytes(sa, &len, &port);
	if (!a)
		return false;
	for (size_t i = 0; i < n; i++) {
		size_t olen;
		unsigned oport;
		const uint8_t *o = addr_bytes((const struct sockaddr *)&own[i].sa, &olen, &oport);
		if (!o || oport != port)
			continue;
		if (own[i].sa.ss_family == sa->sa_family && olen == len && !memcmp(o, a, len))
			return true;
		/* 0.0.0.0 and :: listen on every address of the machine */
		if (is_wildcard(o, olen) &&
		    (is_loopback(a, len) || is_local(a, len, sa->sa_family, local, n_local)))
			return true;
	}
	return false;
}

int out_parse_hostport(const char *s, char *host, unsigned *port)
{
	const char *colon = strrchr(s, ':');
	if (!colon)
		return ERR_BAD_SYNTAX;
	const char *h = s;
	size_t hlen = (size_t)(colon - s);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	} else if (memchr(h, ':', hlen)) {
		return ERR_BAD_SYNTAX; /* an IPv6 address needs its brackets */
	}
	uint64_t p;
	if (hlen == 0 || hlen > LIMIT_DNS_NAME ||
	    str_to_u64(colon + 1, strlen(colon + 1), 65535, &p) < 0 || p == 0)
		return ERR_BAD_SYNTAX;
	if (snprintf(host, LIMIT_DNS_NAME + 1, "%.*s", (int)hlen, h) != (int)hlen)
		return ERR_BAD_SYNTAX;
	*port = (unsigned)p;
	return 0;
}

size_t out_return_path_len(const uint8_t *p, size_t n)
{
	static const char name[] = "return-path:";
	size_t k = sizeof(name) - 1;
	if (n < k || strncasecmp((const char *)p, name, k) != 0)
		return 0;
	/* the field ends at a CRLF not followed by a space or tab (RFC 5322 2.2.3); one
	 * whose end is not in sight is left alone */
	for (size_t i = k; i + 2 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] != ' ' && p[i + 2] != '\t')
			return i + 2;
	return 0;
}
