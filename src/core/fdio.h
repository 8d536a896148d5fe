/* fdio.h: writing to a file descriptor without losing bytes to short writes. */
#ifndef KASTEN_FDIO_H
#define KASTEN_FDIO_H

#include <stddef.h>

/* Write all of [p, p+n) to fd, again after EINTR and short writes. 0, or ERR_IO (errno
 * says why; a write that wrote nothing, as on a full disk, counts as a failure). */
int fd_write_all(int fd, const void *p, size_t n);

#endif
