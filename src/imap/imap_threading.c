/* imap_threading.c: THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 3), the
 * latter the full algorithm: containers for every message id seen (step 1), the root
 * set (2), pruning of dummies (3), sorting the roots (4), gathering roots of the same
 * base subject (5) and sorting every sibling list (6); and the thread-list output
 * (RFC 5256 4). Every walk over the tree is iterative (explicit stacks in the arena), so
 * hostile reference chains cost time, never stack. Memory: one node per message and per
 * distinct referenced id, a hash table of twice that many slots, and a pre-order array,
 * all from the caller's arena (imap_threading.h). */
#include "imap/imap_threading.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "imap/imap_sortkey.h"
#include "core/banned.h"

/* A container (RFC 5256 3 step 1); msg NULL makes it a dummy. Children are a doubly
 * linked list so that re-parenting (step 1 B) costs O(1). */
struct tnode {
	struct tnode *parent, *child, *next, *prev;
	struct tnode *all; /* every container, for the root set */
	const struct imap_thread_msg *msg;
	size_t order;      /* the message's place in the mailbox; a dummy's first child's */
	int64_t date;      /* sent date; a dummy's first child's */
};

struct forest {
	struct arena *a;
	struct tnode root; /* the root set are its children */
	struct tnode *all;
	size_t count;      /* containers, root excluded */
};

static struct tnode *node_new(struct forest *f, const struct imap_thread_msg *m, size_t order)
{
	struct tnode *t = arena_zalloc(f->a, sizeof(*t));
	if (!t)
		return NULL;
	t->msg = m;
	t->order = order;
	t->date = m ? m->date : 0;
	t->all = f->all;
	f->all = t;
	f->count++;
	return t;
}

static void unlink_node(struct tnode *c)
{
	struct tnode *p = c->parent;
	if (!p)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		p->child = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->parent = c->next = c->prev = NULL;
}

/* c becomes p's first child (order does not matter: every list is sorted later). */
static void link_node(struct tnode *p, struct tnode *c)
{
	c->parent = p;
	c->prev = NULL;
	c->next = p->child;
	if (p->child)
		p->child->prev = c;
	p->child = c;
}

/* Is a inside the subtree of b (b itself included)? A b without children answers at
 * once: that is every new message, so a reply chain in mailbox order costs no walk. */
static bool within(const struct tnode *a, const struct tnode *b)
{
	if (!b->child)
		return a == b;
	for (; a; a = a->parent)
		if (a == b)
			return true;
	return false;
}

static bool earlier(const struct tnode *x, const struct tnode *y)
{
	return x->date != y->date ? x->date < y->date : x->order < y->order;
}

/* Sort p's children by sent date, ties by mailbox order (RFC 5256 2.2): a bottom-up
 * merge sort of the list (no recursion, no memory), then the back links. */
static void sort_children(struct tnode *p)
{
	struct tnode *list = p->child;
	for (size_t run = 1; list; run *= 2) {
		struct tnode *a = list, *tail = NULL;
		size_t merges = 0;
		list = NULL;
		while (a) {
			merges++;
			struct tnode *b = a;
			size_t na = 0, nb = run;
			while (b && na < run)
				b = b->next, na++;
			while (na > 0 || (nb > 0 && b)) {
				struct tnode *e;
				if (na == 0 || (nb > 0 && b && earlier(b, a))) {
					e = b, b = b->next, nb--;
				} else {
					e = a, a = a->next, na--;
				}
				if (tail)
					tail->next = e;
				else
					list = e;
				tail = e;
			}
			a = b;
		}
		tail->next = NULL;
		if (merges <= 1)
			break;
	}
	p->child = list;
	struct tnode *prev = NULL;
	for (struct tnode *c = list; c; prev = c, c = c->next)
		c->prev = prev;
}

/* The subtree of r in pre-order (r first); reversed, every node comes after all of its
 * descendants. *n_out entries, from the arena. */
