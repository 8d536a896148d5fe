/* fuzz_jmap_email_patch.c: libFuzzer target for the readers behind Email/set and
 * Email/import (src/http/jmap_email_patch.c): the input is parsed as JSON and read as
 * a PatchObject, as a keywords object and, as raw bytes, as a UTCDate.
 * Properties: nothing crashes or reads past the input; a patch that is read has
 * lower-case keywords that all pass jmap_keyword_ok, and never both a whole and a
 * member form of one property; an invalidProperties answer names a key of the input;
 * a date that is read formats back to the same seconds (no second date is accepted
 * for one instant's text). Seeds: fuzz/corpus/jmap_email_patch/. */
#include <assert.h>
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "http/jmap_email_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* every space-separated keyword valid and lower-case */
static void check_keywords(const char *s)
{
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, " ");
		assert(jmap_keyword_ok(p, n));
		for (size_t i = 0; i < n; i++)
			assert(!isupper((unsigned char)p[i]));
		p += n;
		p += *p == ' ';
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena a;
	static bool init;
	if (!init) {
		arena_init(&a, 16u << 20);
		init = true;
	}
	arena_reset(&a);
	int64_t t;
	/* strftime writes years below 1000 with fewer digits: compare from 1000 on */
	if (jmap_utc_date_parse((const char *)data, size, &t) == 0 && data[0] != '0') {
		time_t tt = (time_t)t;
		struct tm tm;
		char s[32];
		assert(gmtime_r(&tt, &tm) && strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm));
		assert(size >= 20 && memcmp(s, data, 19) == 0);
	}
	json_t *v = json_loadb((const char *)data, size, 0, NULL);
	if (!v)
		return 0;
	struct jmap_email_patch p;
	const char *bad, *kw;
	int rc = jmap_email_patch_parse(&a, v, &p, &bad);
	if (rc == 0) {
		check_keywords(p.kw_set);
		check_keywords(p.kw_add);
		check_keywords(p.kw_remove);
		assert(!(p.mb_whole && (p.n_mb_add || p.n_mb_remove)));
		assert(!(p.kw_whole && (p.kw_add[0] || p.kw_remove[0])));
	} else if (rc == ERR_INVAL) {
		assert(bad && json_object_get(v, bad));
	} else {
		assert(rc == ERR_BAD_SYNTAX || rc == ERR_NOMEM);
	}
	if (jmap_keywords_from_json(&a, v, &kw) == 0)
		check_keywords(kw);
	json_decref(v);
	return 0;
}
