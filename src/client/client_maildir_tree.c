/* client_maildir_tree.c: the folders of a local Maildir tree and where a folder lives.
 * Two layouts, also mixed in one tree:
 *   Maildir++ (Courier, Dovecot's default): the root is INBOX, folder "A/B" is the
 *     directory ".A.B" beside the root's cur/. A '.' or '\' inside a name component is
 *     written as \056 or \134, so every name maps to one directory and back.
 *   one Maildir per directory (mbsync "SubFolders Verbatim", Dovecot LAYOUT=fs):
 *     "A/B" is the Maildir "A/B/cur" below the root, names taken as they are.
 * A directory is a folder when it has cur/ or new/. Skipped: tmp/ new/ cur/, files,
 * dot directories below the root, and symlinks that lead out of the tree; a directory
 * reached twice (a symlink inside the tree) is shown once, a name shown twice (".A" and
 * "A/cur") once, Maildir++ first. Bounds: LIMIT_CLIENT_MAILDIR_DEPTH levels,
 * LIMIT_CLIENT_MAILDIR_FOLDERS directories (ERR_TOO_BIG past it). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client_maildir_int.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "core/banned.h"

struct tree_walk {
	char root[PATH_MAX]; /* the root's real path: symlinks must stay below it */
	client_maildir_folder_fn cb;
	void *arg;
	struct { dev_t dev; ino_t ino; } *seen; /* directories visited */
	size_t nseen;
	char **names; /* folder names reported */
	size_t nnames;
};

