/* flush.h: how to flush a batch of freshly written files. One syncfs(2) costs a single
 * journal commit for the whole batch, but it also waits for every other program's
 * unwritten data on that file system; an fsync per file waits only for the batch's
 * own. The choice depends on how much unwritten data the whole system holds, which
 * only the kernel knows (/proc/meminfo). Used by the client's Maildir batches and the
 * outbound queue. */
#ifndef KASTEN_FLUSH_H
#define KASTEN_FLUSH_H

#include <stdbool.h>
#include <stdint.h>

/* Kilobytes of dirty and under-write-back page cache of the whole system (Dirty +
 * Writeback of /proc/meminfo), or UINT64_MAX when it cannot be read. */
uint64_t flush_dirty_kb(void);

/* True when a batch is best flushed by one syncfs: the system holds at most max_bytes
 * of unwritten data (so the syncfs waits for little besides the batch). False when
 * that cannot be read: an fsync per file is correct whatever the system holds. */
bool flush_prefer_syncfs(uint64_t max_bytes);

#endif
