#!/usr/bin/env python3
"""The interop matrix: every combination of

    protocol   imap, pop3, smtp
    transport  plain, starttls, tls (implicit)
    path       direct, haproxy-v1, haproxy-v2 (HAProxy send-proxy[-v2] in front)
    client     imap: imaplib, curl, s_client; pop3: poplib, curl, s_client;
               smtp: smtplib, swaks, curl, s_client (s_client: TLS transports only)
    mechanism  every one the client can use for the protocol (MECHS below)
    outcome    good      right password
               bad+wait  wrong password: the auth service answers with
                         Auth-Wait, the failure reply comes after the wait and
                         the session stays open
               retry     wrong password, then the right one on the same
                         connection (clients that can; curl and swaks cannot)

is one case, run against mailproxy with real servers behind it, and prints
one line, `PASS <coordinates>` or `FAIL <coordinates>: reason`, in the order
of the list (cases run concurrently). Each case connects from its own
loopback address (127.10.x.y), so everything the servers record can be told
apart. A case passes only if
  * the client saw what it should (the message fetched from Dovecot or sent
    through Postfix; the failure reply no sooner than Auth-Wait, carrying the
    auth service's Auth-Status text, with the session still usable),
  * the auth service (through the recording relay, authrec.py) got exactly
    the expected requests from that address: Auth-Method, Auth-Protocol,
    Auth-User, Auth-Login-Attempt 1 (and 2 for retry), Client-IP = the
    client's own address (for HAProxy paths: taken from the PROXY header),
    Proxy-Protocol-Addr for HAProxy paths only, Auth-SSL: on exactly for TLS,
  * the backend saw it: IMAP/POP3 logins reach Dovecot through its haproxy
    listener (mailproxy sends PROXY), so dovecot.log must show
    `Login: user=<USER> ... rip=<client address>` (and none for bad+wait);
    SMTP messages must be delivered by Postfix with the client's HELO, its
    address (XCLIENT) and `Authenticated sender: USER` in Received:, and the
    body checksum intact.

Usage: matrix.py CONFIG.json [--list]
CONFIG (written by interop.sh) holds the ports, the user, the paths; the
environment may narrow the run: MATRIX_ONLY (a regular expression searched in
each case's coordinates), MATRIX_JOBS (concurrent cases, default 12).
"""
import base64
import hashlib
import hmac
import imaplib
import itertools
import json
import os
import poplib
import queue
import re
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import maildir  # noqa: E402

CFG = json.load(open(sys.argv[1]))
HOST = "127.0.0.1"
USER, PASSWORD = CFG["user"], CFG["password"]
WRONG = PASSWORD + "-wrong"
WAIT = float(CFG["wait"])
SUBJECT = CFG["subject"]
TIMEOUT = 60  # per client operation; generous: the machine may be busy
# A failure reply must come no sooner than this after the credentials went
# out, and no later than WAIT_MAX (generous: the machine may be busy).
WAIT_MIN, WAIT_MAX = WAIT - 0.3, WAIT + 20
OUT = CFG["out"]

PROTOCOLS = ("imap", "pop3", "smtp")
TRANSPORTS = ("plain", "starttls", "tls")
PATHS = ("direct", "haproxy-v1", "haproxy-v2")
OUTCOMES = ("good", "bad+wait", "retry")
MECHS = {  # (protocol, client): mechanisms
    ("imap", "imaplib"): ("LOGIN", "AUTH=PLAIN", "AUTH=LOGIN", "AUTH=CRAM-MD5"),
    ("imap", "curl"): ("AUTH=PLAIN", "AUTH=LOGIN", "AUTH=CRAM-MD5"),
    ("imap", "s_client"): ("LOGIN",),
    ("pop3", "poplib"): ("USER", "APOP", "AUTH=PLAIN", "AUTH=LOGIN", "AUTH=CRAM-MD5"),
    ("pop3", "curl"): ("APOP", "AUTH=PLAIN", "AUTH=LOGIN", "AUTH=CRAM-MD5"),
    ("pop3", "s_client"): ("USER",),
    ("smtp", "smtplib"): ("AUTH=PLAIN", "AUTH=LOGIN", "AUTH=CRAM-MD5"),
    ("smtp", "swaks"): ("AUTH=PLAIN", "AUTH=LOGIN", "AUTH=CRAM-MD5"),
    ("smtp", "curl"): ("AUTH=PLAIN", "AUTH=LOGIN", "AUTH=CRAM-MD5"),
    ("smtp", "s_client"): ("AUTH=PLAIN",),
}
NO_RETRY = ("curl", "swaks")  # one login attempt per run
TLS_ONLY = ("s_client",)  # openssl s_client speaks TLS only
# Auth-Method the auth service must see for each mechanism (SPEC §9.2).
AUTH_METHOD = {"LOGIN": "plain", "USER": "plain", "AUTH=PLAIN": "plain", "AUTH=LOGIN": "plain",
               "APOP": "apop", "AUTH=CRAM-MD5": "cram-md5"}


