#!/usr/bin/env python3
"""Real clients against login_throttle: one line per case, PASS name / FAIL name: reason.

The mailproxy under test ("throttle" instance of interop.sh) counts failed
logins in a real redis-server: user_ip {failures: 3}, exempt 127.0.0.9
(a "webmail" that forwards its client's address with IMAP ID
x-originating-ip). Dovecot is behind it; mailproxy-auth refuses a wrong
password with Auth-Wait.

Usage: throttle_clients.py HOST IMAP POP3 REDIS_PORT USER PASSWORD WAIT
"""
import imaplib
import poplib
import socket
import sys
import time
import traceback

HOST = sys.argv[1]
IMAP, POP3, REDIS = (int(p) for p in sys.argv[2:5])
USER, PASSWORD = sys.argv[5:7]
WAIT = float(sys.argv[7])
TIMEOUT = 30
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))


def check(cond, what):
    if not cond:
        raise AssertionError(what)


class SourceIMAP(imaplib.IMAP4):
    """imaplib from a chosen loopback source address."""

    def __init__(self, source):
        self.source = source
        super().__init__(HOST, IMAP, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))


def imap_login(source, password, forwarded=None):
    """One login on a new connection: None on success, else the refusal
    text, and the seconds the login took."""
    c = SourceIMAP(source)
    if forwarded:
        typ, _ = c._simple_command("ID", '("name" "webmail" "x-originating-ip" "%s")' % forwarded)
        check(typ == "OK", "ID answered %s" % typ)
    start = time.monotonic()
    try:
        c.login(USER, password)
    except imaplib.IMAP4.error as e:
        took = time.monotonic() - start
        c.shutdown()
        return str(e), took
    took = time.monotonic() - start
    c.select("INBOX")
    c.logout()
    return None, took


def imaplib_blocked_after_failures():
    """Three wrong passwords from 127.0.0.7, then the right one gets the
    same refusal after the same delay; from 127.0.0.8 it works."""
    refusals = [imap_login("127.0.0.7", "wrong")[0] for _ in range(3)]
    check(all(r and r == refusals[0] for r in refusals), "refusals %r" % refusals)
    got, took = imap_login("127.0.0.7", PASSWORD)
    check(got == refusals[0], "throttled login: %r, want %r" % (got, refusals[0]))
    check(took >= WAIT * 0.9, "throttled reply after %.2fs, want the Auth-Wait delay %.1fs" % (took, WAIT))
    got, _ = imap_login("127.0.0.8", PASSWORD)
    check(got is None, "login from another address: %r" % got)


def imaplib_success_clears():
    """Two failures, a success, two failures: the success cleared the count."""
    for password in ("wrong", "wrong", PASSWORD, "wrong", "wrong", PASSWORD):
        got, _ = imap_login("127.0.0.10", password)
        check((got is None) == (password == PASSWORD), "%s: %r" % (password, got))


def poplib_throttled():
    """POP3: three wrong passwords, then the right one gets the same -ERR."""
    def login(password):
        p = poplib.POP3(HOST, POP3, timeout=TIMEOUT)
        p.sock.close()
        p.sock = socket.create_connection((HOST, POP3), TIMEOUT, source_address=("127.0.0.11", 0))
        p.file = p.sock.makefile("rb")
        p._getresp()
        try:
            p.user(USER)
            p.pass_(password)
        except poplib.error_proto as e:
            p.close()
            return str(e)
        p.quit()
        return None
    refusals = [login("wrong") for _ in range(3)]
    check(all(r and r == refusals[0] for r in refusals), "refusals %r" % refusals)
    got = login(PASSWORD)
    check(got == refusals[0], "throttled login: %r, want %r" % (got, refusals[0]))


def imaplib_exempt_forwards():
    """The exempt webmail (127.0.0.9) is counted by the address it forwards
    with ID x-originating-ip, never by its own."""
    for _ in range(3):
        imap_login("127.0.0.9", "wrong", "192.0.2.77")
    got, _ = imap_login("127.0.0.9", PASSWORD, "192.0.2.77")
    check(got is not None, "the forwarded address was not throttled")
    got, _ = imap_login("127.0.0.9", PASSWORD, "192.0.2.78")
    check(got is None, "another forwarded address: %r" % got)
    got, _ = imap_login("127.0.0.9", PASSWORD)
    check(got is None, "the webmail itself: %r" % got)


def resp_keys(pattern):
    """KEYS pattern on the redis-server, in RESP by hand."""
    s = socket.create_connection((HOST, REDIS), timeout=TIMEOUT)
    s.sendall(b"*2\r\n$4\r\nKEYS\r\n$%d\r\n%s\r\n" % (len(pattern), pattern.encode()))
    f = s.makefile("rb")
    head = f.readline()
    check(head.startswith(b"*"), "KEYS answered %r" % head)
    keys = []
    for _ in range(int(head[1:])):
        f.readline()
        keys.append(f.readline().rstrip(b"\r\n").decode())
    s.close()
    return keys


def store_holds_blocks():
    """The blocks are in the store, under escaped, prefixed keys."""
    keys = resp_keys("mailproxy:throttle:block:*")
    for want in ("mailproxy:throttle:block:user_ip:%s:127.0.0.7" % USER.lower(),
                 "mailproxy:throttle:block:user_ip:%s:127.0.0.11" % USER.lower(),
                 "mailproxy:throttle:block:user_ip:%s:192.0.2.77" % USER.lower()):
        check(want in keys, "%s not in %r" % (want, keys))


CASES = [
    ("throttle-imaplib-blocked-after-failures", imaplib_blocked_after_failures),
    ("throttle-imaplib-success-clears", imaplib_success_clears),
    ("throttle-poplib-throttled", poplib_throttled),
    ("throttle-imaplib-exempt-forwards", imaplib_exempt_forwards),
    ("throttle-store-holds-blocks", store_holds_blocks),
]

for name, fn in CASES:
    try:
        fn()
        print("PASS " + name, flush=True)
    except Exception as e:  # noqa: BLE001
        traceback.print_exc(file=sys.stderr)
        print("FAIL %s: %s" % (name, str(e).replace("\n", " ")[:300]), flush=True)
