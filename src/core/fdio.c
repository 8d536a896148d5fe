/* fdio.c: see fdio.h. */
#include "core/fdio.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "core/err.h"
#include "core/banned.h"

int fd_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ERR_IO;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}
