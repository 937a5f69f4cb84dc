#!/usr/bin/env python3
"""Modern clients against mailproxy (issue "XOAUTH2 and OAUTHBEARER, IMAP ID,
the client's address to every backend"): one line per case, PASS name /
FAIL name: reason.

Usage: modern_clients.py CONFIG.json [CASE... | --list]

Cases, each checked at the client, at the auth service (the recording
relay's JSON lines: authrec.py) and at the backend (Dovecot's log, the
introspection endpoint's log, Postfix's maildir):

  * OAuth 2.0 with password tokens (the users file's "token:TOKEN alice"
    lines: the auth service answers with alice's password, mailproxy logs
    in to Dovecot with LOGIN, to Postfix with XCLIENT LOGIN=alice): curl
    --oauth2-bearer over IMAP, POP3 and SMTP, plain, STARTTLS and implicit
    TLS, against servers advertising both mechanisms (curl picks
    OAUTHBEARER, with SASL-IR for IMAP) and XOAUTH2 only (curl uses
    XOAUTH2); Python's imaplib authenticate('XOAUTH2') the same three ways;
    a wrong token over each protocol and mechanism: the Auth-Error-SASL
    challenge after Auth-Wait, the client's acknowledgement, the failure
    reply, nothing at the backend.
  * Tokens the backend checks ("token:TOKEN alice forward": the auth
    service answers Auth-Backend-Method, mailproxy logs in to Dovecot with
    the client's mechanism and token, Dovecot's oauth2 passdb asks the
    introspection endpoint): IMAP and POP3 with both mechanisms; a token
    the endpoint calls inactive is refused by Dovecot, whose NO reaches
    the client (proxy_pass_error_message).
  * IMAP ID and proxy_forward: behind a PROXY header from a trusted
    address naming 192.0.2.7, an ID then a LOGIN through a server with
    proxy_forward imap_id and auth_http_pass_client_details; POP3 with
    proxy_forward xclient. Dovecot (login_trusted_networks) must log
    rip=192.0.2.7 and mailproxy's session ID, with no PROXY header sent to
    it; the auth service must get Client-Port, Server-Addr, Server-Port and
    Client-IMAP-ID.
  * SMTP relaying (smtp_auth none) with PIPELINING and CHUNKING: MAIL, RCPT
    and BDAT chunks of binary content (CR, LF, NUL, dots, lines that read
    as commands) pipelined in one write; the message Postfix delivers must
    hold the content as sent (Postfix stores LF line ends).
"""
import base64
import imaplib
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import traceback

CFG = json.load(open(sys.argv[1]))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import maildir  # noqa: E402

HOST = "127.0.0.1"
USER, PASSWORD = CFG["user"], CFG["password"]
TOKENS = CFG["tokens"]  # pass, forward, revoked
PORTS = CFG["ports"]
WAIT = float(CFG["wait"])
OUT = CFG["out"]
SUBJECT = CFG["subject"]
ERROR_SASL = CFG["error_sasl"]
REFUSAL = "Invalid login or password"
TIMEOUT = 60
CASES = []


def case(fn):
    CASES.append((fn.__name__.replace("case_", "").replace("_", "-"), fn))
    return fn


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def tls_ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


class Log:
    """A file read from an offset."""

    def __init__(self, path):
        self.path = path

    def offset(self):
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def text(self, off):
        try:
            with open(self.path, "rb") as f:
                f.seek(off)
                data = f.read()
        except FileNotFoundError:
            return ""
        return data[:data.rfind(b"\n") + 1].decode("utf-8", "replace")


AUTH = Log(CFG["auth_json"])
DOVECOT = Log(CFG["dovecot_log"])
INTROSPECT = Log(CFG["introspect_log"])
MAILPROXY = Log(CFG["mailproxy_log"])


CANON = {"auth-error-sasl": "Auth-Error-SASL", "auth-backend-method": "Auth-Backend-Method"}