class Case:
    def __init__(self, index, proto, transport, path, client, mech, outcome):
        self.index = index
        self.proto, self.transport, self.path = proto, transport, path
        self.client, self.mech, self.outcome = client, mech, outcome
        # Each case its own source address, unique within the run.
        self.ip = "127.10.%d.%d" % (index // 250, index % 250 + 1)
        self.port = CFG["ports"][proto][path]["tls" if transport == "tls" else "plain"]
        self.helo = "m%d.interop.test" % index
        self.tag = "%s-m%d" % (CFG["tag"], index)
        self.file = os.path.join(OUT, "m%d" % index)  # prefix of this case's files

    @property
    def name(self):
        return "%-4s %-8s %-10s %-8s %-13s %s" % (self.proto, self.transport, self.path,
                                                  self.client, self.mech, self.outcome)


def all_cases():
    cases = []
    n = itertools.count()
    for proto, transport, path in itertools.product(PROTOCOLS, TRANSPORTS, PATHS):
        for (p, client), mechs in MECHS.items():
            if p != proto or (client in TLS_ONLY and transport == "plain"):
                continue
            for mech in mechs:
                for outcome in OUTCOMES:
                    if outcome == "retry" and client in NO_RETRY:
                        continue
                    cases.append(Case(next(n), proto, transport, path, client, mech, outcome))
    return cases


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def cram(password, challenge):
    return hmac.new(password.encode(), challenge, hashlib.md5).hexdigest()


def quietly(close):
    """Call close (a connection's close method), ignoring errors: cleanup."""
    try:
        close()
    except Exception:  # already closed, or broken: either way it is gone
        pass


def check_wait(took, what="failure reply"):
    check(took >= WAIT_MIN, "%s after %.2fs, want >= Auth-Wait %gs" % (what, took, WAIT))
    check(took <= WAIT_MAX, "%s after %.2fs, want about Auth-Wait %gs" % (what, took, WAIT))


# ---------------------------------------------------------------- server-side records

class AuthLog:
    """The relay's JSON log, indexed by Client-IP (read incrementally)."""

    def __init__(self, path):
        self.path, self.off, self.by_ip = path, 0, {}
        self.lock = threading.Lock()

    def requests(self, ip):
        with self.lock:
            try:
                with open(self.path, "rb") as f:
                    f.seek(self.off)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            end = data.rfind(b"\n") + 1
            self.off += end
            for line in data[:end].splitlines():
                rec = json.loads(line)
                self.by_ip.setdefault(rec.get("Client-IP"), []).append(rec)
            return list(self.by_ip.get(ip, []))


class DovecotLog:
    """Dovecot's log: the Login lines, indexed by rip."""
    LOGIN = re.compile(r" (imap|pop3)-login: Info: Login: user=<([^>]*)>.* rip=([0-9a-f.:]+),")

    def __init__(self, path):
        self.path, self.off, self.by_ip = path, 0, {}
        self.lock = threading.Lock()

    def logins(self, ip):
        with self.lock:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
            end = data.rfind(b"\n") + 1
            self.off += end
            for line in data[:end].decode("utf-8", "replace").splitlines():
                m = self.LOGIN.search(line)
                if m:
                    self.by_ip.setdefault(m.group(3), []).append((m.group(1), m.group(2)))
            return list(self.by_ip.get(ip, []))


AUTHLOG = AuthLog(CFG["auth_json"])
DOVECOT = DovecotLog(CFG["dovecot_log"])


def expect_requests(c, outcome):
    """The auth requests from c.ip match the outcome; returns them."""
    want = {"good": ["OK"], "bad+wait": ["fail"], "retry": ["fail", "OK"]}[outcome]
    recs = AUTHLOG.requests(c.ip)
    got = ["%s/%s/%s" % (r.get("Auth-Method"), r.get("Auth-Login-Attempt"), r["reply"].get("Auth-Status"))
           for r in recs]
    check(len(recs) == len(want), "auth service got %d requests from %s, want %d (got: %s)"
          % (len(recs), c.ip, len(want), "; ".join(got) or "none"))
    method = AUTH_METHOD[c.mech]
    for i, (r, w) in enumerate(zip(recs, want)):
        what = "auth request %d of %d" % (i + 1, len(want))
        for key, val in (("Auth-Method", method), ("Auth-Protocol", c.proto), ("Auth-User", USER),
                         ("Auth-Login-Attempt", str(i + 1))):
            check(r.get(key) == val, "%s: %s %r, want %r" % (what, key, r.get(key), val))
        ssl_on = c.transport != "plain"
        check((r.get("Auth-SSL") == "on") == ssl_on,
              "%s: Auth-SSL %r on a %s connection" % (what, r.get("Auth-SSL"), c.transport))
        pp = r.get("Proxy-Protocol-Addr")
        if c.path == "direct":
            check(pp is None, "%s: Proxy-Protocol-Addr %r without PROXY" % (what, pp))
        else:
            check(pp == c.ip, "%s: Proxy-Protocol-Addr %r, want %s" % (what, pp, c.ip))
        status = r["reply"].get("Auth-Status")
        if w == "OK":
            check(status == "OK", "%s: Auth-Status %r, want OK" % (what, status))
        else:
            check(status not in (None, "OK"), "%s: Auth-Status %r, want a failure" % (what, status))
            check(r["reply"].get("Auth-Wait") == str(int(WAIT)),
                  "%s: the auth service sent Auth-Wait %r, want %g" % (what, r["reply"].get("Auth-Wait"), WAIT))
    return recs


def expect_backend(c, outcome, sent=None):
    """IMAP/POP3: Dovecot logged the login from c.ip (none for bad+wait).
    SMTP: Postfix delivered sent = (tag, body sha256) with c's HELO,
    address and login."""
    if c.proto == "smtp":
        if sent is None:
            return
        tag, sha = sent
        why = maildir.check_delivered(CFG["rcpt_maildir"], tag, sha, helo=c.helo, login=USER,
                                      addr=c.ip, timeout=30)
        check(why is None, "Postfix: %s" % why)
        return
    if outcome == "bad+wait":
        got = DOVECOT.logins(c.ip)
        check(not got, "Dovecot logged a login from %s after a failed one: %r" % (c.ip, got))
        return
    deadline = time.monotonic() + 30
    while True:
        got = DOVECOT.logins(c.ip)
        if got:
            break
        check(time.monotonic() < deadline, "no 'Login: user=<%s> ... rip=%s' in dovecot.log" % (USER, c.ip))
        time.sleep(0.1)
    check(got == [(c.proto, USER)], "Dovecot logins from %s: %r, want one %s login of %s"
          % (c.ip, got, c.proto, USER))


def status_text(c, recs):
    """The Auth-Status text of the first (failed) request: what the client must see."""
    return recs[0]["reply"].get("Auth-Status", "")


def smtp_failure(recs):
    """The SMTP reply to the first (failed) request: Auth-Error-Code (default
    535 5.7.0), SP, Auth-Status (SPEC §10.4)."""
    reply = recs[0]["reply"] if recs else {}
    return "%s %s" % (reply.get("Auth-Error-Code", "535 5.7.0"), reply.get("Auth-Status", "?"))


# ---------------------------------------------------------------- IMAP: imaplib

class SrcIMAP4(imaplib.IMAP4):
    """imaplib from a chosen source address; remembers each command's result."""

    def __init__(self, source, host, port):
        self.source, self.last = source, None
        super().__init__(host, port, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))

    def _simple_command(self, name, *args):
        self.last = super()._simple_command(name, *args)
        return self.last


