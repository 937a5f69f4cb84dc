#!/usr/bin/env python3
"""Real clients against mailproxy's limits: one line per case, PASS name / FAIL name: reason.

The mailproxy under test ("limits" instance of interop.sh) has
max_connections 3 for the whole process, a limit_conn of 1 per user on its
IMAP server (a Dovecot backend) and of 1 per client address on a second
IMAP server, and max_commands 5.

Usage: limits_clients.py HOST IMAP POP3 SMTP ADDR_IMAP USER PASSWORD
"""
import imaplib
import poplib
import smtplib
import socket
import sys
import time
import traceback

HOST = sys.argv[1]
IMAP, POP3, SMTP, ADDR_IMAP = (int(p) for p in sys.argv[2:6])
USER, PASSWORD = sys.argv[6:8]
TIMEOUT = 30


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def hold(port, n, source="127.0.0.1"):
    """n raw connections that got their greeting, kept open."""
    out = []
    for _ in range(n):
        s = socket.create_connection((HOST, port), timeout=TIMEOUT, source_address=(source, 0))
        line = s.makefile("rb").readline()
        check(line.startswith(b"* OK"), "greeting %r" % line)
        out.append(s)
    return out


def release(socks):
    for s in socks:
        s.close()
    time.sleep(0.5)  # the proxy notices the close


def expect_error(fn, want):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - every client raises its own kind
        check(want in str(e), "error %s: %r, want %r in it" % (type(e).__name__, str(e), want))
        return
    raise AssertionError("no error, want %r" % want)


def imaplib_second_login_refused():
    """limit_conn on $remote_user: alice's second session is refused at login."""
    first = imaplib.IMAP4(HOST, IMAP, timeout=TIMEOUT)
    first.login(USER, PASSWORD)
    first.select("INBOX")
    second = imaplib.IMAP4(HOST, IMAP, timeout=TIMEOUT)
    expect_error(lambda: second.login(USER, PASSWORD), "[UNAVAILABLE] Too many connections")
    first.logout()
    time.sleep(0.5)
    again = imaplib.IMAP4(HOST, IMAP, timeout=TIMEOUT)
    again.login(USER, PASSWORD)
    again.logout()


def at_cap(fn):
    def run():
        socks = hold(IMAP, 3)
        try:
            fn()
        finally:
            release(socks)
    return run


@at_cap
def imaplib_try_later():
    expect_error(lambda: imaplib.IMAP4(HOST, IMAP, timeout=TIMEOUT), "[UNAVAILABLE] Too many connections, try again later")


@at_cap
def poplib_try_later():
    expect_error(lambda: poplib.POP3(HOST, POP3, timeout=TIMEOUT), "-ERR [SYS/TEMP] Too many connections, try again later")


@at_cap
def smtplib_try_later():
    try:
        smtplib.SMTP(HOST, SMTP, timeout=TIMEOUT)
    except smtplib.SMTPConnectError as e:
        check(e.smtp_code == 421 and b"4.3.2 Too many connections" in e.smtp_error, "reply %r" % (e.args,))
        return
    except smtplib.SMTPServerDisconnected as e:
        raise AssertionError("disconnected without the 421: %s" % e)
    raise AssertionError("connected at the cap")


def imaplib_after_cap():
    """Once the held connections close, clients are served again."""
    c = imaplib.IMAP4(HOST, IMAP, timeout=TIMEOUT)
    c.login(USER, PASSWORD)
    c.logout()


def imaplib_per_address():
    """limit_conn on $remote_addr: a second connection from 127.0.0.5 is
    refused instead of the greeting; another address is served."""
    socks = hold(ADDR_IMAP, 1, "127.0.0.5")
    try:
        s = socket.create_connection((HOST, ADDR_IMAP), timeout=TIMEOUT, source_address=("127.0.0.5", 0))
        line = s.makefile("rb").readline()
        s.close()
        check(line == b"* BYE [UNAVAILABLE] Too many connections\r\n", "reply %r" % line)
        other = hold(ADDR_IMAP, 1, "127.0.0.6")
        release(other)
    finally:
        release(socks)


def imaplib_max_commands():
    """max_commands 5: the sixth command is refused and the connection closes."""
    c = imaplib.IMAP4(HOST, IMAP, timeout=TIMEOUT)
    for _ in range(4):  # CAPABILITY was the first
        c.noop()
    expect_error(c.noop, "invalid command")


CASES = [
    ("limits-imaplib-second-login-refused", imaplib_second_login_refused),
    ("limits-imaplib-try-later-at-cap", imaplib_try_later),
    ("limits-poplib-try-later-at-cap", poplib_try_later),
    ("limits-smtplib-421-at-cap", smtplib_try_later),
    ("limits-imaplib-served-after-cap", imaplib_after_cap),
    ("limits-per-address-bye", imaplib_per_address),
    ("limits-imaplib-max-commands", imaplib_max_commands),
]

for name, fn in CASES:
    try:
        fn()
        print("PASS " + name, flush=True)
    except Exception as e:  # noqa: BLE001
        traceback.print_exc(file=sys.stderr)
        print("FAIL %s: %s" % (name, str(e).replace("\n", " ")[:300]), flush=True)