class Marks:
    """The offsets of every log when a case starts."""

    def __init__(self):
        self.auth, self.dovecot, self.introspect = AUTH.offset(), DOVECOT.offset(), INTROSPECT.offset()
        self.mailproxy = MAILPROXY.offset()

    def auth_requests(self):
        """The recorded requests since the mark, header names as the relay
        saw them, reply header names canonical (Auth-Error-SASL, not Go's
        Auth-Error-Sasl)."""
        out = []
        for l in AUTH.text(self.auth).splitlines():
            r = json.loads(l)
            r["reply"] = {CANON.get(k.lower(), k): v for k, v in r["reply"].items()}
            out.append(r)
        return out

    def dovecot_logins(self, proto, wait_for=1):
        """Dovecot's Login lines of proto since the mark, waiting for
        wait_for of them (its log lags the client a little)."""
        pat = re.compile(r" %s-login: Info: Login: user=<([^>]*)>, method=([A-Z0-9-]+), rip=([0-9a-f.:]+),(.*)" % proto)
        deadline = time.monotonic() + 20
        while True:
            got = [m.groups() for m in map(pat.search, DOVECOT.text(self.dovecot).splitlines()) if m]
            if len(got) >= wait_for or time.monotonic() > deadline:
                return got
            time.sleep(0.1)


def expect_auth(mark, method, protocol, status="OK", tls=False, n=1, **headers):
    """n auth requests since mark, each with method, protocol and the
    reply status; headers are more request headers to match (a value of
    None: absent). Returns the requests."""
    recs = mark.auth_requests()
    got = "; ".join("%s/%s/%s" % (r.get("Auth-Method"), r.get("Auth-Protocol"), r["reply"].get("Auth-Status"))
                    for r in recs) or "none"
    check(len(recs) == n, "auth service got %d requests, want %d (%s)" % (len(recs), n, got))
    for r in recs:
        for k, v in (("Auth-Method", method), ("Auth-Protocol", protocol), ("Auth-User", USER),
                     ("Auth-SSL", "on" if tls else None)):
            check(r.get(k) == v, "auth request: %s %r, want %r" % (k, r.get(k), v))
        for k, v in headers.items():
            k = k.replace("_", "-")
            check(r.get(k) == v, "auth request: %s %r, want %r" % (k, r.get(k), v))
        reply = r["reply"]
        if status == "OK":
            check(reply.get("Auth-Status") == "OK", "auth reply %r, want OK" % reply)
        else:
            check(reply.get("Auth-Status") == REFUSAL and reply.get("Auth-Error-SASL") == ERROR_SASL,
                  "auth reply %r, want a refusal with Auth-Error-SASL" % reply)
    return recs


def expect_dovecot_login(mark, proto, method, rip="127.0.0.1"):
    logins = mark.dovecot_logins(proto)
    check(len(logins) == 1 and logins[0][:3] == (USER, method, rip),
          "Dovecot %s logins %r, want user=<%s>, method=%s, rip=%s" % (proto, logins, USER, method, rip))
    return logins[0]


def expect_nothing_at_dovecot(mark, proto):
    time.sleep(0.5)
    logins = mark.dovecot_logins(proto, wait_for=0)
    check(not logins, "Dovecot logged %s logins for a refused token: %r" % (proto, logins))


# ---------------------------------------------------------------- curl

def curl(name, url, token, *args):
    """Run curl --oauth2-bearer; return (exit code, trace, body, seconds)."""
    body, trace = os.path.join(OUT, name + ".body"), os.path.join(OUT, name + ".trace")
    t0 = time.monotonic()
    with open(trace, "wb") as tf:
        rc = subprocess.run(["curl", "-sS", "-v", "--max-time", "30", "--oauth2-bearer", token] + list(args) +
                            [url, "-o", body], stderr=tf, stdin=subprocess.DEVNULL, timeout=60).returncode
    took = time.monotonic() - t0
    with open(trace, "rb") as f:
        tr = f.read().decode("utf-8", "replace")
    try:
        with open(body, "rb") as f:
            b = f.read()
    except FileNotFoundError:
        b = b""
    return rc, tr, b, took