class SrcIMAP4_SSL(imaplib.IMAP4_SSL):
    def __init__(self, source, host, port):
        self.source, self.last = source, None
        super().__init__(host, port, ssl_context=ctx(), timeout=TIMEOUT)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)

    def _simple_command(self, name, *args):
        self.last = super()._simple_command(name, *args)
        return self.last


def imap_open(c):
    if c.transport == "tls":
        return SrcIMAP4_SSL(c.ip, HOST, c.port)
    m = SrcIMAP4(c.ip, HOST, c.port)
    if c.transport == "starttls":
        check("STARTTLS" in m.capabilities, "no STARTTLS in %r" % (m.capabilities,))
        typ, dat = m.starttls(ssl_context=ctx())
        check(typ == "OK" and isinstance(m.sock, ssl.SSLSocket), "STARTTLS: %s %r" % (typ, dat))
    return m


def imap_login(m, mech, password):
    """Log in with mech; raises imaplib.IMAP4.error on a NO."""
    if mech == "LOGIN":
        return m.login(USER, password)
    if mech == "AUTH=PLAIN":
        return m.authenticate("PLAIN", lambda ch: "\0%s\0%s" % (USER, password))
    if mech == "AUTH=LOGIN":
        def answer(ch):
            if ch == b"Username:":
                return USER
            if ch == b"Password:":
                return password
            raise Failed("AUTHENTICATE LOGIN: unexpected challenge %r" % ch)
        return m.authenticate("LOGIN", answer)
    if mech == "AUTH=CRAM-MD5":
        return m.login_cram_md5(USER, password)
    raise ValueError(mech)


