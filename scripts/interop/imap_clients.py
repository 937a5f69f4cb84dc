#!/usr/bin/env python3
"""Python imaplib against mailproxy: one line per case, PASS name / FAIL name: reason.

Usage: imap_clients.py HOST PORT SSL_PORT USER PASSWORD SUBJECT BIG_UID BIG_SHA256 WAIT
"""
import hashlib
import imaplib
import os
import ssl
import sys
import time
import traceback

HOST, PORT, SSL_PORT, USER, PASSWORD, SUBJECT, BIG_UID, BIG_SHA, WAIT = sys.argv[1:10]
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


def ok(typ, dat, what):
    check(typ == "OK", "%s: %s %r" % (what, typ, dat))


def session(m):
    """LOGIN, SELECT, FETCH 1, LOGOUT on an open connection."""
    ok(*m.login(USER, PASSWORD), "LOGIN")
    typ, dat = m.select("INBOX")
    ok(typ, dat, "SELECT")
    check(int(dat[0]) >= 2, "SELECT INBOX: %r messages, want >= 2" % dat)
    typ, dat = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    ok(typ, dat, "FETCH")
    check(isinstance(dat[0], tuple) and SUBJECT.encode() in dat[0][1],
          "FETCH 1: subject %r not in %r" % (SUBJECT, dat[0]))
    typ, dat = m.logout()
    check(typ == "BYE", "LOGOUT: %s %r" % (typ, dat))


def case_plain():
    session(imaplib.IMAP4(HOST, PORT, timeout=TIMEOUT))


def case_starttls():
    m = imaplib.IMAP4(HOST, PORT, timeout=TIMEOUT)
    check("STARTTLS" in m.capabilities, "no STARTTLS in %r" % (m.capabilities,))
    ok(*m.starttls(ssl_context=ctx()), "STARTTLS")
    check(isinstance(m.sock, ssl.SSLSocket), "socket is not TLS after STARTTLS")
    session(m)


def case_ssl():
    m = imaplib.IMAP4_SSL(HOST, SSL_PORT, ssl_context=ctx(), timeout=TIMEOUT)
    session(m)


def case_big_fetch_ssl():
    m = imaplib.IMAP4_SSL(HOST, SSL_PORT, ssl_context=ctx(), timeout=TIMEOUT)
    ok(*m.login(USER, PASSWORD), "LOGIN")
    ok(*m.select("INBOX", readonly=True), "SELECT")
    typ, dat = m.uid("FETCH", BIG_UID, "(BODY.PEEK[])")
    ok(typ, dat, "UID FETCH")
    body = next((d[1] for d in dat if isinstance(d, tuple)), None)
    check(body is not None, "no literal in FETCH response")
    got = hashlib.sha256(body).hexdigest()
    check(got == BIG_SHA, "sha256 %s (%d bytes), want %s" % (got, len(body), BIG_SHA))
    m.logout()


def case_wrong_password_then_retry():
    m = imaplib.IMAP4(HOST, PORT, timeout=TIMEOUT)
    t0 = time.monotonic()
    try:
        m.login(USER, PASSWORD + "-wrong")
    except imaplib.IMAP4.error as e:
        took = time.monotonic() - t0
        check(took >= WAIT - 0.3, "failure came after %.2fs, want >= Auth-Wait %.0fs" % (took, WAIT))
        check(took < WAIT + 5, "failure came after %.2fs, want about %.0fs" % (took, WAIT))
        check(m.state == "NONAUTH", "state %s after failed LOGIN" % m.state)
        msg = str(e)
    else:
        raise AssertionError("LOGIN with a wrong password succeeded")
    check(msg, "empty error text")
    session(m)  # retry on the same connection


CASES = [
    ("imaplib-plain", case_plain),
    ("imaplib-starttls", case_starttls),
    ("imaplib-ssl", case_ssl),
    ("imaplib-ssl-5mb-fetch", case_big_fetch_ssl),
    ("imaplib-wrong-password-then-retry", case_wrong_password_then_retry),
]

only = set(sys.argv[10:])
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
