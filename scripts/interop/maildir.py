#!/usr/bin/env python3
"""Messages for the SMTP cases and checks of what Postfix delivered.

Usage:
  maildir.py make FILE TAG SUBJECT SIZE
      write a CRLF message of about SIZE bytes with the header
      "X-Interop-Case: TAG" to FILE; print the sha256 of its body
      (line ends as LF, the form Postfix stores).
  maildir.py check MAILDIR TAG [--body-sha SHA] [--helo NAME] [--login USER]
                               [--addr IP] [--timeout SECONDS] [--received-has TEXT]
      wait for the message with "X-Interop-Case: TAG" in MAILDIR (new/ or
      cur/), then check its body checksum and the Received: line Postfix
      added (HELO name, client address, "Authenticated sender: USER",
      TEXT such as "using TLS" for a TLS hop).
      Prints "OK <path>" and exits 0, or prints the reason and exits 1.
"""
import base64
import hashlib
import os
import re
import sys
import time

CASE_HEADER = "X-Interop-Case"


def make_message(tag, subject, size, sender, rcpt):
    """A CRLF message with the case header; about size bytes (small if size < 1000)."""
    head = ("From: Interop Sender <%s>\r\n"
            "To: <%s>\r\n"
            "Subject: %s\r\n"
            "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
            "Message-ID: <%s@interop.test>\r\n"
            "%s: %s\r\n"
            "MIME-Version: 1.0\r\n" % (sender, rcpt, subject, os.urandom(8).hex(), CASE_HEADER, tag))
    if size < 1000:
        head += "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        body = bytearray(b"Hello from the interop test, case %s.\r\n"
                         b".a line starting with a dot\r\n" % tag.encode())
    else:
        head += ("Content-Type: application/octet-stream\r\n"
                 "Content-Transfer-Encoding: base64\r\n\r\n")
        body = bytearray()
        need = max(size - len(head), 0)
        while len(body) < need:
            body += base64.b64encode(os.urandom(57)) + b"\r\n"  # 76 chars + CRLF
    return head.encode() + bytes(body)


def body_sha(message):
    """sha256 of the body with LF line ends (Postfix stores LF)."""
    m = message.replace(b"\r\n", b"\n")
    i = m.find(b"\n\n")
    body = m[i + 2:] if i >= 0 else b""
    return hashlib.sha256(body).hexdigest()


def split_headers(message):
    """Unfolded headers, in order, as (name, value); and the raw message."""
    m = message.replace(b"\r\n", b"\n")
    end = m.find(b"\n\n")
    head = m[:end if end >= 0 else len(m)].decode("latin-1")
    out = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + " " + line.strip())
        elif ":" in line:
            name, value = line.split(":", 1)
            out.append((name.strip(), value.strip()))
    return out


def find_delivered(maildir, tag, timeout):
    """Path of the delivered message carrying tag, waiting up to timeout s."""
    want = ("%s: %s" % (CASE_HEADER, tag)).encode()
    deadline = time.monotonic() + timeout
    seen = {}
    while True:
        for sub in ("new", "cur"):
            d = os.path.join(maildir, sub)
            try:
                names = os.listdir(d)
            except FileNotFoundError:
                continue
            for n in names:
                p = os.path.join(d, n)
                if p in seen:
                    continue
                try:
                    with open(p, "rb") as f:
                        head = f.read(65536)
                except FileNotFoundError:
                    continue
                seen[p] = True
                if re.search(rb"(?mi)^" + re.escape(want) + rb"\r?$", head):
                    return p
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


def check_delivered(maildir, tag, body_sha256=None, helo=None, login=None,
                    addr="127.0.0.1", timeout=20, received_has=None):
    """None if the message with tag was delivered as expected, else the reason."""
    p = find_delivered(maildir, tag, timeout)
    if p is None:
        return "no message with %s: %s in %s after %ss" % (CASE_HEADER, tag, maildir, timeout)
    with open(p, "rb") as f:
        data = f.read()
    received = [v for n, v in split_headers(data) if n.lower() == "received"]
    if not received:
        return "delivered message has no Received: header"
    r = received[0]  # the one Postfix added
    if addr and "[%s]" % addr not in r:
        return "Received: lacks [%s]: %r" % (addr, r[:300])
    if helo and not r.startswith("from %s " % helo):
        return "Received: not from the client's HELO %r (XCLIENT + replayed EHLO): %r" % (helo, r[:300])
    if login and "Authenticated sender: %s)" % login not in r:
        return "Received: lacks (Authenticated sender: %s): %r" % (login, r[:300])
    if received_has and received_has not in r:
        return "Received: lacks %r: %r" % (received_has, r[:300])
    if body_sha256:
        got = body_sha(data)
        if got != body_sha256:
            return "body sha256 %s (%d bytes delivered), want %s" % (got, len(data), body_sha256)
    return None


def main(argv):
    if len(argv) >= 5 and argv[0] == "make":
        path, tag, subject, size = argv[1], argv[2], argv[3], int(argv[4])
        sender = os.environ.get("MAIL_FROM", "alice@interop.test")
        rcpt = os.environ.get("MAIL_RCPT", "bob@interop.test")
        msg = make_message(tag, subject, size, sender, rcpt)
        with open(path + ".tmp", "wb") as f:
            f.write(msg)
        os.rename(path + ".tmp", path)
        print(body_sha(msg))
        return 0
    if len(argv) >= 3 and argv[0] == "check":
        maildir, tag = argv[1], argv[2]
        opts = {"--body-sha": None, "--helo": None, "--login": None, "--addr": "127.0.0.1", "--timeout": "20",
                "--received-has": None}
        rest = argv[3:]
        while rest:
            if rest[0] not in opts or len(rest) < 2:
                print("bad argument %r" % rest[0])
                return 2
            opts[rest[0]] = rest[1]
            rest = rest[2:]
        why = check_delivered(maildir, tag, opts["--body-sha"], opts["--helo"], opts["--login"],
                              opts["--addr"], float(opts["--timeout"]), opts["--received-has"])
        if why:
            print(why)
            return 1
        print("OK %s" % find_delivered(maildir, tag, 0))
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
