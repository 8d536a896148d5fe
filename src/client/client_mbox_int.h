/* client_mbox_int.h: the parts of the mbox reader that its unit test and fuzz target
 * drive directly. Callers use client_maildir.h. */
#ifndef KASTEN_CLIENT_MBOX_INT_H
#define KASTEN_CLIENT_MBOX_INT_H

#include <stddef.h>
#include <time.h>

#include "client/client_maildir.h"

/* client_mbox_open on an open file (the reader owns fd and closes it), reading bufsize
 * bytes at a time: at least 2 * LIMIT_CLIENT_MBOX_LOOKAHEAD + 2 (ERR_INVAL below).
 * What the reader gives out does not depend on bufsize; tests and the fuzzer check
 * that with small buffers. */
int client_mbox_open_fd(int fd, size_t bufsize, struct client_mbox **mb_out);

/* The date of a From_ line: p[0..n) is what follows "From " (the sender and the date),
 * without the line end. asctime form "Tue Dec  1 10:00:00 2026" and its variants: no
 * seconds, one space before the day, a zone (+0100, -0700, UTC, CET) before or after
 * the year, the weekday left out, RFC 5322 form "Tue, 1 Dec 2026 10:00:00 +0100",
 * anything after the year ("remote from host"). No zone, or a zone name other than
 * UT/UTC/GMT/Z: local time, as ctime() wrote it. 0 if no date is found. */
time_t client_mbox_from_date(const char *p, size_t n);

#endif