static bool tree_is_maildir(const char *path)
{
	char sub[PATH_MAX];
	struct stat st;
	for (int i = 0; i < 2; i++) {
		int n = snprintf(sub, sizeof(sub), "%s/%s", path, i ? "new" : "cur");
		if (n > 0 && (size_t)n < sizeof(sub) && lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			return true;
	}
	return false;
}

/* Whether path is a directory to look into: not a symlink out of the tree, not seen
 * before (a symlink loop, two links to one folder). Marks it seen. */
static int tree_enter(struct tree_walk *w, const char *path, bool *ok_out)
{
	struct stat st;
	*ok_out = false;
	if (lstat(path, &st) != 0)
		return 0; /* gone meanwhile */
	if (S_ISLNK(st.st_mode)) {
		char real[PATH_MAX];
		size_t rl = strlen(w->root);
		if (!realpath(path, real) || strncmp(real, w->root, rl) != 0 ||
		    (real[rl] != '/' && real[rl] != '\0'))
			return 0;
		if (stat(path, &st) != 0)
			return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;
	for (size_t i = 0; i < w->nseen; i++)
		if (w->seen[i].dev == st.st_dev && w->seen[i].ino == st.st_ino)
			return 0;
	if (w->nseen == LIMIT_CLIENT_MAILDIR_FOLDERS)
		return ERR_TOO_BIG;
	if (w->nseen % 64 == 0) {
		void *p = realloc(w->seen, (w->nseen + 64) * sizeof(*w->seen));
		if (!p)
			return ERR_NOMEM;
		w->seen = p;
	}
	w->seen[w->nseen].dev = st.st_dev;
	w->seen[w->nseen].ino = st.st_ino;
	w->nseen++;
	*ok_out = true;
	return 0;
}

/* Report folder name at path unless a folder of that name was reported already. */
static int tree_report(struct tree_walk *w, const char *name, const char *path)
{
	for (size_t i = 0; i < w->nnames; i++)
		if (strcmp(w->names[i], name) == 0)
			return 0;
	if (w->nnames == LIMIT_CLIENT_MAILDIR_FOLDERS)
		return ERR_TOO_BIG;
	if (w->nnames % 64 == 0) {
		void *p = realloc(w->names, (w->nnames + 64) * sizeof(*w->names));
		if (!p)
			return ERR_NOMEM;
		w->names = p;
	}
	if (!(w->names[w->nnames] = strdup(name)))
		return ERR_NOMEM;
	w->nnames++;
	return w->cb(w->arg, name, path);
}

static int tree_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of dir that may be folders (directories and symlinks), sorted, so that the
 * walk and its reports are in the same order on every run. */
static int tree_list(const char *dir, char ***names_out, size_t *n_out)
{
	*names_out = NULL;
	*n_out = 0;
	DIR *d = opendir(dir);
	if (!d)
		return client_maildir_errno(errno);
	char **v = NULL;
	size_t n = 0;
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
			continue;
		if (n == LIMIT_CLIENT_MAILDIR_FOLDERS) {
			rc = ERR_TOO_BIG;
		} else if (n % 64 == 0) {
			void *p = realloc(v, (n + 64) * sizeof(*v));
			if (p)
				v = p;
			else
				rc = ERR_NOMEM;
		}
		if (rc == 0 && (v[n] = strdup(de->d_name)) == NULL)
			rc = ERR_NOMEM;
		else if (rc == 0)
			n++;
	}
	closedir(d);
	if (rc == 0 && n > 1)
		qsort(v, n, sizeof(*v), tree_cmp);
	*names_out = v;
	*n_out = n;
	return rc;
}

static void tree_list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A Maildir++ directory name ".A.B" as "A/B"; false for one that is no folder name
 * (an empty component). */
static bool tree_plusplus_name(const char *dir, char *out, size_t cap)
{
	size_t n = 0;
	const char *p = dir + 1;
	if (!*p)
		return false;
	for (; *p; p++) {
		char c = *p;
		if (c == '.') {
			if (p[-1] == '.' || !p[1])
				return false;
			c = '/';
		} else if (c == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
			   p[3] >= '0' && p[3] <= '7') {
			c = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			if (c == '\0' || c == '/')
				return false;
			p += 3;
		}
		if (n + 1 >= cap)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	return true;
}

static int tree_path(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	return n < 0 || n >= PATH_MAX ? ERR_TOO_LONG : 0;
}

/* The one-Maildir-per-directory folders below dir, whose folder name is prefix. */
static int tree_walk_dirs(struct tree_walk *w, const char *dir, const char *prefix,
			  unsigned depth)
{
	if (depth >= LIMIT_CLIENT_MAILDIR_DEPTH)
		return 0;
	char **v;
	size_t n;
	int rc = tree_list(dir, &v, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *e = v[i];
		if (e[0] == '.' || !strcmp(e, "tmp") || !strcmp(e, "new") || !strcmp(e, "cur"))
			continue;
		char path[PATH_MAX], name[PATH_MAX];
		bool ok;
		if (tree_path(path, dir, e) < 0 || (rc = tree_enter(w, path, &ok)) < 0 || !ok)
			continue;
		/* IMAP's INBOX is case-insensitive (RFC 9051 5.1): "Inbox" is INBOX too. */
		bool inbox = !*prefix && str_ieq(e, strlen(e), "INBOX");
		int k = *prefix ? snprintf(name, sizeof(name), "%s/%s", prefix, e)
				: snprintf(name, sizeof(name), "%s", inbox ? "INBOX" : e);
		if (k < 0 || (size_t)k >= sizeof(name))
			continue;
		if (tree_is_maildir(path))
			rc = tree_report(w, name, path);
		if (rc == 0)
			rc = tree_walk_dirs(w, path, name, depth + 1);
	}
	tree_list_free(v, n);
	return rc;
}

int client_maildir_folders(const char *root, client_maildir_folder_fn cb, void *arg)
{
	struct tree_walk w = {.cb = cb, .arg = arg};
	struct stat st;
	if (stat(root, &st) != 0)
		return client_maildir_errno(errno);
	if (!S_ISDIR(st.st_mode))
		return ERR_NOTFOUND;
	if (!realpath(root, w.root))
		return client_maildir_errno(errno);
	bool ok;
	int rc = tree_enter(&w, w.root, &ok);
	if (rc == 0 && tree_is_maildir(root))
		rc = tree_report(&w, "INBOX", root);
	char **v = NULL;
	size_t n = 0;
	if (rc == 0)
		rc = tree_list(root, &v, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char name[PATH_MAX], path[PATH_MAX];
		if (v[i][0] != '.' || !tree_plusplus_name(v[i], name, sizeof(name)) ||
		    tree_path(path, root, v[i]) < 0 || (rc = tree_enter(&w, path, &ok)) < 0 ||
		    !ok || !tree_is_maildir(path))
			continue;
		rc = tree_report(&w, name, path);
	}
	tree_list_free(v, n);
	if (rc == 0)
		rc = tree_walk_dirs(&w, root, "", 0);
	free(w.seen);
	tree_list_free(w.names, w.nnames);
	return rc;
}

int client_maildir_folder_path(const char *root, const char *name, char *path_out,
			       size_t cap)
{
	size_t rl = strlen(root), nl = strlen(name), n = 0;
	if (nl == 0 || name[0] == '/' || name[nl - 1] == '/' || strstr(name, "//"))
		return ERR_INVAL;
	if (rl + 1 > cap)
		return ERR_FULL;
	memcpy(path_out, root, rl + 1);
	if (str_ieq(name, nl, "INBOX"))
		return 0;
	char dir[NAME_MAX + 1];
	dir[n++] = '.';
	for (const char *p = name; *p; p++) {
		const char *esc = *p == '.' ? "\\056" : *p == '\\' ? "\\134" : NULL;
		size_t k = esc ? 4 : 1;
		if (n + k > NAME_MAX)
			return ERR_TOO_LONG;
		if (esc)
			memcpy(dir + n, esc, 4);
		else
			dir[n] = *p == '/' ? '.' : *p;
		n += k;
	}
	dir[n] = '\0';
	int k = snprintf(path_out, cap, "%s/%s", root, dir);
	return k < 0 || (size_t)k >= cap ? ERR_FULL : 0;
}
