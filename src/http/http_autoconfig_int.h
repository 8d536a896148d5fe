/* http_autoconfig_int.h: the XML text writing the autoconfig documents share
 * (http_autoconfig_xml.c). Each returns 0, ERR_FULL (the buf is full) or ERR_INVAL (a
 * control character XML 1.0 cannot carry). */
#ifndef KASTEN_HTTP_AUTOCONFIG_INT_H
#define KASTEN_HTTP_AUTOCONFIG_INT_H

struct buf;

/* s as XML character data or attribute value: & < > " ' escaped. */
int autoconfig_xml_text(struct buf *b, const char *s);
/* indent spaces, <name>text</name>, a newline. */
int autoconfig_xml_elem(struct buf *b, unsigned indent, const char *name, const char *text);
int autoconfig_xml_elem_u(struct buf *b, unsigned indent, const char *name, unsigned v);

#endif