def imap_session(m):
    typ, dat = m.select("INBOX", readonly=True)
    check(typ == "OK", "EXAMINE INBOX: %s %r" % (typ, dat))
    typ, dat = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    check(typ == "OK" and isinstance(dat[0], tuple) and SUBJECT.encode() in dat[0][1],
          "FETCH 1: %s %r, want the subject %r" % (typ, dat, SUBJECT))
    typ, dat = m.logout()
    check(typ == "BYE", "LOGOUT: %s %r" % (typ, dat))


def run_imaplib(c):
    m = imap_open(c)
    try:
        return imaplib_dialogue(c, m)
    finally:
        quietly(m.shutdown)


def imaplib_dialogue(c, m):
    if c.outcome != "good":
        t0 = time.monotonic()
        try:
            imap_login(m, c.mech, WRONG)
        except imaplib.IMAP4.error as e:
            took, err = time.monotonic() - t0, e.args[0] if e.args else ""
            if isinstance(err, bytes):  # login() passes the raw text, authenticate() decodes it
                err = err.decode("utf-8", "replace")
        else:
            raise Failed("logged in with a wrong password")
        check(m.last and m.last[0] == "NO", "failed login answered %r, want NO" % (m.last,))
        check_wait(took)
        check(m.state == "NONAUTH", "state %s after the failed login" % m.state)
        recs = AUTHLOG.requests(c.ip)
        check(recs and err == status_text(c, recs),
              "client got %r, the auth service said %r" % (err, recs and status_text(c, recs)))
        if c.outcome == "bad+wait":
            typ, dat = m.logout()  # the session is still open
            check(typ == "BYE", "LOGOUT after the failure: %s %r" % (typ, dat))
            return None
    typ, dat = imap_login(m, c.mech, PASSWORD)
    check(typ == "OK", "login: %s %r" % (typ, dat))
    imap_session(m)
    return None


# ---------------------------------------------------------------- POP3: poplib

class SrcPOP3(poplib.POP3):
    def __init__(self, source, host, port):
        self.source = source
        super().__init__(host, port, timeout=TIMEOUT)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))


class SrcPOP3_SSL(poplib.POP3_SSL):
    def __init__(self, source, host, port):
        self.source = source
        super().__init__(host, port, context=ctx(), timeout=TIMEOUT)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout, source_address=(self.source, 0))
        return self.context.wrap_socket(sock, server_hostname=self.host)


def pop3_open(c):
    if c.transport == "tls":
        return SrcPOP3_SSL(c.ip, HOST, c.port)
    p = SrcPOP3(c.ip, HOST, c.port)
    if c.transport == "starttls":
        resp = p.stls(context=ctx())
        check(resp.startswith(b"+OK") and isinstance(p.sock, ssl.SSLSocket), "STLS: %r" % resp)
    return p


def pop3_login(p, mech, password):
    """Log in with mech; raises poplib.error_proto on -ERR."""
    if mech == "USER":
        p.user(USER)
        return p.pass_(password)
    if mech == "APOP":
        return p.apop(USER, password)
    if mech == "AUTH=PLAIN":
        resp = p._shortcmd("AUTH PLAIN")
        check(resp == b"+ ", "AUTH PLAIN: challenge %r, want '+ '" % resp)
        return p._shortcmd(b64("\0%s\0%s" % (USER, password)))
    if mech == "AUTH=LOGIN":
        resp = p._shortcmd("AUTH LOGIN")
        check(resp == b"+ " + b64("Username:").encode(), "AUTH LOGIN: challenge %r" % resp)
        resp = p._shortcmd(b64(USER))
        check(resp == b"+ " + b64("Password:").encode(), "AUTH LOGIN: challenge %r" % resp)
        return p._shortcmd(b64(password))
    if mech == "AUTH=CRAM-MD5":
        resp = p._shortcmd("AUTH CRAM-MD5")
        check(resp.startswith(b"+ "), "AUTH CRAM-MD5: challenge %r" % resp)
        challenge = base64.b64decode(resp[2:])
        return p._shortcmd(b64("%s %s" % (USER, cram(password, challenge))))
    raise ValueError(mech)


