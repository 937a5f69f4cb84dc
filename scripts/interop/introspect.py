#!/usr/bin/env python3
"""An OAuth 2.0 token introspection endpoint (RFC 7662) for Dovecot's oauth2
passdb (interop tests only).

Usage: introspect.py PORT TOKENS LOGFILE

Listens on 127.0.0.1:PORT. TOKENS has one "TOKEN USER" line per active
token. A POST with the form field token=TOKEN (Dovecot's
introspection_mode = post) is answered {"active": true, "username": USER}
for an active token and {"active": false} otherwise. Each request appends
"TOKEN active|inactive" to LOGFILE, so a test can tell that the backend
itself checked a token.
"""
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, tokens_file, logfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Lock()


def active_tokens():
    out = {}
    with open(tokens_file) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                out[parts[0]] = parts[1]
    return out


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode("latin-1"))
        token = (form.get("token") or [""])[0]
        user = active_tokens().get(token)
        answer = {"active": True, "username": user} if user else {"active": False}
        with lock, open(logfile, "a") as f:
            f.write("%s %s\n" % (token, "active" if user else "inactive"))
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
