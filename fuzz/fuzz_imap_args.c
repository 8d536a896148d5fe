/* fuzz_imap_args.c: libFuzzer target for the IMAP argument interpreters (src/imap/
 * imap_parse_args.c, _fetch.c, _search.c, _store.c, _mailbox.c, _caps.c). The input is
 * read as commands by the real tokenizer (after login, APPEND data taken as the session
 * does); every command's argument tree goes through every interpreter, whatever its verb,
 * so each meets trees it was not written for. The raw input also goes to the string
 * parsers (sequence set, date, date-time, section). Invariants: no crash, no read past
 * the tree; ranges ordered; a resolved set ascending, disjoint and within 1..star; SEARCH
 * trees within LIMIT_IMAP_SEARCH_DEPTH with NOT/OR of the right arity; FETCH "have" bits
 * equal to the items; every refusal comes with a BAD or NO answer. Seeds:
 * fuzz/corpus/imap_args/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "imap/imap_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_why(int rc, const char *why)
{
	if (rc < 0 && rc != ERR_NOMEM)
		assert(why && (!strncmp(why, "BAD ", 4) || !strncmp(why, "NO ", 3)));
}

static void check_set(const struct imap_seqset *s, struct arena *a)
{
	for (size_t i = 0; i < s->n; i++)
		assert(s->r[i].lo >= 1 && s->r[i].lo <= s->r[i].hi);
	if (s->saved)
		return;
	static const uint32_t stars[] = {0, 1, 7, 1000, UINT32_MAX};
	for (size_t k = 0; k < sizeof(stars) / sizeof(stars[0]); k++) {
		struct imap_seqset r;
		if (imap_seqset_resolve(s, stars[k], a, &r) < 0)
			continue;
		for (size_t i = 0; i < r.n; i++) {
			assert(r.r[i].lo >= 1 && r.r[i].lo <= r.r[i].hi && r.r[i].hi <= stars[k]);
			assert(i == 0 || r.r[i].lo > (uint64_t)r.r[i - 1].hi + 1);
			assert(imap_seqset_has(s, r.r[i].lo, stars[k]));
			assert(imap_seqset_has(s, r.r[i].hi, stars[k]));
		}
	}
}

static void check_search(const struct imap_search *n, size_t depth, struct arena *a)
{
	for (; n; n = n->next) {
		assert(depth <= LIMIT_IMAP_SEARCH_DEPTH + 1);
		switch (n->key) {
		case IMAP_SK_NOT:
			assert(n->sub && !n->sub->next);
			break;
		case IMAP_SK_OR:
			assert(n->sub && n->sub->next && !n->sub->next->next);
			break;
		case IMAP_SK_AND:
			assert(n->sub);
			break;
		case IMAP_SK_SEQSET:
		case IMAP_SK_UID:
			check_set(&n->set, a);
			break;
		default:
			assert(!n->sub);
			if (n->str)
				assert(n->str[n->len] == '\0');
		}
		check_search(n->sub, depth + 1, a);
	}
}

static void check_prog(int rc, const struct imap_search_prog *p, struct arena *a)
{
	if (rc == 0) {
		assert(p->root && p->root->key == IMAP_SK_AND);
		check_search(p->root, 0, a);
	}
}

static void interpret(const struct imap_cmd *cmd, struct arena *a)
{
	const char *why;
	int rc;
	struct imap_fetch f;
	why = NULL;
	rc = imap_parse_fetch(cmd, a, &f, &why);
	check_why(rc, why);
	if (rc == 0) {
		unsigned have = 0;
		for (const struct imap_fetch_item *it = f.items; it; it = it->next) {
			have |= 1u << it->att;
			assert(it->section.nparts <= LIMIT_MIME_DEPTH);
			assert(it->section.nfields <= LIMIT_IMAP_FETCH_FIELDS);
			assert(!it->partial || it->count > 0);
		}
		assert(have == f.have && f.items);
		assert(!cmd->uid || (have & (1u << IMAP_FETCH_UID)));
		check_set(&f.set, a);
	}
	struct imap_store st;
	why = NULL;
	rc = imap_parse_store(cmd, a, &st, &why);
	check_why(rc, why);
	if (rc == 0)
		check_set(&st.set, a);
	struct imap_search_prog sp;
	why = NULL;
	rc = imap_parse_search(cmd, a, &sp, &why);
	check_why(rc, why);
	check_prog(rc, &sp, a);
	struct imap_sort so;
	why = NULL;
	rc = imap_parse_sort(cmd, a, &so, &why);
	check_why(rc, why);
	check_prog(rc, &so.prog, a);
	if (rc == 0)
		assert(so.ncrit >= 1);
	struct imap_thread th;
	why = NULL;
	rc = imap_parse_thread(cmd, a, &th, &why);
	check_why(rc, why);
	check_prog(rc, &th.prog, a);
	struct imap_list l;
	why = NULL;
	rc = imap_parse_list(cmd, a, &l, &why);
	check_why(rc, why);
	if (rc == 0)
		assert(l.ref && l.npat >= 1);
	struct imap_status s;
	why = NULL;
	check_why(imap_parse_status(cmd, &s, &why), why);
	struct imap_select sel;
	why = NULL;
	rc = imap_parse_select(cmd, a, &sel, &why);
	check_why(rc, why);
	if (rc == 0 && sel.has_known_uids)
		check_set(&sel.known_uids, a);
	struct imap_append ap;
	why = NULL;
	rc = imap_parse_append(cmd, a, &ap, &why);
	check_why(rc, why);
	if (rc == 0)
		assert(ap.nmsgs >= 1 && ap.nmsgs <= cmd->nargs);
	struct imap_create cr;
	why = NULL;
	check_why(imap_parse_create(cmd, &cr, &why), why);
	unsigned caps;
	why = NULL;
	check_why(imap_parse_enable(cmd, &caps, &why), why);
	struct imap_id_param *id;
	size_t nid;
	if (imap_parse_id(cmd->args, a, &id, &nid) == 0)
		assert(nid <= LIMIT_IMAP_ID_PAIRS);
	/* the small ones on every argument */
	for (const struct imap_arg *x = cmd->args; x; x = x->next) {
		size_t len;
		bool nil;
		const char *str = imap_arg_astring(x, &len);
		assert(!str || str[len] == '\0');
		(void)imap_arg_nstring(x, &len, &nil);
		(void)imap_arg_list_mailbox(x, &len);
		struct imap_flags fl;
		(void)imap_parse_flags(x, x->type == IMAP_ARG_LIST, a, &fl, &why);
		struct imap_seqset set;
		if (imap_arg_seqset(x, a, &set) == 0)
			check_set(&set, a);
		int32_t days;
		(void)imap_arg_date(x, &days);
	}
}