def trace_has(trace, pattern, what):
    check(re.search(pattern, trace, re.M), "%s: no /%s/ in curl's trace (%s)" % (what, pattern, trace_tail(trace)))


def trace_tail(trace):
    lines = [l for l in trace.splitlines() if re.match(r"^(curl:|< |> )", l)]
    return " | ".join(lines[-4:])


MECH = {"oa": "OAUTHBEARER", "ox": "XOAUTH2"}  # what curl picks on each server kind


def url(kind, proto, transport, user=USER):
    """The URL of a server kind ("oa": both mechanisms, "ox": XOAUTH2 only),
    protocol and transport ("plain", "starttls", "tls")."""
    scheme = {"imap": "imap", "pop3": "pop3", "smtp": "smtp"}[proto]
    port = PORTS["%s_%s" % (kind, proto)]
    if transport == "tls":
        scheme += "s"
        port = PORTS["%s_%ss" % (kind, proto)]
    path = {"imap": "/INBOX;UID=%s" % CFG["small_uid"], "pop3": "/1", "smtp": ""}[proto]
    return "%s://%s@%s:%d%s" % (scheme, user, HOST, port, path)


def tls_args(transport):
    return {"plain": [], "starttls": ["--ssl-reqd", "-k"], "tls": ["-k"]}[transport]


def curl_fetch(kind, proto, transport, token="pass"):
    name = "curl-%s-%s-%s-%s" % (MECH[kind].lower(), proto, transport, token)
    mark = Marks()
    rc, tr, body, _ = curl(name, url(kind, proto, transport), TOKENS[token], *tls_args(transport))
    check(rc == 0, "curl exit %d: %s" % (rc, trace_tail(tr)))
    check(("Subject: %s" % SUBJECT).encode() in body, "fetched message lacks its subject (%d bytes)" % len(body))
    if proto == "imap":
        # SASL-IR: the message rides on the AUTHENTICATE command.
        trace_has(tr, r"^> A\d+ AUTHENTICATE %s \S+" % MECH[kind], "initial response")
    else:
        trace_has(tr, r"^> AUTH %s" % MECH[kind], "mechanism")
    expect_auth(mark, MECH[kind].lower(), proto, tls=transport != "plain")
    if token == "forward":
        rec = mark.auth_requests()[0]["reply"]
        check(rec.get("Auth-Backend-Method") == MECH[kind].lower(), "auth reply %r lacks Auth-Backend-Method" % rec)
        expect_dovecot_login(mark, proto, MECH[kind])
        intro = INTROSPECT.text(mark.introspect)
        check("%s active" % TOKENS[token] in intro, "the introspection endpoint was not asked about the token (%r)" % intro)
    else:
        expect_dovecot_login(mark, proto, "PLAIN")


def curl_send(kind, transport):
    name = "curl-%s-smtp-%s" % (MECH[kind].lower(), transport)
    tag = "%s-%s" % (CFG["tag"], name)
    msg = maildir.make_message(tag, "oauth " + name, 100, CFG["mail_from"], CFG["mail_rcpt"])
    path = os.path.join(OUT, name + ".eml")
    with open(path, "wb") as f:
        f.write(msg)
    mark = Marks()
    rc, tr, _, _ = curl(name, url(kind, "smtp", transport) + "/%s.%s" % (name, CFG["domain"]), TOKENS["pass"],
                        "--mail-from", CFG["mail_from"], "--mail-rcpt", CFG["mail_rcpt"], "--upload-file", path,
                        *tls_args(transport))
    check(rc == 0, "curl exit %d: %s" % (rc, trace_tail(tr)))
    trace_has(tr, r"^> AUTH %s" % MECH[kind], "mechanism")
    expect_auth(mark, MECH[kind].lower(), "smtp", tls=transport != "plain")
    why = maildir.check_delivered(CFG["rcpt_maildir"], tag, maildir.body_sha(msg), "%s.%s" % (name, CFG["domain"]),
                                  USER, timeout=30)
    check(why is None, why)


