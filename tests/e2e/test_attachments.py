"""A received attachment in the webmail in a real browser: listed in the reader and
downloaded with its decoded bytes (issue 10, reading: "attachments listed and
downloadable"; RFC 2045 6.8 base64 removed; RFC 2183 filename)."""

import base64
import hashlib
import time


def test_attachment_listed_and_downloaded(mail, browser):
    subject = f"The photo {time.time_ns()}"
    payload = bytes(range(256)) * 40 + b"end"  # every byte value: a binary file
    b64 = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    msg = (f"From: <carol@sender.invalid>\r\nTo: <{mail.alice}>\r\nSubject: {subject}\r\n"
           f"Message-ID: <att.{time.time_ns()}@test>\r\nDate: Sun, 22 Nov 2026 08:00:00 +0000\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
           "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the file.\r\n"
           "--b1\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n"
           "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n").encode() + b64 + b"--b1--\r\n"
    mail.deliver(mail.alice, subject, raw=msg)
    r = browser.run("attach.mjs#download", mail.base, params={
        "user": mail.alice, "password": mail.password, "subject": subject})["result"]
    assert len(r["links"]) == 1 and "data.bin" in r["links"][0]["text"], r
    assert r["failure"] is None and r["filename"] == "data.bin", r
    got = base64.b64decode(r.pop("bytes"))
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(payload).hexdigest(), len(got)
