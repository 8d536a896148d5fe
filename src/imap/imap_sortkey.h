/* imap_sortkey.h: the pure pieces SORT and THREAD (RFC 5256) build their keys from (the
 * base subject of 2.1 is mime.h's mime_base_subject): the sent date (2.2, from an RFC 5322 3.3 date-time), the
 * i;ascii-casemap collation (RFC 4790 9.2) and message ids (RFC 5322 3.6.4, normalized
 * as RFC 5256 3 asks). No I/O and no allocation: every function reads [s, s+n) only,
 * needs no NUL and writes into room the caller provides. Header values come here
 * already unfolded and decoded (RFC 2047, charsets) to UTF-8 by the caller. */
#ifndef KASTEN_IMAP_SORTKEY_H
#define KASTEN_IMAP_SORTKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An RFC 5322 3.3 date-time, with the obsolete forms of 4.3 and the leniency real mail
 * needs: [day-of-week ","] day month year hour ":" minute [":" second] [zone], CFWS
 * (comments, nested, with quoted-pairs) anywhere between tokens; the day name may lack
 * its comma; month names are the English three-letter ones in any case (longer
 * spellings too: the first three letters count); a two-digit year is 19xx from 50 up,
 * else 20xx, a three-digit year is 1900 + it; the zone is +hhmm / -hhmm, UT, GMT, Z,
 * the US names (EST, EDT, CST, CDT, MST, MDT, PST, PDT), a military letter (-0000 as
 * RFC 5322 4.3 says), or missing (+0000); text after the zone is ignored. The fields
 * must exist: day 1..days of that month, hour 0..23, minute 0..59, second 0..60 (60
 * counts as 59), year 1000..9999, zone minutes 0..59. 0 and *utc_out (seconds since the
 * epoch, UTC) and *days_out (the date as written, disregarding time and zone, as days
 * since 1970-01-01: what SENTBEFORE/SENTON/SENTSINCE compare, RFC 9051 6.4.4), or
 * ERR_BAD_SYNTAX. Either output may be NULL. */
int imap_sortkey_date(const char *s, size_t n, int64_t *utc_out, int32_t *days_out);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
int32_t imap_sortkey_days(int32_t year, unsigned month, unsigned day);

/* i;ascii-casemap: a-z compare as A-Z, every other octet as itself; a proper prefix
 * sorts first. <0, 0, >0. */
int imap_sortkey_casecmp(const char *a, size_t an, const char *b, size_t bn);

/* The msg-ids of a References, In-Reply-To or Message-ID value, in order: each
 * "<left@right>" with CFWS skipped between ids and, inside the brackets, whitespace,
 * comments, DQUOTEs and backslashes of quoted-pairs removed, so that
 * <"01KF8JCE"@x.y> and <01KF8JCE@x.y> are the same id (RFC 5256 3). Text outside
 * brackets (phrases of In-Reply-To) and ids without "@" or with an empty side are
 * skipped. fn gets each id as "<left@right>" (in a buffer of at most LIMIT_MSGID + 2
 * octets; a longer id is skipped) and returns false to stop. Returns the number of ids
 * passed to fn. */
typedef bool (*imap_sortkey_id_fn)(void *arg, const char *id, size_t len);
size_t imap_sortkey_msgids(const char *s, size_t n, imap_sortkey_id_fn fn, void *arg);

#endif
