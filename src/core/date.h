/* date.h: reading RFC 5322 dates (core: IMAP SORT/SEARCH and JMAP use the same reader). */
#ifndef KASTEN_DATE_H
#define KASTEN_DATE_H

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
 * epoch, UTC), *days_out (the date as written, disregarding time and zone, as days
 * since 1970-01-01) and *zone_out (the zone in minutes east of UTC; -0000 and a
 * missing zone are 0), or ERR_BAD_SYNTAX. Any output may be NULL. */
int date_rfc5322_parse(const char *s, size_t n, int64_t *utc_out, int32_t *days_out,
		       int32_t *zone_out);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
int32_t date_days_from_civil(int32_t year, unsigned month, unsigned day);

/* The index after the CFWS (SP, HTAB, CR, LF and comments, nested, with quoted-pairs)
 * that starts at s[i] (i itself when there is none; at most n). */
size_t date_skip_cfws(const char *s, size_t n, size_t i);

#endif
