/* flush.c: the syncfs-or-fsync decision of flush.h, from /proc/meminfo. Owns nothing;
 * reads one small file per call (about 1.5 KiB), cheap beside the flush it decides. */
#include "core/flush.h"

#include <stdio.h>

#include "core/banned.h"

uint64_t flush_dirty_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return UINT64_MAX;
	char line[128];
	uint64_t kb = 0;
	int seen = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		if (sscanf(line, "Dirty: %llu kB", &v) == 1 ||
		    sscanf(line, "Writeback: %llu kB", &v) == 1) {
			kb += v;
			seen++;
		}
	}
	fclose(f);
	return seen == 2 ? kb : UINT64_MAX;
}

bool flush_prefer_syncfs(uint64_t max_bytes)
{
	uint64_t kb = flush_dirty_kb();
	return kb != UINT64_MAX && kb <= max_bytes / 1024;
}