def pop3_session(p):
    count, _ = p.stat()
    check(count >= 2, "STAT: %d messages, want >= 2" % count)
    resp, lines, _ = p.retr(1)
    want = ("Subject: " + SUBJECT).encode()
    check(resp.startswith(b"+OK") and want in lines, "RETR 1: %r, no %r line" % (resp, want))
    resp = p.quit()
    check(resp.startswith(b"+OK"), "QUIT: %r" % resp)


def run_poplib(c):
    p = pop3_open(c)
    try:
        return poplib_dialogue(c, p)
    finally:
        quietly(p.close)


def poplib_dialogue(c, p):
    if c.outcome != "good":
        t0 = time.monotonic()
        try:
            pop3_login(p, c.mech, WRONG)
        except poplib.error_proto as e:
            took, err = time.monotonic() - t0, e.args[0] if e.args else b""
        else:
            raise Failed("logged in with a wrong password")
        check_wait(took)
        recs = AUTHLOG.requests(c.ip)
        want = ("-ERR " + status_text(c, recs)).encode() if recs else b"?"
        check(err == want, "client got %r, want %r" % (err, want))
        if c.outcome == "bad+wait":
            resp = p.quit()  # the session is still open
            check(resp.startswith(b"+OK"), "QUIT after the failure: %r" % resp)
            return None
    resp = pop3_login(p, c.mech, PASSWORD)
    check(resp.startswith(b"+OK"), "login: %r" % resp)
    pop3_session(p)
    return None


# ---------------------------------------------------------------- SMTP: smtplib

def smtp_message(c):
    """A small tagged message: (bytes, (tag, body sha256))."""
    msg = maildir.make_message(c.tag, "matrix %s" % c.name, 100, CFG["mail_from"], CFG["mail_rcpt"])
    return msg, (c.tag, maildir.body_sha(msg))


def run_smtplib(c):
    src = (c.ip, 0)
    if c.transport == "tls":
        s = smtplib.SMTP_SSL(HOST, c.port, local_hostname=c.helo, timeout=TIMEOUT, context=ctx(),
                             source_address=src)
    else:
        s = smtplib.SMTP(HOST, c.port, local_hostname=c.helo, timeout=TIMEOUT, source_address=src)
    try:
        return smtplib_dialogue(c, s)
    finally:
        quietly(s.close)


def smtplib_dialogue(c, s):
    code, _ = s.ehlo()
    check(code == 250, "EHLO: %d" % code)
    if c.transport == "starttls":
        code, resp = s.starttls(context=ctx())
        check(code == 220 and isinstance(s.sock, ssl.SSLSocket), "STARTTLS: %d %r" % (code, resp))
        code, _ = s.ehlo()
        check(code == 250, "EHLO after STARTTLS: %d" % code)
    mech = c.mech.split("=", 1)[1]
    auth = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login, "CRAM-MD5": s.auth_cram_md5}[mech]
    check(mech in s.esmtp_features.get("auth", "").upper().split(),
          "no %s in the EHLO AUTH line %r" % (mech, s.esmtp_features.get("auth")))
    # PLAIN and LOGIN with an initial response (smtplib's default), CRAM-MD5 without.
    ir = mech != "CRAM-MD5"
    s.user = USER
    if c.outcome != "good":
        s.password = WRONG
        t0 = time.monotonic()
        try:
            s.auth(mech, auth, initial_response_ok=ir)
        except smtplib.SMTPAuthenticationError as e:
            took, err = time.monotonic() - t0, (e.smtp_code, e.smtp_error)
        else:
            raise Failed("AUTH with a wrong password succeeded")
        check_wait(took)
        recs = AUTHLOG.requests(c.ip)
        code, text = smtp_failure(recs).split(" ", 1)
        want = (int(code), text.encode())
        check(err == want, "client got %r, want %r" % (err, want))
        code, resp = s.noop()  # the session is still open
        check(code == 250, "NOOP after the failure: %d %r" % (code, resp))
        if c.outcome == "bad+wait":
            code, resp = s.quit()
            check(code == 221, "QUIT after the failure: %d %r" % (code, resp))
            return None
    s.password = PASSWORD
    code, resp = s.auth(mech, auth, initial_response_ok=ir)
    check(code == 235, "AUTH: %d %r" % (code, resp))
    msg, sent = smtp_message(c)
    refused = s.sendmail(CFG["mail_from"], [CFG["mail_rcpt"]], msg)
    check(not refused, "refused recipients: %r" % refused)
    s.quit()
    return sent


# ---------------------------------------------------------------- curl

TRACE_LINE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{6}) ([<>*]) ?(.*)$")