def curl_wrong_token(kind, proto, transport):
    """A wrong token: the challenge after Auth-Wait, curl's answer, the
    failure reply; nothing at the backend. curl (7.88) answers an
    OAUTHBEARER challenge with AQ== and gets the refusal; an XOAUTH2
    challenge it does not answer: it gives up and closes."""
    name = "curl-%s-%s-%s-wrong-token" % (MECH[kind].lower(), proto, transport)
    mark = Marks()
    extra = []
    if proto == "smtp":
        extra = ["--mail-from", CFG["mail_from"], "--mail-rcpt", CFG["mail_rcpt"], "--upload-file", "/dev/null"]
    rc, tr, _, took = curl(name, url(kind, proto, transport), "wrong-" + TOKENS["pass"], *extra, *tls_args(transport))
    check(rc != 0, "curl succeeded with a wrong token")
    check(took >= WAIT - 0.3, "refused after %.2fs, before Auth-Wait %gs" % (took, WAIT))
    cont = {"imap": r"^< \+ ", "pop3": r"^< \+ ", "smtp": r"^< 334 "}[proto] + re.escape(ERROR_SASL)
    trace_has(tr, cont, "Auth-Error-SASL challenge")
    if MECH[kind] == "OAUTHBEARER":
        trace_has(tr, r"^> AQ==\s*$", "the client's acknowledgement")
        fail = {"imap": r"^< A\d+ NO " + REFUSAL, "pop3": r"^< -ERR " + REFUSAL, "smtp": r"^< 535 5\.7\.8 " + REFUSAL}[proto]
        trace_has(tr, fail, "the refusal")
    else:
        after = tr[tr.rfind(ERROR_SASL):]
        check(not re.search(r"^[<>] ", after, re.M), "curl went on after the XOAUTH2 challenge: %s" % trace_tail(tr))
        trace_has(tr, r"^curl: \(67\)", "curl's login failure")
    expect_auth(mark, MECH[kind].lower(), proto, status="fail", tls=transport != "plain")
    if proto != "smtp":
        expect_nothing_at_dovecot(mark, proto)


def make_curl_cases():
    for kind in ("oa", "ox"):
        for proto in ("imap", "pop3"):
            for transport in ("plain", "starttls", "tls"):
                def fn(kind=kind, proto=proto, transport=transport):
                    curl_fetch(kind, proto, transport)
                CASES.append(("curl-%s-%s-%s" % (MECH[kind].lower(), proto, transport), fn))
        for transport in ("plain", "starttls", "tls"):
            def fn(kind=kind, transport=transport):
                curl_send(kind, transport)
            CASES.append(("curl-%s-smtp-%s" % (MECH[kind].lower(), transport), fn))
        # Every transport for OAUTHBEARER; curl does not answer XOAUTH2's
        # challenge, so once is enough there.
        for proto in ("imap", "pop3", "smtp"):
            for transport in ("plain", "starttls", "tls") if kind == "oa" else ("plain",):
                def fn(kind=kind, proto=proto, transport=transport):
                    curl_wrong_token(kind, proto, transport)
                CASES.append(("curl-%s-%s-%s-wrong-token" % (MECH[kind].lower(), proto, transport), fn))
        for proto in ("imap", "pop3"):
            def fn(kind=kind, proto=proto):
                curl_fetch(kind, proto, "plain", token="forward")
            CASES.append(("curl-%s-%s-backend-checks-token" % (MECH[kind].lower(), proto), fn))


make_curl_cases()


@case
def case_curl_oauthbearer_imap_token_refused_by_dovecot():
    """A forward token the introspection endpoint calls inactive: the auth
    service says OK, Dovecot refuses it, and its NO reaches the client."""
    mark = Marks()
    rc, tr, _, _ = curl("revoked", url("oa", "imap", "plain"), TOKENS["revoked"])
    check(rc != 0, "curl succeeded with a revoked token")
    trace_has(tr, r"^< A\d+ NO \[AUTHENTICATIONFAILED\]", "Dovecot's refusal")
    expect_auth(mark, "oauthbearer", "imap")
    intro = INTROSPECT.text(mark.introspect)
    check("%s inactive" % TOKENS["revoked"] in intro, "the introspection endpoint was not asked (%r)" % intro)


