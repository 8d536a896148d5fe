/* core.h: the core layer in one include for callers that want all of it. */
#ifndef KASTEN_CORE_H
#define KASTEN_CORE_H
#include "arena.h"
#include "buf.h"
#include "conf.h"
#include "err.h"
#include "limits.h"
#include "log.h"
#include "str.h"
#endif
