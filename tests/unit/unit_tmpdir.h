/* unit_tmpdir.h: temp-dir helpers shared by the unit tests that make a data dir. */
#ifndef KASTEN_UNIT_TMPDIR_H
#define KASTEN_UNIT_TMPDIR_H

#include <dirent.h>
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

/* Entries of dir not starting with '.'; -1 if it cannot be read. */
static inline long unit_count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

#endif