# ---------------------------------------------------------------- imaplib

def xoauth2(token, seen):
    """imaplib's authobject: the message first, then an empty answer to the
    server's error challenge (recorded in seen)."""
    def respond(challenge):
        if seen:
            seen.append(challenge)
            return b""
        seen.append(challenge)
        return ("user=%s\x01auth=Bearer %s\x01\x01" % (USER, token)).encode()
    return respond


def imaplib_connect(transport, port_key="oa_imap"):
    if transport == "tls":
        return imaplib.IMAP4_SSL(HOST, PORTS[port_key + "s"], ssl_context=tls_ctx(), timeout=TIMEOUT)
    m = imaplib.IMAP4(HOST, PORTS[port_key], timeout=TIMEOUT)
    if transport == "starttls":
        typ, dat = m.starttls(ssl_context=tls_ctx())
        check(typ == "OK", "STARTTLS %s %r" % (typ, dat))
    return m


def imaplib_xoauth2(transport, token="pass"):
    mark = Marks()
    m = imaplib_connect(transport)
    check("AUTH=XOAUTH2" in m.capabilities, "no AUTH=XOAUTH2 in %r" % (m.capabilities,))
    seen = []
    typ, dat = m.authenticate("XOAUTH2", xoauth2(TOKENS[token], seen))
    check(typ == "OK", "AUTHENTICATE %s %r" % (typ, dat))
    typ, dat = m.select("INBOX", readonly=True)
    check(typ == "OK", "SELECT %s %r" % (typ, dat))
    typ, dat = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    check(typ == "OK" and SUBJECT.encode() in dat[0][1], "FETCH %s %r" % (typ, dat))
    m.logout()
    expect_auth(mark, "xoauth2", "imap", tls=transport != "plain")
    expect_dovecot_login(mark, "imap", "XOAUTH2" if token == "forward" else "PLAIN")


for _t in ("plain", "starttls", "tls"):
    CASES.append(("imaplib-xoauth2-%s" % _t, lambda t=_t: imaplib_xoauth2(t)))
CASES.append(("imaplib-xoauth2-backend-checks-token", lambda: imaplib_xoauth2("plain", "forward")))


def imaplib_wrong_token_then_retry(transport):
    """The challenge reaches imaplib's authobject after Auth-Wait, its
    empty answer gets NO; the session goes on and the right token logs in."""
    mark = Marks()
    m = imaplib_connect(transport)
    seen = []
    t0 = time.monotonic()
    try:
        m.authenticate("XOAUTH2", xoauth2("wrong-" + TOKENS["pass"], seen))
        raise Failed("AUTHENTICATE with a wrong token succeeded")
    except imaplib.IMAP4.error as e:
        check(REFUSAL in str(e), "refusal %r, want %r" % (str(e), REFUSAL))
    took = time.monotonic() - t0
    check(took >= WAIT - 0.3, "refused after %.2fs, before Auth-Wait %gs" % (took, WAIT))
    check(len(seen) == 2 and seen[1] == base64.b64decode(ERROR_SASL),
          "the authobject saw %r, want the message's challenge then %r" % (seen, base64.b64decode(ERROR_SASL)))
    typ, dat = m.authenticate("XOAUTH2", xoauth2(TOKENS["pass"], []))
    check(typ == "OK", "retry: %s %r" % (typ, dat))
    m.logout()
    recs = mark.auth_requests()
    check(len(recs) == 2 and recs[0]["reply"].get("Auth-Error-SASL") == ERROR_SASL and recs[1]["reply"].get("Auth-Status") == "OK"
          and recs[1].get("Auth-Login-Attempt") == "2", "auth requests %r" % recs)
    expect_dovecot_login(mark, "imap", "PLAIN")


for _t in ("plain", "starttls", "tls"):
    CASES.append(("imaplib-xoauth2-%s-wrong-token-then-retry" % _t, lambda t=_t: imaplib_wrong_token_then_retry(t)))


