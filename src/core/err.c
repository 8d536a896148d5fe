/* err.c: names for enum err, for logs. */
#include "err.h"

const char *err_str(int e)
{
	switch (e) {
	case ERR_OK: return "ok";
	case ERR_NOMEM: return "out of memory";
	case ERR_IO: return "i/o error";
	case ERR_TEMP: return "temporary failure";
	case ERR_NOTFOUND: return "not found";
	case ERR_EXISTS: return "already exists";
	case ERR_PERM: return "not permitted";
	case ERR_QUOTA: return "over quota";
	case ERR_TOO_LONG: return "too long";
	case ERR_TOO_DEEP: return "nested too deeply";
	case ERR_TOO_BIG: return "too big";
	case ERR_BAD_SYNTAX: return "syntax error";
	case ERR_INVAL: return "invalid argument";
	case ERR_FULL: return "buffer full";
	case ERR_AUTH: return "authentication failed";
	case ERR_LOCKED: return "in use";
	case ERR_GONE: return "cannot calculate changes";
	}
	return "unknown error";
}
