#!/usr/bin/env python3
"""Python imaplib from a chosen source address (through HAProxy): PASS/FAIL line.

Usage: imap_source.py HOST PORT SOURCE_IP USER PASSWORD SUBJECT AUTH_LOG

Connects to HOST:PORT from SOURCE_IP, logs in, fetches message 1 and checks
its subject, then checks that the auth request recorded in AUTH_LOG (by
authrec.py) since the start carries Client-IP=SOURCE_IP.
"""
import imaplib
import socket
import sys
import traceback

HOST, PORT, SOURCE, USER, PASSWORD, SUBJECT, AUTH_LOG = sys.argv[1:8]
PORT = int(PORT)
NAME = "imaplib-haproxy-source-address"


class SourceIMAP4(imaplib.IMAP4):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(SOURCE, 0))


def lines():
    with open(AUTH_LOG) as f:
        return f.read().splitlines()


def main():
    before = len(lines())
    m = SourceIMAP4(HOST, PORT, timeout=60)
    typ, dat = m.login(USER, PASSWORD)
    assert typ == "OK", "LOGIN: %s %r" % (typ, dat)
    typ, dat = m.select("INBOX")
    assert typ == "OK", "SELECT: %s %r" % (typ, dat)
    typ, dat = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and SUBJECT.encode() in dat[0][1], "FETCH 1: %s %r" % (typ, dat)
    m.logout()
    new = lines()[before:]
    want = "Client-IP=%s" % SOURCE
    assert any("Auth-Protocol=imap" in l.split() and want in l.split() for l in new), \
        "auth service got no imap request with Client-IP: %s (got %r)" % (SOURCE, new[-3:])


try:
    main()
    print("PASS " + NAME)
except Exception as e:
    traceback.print_exc()
    print("FAIL %s: %s" % (NAME, str(e)[:300] or type(e).__name__))
