/* cmd_lock.c: one owner per data directory. `<data>/.lock` is flock()ed for the life of
 * the process that owns the data dir: `kasten serve` for as long as it runs, or an admin
 * command while no server does. The owner's PID and role are written into the file so
 * that a refused second server can name the process in its way. The lock is an open
 * file description, so it dies with its process: a kill -9 leaves nothing stale. */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/banned.h"

#define LOCK_FILE ".lock"
#define LOCK_POLL_MS 50

/* "PID ROLE" of the current holder, read from the file (best effort). */
static void read_holder(int fd, long *pid_out, char *role, size_t cap)
{
	char buf[64] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	*pid_out = 0;
	role[0] = '\0';
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *end;
	long pid = strtol(buf, &end, 10);
	if (end == buf || pid <= 0)
		return;
	*pid_out = pid;
	while (*end == ' ')
		end++;
	(void)snprintf(role, cap, "%.*s", (int)strcspn(end, "\n"), end);
}

static void write_holder(int fd, const char *role)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%ld %s\n", (long)getpid(), role);
	/* only informative: the flock is the lock, whatever the file says */
	if (ftruncate(fd, 0) < 0 || n < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_warn("data dir lock: cannot record our pid: %s", strerror(errno));
}

int cmd_lock_data(const char *dir, const char *role, unsigned wait_ms,
		  struct cmd_lock_holder *holder_out)
{
	char path[4096];
	memset(holder_out, 0, sizeof(*holder_out));
	if (snprintf(path, sizeof(path), "%s/" LOCK_FILE, dir) >= (int)sizeof(path))
		return -1;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_err("data dir lock %s: %s", path, strerror(errno));
		return -1;
	}
	struct timespec nap = {0, LOCK_POLL_MS * 1000000L};
	for (unsigned waited = 0;; waited += LOCK_POLL_MS) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK) {
			log_err("data dir lock %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		read_holder(fd, &holder_out->pid, holder_out->role, sizeof(holder_out->role));
		/* a server never lets go of its own accord: no point in waiting for one */
		if (waited >= wait_ms || !strcmp(holder_out->role, "serve")) {
			close(fd);
			return -1;
		}
		nanosleep(&nap, NULL);
	}
	write_holder(fd, role);
	return fd;
}