def trace_lines(path):
    """curl --trace-time -v output: [(seconds since midnight, dir, text)]."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = TRACE_LINE.match(line.rstrip("\r\n"))
            if m:
                h, mi, s, us = (int(x) for x in m.groups()[:4])
                out.append((h * 3600 + mi * 60 + s + us / 1e6, m.group(5), m.group(6).rstrip("\r")))
    return out


def trace_tail(lines):
    return " | ".join(t for _, d, t in lines if d in "<*")[-300:]


def run_curl(c):
    scheme = c.proto + ("s" if c.transport == "tls" else "")
    url = "%s://%s:%d/" % (scheme, HOST, c.port)
    url += {"imap": "INBOX;UID=%s" % CFG["small_uid"], "pop3": "1", "smtp": c.helo}[c.proto]
    password = PASSWORD if c.outcome == "good" else WRONG
    opt = "AUTH=+APOP" if c.mech == "APOP" else c.mech
    args = ["curl", "-sS", "-v", "--trace-time", "--max-time", str(TIMEOUT), "--interface", c.ip,
            "-u", "%s:%s" % (USER, password), "--login-options", opt, "-o", c.file + ".body"]
    if c.transport != "plain":
        args.append("-k")
    if c.transport == "starttls":
        args.append("--ssl-reqd")
    sent = None
    if c.proto == "smtp":
        msg, sent = smtp_message(c)
        with open(c.file + ".eml", "wb") as f:
            f.write(msg)
        args += ["--mail-from", CFG["mail_from"], "--mail-rcpt", CFG["mail_rcpt"],
                 "--upload-file", c.file + ".eml"]
    with open(c.file + ".trace", "wb") as err:
        rc = subprocess.run(args + [url], stdin=subprocess.DEVNULL, stderr=err,
                            timeout=TIMEOUT + 10).returncode
    lines = trace_lines(c.file + ".trace")
    sent_cmds = [t for _, d, t in lines if d == ">"]
    want_cmd = {"imap": r"^A\d+ AUTHENTICATE %s$", "pop3": r"^AUTH %s$", "smtp": r"^AUTH %s$"}[c.proto]
    if c.mech == "APOP":
        want_cmd = r"^APOP %s [0-9a-f]{32}$" % re.escape(USER)
    else:
        want_cmd %= re.escape(c.mech.split("=", 1)[1])
    check(any(re.match(want_cmd, t) for t in sent_cmds),
          "curl (exit %d) sent no /%s/: %s" % (rc, want_cmd, trace_tail(lines)))
    if c.transport == "starttls":
        stls = {"imap": r"^A\d+ STARTTLS$", "pop3": r"^STLS$", "smtp": r"^STARTTLS$"}[c.proto]
        check(any(re.match(stls, t) for t in sent_cmds), "curl sent no STARTTLS/STLS")
    if c.outcome == "good":
        check(rc == 0, "curl exit %d: %s" % (rc, trace_tail(lines)))
        if c.proto != "smtp":
            with open(c.file + ".body", "rb") as f:
                body = f.read()
            check(("Subject: " + SUBJECT).encode() in body,
                  "fetched message lacks the subject (%d bytes)" % len(body))
        return sent
    check(rc == 67, "curl exit %d with a wrong password, want 67 (login denied): %s" % (rc, trace_tail(lines)))
    recs = AUTHLOG.requests(c.ip)
    text = status_text(c, recs) if recs else "?"
    want = {"imap": r"^A\d+ NO %s$", "pop3": r"^-ERR %s$", "smtp": r"^%s$"}[c.proto]
    want %= re.escape(smtp_failure(recs) if c.proto == "smtp" else text)
    idx = [i for i, (_, d, t) in enumerate(lines) if d == "<" and re.match(want, t)]
    check(idx, "no /%s/ in curl's trace: %s" % (want, trace_tail(lines)))
    i = idx[0]
    last_sent = max(j for j in range(i) if lines[j][1] == ">")
    check_wait((lines[i][0] - lines[last_sent][0]) % 86400, "failure reply (curl trace)")
    return None


# ---------------------------------------------------------------- swaks

SWAKS_LAPSE = re.compile(r"^=== response in ([0-9.]+)s")


def run_swaks(c):
    password = PASSWORD if c.outcome == "good" else WRONG
    mech = c.mech.split("=", 1)[1]
    args = ["swaks", "--server", HOST, "--port", str(c.port), "--local-interface", c.ip,
            "--timeout", str(TIMEOUT), "--ehlo", c.helo, "--from", CFG["mail_from"], "--to", CFG["mail_rcpt"],
            "--auth", mech, "--auth-user", USER, "--auth-password", password,
            "--header", "Subject: matrix %s" % c.name, "--header", "%s: %s" % (maildir.CASE_HEADER, c.tag),
            "--body", "Hello from the interop matrix, case %s.\n" % c.tag, "--show-time-lapse"]
    if c.transport == "starttls":
        args.append("--tls")
    elif c.transport == "tls":
        args.append("--tls-on-connect")
    with open(c.file + ".out", "wb") as out:
        rc = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            timeout=TIMEOUT + 10).returncode
    with open(c.file + ".out", encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\r\n") for line in f]
    tail = " | ".join(line for line in lines if re.match(r"^(\*\*\*|<\*\*|<[-~]\* )", line))[-300:]
    arrow = "~>" if c.transport != "plain" else "->"
    check(any(line.startswith(" %s AUTH %s" % (arrow, mech)) for line in lines),
          "swaks (exit %d) sent no '%s AUTH %s': %s" % (rc, arrow, mech, tail))
    if c.outcome == "good":
        check(rc == 0, "swaks exit %d: %s" % (rc, tail))
        # swaks sends LF line ends in --body; Postfix stores LF: the body is exactly that.
        return (c.tag, None)
    check(rc == 28, "swaks exit %d with a wrong password, want 28 (auth failure): %s" % (rc, tail))
    recs = AUTHLOG.requests(c.ip)
    want = smtp_failure(recs)
    idx = [i for i, line in enumerate(lines) if re.match(r"^<[*~]\* +" + re.escape(want) + "$", line)]
    check(idx, "no '<** %s' in swaks' transcript: %s" % (want, tail))
    # --show-time-lapse: "=== response in N.NNNs" right before each reply.
    lapse = SWAKS_LAPSE.match(lines[idx[0] - 1])
    check(lapse, "no '=== response in' lapse before the failure reply")
    check_wait(float(lapse.group(1)), "failure reply (swaks lapse)")
    return None


# ---------------------------------------------------------------- openssl s_client

class SClient:
    """openssl s_client -quiet driven line by line through pipes."""

    def __init__(self, c):
        args = ["openssl", "s_client", "-quiet", "-connect", "%s:%d" % (HOST, c.port),
                "-bind", "%s:0" % c.ip]
        if c.transport == "starttls":
            args += ["-starttls", c.proto]
        self.log = open(c.file + ".s_client", "w")
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.log)
        self.q = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.q.put((time.time(), line.decode("latin-1").rstrip("\r\n")))
        self.q.put((time.time(), None))

    def send(self, line):
        self.log.write("-> %s\n" % line)
        self.log.flush()
        self.p.stdin.write(line.encode() + b"\r\n")
        self.p.stdin.flush()

    def expect(self, pattern, what):
        """The first line matching pattern (skipping others): (time, line)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                t, line = self.q.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise Failed("%s: no /%s/ within %ds (got: %s)" % (what, pattern, TIMEOUT, " | ".join(self.seen[-3:])))
            if line is None:
                raise Failed("%s: connection closed before /%s/ (got: %s)" % (what, pattern, " | ".join(self.seen[-3:])))
            self.seen.append(line)
            self.log.write("<- %s\n" % line)
            if re.search(pattern, line):
                return t, line

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.log.close()


