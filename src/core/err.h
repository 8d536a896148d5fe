/* err.h: the one error enumeration. Functions return 0 on success, a negative
 * enum err on failure; readers and parsers return >0 progress, 0 need-more, <0 error.
 * err_is_temp() says whether the protocol layer answers 4xx/NO or 5xx/BAD. */
#ifndef KASTEN_ERR_H
#define KASTEN_ERR_H

#include <stdbool.h>

enum err {
	ERR_OK = 0,
	ERR_NOMEM = -1,       /* arena or malloc exhausted (temporary) */
	ERR_IO = -2,          /* read/write/fsync failed (temporary) */
	ERR_TEMP = -3,        /* try again later */
	ERR_NOTFOUND = -4,    /* no such account/mailbox/message */
	ERR_EXISTS = -5,      /* already exists */
	ERR_PERM = -6,        /* not allowed */
	ERR_QUOTA = -7,       /* over quota (permanent for this message) */
	ERR_TOO_LONG = -8,    /* line or argument past its limit */
	ERR_TOO_DEEP = -9,    /* nesting past its limit */
	ERR_TOO_BIG = -10,    /* message or literal past its limit */
	ERR_BAD_SYNTAX = -11, /* input does not parse */
	ERR_INVAL = -12,      /* caller passed a bad argument */
	ERR_FULL = -13,       /* a fixed-capacity buffer is full */
	ERR_AUTH = -14,       /* authentication failed */
	ERR_LOCKED = -15,     /* in use by another session */
	ERR_GONE = -16,       /* what was asked about is older than the kept history (JMAP
			       * cannotCalculateChanges) */
};

static inline bool err_is_temp(int e)
{
	return e == ERR_NOMEM || e == ERR_IO || e == ERR_TEMP || e == ERR_LOCKED;
}

const char *err_str(int e);

#endif
