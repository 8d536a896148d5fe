"""Read a delivery status notification (RFC 3464 in an RFC 6522 multipart/report, or its
RFC 6533 global form) the way a test needs it: the report's own header fields, the human
text, the per-message fields, one dict per recipient, and the returned original, exact
to the byte.

Python's email package parses the header sections; the top-level parts are cut out of
the raw bytes at the boundary lines (RFC 2046 5.1.1), so that the returned original can
be compared byte for byte (the email package would re-serialise it). Field names are
lower-cased, values unfolded (RFC 5322 2.2.3: the CRLF before a space or tab removed).

    dsn = parse_dsn(raw)
    dsn.subject, dsn.header("From"), dsn.text
    dsn.per_message["reporting-mta"]          # "dns; mx.example.org"
    dsn.recipient("bob@remote.test")["action"]  # "failed"
    dsn.original_type, dsn.original            # "text/rfc822-headers", b"From: ..."
    dsn.original_headers()                     # an email.message.Message
"""

import email.policy
import re
from email.parser import BytesHeaderParser

__all__ = ["DSN", "parse_dsn", "field_blocks"]

_POLICY = email.policy.compat32


def _unfold(value):
    return re.sub(r"\r?\n(?=[ \t])", "", value).strip()


def field_blocks(body):
    """The blocks of `Name: value` fields of a delivery-status body (RFC 3464 2.1),
    separated by empty lines: a list of dicts, lower-case names, unfolded values.
    A name that repeats within one block raises ValueError (RFC 3464 allows none)."""
    text = body.decode("utf-8", "surrogateescape").replace("\r\n", "\n")
    blocks = []
    for chunk in re.split(r"\n[ \t]*\n", text.strip("\n")):
        fields, name = {}, None
        for line in chunk.split("\n"):
            if line[:1] in (" ", "\t") and name:
                fields[name] += " " + line.strip()
                continue
            if ":" not in line:
                raise ValueError(f"not a field: {line!r}")
            name, value = line.split(":", 1)
            name = name.strip().lower()
            if name in fields:
                raise ValueError(f"field {name} twice in one block")
            fields[name] = value.strip()
        blocks.append({k: _unfold(v) for k, v in fields.items()})
    return blocks


def _split_parts(raw, boundary):
    """The top-level body parts as raw bytes (header section + body) between the
    boundary delimiter lines; the CRLF before each delimiter belongs to it."""
    delim = b"\r\n--" + boundary.encode()
    start = raw.find(b"--" + boundary.encode())
    if start < 0:
        raise ValueError("no first boundary")
    parts, pos = [], start + 2 + len(boundary)
    while True:
        eol = raw.find(b"\r\n", pos)
        if eol < 0:
            raise ValueError("boundary line without CRLF")
        nxt = raw.find(delim, eol)
        if nxt < 0:
            raise ValueError("no closing boundary")
        parts.append(raw[eol + 2:nxt])
        pos = nxt + len(delim)
        if raw[pos:pos + 2] == b"--":
            return parts


def _part(raw_part):
    """(headers, body) of one part: headers an email Message, body the exact bytes."""
    cut = raw_part.find(b"\r\n\r\n")
    if raw_part.startswith(b"\r\n"):  # no header fields at all
        head, body = b"", raw_part[2:]
    elif cut < 0:
        head, body = raw_part, b""
    else:
        head, body = raw_part[:cut + 2], raw_part[cut + 4:]
    return BytesHeaderParser(policy=_POLICY).parsebytes(head + b"\r\n"), body


class DSN:
    """One parsed report; see the module text."""

    def __init__(self, raw):
        self.raw = raw
        self.message = BytesHeaderParser(policy=_POLICY).parsebytes(raw)
        if self.message.get_content_type() != "multipart/report":
            raise ValueError(f"not multipart/report: {self.message.get_content_type()}")
        self.report_type = self.message.get_param("report-type")
        boundary = self.message.get_param("boundary")
        self.parts = [_part(p) for p in _split_parts(raw, boundary)]
        if len(self.parts) not in (2, 3):  # RFC 6522 3
            raise ValueError(f"{len(self.parts)} parts")
        text_head, text_body = self.parts[0]
        self.text_type = text_head.get_content_type()
        self.text = text_body.decode(text_head.get_content_charset() or "us-ascii",
                                     "replace").replace("\r\n", "\n")
        status_head, status_body = self.parts[1]
        self.status_type = status_head.get_content_type()
        blocks = field_blocks(status_body)
        self.per_message = blocks[0]
        self.recipients = blocks[1:]
        if len(self.parts) == 3:
            orig_head, self.original = self.parts[2]
            self.original_type = orig_head.get_content_type()
            self.original_part_headers = orig_head
        else:
            self.original_type, self.original, self.original_part_headers = None, None, None

    def header(self, name):
        """The report's own header field, unfolded, or None."""
        v = self.message.get(name)
        return None if v is None else _unfold(str(v))

    @property
    def subject(self):
        return self.header("Subject")

    def recipient(self, address):
        """The per-recipient block whose Final-Recipient is address (case-insensitive)."""
        for r in self.recipients:
            final = r.get("final-recipient", "")
            if final.split(";", 1)[-1].strip().lower() == address.lower():
                return r
        raise KeyError(address)

    def original_headers(self):
        """The returned original's header section as an email Message."""
        if self.original is None:
            return None
        return BytesHeaderParser(policy=_POLICY).parsebytes(self.original)


def parse_dsn(raw):
    """Parse one report (bytes, CRLF lines); ValueError when it is not one."""
    return DSN(raw)