# ---------------------------------------------------------------- the client's address

FORWARDED_IP, FORWARDED_PORT = "192.0.2.7", 51234
CONNECTED_IP, CONNECTED_PORT = "198.51.100.1", 993


def proxied_socket(port):
    """A connection that starts with a PROXY v1 header naming the client
    192.0.2.7:51234 (mailproxy trusts loopback's headers; neither imaplib
    nor poplib can send one, hence the raw dialogues)."""
    s = socket.create_connection((HOST, port), timeout=TIMEOUT)
    s.sendall(("PROXY TCP4 %s %s %d %d\r\n" % (FORWARDED_IP, CONNECTED_IP, FORWARDED_PORT, CONNECTED_PORT)).encode())
    return s


def session_of(mark):
    """mailproxy's session ID of the last session ended since the mark."""
    m = re.findall(r'msg="session done".* session=(\S+)', MAILPROXY.text(mark.mailproxy))
    return m[-1] if m else None


@case
def case_imap_id_forwarded_to_dovecot():
    mark = Marks()
    s = proxied_socket(PORTS["fwd_imap"])
    f = s.makefile("rwb", buffering=0)

    def cmd(line, tag):
        f.write(line.encode() + b"\r\n")
        out = []
        while True:
            l = f.readline()
            check(l, "connection closed after %r (got %r)" % (line, out))
            out.append(l.decode("latin-1"))
            if l.startswith(tag.encode() + b" "):
                return out

    greeting = f.readline()
    check(greeting.startswith(b"* OK"), "greeting %r" % greeting)
    caps = cmd("c CAPABILITY", "c")
    check(" ID" in caps[0], "CAPABILITY lacks ID: %r" % caps)
    idr = cmd('i ID ("name" "interop client" "version" "1.0" "x-originating-ip" "10.6.6.6")', "i")
    check(idr == ['* ID ("name" "mailproxy-interop" "version" "1")\r\n', "i OK completed\r\n"], "ID answered %r" % idr)
    login = cmd("l LOGIN %s %s" % (USER, PASSWORD), "l")
    check(login[-1].startswith("l OK"), "LOGIN %r" % login)
    sel = cmd("s SELECT INBOX", "s")
    check(sel[-1].startswith("s OK"), "SELECT %r" % sel)
    fetch = cmd("f FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])", "f")
    check(any(SUBJECT in l for l in fetch), "FETCH %r" % fetch)
    cmd("o LOGOUT", "o")
    s.close()
    # Dovecot logs the forwarded address (no PROXY header went to it) and
    # mailproxy's session ID.
    login = expect_dovecot_login(mark, "imap", "PLAIN", rip=FORWARDED_IP)
    deadline = time.monotonic() + 10
    sid = session_of(mark)
    while sid is None and time.monotonic() < deadline:
        time.sleep(0.1)
        sid = session_of(mark)
    check(sid and "session=<%s>" % sid in login[3], "Dovecot's login %r lacks mailproxy's session=<%s>" % (login, sid))
    expect_auth(mark, "plain", "imap", Client_IP=FORWARDED_IP, Client_Port=str(FORWARDED_PORT),
                Server_Addr=CONNECTED_IP, Server_Port=str(CONNECTED_PORT),
                Client_IMAP_ID='("name"%20"interop%20client"%20"version"%20"1.0"%20"x-originating-ip"%20"10.6.6.6")')


@case
def case_pop3_xclient_forwarded_to_dovecot():
    mark = Marks()
    s = proxied_socket(PORTS["fwd_pop3"])
    f = s.makefile("rwb", buffering=0)

    def cmd(line):
        f.write(line.encode() + b"\r\n")
        return f.readline().decode("latin-1")

    check(f.readline().startswith(b"+OK"), "no greeting")
    check(cmd("USER %s" % USER).startswith("+OK"), "USER refused")
    r = cmd("PASS %s" % PASSWORD)
    check(r.startswith("+OK"), "PASS answered %r" % r)
    check(cmd("STAT").startswith("+OK"), "STAT refused")
    cmd("QUIT")
    s.close()
    expect_dovecot_login(mark, "pop3", "PLAIN", rip=FORWARDED_IP)
    expect_auth(mark, "plain", "pop3", Client_IP=FORWARDED_IP, Client_Port=None)


