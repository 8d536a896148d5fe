/* unit_tmpdir.h: temp-dir cleanup shared by the unit tests that make a data dir. */
#ifndef KASTEN_UNIT_TMPDIR_H
#define KASTEN_UNIT_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

static inline int unit_rm_one(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(p) : unlink(p);
}

/* Remove dir and everything below it, not following symlinks (best effort). */
static inline void unit_rmtree(const char *dir)
{
	(void)nftw(dir, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
