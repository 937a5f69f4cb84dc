#!/usr/bin/env python3
"""Python poplib against mailproxy: one line per case, PASS name / FAIL name: reason.

Usage: pop3_clients.py HOST PORT SSL_PORT USER PASSWORD SUBJECT BIG_SHA256 WAIT [CASE...]
"""
import hashlib
import os
import poplib
import re
import ssl
import sys
import time
import traceback

HOST, PORT, SSL_PORT, USER, PASSWORD, SUBJECT, BIG_SHA, WAIT = sys.argv[1:9]
PORT, SSL_PORT, WAIT = int(PORT), int(SSL_PORT), float(WAIT)
TIMEOUT = 60


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def ok(resp, what):
    check(resp.startswith(b"+OK"), "%s: %r" % (what, resp))


def session(p):
    """STAT, LIST, RETR 1 (the small message), QUIT on a logged-in connection."""
    count, size = p.stat()
    check(count >= 2, "STAT: %d messages, want >= 2" % count)
    resp, listing, _ = p.list()
    ok(resp, "LIST")
    check(len(listing) == count, "LIST: %d lines, STAT said %d" % (len(listing), count))
    resp, lines, _ = p.retr(1)
    ok(resp, "RETR 1")
    want = ("Subject: " + SUBJECT).encode()
    check(want in lines, "RETR 1: no %r line in %d lines" % (want, len(lines)))
    ok(p.quit(), "QUIT")


def login(p):
    ok(p.user(USER), "USER")
    ok(p.pass_(PASSWORD), "PASS")


def case_user_pass():
    p = poplib.POP3(HOST, PORT, timeout=TIMEOUT)
    check(p.getwelcome().startswith(b"+OK"), "greeting %r" % p.getwelcome())
    caps = p.capa()
    check("USER" in caps, "no USER in CAPA %r" % caps)
    check("STLS" in caps, "no STLS in CAPA %r" % caps)
    check({"PLAIN", "LOGIN", "CRAM-MD5"} <= set(caps.get("SASL", [])), "SASL line of CAPA: %r" % caps.get("SASL"))
    login(p)
    session(p)


def case_apop():
    p = poplib.POP3(HOST, PORT, timeout=TIMEOUT)
    check(re.search(rb"<[^>]+>", p.getwelcome()), "no APOP salt in the greeting %r" % p.getwelcome())
    ok(p.apop(USER, PASSWORD), "APOP")
    session(p)


def case_stls():
    p = poplib.POP3(HOST, PORT, timeout=TIMEOUT)
    ok(p.stls(context=ctx()), "STLS")
    check(isinstance(p.sock, ssl.SSLSocket), "socket is not TLS after STLS")
    caps = p.capa()
    check("STLS" not in caps, "STLS still offered after STLS: %r" % caps)
    login(p)
    session(p)


def case_ssl():
    p = poplib.POP3_SSL(HOST, SSL_PORT, context=ctx(), timeout=TIMEOUT)
    check(p.getwelcome().startswith(b"+OK"), "greeting %r" % p.getwelcome())
    login(p)
    session(p)


def case_big_retr_ssl():
    p = poplib.POP3_SSL(HOST, SSL_PORT, context=ctx(), timeout=TIMEOUT)
    login(p)
    _, listing, _ = p.list()
    sizes = {int(n): int(s) for n, s in (l.split() for l in listing)}
    big = max(sizes, key=sizes.get)
    check(sizes[big] > 5_000_000, "largest message is %d bytes" % sizes[big])
    resp, lines, octets = p.retr(big)
    ok(resp, "RETR %d" % big)
    body = b"\r\n".join(lines) + b"\r\n"
    got = hashlib.sha256(body).hexdigest()
    check(got == BIG_SHA, "sha256 %s (%d bytes), want %s (LIST said %d)" % (got, len(body), BIG_SHA, sizes[big]))
    ok(p.quit(), "QUIT")


def case_wrong_password_then_retry():
    p = poplib.POP3(HOST, PORT, timeout=TIMEOUT)
    ok(p.user(USER), "USER")
    t0 = time.monotonic()
    try:
        p.pass_(PASSWORD + "-wrong")
    except poplib.error_proto as e:
        took = time.monotonic() - t0
        check(took >= WAIT - 0.3, "failure came after %.2fs, want >= Auth-Wait %.0fs" % (took, WAIT))
        check(took < WAIT + 5, "failure came after %.2fs, want about %.0fs" % (took, WAIT))
        check(str(e).startswith("b'-ERR"), "error %s" % e)
    else:
        raise AssertionError("PASS with a wrong password succeeded")
    login(p)  # retry on the same connection
    session(p)


CASES = [
    ("poplib-user-pass", case_user_pass),
    ("poplib-apop", case_apop),
    ("poplib-stls", case_stls),
    ("poplib-ssl", case_ssl),
    ("poplib-ssl-5mb-retr", case_big_retr_ssl),
    ("poplib-wrong-password-then-retry", case_wrong_password_then_retry),
]

only = set(sys.argv[9:])
for name, fn in CASES:
    if only and name not in only:
        continue
    try:
        fn()
    except Exception as e:  # every failure is a FAIL line
        reason = "%s: %s" % (type(e).__name__, e)
        reason = " ".join(reason.split())[:300]
        print("FAIL %s: %s" % (name, reason), flush=True)
        if os.environ.get("VERBOSE"):
            traceback.print_exc()
    else:
        print("PASS %s" % name, flush=True)
