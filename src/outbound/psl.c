/* psl.c: the Public Suffix List as an open-addressing hash set of rule names, each
 * with what it is (a rule, the parent of a "*." wildcard, an exception), and the
 * organizational domain of RFC 7489 3.2. Owns the table (malloc, freed by psl_free;
 * psl_default's table lives as long as the process). Bounds: LIMIT_PSL_FILE bytes,
 * LIMIT_PSL_RULES rules; a rule longer than a DNS name is skipped. */
#include "outbound/psl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/str.h"
#include "core/banned.h"

enum psl_kind {
	PSL_RULE = 1,      /* "name" */
	PSL_WILD = 2,      /* "*.name": every child of name is a suffix */
	PSL_EXCEPTION = 4, /* "!name": name is not a suffix (its parent is) */
};

struct psl_slot {
	char *name; /* NULL: empty */
	unsigned kinds;
};

struct psl {
	struct psl_slot *slots;
	size_t cap; /* a power of two, at least twice the rules */
	size_t n;
};

static struct psl_slot *psl_find(const struct psl *p, const char *name, size_t len)
{
	size_t i = str_hash(name, len) & (p->cap - 1);
	while (p->slots[i].name) {
		if (strlen(p->slots[i].name) == len && memcmp(p->slots[i].name, name, len) == 0)
			return &p->slots[i];
		i = (i + 1) & (p->cap - 1);
	}
	return &p->slots[i];
}

static int psl_add(struct psl *p, const char *name, size_t len, unsigned kind)
{
	struct psl_slot *s = psl_find(p, name, len);
	if (!s->name) {
		if (p->n == LIMIT_PSL_RULES)
			return ERR_TOO_BIG;
		s->name = malloc(len + 1);
		if (!s->name)
			return ERR_NOMEM;
		memcpy(s->name, name, len);
		s->name[len] = '\0';
		p->n++;
	}
	s->kinds |= kind;
	return 0;
}

/* One line's rule (its first word), lower-cased; comments and blank lines are none. */
static int psl_line(struct psl *p, const char *l, size_t n)
{
	size_t w = 0;
	while (w < n && l[w] != ' ' && l[w] != '\t' && l[w] != '\r')
		w++;
	if (w == 0 || (w >= 2 && l[0] == '/' && l[1] == '/'))
		return 0;
	unsigned kind = PSL_RULE;
	if (l[0] == '!') {
		kind = PSL_EXCEPTION;
		l++;
		w--;
	} else if (w >= 2 && l[0] == '*' && l[1] == '.') {
		kind = PSL_WILD;
		l += 2;
		w -= 2;
	}
	char name[LIMIT_DNS_NAME + 1];
	if (w == 0 || w > LIMIT_DNS_NAME)
		return 0; /* "*" alone is the default rule, always in force; too long: no name */
	for (size_t i = 0; i < w; i++)
		name[i] = l[i] >= 'A' && l[i] <= 'Z' ? (char)(l[i] + 32) : l[i];
	return psl_add(p, name, w, kind);
}

int psl_parse(const char *text, size_t len, struct psl **out)
{
	struct psl *p = calloc(1, sizeof(*p));
	if (!p)
		return ERR_NOMEM;
	/* room for twice the lines (a bound on the rules), at most twice the limit */
	size_t lines = 1;
	for (const char *nl = text; (nl = memchr(nl, '\n', len - (size_t)(nl - text))); nl++)
		lines++;
	if (lines > LIMIT_PSL_RULES + 1)
		lines = LIMIT_PSL_RULES + 1;
	p->cap = 16;
	while (p->cap < 2 * lines)
		p->cap <<= 1;
	p->slots = calloc(p->cap, sizeof(*p->slots));
	int r = p->slots ? 0 : ERR_NOMEM;
	size_t i = 0;
	while (r == 0 && i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		r = psl_line(p, text + i, end - i);
		i = end + 1;
	}
	if (r < 0) {
		psl_free(&p);
		return r;
	}
	*out = p;
	return 0;
}

int psl_load(const char *path, struct psl **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
	struct stat st;
	int r = fstat(fd, &st) < 0 ? ERR_IO : 0;
	if (r == 0 && (st.st_size < 0 || (uint64_t)st.st_size > LIMIT_PSL_FILE))
		r = ERR_TOO_BIG;
	char *buf = r == 0 ? malloc((size_t)st.st_size + 1) : NULL;
	if (r == 0 && !buf)
		r = ERR_NOMEM;
	size_t got = 0;
	while (r == 0 && got < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			r = ERR_IO;
		else
			got += (size_t)k;
	}
	close(fd);
	if (r == 0)
		r = psl_parse(buf, got, out);
	free(buf);
	return r;
}

void psl_free(struct psl **pp)
{
	struct psl *p = *pp;
	if (!p)
		return;
	for (size_t i = 0; p->slots && i < p->cap; i++)
		free(p->slots[i].name);
	free(p->slots);
	free(p);
	*pp = NULL;
}

static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static struct psl *psl_process; /* read-only once loaded */

static void psl_load_default(void)
{
	int r = psl_load(PSL_PATH, &psl_process);
	if (r < 0)
		log_warn("psl: %s: %s; organizational domains use the default rule only", PSL_PATH,
		         err_str(r));
}

const struct psl *psl_default(void)
{
	pthread_once(&psl_once, psl_load_default);
	return psl_process;
}

static unsigned psl_kinds(const struct psl *p, const char *name, size_t len)
{
	if (!p || len == 0)
		return 0;
	const struct psl_slot *s = psl_find(p, name, len);
	return s->name ? s->kinds : 0;
}

void psl_org_domain(const struct psl *p, const char *name, char *out)
{
	size_t len = strlen(name);
	if (len > LIMIT_DNS_NAME)
		len = LIMIT_DNS_NAME; /* callers pass DNS names; never read past the limit */
	/* the start of the public suffix: the longest rule wins, so try the longest
	 * suffixes first; an exception makes its parent the suffix */
	size_t suffix = len, at = 0;
	bool found = false;
	while (!found) {
		const char *s = name + at;
		size_t sl = len - at;
		const char *dot = memchr(s, '.', sl);
		size_t parent = dot ? (size_t)(dot - name) + 1 : len;
		if (psl_kinds(p, s, sl) & PSL_EXCEPTION) {
			suffix = parent;
			found = true;
		} else if ((psl_kinds(p, s, sl) & PSL_RULE) ||
		           (dot && (psl_kinds(p, name + parent, len - parent) & PSL_WILD))) {
			suffix = at;
			found = true;
		} else if (!dot) {
			suffix = at; /* the default rule "*": the last label */
			found = true;
		} else {
			at = parent;
		}
	}
	/* one label more to the left, if there is one */
	size_t start = suffix;
	if (start > 0) {
		start--; /* the dot before the suffix */
		while (start > 0 && name[start - 1] != '.')
			start--;
	}
	memcpy(out, name + start, len - start);
	out[len - start] = '\0';
}
