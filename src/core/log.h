/* log.h: one line per event on stderr:
 *   TIME LEVEL ROLE [cid=N] [peer=ADDR] [user=ADDR] message key=value...
 * The context (role, connection id, peer, account) is thread-local: the event loop
 * sets it before it runs a session's code, so handlers never pass it around.
 * Never log passwords, AUTH payloads or message bodies; pass client strings
 * through log_esc() so they are escaped and truncated. */
#ifndef KASTEN_LOG_H
#define KASTEN_LOG_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Debug categories, switchable at runtime (log_debug_on). */
enum log_cat { LOGC_IO = 1, LOGC_PARSE = 2, LOGC_STORE = 4, LOGC_TLS = 8, LOGC_PROTO = 16 };
/* LOGC_PROTO: the protocol dialogue ("C: ...", "S: ..."), secrets replaced by
 * "[secret]", message bodies never shown. */

void log_set_level(enum log_level lvl);
void log_debug_on(unsigned cats);
bool log_debug_enabled(unsigned cat);

/* Set (or clear with NULLs/0) this thread's context. Strings are copied. */
void log_ctx(const char *role, uint64_t cid, const char *peer, const char *user);
void log_ctx_user(const char *user);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(cat, ...)                                                                        \
	do {                                                                                       \
		if (log_debug_enabled(cat))                                                        \
			log_msg(LOG_DEBUG, __VA_ARGS__);                                           \
	} while (0)

/* Escape a client-supplied byte string for a log line: printable ASCII kept,
 * everything else as \xHH, cut at 120 bytes with "...". Returns out. */
const char *log_esc(char out[static 512], const void *p, size_t n);

/* Fatal startup error: log and exit(1). Never for a single connection's problem. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