static struct tnode **preorder(struct forest *f, struct tnode *r, size_t *n_out)
{
	struct tnode **v = arena_alloc(f->a, (f->count + 1) * sizeof(*v));
	struct tnode **stack = arena_alloc(f->a, (f->count + 1) * sizeof(*stack));
	if (!v || !stack)
		return NULL;
	size_t n = 0, sp = 0;
	stack[sp++] = r;
	while (sp) {
		struct tnode *t = stack[--sp];
		v[n++] = t;
		for (struct tnode *c = t->child; c; c = c->next)
			stack[sp++] = c;
	}
	*n_out = n;
	return v;
}

/* A dummy takes the date and order of its first child, once that list is sorted. */
static void dummy_key(struct tnode *t)
{
	if (!t->msg && t->child) {
		t->date = t->child->date;
		t->order = t->child->order;
	}
}

/* ---- output (RFC 5256 4) ---- */

struct writer {
	imap_threading_out_fn out;
	void *ctx;
};

static void put(const struct writer *w, const char *s)
{
	w->out(w->ctx, s, strlen(s));
}

static void put_id(const struct writer *w, const struct tnode *t, bool space)
{
	char b[16];
	int l = snprintf(b, sizeof(b), "%s%u", space ? " " : "", t->msg->id);
	if (l > 0 && (size_t)l < sizeof(b))
		w->out(w->ctx, b, (size_t)l);
}

/* thread-list = "(" (thread-members / thread-nested) ")": a message, the chain of its
 * only children, and where a node has several children each of them as a list of its
 * own. stack has room for every node. */
static void write_thread(const struct writer *w, struct tnode *t, struct tnode **stack)
{
	size_t sp = 0;
	put(w, "(");
	for (;;) {
		bool any = false;
		if (t->msg) {
			put_id(w, t, false);
			any = true;
		}
		while (t->child && !t->child->next) { /* one child: a member of this list */
			t = t->child;
			if (t->msg) {
				put_id(w, t, any);
				any = true;
			}
		}
		if (t->child) { /* several: each is a nested list */
			if (any)
				put(w, " ");
			stack[sp++] = t->child->next;
			put(w, "(");
			t = t->child;
			continue;
		}
		put(w, ")");
		for (;;) {
			if (sp == 0)
				return;
			struct tnode *nx = stack[sp - 1];
			if (nx) {
				stack[sp - 1] = nx->next;
				put(w, "(");
				t = nx;
				break;
			}
			sp--;
			put(w, ")");
		}
	}
}

static int write_all(struct forest *f, imap_threading_out_fn out, void *ctx)
{
	struct tnode **stack = arena_alloc(f->a, (f->count + 1) * sizeof(*stack));
	if (!stack)
		return ERR_NOMEM;
	struct writer w = {out, ctx};
	for (struct tnode *t = f->root.child; t; t = t->next)
		write_thread(&w, t, stack);
	return 0;
}

/* ---- ORDEREDSUBJECT ---- */

static int cmp_subject_date(const void *x, const void *y)
{
	const struct tnode *a = *(struct tnode *const *)x, *b = *(struct tnode *const *)y;
	int c = imap_sortkey_casecmp(a->msg->subject, a->msg->subject_len, b->msg->subject,
	                             b->msg->subject_len);
	if (c)
		return c;
	return earlier(a, b) ? -1 : earlier(b, a);
}

int imap_threading_orderedsubject(const struct imap_thread_msg *msgs, size_t n, struct arena *a,
                                  imap_threading_out_fn out, void *ctx)
{
	struct forest f = {.a = a};
	struct tnode **v = arena_alloc(a, (n ? n : 1) * sizeof(*v));
	if (!v)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(v[i] = node_new(&f, &msgs[i], i)))
			return ERR_NOMEM;
	qsort(v, n, sizeof(*v), cmp_subject_date);
	/* a run of one base subject is a thread: its first message the root, the others
	 * its children (siblings of the second) */
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && imap_sortkey_casecmp(v[i]->msg->subject, v[i]->msg->subject_len,
		                                     v[j]->msg->subject, v[j]->msg->subject_len) == 0)
			link_node(v[i], v[j++]);
		sort_children(v[i]);
		link_node(&f.root, v[i]);
		i = j;
	}
	sort_children(&f.root);
	return write_all(&f, out, ctx);
}

