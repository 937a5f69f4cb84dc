#!/usr/bin/env python3
"""A header-recording relay in front of the auth service (interop tests only).

Usage: authrec.py LISTEN_PORT UPSTREAM_PORT LOGFILE [JSONFILE]

Listens on 127.0.0.1:LISTEN_PORT; for every auth_http request it appends one
line to LOGFILE with the request's Auth-User, Auth-Protocol, Client-IP and
Auth-SSL-Verify headers (key=value, space-separated), forwards the request
unchanged to 127.0.0.1:UPSTREAM_PORT and relays the reply back.

With JSONFILE it also appends, once the reply has come back and before it is
relayed, one JSON object per request: every request header except Auth-Pass,
Auth-SSL-Cert and X-Auth-Key, "reply" (the reply's headers: Auth-Status, Auth-Wait, ...)
and "t_reply" (time.time() when the reply arrived). The interop matrix
(matrix.py) checks each case's requests there.
"""
import json
import socket
import sys
import threading
import time

listen_port, upstream_port, logfile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
jsonfile = sys.argv[4] if len(sys.argv) > 4 else None
lock = threading.Lock()
RECORD = ("auth-user", "auth-protocol", "client-ip", "auth-ssl-verify", "auth-ssl-subject")
SECRET = ("auth-pass", "auth-ssl-cert", "x-auth-key")


def header_fields(head):
    """The header lines of an HTTP head (request or reply) as a dict."""
    out = {}
    for line in head.split("\r\n")[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def handle(c):
    try:
        c.settimeout(30)
        req = b""
        while b"\r\n\r\n" not in req:
            chunk = c.recv(65536)
            if not chunk:
                return
            req += chunk
        head = req.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        fields = {}
        for line in head.split("\r\n")[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                if k.strip().lower() in RECORD:
                    fields[k.strip()] = v.strip()
        with lock, open(logfile, "a") as f:
            f.write(" ".join("%s=%s" % kv for kv in fields.items()) + "\n")
        u = socket.create_connection(("127.0.0.1", upstream_port), timeout=30)
        try:
            u.sendall(req)
            if jsonfile is None:
                while True:
                    chunk = u.recv(65536)
                    if not chunk:
                        break
                    c.sendall(chunk)
                return
            reply = b""
            while True:  # the auth service closes after its reply (HTTP/1.0)
                chunk = u.recv(65536)
                if not chunk:
                    break
                reply += chunk
        finally:
            u.close()
        rec = {k: v for k, v in header_fields(head).items() if k.lower() not in SECRET}
        rec["reply"] = header_fields(reply.split(b"\r\n\r\n", 1)[0].decode("latin-1"))
        rec["t_reply"] = time.time()
        with lock, open(jsonfile, "a") as f:
            f.write(json.dumps(rec) + "\n")
        c.sendall(reply)
    except OSError:
        pass
    finally:
        c.close()


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", listen_port))
s.listen(64)
while True:
    conn, _ = s.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
