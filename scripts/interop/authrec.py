#!/usr/bin/env python3
"""A header-recording relay in front of the auth service (interop tests only).

Usage: authrec.py LISTEN_PORT UPSTREAM_PORT LOGFILE

Listens on 127.0.0.1:LISTEN_PORT; for every auth_http request it appends one
line to LOGFILE with the request's Auth-User, Auth-Protocol, Client-IP and
Auth-SSL-Verify headers (key=value, space-separated), forwards the request
unchanged to 127.0.0.1:UPSTREAM_PORT and relays the reply back.
"""
import socket
import sys
import threading

listen_port, upstream_port, logfile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
RECORD = ("auth-user", "auth-protocol", "client-ip", "auth-ssl-verify", "auth-ssl-subject")


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
            while True:
                chunk = u.recv(65536)
                if not chunk:
                    break
                c.sendall(chunk)
        finally:
            u.close()
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