# ---------------------------------------------------------------- SMTP CHUNKING

@case
def case_smtp_bdat_binary_relayed_to_postfix():
    tag = "%s-bdat" % CFG["tag"]
    head = ("From: <%s>\r\nTo: <%s>\r\nSubject: chunked\r\nX-Interop-Case: %s\r\n"
            "MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n\r\n" % (CFG["mail_from"], CFG["mail_rcpt"], tag)).encode()
    body1 = b"binary \x00\x01\x02\xfe\xff NUL and high bytes\r\n.\r\n..two dots\r\nQUIT\r\nRSET\r\nMAIL FROM:<x@y>\r\n"
    body2 = b"\rcarriage return alone\r\nlast line without an end"
    chunk1, chunk2 = head + body1, body2
    mark = Marks()
    s = socket.create_connection((HOST, PORTS["chunk_smtp"]), timeout=TIMEOUT)
    f = s.makefile("rwb", buffering=0)
    greeting = f.readline()
    check(greeting.startswith(b"220 "), "greeting %r" % greeting)
    f.write(b"EHLO chunky.%s\r\n" % CFG["domain"].encode())
    ehlo = []
    while True:
        l = f.readline()
        ehlo.append(l)
        if l[3:4] != b"-":
            break
    check(any(b"CHUNKING" in l for l in ehlo) and any(b"PIPELINING" in l for l in ehlo), "EHLO %r" % ehlo)
    # One write: the envelope and both chunks.
    f.write(b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nBDAT %d\r\n%sBDAT %d LAST\r\n%s" % (
        CFG["mail_from"].encode(), CFG["mail_rcpt"].encode(), len(chunk1), chunk1, len(chunk2), chunk2))
    replies = [f.readline() for _ in range(4)]  # MAIL, RCPT, BDAT, BDAT LAST
    check([r[:3] for r in replies] == [b"250"] * 4, "replies %r" % replies)
    f.write(b"QUIT\r\n")
    f.readline()
    s.close()
    p = maildir.find_delivered(CFG["rcpt_maildir"], tag, 30)
    check(p, "Postfix delivered no message tagged %s" % tag)
    with open(p, "rb") as fh:
        data = fh.read()
    # Postfix stores LF line ends, writes a CR that ends no line as a
    # space and ends the last line; every other byte is as sent.
    want = (body1 + body2).replace(b"\r\n", b"\n").replace(b"\r", b" ") + b"\n"
    got = data.split(b"\n\n", 1)[1] if b"\n\n" in data else b""
    check(got == want, "delivered body %r, want %r" % (got[:300], want[:300]))
    # Postfix logs the session's commands when it ends, which may come
    # after the delivery.
    deadline = time.monotonic() + 20
    while True:
        with open(CFG["postfix_log"], "rb") as fh:
            if re.search(rb"disconnect from .* rcpt=1 bdat=2 quit=1", fh.read()):
                break
        check(time.monotonic() < deadline, "Postfix logged no session with two BDAT commands")
        time.sleep(0.1)
    recs = mark.auth_requests()
    check(len(recs) == 1 and recs[0].get("Auth-Method") == "none" and recs[0]["reply"].get("Auth-Status") == "OK",
          "auth requests %r" % recs)


# ---------------------------------------------------------------- main

def main():
    only = sys.argv[2:]
    if only == ["--list"]:
        print("\n".join(name for name, _ in CASES))
        return
    for name, fn in CASES:
        if only and name not in only:
            continue
        try:
            fn()
            print("PASS " + name, flush=True)
        except Failed as e:
            print("FAIL %s: %s" % (name, e), flush=True)
        except Exception as e:  # noqa: BLE001
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
            traceback.print_exc(file=sys.stderr)


if __name__ == "__main__":
    main()