static void raw(const uint8_t *data, size_t size, struct arena *a)
{
	const char *s = (const char *)data;
	struct imap_seqset set;
	if (imap_parse_seqset(s, size, a, &set) == 0)
		check_set(&set, a);
	int32_t days;
	if (imap_parse_date(s, size, &days) == 0)
		assert(days >= -719528 && days <= 2932896); /* 1-Jan-0000 .. 31-Dec-9999 */
	int64_t t;
	int zone;
	if (imap_parse_datetime(s, size, &t, &zone) == 0)
		assert(zone >= -(23 * 60 + 59) && zone <= 23 * 60 + 59);
	struct imap_section sec;
	(void)imap_parse_section(s, size, size && data[0] & 1, a, &sec);
	arena_reset(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena ca;
	struct imap_parser ps;
	arena_init(&ca, LIMIT_COMMAND_ARENA);
	raw(data, size, &ca);
	imap_parser_init(&ps, &ca, 0);
	imap_parser_set_auth(&ps, true);
	size_t off = 0;
	while (off < size) {
		size_t used;
		struct imap_cmd *cmd = NULL;
		int rc = imap_parse(&ps, data + off, size - off, &used, &cmd);
		off += used;
		if (rc == 0)
			break;
		if (rc == IMAP_PARSE_STREAM) {
			uint64_t left = size - off;
			if (ps.stream_size > left) {
				interpret(cmd, &ca); /* the partial command too */
				break;
			}
			interpret(cmd, &ca);
			off += (size_t)ps.stream_size;
			imap_parse_stream_done(&ps);
			continue;
		}
		if (rc == IMAP_PARSE_DONE)
			interpret(cmd, &ca);
		if (rc < 0 && ps.err.must_close)
			break;
		if (rc != IMAP_PARSE_CONTINUE)
			arena_reset(&ca);
	}
	arena_free(&ca);
	return 0;
}