/* ---- REFERENCES ---- */

struct id_slot {
	const char *key;
	size_t len;
	struct tnode *node;
};

struct id_table {
	struct id_slot *slot;
	size_t mask;
};

static int table_init(struct arena *a, struct id_table *t, size_t entries)
{
	size_t cap = 16;
	while (cap < 2 * entries)
		cap *= 2;
	t->slot = arena_zalloc(a, cap * sizeof(*t->slot));
	t->mask = cap - 1;
	return t->slot ? 0 : ERR_NOMEM;
}

/* The container of an id, made (a dummy) when it is new; NULL when out of memory. */
static struct tnode *container(struct forest *f, struct id_table *t, const char *id, size_t len)
{
	size_t i = str_hash(id, len) & t->mask;
	while (t->slot[i].key) {
		if (t->slot[i].len == len && !memcmp(t->slot[i].key, id, len))
			return t->slot[i].node;
		i = (i + 1) & t->mask;
	}
	struct tnode *c = node_new(f, NULL, 0);
	if (c)
		t->slot[i] = (struct id_slot){id, len, c};
	return c;
}

/* Step 1 for one message. */
static int add_message(struct forest *f, struct id_table *t, const struct imap_thread_msg *m,
                       size_t order)
{
	struct tnode *c = m->msgid ? container(f, t, m->msgid, m->msgid_len) : NULL;
	if (m->msgid && !c)
		return ERR_NOMEM;
	if (!c || c->msg) /* no id, or a duplicate: an id of its own (step 1) */
		c = node_new(f, NULL, 0);
	if (!c)
		return ERR_NOMEM;
	c->msg = m;
	c->order = order;
	c->date = m->date;
	/* (A) the references as a chain, where no link exists yet and none makes a loop */
	struct tnode *prev = NULL;
	for (size_t i = 0; i < m->nrefs; i++) {
		struct tnode *r = container(f, t, m->refs[i], m->ref_lens[i]);
		if (!r)
			return ERR_NOMEM;
		if (prev && r != prev && !r->parent && !within(prev, r))
			link_node(prev, r);
		prev = r;
	}
	/* (B) the last reference is the parent, replacing an older guess */
	unlink_node(c);
	if (prev && !within(prev, c))
		link_node(prev, c);
	return 0;
}

/* Step 3: a dummy without children goes; one with children gives them to its parent,
 * but at the root level only when it has just one. Reverse pre-order: the children of
 * a node are final when the node's own list is looked at. */
static int prune(struct forest *f)
{
	size_t n;
	struct tnode **v = preorder(f, &f->root, &n);
	if (!v)
		return ERR_NOMEM;
	for (size_t k = n; k-- > 0;) {
		struct tnode *p = v[k];
		for (struct tnode *c = p->child, *next; c; c = next) {
			next = c->next;
			if (c->msg)
				continue;
			if (c->child && p == &f->root && c->child->next)
				continue; /* a root-level dummy with several children stays */
			struct tnode *after = c->prev;
			unlink_node(c);
			while (c->child) { /* its children take its place, in order */
				struct tnode *g = c->child;
				unlink_node(g);
				g->parent = p;
				g->prev = after;
				g->next = after ? after->next : p->child;
				if (g->next)
					g->next->prev = g;
				if (after)
					after->next = g;
				else
					p->child = g;
				after = g;
			}
		}
	}
	return 0;
}

static const struct imap_thread_msg *root_subject_msg(const struct tnode *r)
{
	return r->msg ? r->msg : r->child ? r->child->msg : NULL;
}

static size_t subj_hash(const char *s, size_t n)
{
	size_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		h = (h ^ (c >= 'a' && c <= 'z' ? c - 32u : c)) * 16777619u;
	}
	return h;
}