def s_client_imap(s, c, password, expect_ok):
    tag = "a%d" % len(s.seen)
    s.send("%s LOGIN %s %s" % (tag, USER, password))
    return s.expect(r"^%s (OK|NO|BAD)" % tag, "LOGIN")


def s_client_pop3(s, c, password, expect_ok):
    s.send("USER %s" % USER)
    s.expect(r"^[-+]", "USER")
    s.send("PASS %s" % password)
    return s.expect(r"^[-+]", "PASS")


def s_client_smtp(s, c, password, expect_ok):
    s.send("AUTH PLAIN %s" % b64("\0%s\0%s" % (USER, password)))
    return s.expect(r"^\d{3} ", "AUTH PLAIN")


def run_s_client(c):
    s = SClient(c)
    try:
        if c.transport == "tls":
            s.expect({"imap": r"^\* OK", "pop3": r"^\+OK", "smtp": r"^220 "}[c.proto], "greeting")
        if c.proto == "smtp":  # after STARTTLS, EHLO again (s_client sent the first one)
            s.send("EHLO %s" % c.helo)
            s.expect(r"^250 ", "EHLO")
        login = {"imap": s_client_imap, "pop3": s_client_pop3, "smtp": s_client_smtp}[c.proto]
        ok_re = {"imap": r"^a\d+ OK", "pop3": r"^\+OK", "smtp": r"^235 "}[c.proto]
        if c.outcome != "good":
            t, line = login(s, c, WRONG, False)
            recs = AUTHLOG.requests(c.ip)
            text = status_text(c, recs) if recs else "?"
            want = {"imap": r"^a\d+ NO %s$", "pop3": r"^-ERR %s$", "smtp": r"^%s$"}[c.proto]
            want %= re.escape(smtp_failure(recs) if c.proto == "smtp" else text)
            check(re.match(want, line), "failed login answered %r, want /%s/" % (line, want))
            # From the auth service's reply (relayed to mailproxy) to the client's failure reply.
            check_wait(t - recs[0]["t_reply"], "failure reply (after the auth reply)")
            if c.outcome == "bad+wait":
                s.send({"imap": "z LOGOUT", "pop3": "QUIT", "smtp": "QUIT"}[c.proto])
                s.expect({"imap": r"^z OK", "pop3": r"^\+OK", "smtp": r"^221 "}[c.proto], "logout after the failure")
                return None
        t, line = login(s, c, PASSWORD, True)
        check(re.match(ok_re, line), "login answered %r" % line)
        sent = None
        if c.proto == "imap":
            s.send("b EXAMINE INBOX")
            s.expect(r"^b OK", "EXAMINE")
            s.send("c FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            s.expect(r"^Subject: " + re.escape(SUBJECT) + "$", "FETCH 1")
            s.expect(r"^c OK", "FETCH 1")
            s.send("d LOGOUT")
            s.expect(r"^d OK", "LOGOUT")
        elif c.proto == "pop3":
            s.send("RETR 1")
            s.expect(r"^Subject: " + re.escape(SUBJECT) + "$", "RETR 1")
            s.expect(r"^\.$", "RETR 1")
            s.send("QUIT")
            s.expect(r"^\+OK", "QUIT")
        else:
            msg, sent = smtp_message(c)
            s.send("MAIL FROM:<%s>" % CFG["mail_from"])
            s.expect(r"^250 ", "MAIL")
            s.send("RCPT TO:<%s>" % CFG["mail_rcpt"])
            s.expect(r"^250 ", "RCPT")
            s.send("DATA")
            s.expect(r"^354 ", "DATA")
            body = msg.decode().replace("\r\n", "\n").split("\n")
            if body and body[-1] == "":
                body.pop()
            for line in body:
                s.send("." + line if line.startswith(".") else line)
            s.send(".")
            s.expect(r"^250 ", "end of DATA")
            s.send("QUIT")
            s.expect(r"^221 ", "QUIT")
        return sent
    finally:
        s.close()


RUN = {"imaplib": run_imaplib, "poplib": run_poplib, "smtplib": run_smtplib, "curl": run_curl,
       "swaks": run_swaks, "s_client": run_s_client}


def run_case(c):
    """None if c passed, else the reason; the time it took goes to c.took."""
    t0 = time.monotonic()
    try:
        return run_checks(c)
    finally:
        c.took = time.monotonic() - t0


def run_checks(c):
    try:
        sent = RUN[c.client](c)
        if c.outcome == "good" or c.outcome == "retry":
            check(c.proto != "smtp" or sent, "nothing sent")
        expect_requests(c, c.outcome)
        expect_backend(c, c.outcome, sent)
    except Failed as e:
        return str(e)
    except Exception as e:  # a client library's error is a failure too
        if os.environ.get("VERBOSE"):
            traceback.print_exc()
        return "%s: %s" % (type(e).__name__, e)
    return None


def main():
    cases = all_cases()
    only = os.environ.get("MATRIX_ONLY", "")
    protos = CFG.get("protocols") or PROTOCOLS
    cases = [c for c in cases if c.proto in protos and (not only or re.search(only, c.name))]
    if "--list" in sys.argv:
        for c in cases:
            print(c.name)
        return 0
    try:  # every case binds its own 127.10.x.y: the whole 127/8 must be local
        socket.socket().bind(("127.10.0.1", 0))
    except OSError as e:
        print("FAIL matrix: cannot bind 127.10.0.1 (%s): the matrix needs all of 127.0.0.0/8 on lo" % e)
        return 1
    jobs = max(1, int(os.environ.get("MATRIX_JOBS", "12")))
    failed = 0
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool, open(os.path.join(OUT, "matrix-times.txt"), "w") as times:
        futures = [(c, pool.submit(run_case, c)) for c in cases]
        for c, fut in futures:
            why = fut.result()
            times.write("%6.2f m%-4d %s\n" % (c.took, c.index, c.name))
            if why is None:
                print("PASS %s" % c.name, flush=True)
            else:
                failed += 1
                print("FAIL %s: %s" % (c.name, " ".join(why.split())[:400]), flush=True)
    print("# matrix: %d cases in %.0fs, %d at a time" % (len(cases), time.monotonic() - t0, jobs), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