/* The slot of a base subject (case-insensitive); an empty one ends the probe. */
static struct id_slot *subj_slot(struct id_table *t, const char *s, size_t n)
{
	size_t i = subj_hash(s, n) & t->mask;
	while (t->slot[i].key && imap_sortkey_casecmp(t->slot[i].key, t->slot[i].len, s, n))
		i = (i + 1) & t->mask;
	return &t->slot[i];
}

/* Step 5: roots of one base subject are gathered under one root. */
static int gather_subjects(struct forest *f)
{
	size_t nroots = 0;
	for (struct tnode *r = f->root.child; r; r = r->next)
		nroots++;
	struct id_table t;
	struct tnode **roots = arena_alloc(f->a, (nroots ? nroots : 1) * sizeof(*roots));
	if (!roots || table_init(f->a, &t, nroots) < 0)
		return ERR_NOMEM;
	size_t k = 0;
	/* (B) one root per subject: a dummy wins, then one that is no reply or forward */
	for (struct tnode *r = f->root.child; r; r = r->next) {
		roots[k++] = r;
		const struct imap_thread_msg *m = root_subject_msg(r);
		if (!m || m->subject_len == 0)
			continue;
		struct id_slot *s = subj_slot(&t, m->subject, m->subject_len);
		if (!s->key) {
			*s = (struct id_slot){m->subject, m->subject_len, r};
		} else if (s->node->msg && (!r->msg || (s->node->msg->refwd && !r->msg->refwd))) {
			s->node = r;
		}
	}
	/* (C) the others join it */
	for (size_t i = 0; i < nroots; i++) {
		struct tnode *r = roots[i];
		const struct imap_thread_msg *m = root_subject_msg(r);
		if (r->parent != &f->root || !m || m->subject_len == 0)
			continue;
		struct id_slot *s = subj_slot(&t, m->subject, m->subject_len);
		struct tnode *old = s->node;
		if (old == r)
			continue;
		if (!old->msg && !r->msg) { /* both dummies: r's children move over */
			unlink_node(r);
			while (r->child) {
				struct tnode *g = r->child;
				unlink_node(g);
				link_node(old, g);
			}
		} else if (!old->msg || (r->msg && r->msg->refwd && !old->msg->refwd)) {
			unlink_node(r);
			link_node(old, r);
		} else { /* a new dummy holds both, where the one in the table was */
			struct tnode *d = node_new(f, NULL, 0);
			if (!d)
				return ERR_NOMEM;
			d->parent = &f->root;
			d->prev = old->prev;
			d->next = old->next;
			if (old->prev)
				old->prev->next = d;
			else
				f->root.child = d;
			if (old->next)
				old->next->prev = d;
			old->parent = old->next = old->prev = NULL;
			link_node(d, old);
			unlink_node(r);
			link_node(d, r);
			s->node = d;
		}
	}
	return 0;
}

int imap_threading_references(const struct imap_thread_msg *msgs, size_t n, struct arena *a,
                              imap_threading_out_fn out, void *ctx)
{
	struct forest f = {.a = a};
	size_t ids = n;
	for (size_t i = 0; i < n; i++)
		ids += msgs[i].nrefs;
	struct id_table t;
	if (table_init(a, &t, ids) < 0)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) { /* (1) */
		int r = add_message(&f, &t, &msgs[i], i);
		if (r < 0)
			return r;
	}
	for (struct tnode *c = f.all; c; c = c->all) /* (2) */
		if (!c->parent)
			link_node(&f.root, c);
	int r = prune(&f); /* (3) */
	if (r < 0)
		return r;
	for (struct tnode *c = f.root.child; c; c = c->next) { /* (4) */
		if (!c->msg) {
			sort_children(c);
			dummy_key(c);
		}
	}
	sort_children(&f.root);
	if ((r = gather_subjects(&f)) < 0) /* (5) */
		return r;
	size_t nv; /* (6) every list, deepest first, so a dummy's first child is known */
	struct tnode **v = preorder(&f, &f.root, &nv);
	if (!v)
		return ERR_NOMEM;
	for (size_t k = nv; k-- > 0;) {
		sort_children(v[k]);
		dummy_key(v[k]);
	}
	return write_all(&f, out, ctx);
}
