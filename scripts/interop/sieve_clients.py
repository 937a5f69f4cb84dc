#!/usr/bin/env python3
"""ManageSieve (RFC 5804) clients against mailproxy: one line per case,
PASS name / FAIL name: reason.

Usage: sieve_clients.py CONFIG.json [CASE...]

The clients are Debian's python3-sievelib (run this with /usr/bin/python3)
and sieve-connect. Every case is checked at three places:
  * the client: what it was answered (scripts listed, active, fetched back
    byte for byte; the refusal NO after Auth-Wait);
  * the auth service, through the recording relay (authrec.py's JSON lines):
    exactly the expected requests, with Auth-Protocol: sieve, Auth-Method:
    plain, Auth-User, Auth-Login-Attempt: 1, Client-IP (the client's own
    address), Auth-SSL: on (every case is TLS) and the reply (OK, or a
    failure with Auth-Wait);
  * Dovecot: its log's `managesieve-login: Login: user=<USER>, method=PLAIN,
    rip=...` line for each login mailproxy made for the client (rip is the
    proxy's address, not the client's), the script file appearing in the
    user's sieve directory with the uploaded bytes, the active link, both
    gone again after deactivation and DELETESCRIPT; and for a wrong password
    no managesieve line at all (nothing reached Dovecot).

CONFIG (written by interop.sh):
  mode            "proxy", or "direct" (DIRECT=1: the same clients straight
                  at Dovecot's ManageSieve listeners, to tell a Dovecot or
                  client problem from a mailproxy one; the auth service must
                  then get no request, Dovecot logs the client's address and
                  refuses a wrong password itself)
  unsupported     non-empty: every case FAILs with this reason
  host, starttls_port, tls_port, user, password, wait, client_ip
  auth_json       the relay's JSON lines file
  dovecot_log     Dovecot's log_path
  sieve_dir       the user's script directory (Dovecot's sieve=file:...)
  active_path     the user's active-script link (active=...)
  implementation  what the IMPLEMENTATION capability must start with
  out             directory for transcripts
"""
import base64
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import traceback

from sievelib import managesieve

CFG = json.load(open(sys.argv[1]))
DIRECT = CFG["mode"] == "direct"
HOST = CFG["host"]
USER, PASSWORD = CFG["user"], CFG["password"]
WAIT = float(CFG["wait"])
CLIENT_IP = CFG["client_ip"]
OUT = CFG["out"]
TIMEOUT = 60  # per client operation; generous: the machine may be busy
# Where Dovecot sees the logins come from: mailproxy (loopback) or, direct,
# the client itself. sieve-connect cannot choose its source address.
PROXY_IP = "127.0.0.1"
managesieve.Client.read_timeout = TIMEOUT

CASES = []


def case(fn):
    CASES.append((fn.__name__.replace("case_", "").replace("_", "-"), fn))
    return fn


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def script_text(name):
    """A small script using two extensions, a comment naming the case,
    UTF-8 text (the literal's length is in bytes) and CRLF line ends, so
    what comes back must be the same bytes."""
    return ('require ["fileinto", "vacation"];\r\n'
            "# mailproxy interop %s %s\r\n"
            'if header :contains "subject" "interop" {\r\n'
            '  fileinto "INBOX";\r\n'
            "}\r\n"
            'vacation :days 1 "Abwesend \u2014 zur\u00fcck am Montag.";\r\n'
            % (name, base64.b32encode(os.urandom(5)).decode())).encode()


# ---------------------------------------------------------------- the three places

class AuthLog:
    """The recording relay's JSON lines, read from an offset."""

    def __init__(self, path):
        self.path = path

    def offset(self):
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def since(self, off):
        try:
            with open(self.path, "rb") as f:
                f.seek(off)
                data = f.read()
        except FileNotFoundError:
            return []
        return [json.loads(l) for l in data[:data.rfind(b"\n") + 1].splitlines()]


AUTH = AuthLog(CFG["auth_json"])


def expect_auth(off, want, client_ip):
    """The auth requests since off: one per entry of want ("OK" or "fail"),
    each for this user's sieve PLAIN login from client_ip over TLS."""
    recs = AUTH.since(off)
    got = "; ".join("%s/%s/%s/%s" % (r.get("Auth-Protocol"), r.get("Auth-Method"), r.get("Client-IP"),
                                     r["reply"].get("Auth-Status")) for r in recs) or "none"
    if DIRECT:
        check(not recs, "direct to Dovecot, yet the auth service got requests: %s" % got)
        return
    check(len(recs) == len(want), "auth service got %d requests, want %d (got: %s)" % (len(recs), len(want), got))
    for i, (r, w) in enumerate(zip(recs, want)):
        what = "auth request %d of %d" % (i + 1, len(want))
        for key, val in (("Auth-Protocol", "sieve"), ("Auth-Method", "plain"), ("Auth-User", USER),
                         ("Auth-Login-Attempt", "1"), ("Client-IP", client_ip), ("Auth-SSL", "on")):
            check(r.get(key) == val, "%s: %s %r, want %r" % (what, key, r.get(key), val))
        status = r["reply"].get("Auth-Status")
        if w == "OK":
            check(status == "OK", "%s: Auth-Status %r, want OK" % (what, status))
        else:
            check(status not in (None, "OK"), "%s: Auth-Status %r, want a failure" % (what, status))
            check(r["reply"].get("Auth-Wait") == str(int(WAIT)),
                  "%s: the auth service sent Auth-Wait %r, want %g" % (what, r["reply"].get("Auth-Wait"), WAIT))


class DovecotLog:
    """Dovecot's log from an offset: its ManageSieve lines."""
    LOGIN = re.compile(r" managesieve-login: Info: Login: user=<([^>]*)>, method=([A-Z0-9-]+), rip=([0-9a-f.:]+),")

    def __init__(self, path):
        self.path = path

    def offset(self):
        return os.path.getsize(self.path)

    def lines(self, off):
        with open(self.path, "rb") as f:
            f.seek(off)
            data = f.read()
        return data[:data.rfind(b"\n") + 1].decode("utf-8", "replace").splitlines()

    def logins(self, off):
        return [m.groups() for m in map(self.LOGIN.search, self.lines(off)) if m]


DOVECOT = DovecotLog(CFG["dovecot_log"])


def expect_dovecot_logins(off, n, rip):
    """Dovecot logged n ManageSieve logins of USER (method PLAIN) from rip
    since off: mailproxy's own logins for the client when proxied."""
    want = [(USER, "PLAIN", rip)] * n
    deadline = time.monotonic() + 30
    while True:
        got = DOVECOT.logins(off)
        if len(got) >= n or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    check(got == want, "Dovecot managesieve logins %r, want %d of user=<%s>, method=PLAIN, rip=%s"
          % (got, n, USER, rip))


def expect_dovecot_refused(off):
    """Proxied: nothing of a refused login reached Dovecot. Direct: Dovecot
    itself refused the password."""
    time.sleep(0.5)  # let a stray connection show up in the log
    lines = DOVECOT.lines(off)
    if DIRECT:
        check(any("passwd-file(%s," % USER in l and "Password mismatch" in l for l in lines),
              "no 'passwd-file(%s,...): Password mismatch' in dovecot.log (got: %s)"
              % (USER, " | ".join(lines[-3:]) or "nothing"))
        return
    sieve = [l for l in lines if "managesieve" in l or "passwd-file(%s," % USER in l]
    check(not sieve, "Dovecot saw the refused login: %s" % " | ".join(sieve[:3]))


def script_path(name):
    return os.path.join(CFG["sieve_dir"], name + ".sieve")


def expect_stored(name, data):
    """Dovecot stored the script: the file in the user's sieve directory."""
    path = script_path(name)
    check(os.path.isfile(path), "Dovecot has no %s after PUTSCRIPT" % path)
    got = open(path, "rb").read()
    check(got == data, "%s holds %d bytes %r..., want the %d uploaded" % (path, len(got), got[:40], len(data)))


def expect_active(name):
    active = CFG["active_path"]
    if name is None:
        check(not os.path.lexists(active), "%s still there after deactivation (-> %s)"
              % (active, os.path.realpath(active)))
        return
    check(os.path.islink(active), "no active-script link %s after SETACTIVE" % active)
    check(os.path.realpath(active) == os.path.realpath(script_path(name)),
          "%s -> %s, want %s" % (active, os.readlink(active), script_path(name)))


def expect_gone(name):
    check(not os.path.lexists(script_path(name)), "%s still there after DELETESCRIPT" % script_path(name))


# ---------------------------------------------------------------- sievelib

class Source:
    """Make sievelib's socket.create_connection (it has no other hook)
    connect from client_ip and, for implicit TLS, start TLS at once."""

    def __init__(self, tls=False):
        self.tls = tls

    def __enter__(self):
        self.orig = socket.create_connection
        orig, tls = self.orig, self.tls

        def connect(address, *args, **kwargs):
            s = orig(address, TIMEOUT, source_address=(CLIENT_IP, 0))
            if tls:
                s = tls_context().wrap_socket(s)
            return s

        socket.create_connection = connect
        return self

    def __exit__(self, *exc):
        socket.create_connection = self.orig


def tls_context():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def client_failure(c, what):
    return "%s failed: %s %s" % (what, getattr(c, "errcode", b"") or b"",
                                 getattr(c, "errmsg", b"no error text"))


def check_implementation(c):
    impl = c.get_implementation()
    check(impl.startswith(CFG["implementation"]),
          "IMPLEMENTATION %r, want %r" % (impl, CFG["implementation"]))
    check("PLAIN" in c.get_sasl_mechanisms(), "SASL %r lacks PLAIN" % c.get_sasl_mechanisms())


@case
def case_sievelib_starttls_plain():
    """STARTTLS, AUTHENTICATE "PLAIN", PUTSCRIPT, LISTSCRIPTS, SETACTIVE,
    GETSCRIPT, SETACTIVE "", DELETESCRIPT, LISTSCRIPTS, LOGOUT."""
    name = "interop-sievelib"
    data = script_text(name)
    a_off, d_off = AUTH.offset(), DOVECOT.offset()
    c = managesieve.Client(HOST, CFG["starttls_port"])
    with Source():
        ok = c.connect(USER, PASSWORD, starttls=True, authmech="PLAIN")
    check(ok, client_failure(c, "STARTTLS + AUTHENTICATE PLAIN"))
    check(isinstance(c.sock, ssl.SSLSocket), "not TLS after STARTTLS")
    check(not c.has_tls_support(), "STARTTLS still offered after STARTTLS")
    check_implementation(c)
    expect_dovecot_logins(d_off, 1, CLIENT_IP if DIRECT else PROXY_IP)
    expect_auth(a_off, ["OK"], CLIENT_IP)

    check(c.putscript(name, data.decode()), client_failure(c, "PUTSCRIPT"))
    expect_stored(name, data)
    listed = c.listscripts()
    check(listed is not None and name in listed[1] and listed[0] != name,
          "LISTSCRIPTS %r, want %s listed, not active" % (listed, name))
    check(c.setactive(name), client_failure(c, "SETACTIVE"))
    listed = c.listscripts()
    check(listed is not None and listed[0] == name, "LISTSCRIPTS %r, want %s ACTIVE" % (listed, name))
    expect_active(name)
    # getscript() re-joins the lines with "\n"; the library's own command
    # path returns the literal as it came, to be compared byte for byte.
    got = c.getscript(name)
    check(got == "\n".join(data.decode().splitlines()), "getscript %r, want the uploaded script" % got)
    code, text, raw = c._Client__send_command("GETSCRIPT", [name.encode()], withcontent=True)
    check(code == "OK", "GETSCRIPT: %s %s" % (code, text))
    check(raw == data, "GETSCRIPT returned %d bytes %r, want the %d uploaded %r" % (len(raw), raw, len(data), data))

    check(c.setactive(""), client_failure(c, 'SETACTIVE ""'))
    expect_active(None)
    check(c.deletescript(name), client_failure(c, "DELETESCRIPT"))
    expect_gone(name)
    listed = c.listscripts()
    check(listed is not None and name not in listed[1] and listed[0] is None,
          "LISTSCRIPTS after DELETESCRIPT: %r" % (listed,))
    c.logout()
    expect_auth(a_off, ["OK"], CLIENT_IP)  # and no second request


@case
def case_sievelib_tls_list():
    """Implicit TLS: AUTHENTICATE "PLAIN", LISTSCRIPTS, then PUTSCRIPT so a
    second LISTSCRIPTS has something to show, DELETESCRIPT, LOGOUT."""
    name = "interop-sievelib-tls"
    data = script_text(name)
    a_off, d_off = AUTH.offset(), DOVECOT.offset()
    c = managesieve.Client(HOST, CFG["tls_port"])
    with Source(tls=True):
        ok = c.connect(USER, PASSWORD, authmech="PLAIN")
    check(ok, client_failure(c, "AUTHENTICATE PLAIN over TLS"))
    check(isinstance(c.sock, ssl.SSLSocket), "not a TLS connection")
    check(not c.has_tls_support(), "STARTTLS offered on a TLS connection")
    check_implementation(c)
    expect_dovecot_logins(d_off, 1, CLIENT_IP if DIRECT else PROXY_IP)
    expect_auth(a_off, ["OK"], CLIENT_IP)
    listed = c.listscripts()
    check(listed is not None and name not in listed[1], "LISTSCRIPTS %r before PUTSCRIPT" % (listed,))
    check(c.putscript(name, data.decode()), client_failure(c, "PUTSCRIPT"))
    expect_stored(name, data)
    listed = c.listscripts()
    check(listed is not None and name in listed[1], "LISTSCRIPTS %r, want %s" % (listed, name))
    check(c.deletescript(name), client_failure(c, "DELETESCRIPT"))
    expect_gone(name)
    c.logout()


@case
def case_sievelib_wrong_password():
    """STARTTLS, AUTHENTICATE "PLAIN" with a wrong password: NO, after
    Auth-Wait when proxied; Dovecot never hears of it."""
    a_off, d_off = AUTH.offset(), DOVECOT.offset()
    c = managesieve.Client(HOST, CFG["starttls_port"])
    with Source():
        t0 = time.monotonic()
        ok = c.connect(USER, PASSWORD + "-wrong", starttls=True, authmech="PLAIN")
        took = time.monotonic() - t0
    check(not ok, "AUTHENTICATE PLAIN with a wrong password succeeded")
    check(c.errmsg, "refusal without text")
    if not DIRECT:
        check(took >= WAIT - 0.3, "NO came after %.2fs, want >= Auth-Wait %gs" % (took, WAIT))
        check(took < WAIT + 20, "NO came after %.2fs, want about Auth-Wait %gs" % (took, WAIT))
    try:
        c.logout()
    except Exception:  # the server may have closed: not this case's concern
        pass
    expect_auth(a_off, ["fail"], CLIENT_IP)
    expect_dovecot_refused(d_off)


# ---------------------------------------------------------------- sieve-connect

def sieve_connect(label, *args):
    """Run sieve-connect (STARTTLS required, PLAIN, password on a pipe, a
    debug transcript in OUT/label.err); returns (exit code, stdout)."""
    r, w = os.pipe()
    os.write(w, (PASSWORD + "\n").encode())
    os.close(w)
    cmd = ["sieve-connect", "--server", HOST, "--port", str(CFG["starttls_port"]), "--user", USER,
           "--authmech", "PLAIN", "--passwordfd", str(r), "--notlsverify", "--noclearchan", "--debug"]
    err_path = os.path.join(OUT, "sieve-connect-%s.err" % label)
    try:
        with open(err_path, "wb") as err:
            p = subprocess.run(cmd + list(args), stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                               pass_fds=(r,), timeout=TIMEOUT, cwd=OUT)
    finally:
        os.close(r)
    transcript = open(err_path, "rb").read().decode("utf-8", "replace")
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        tail = [l for l in transcript.splitlines() if l.strip()][-3:]
        raise Failed("sieve-connect %s: exit %d: %s" % (label, p.returncode, " | ".join(tail)))
    for want in (">>> STARTTLS", '>>> AUTHENTICATE "PLAIN"', "<<< OK"):
        check(want in transcript, "sieve-connect %s: no %r in its transcript (%s)" % (label, want, err_path))
    return out


@case
def case_sieve_connect_starttls_plain():
    """sieve-connect (Perl; AUTHENTICATE "PLAIN" with the initial response
    as a literal, NOOP after STARTTLS): --upload, --activate, then one
    session of list, get, deactivate, delete, list."""
    name = "interop-sieve-connect"
    data = script_text(name)
    local = os.path.join(OUT, name + ".sieve")
    back = os.path.join(OUT, name + ".back")
    open(local, "wb").write(data)
    a_off, d_off = AUTH.offset(), DOVECOT.offset()

    sieve_connect("upload", "--upload", "--localsieve", local, "--remotesieve", name)
    expect_stored(name, data)
    sieve_connect("activate", "--activate", "--remotesieve", name)
    expect_active(name)
    cmds = os.path.join(OUT, name + ".cmds")
    with open(cmds, "w") as f:
        f.write("list\nget %s %s\ndeactivate\ndelete %s\nlist\n" % (name, os.path.basename(back), name))
    out = sieve_connect("exec", "--exec", cmds)
    # Both lists print one line per script; only the first can name it.
    lines = [l.strip() for l in out.splitlines() if '"%s"' % name in l]
    check(lines == ['"%s" ACTIVE' % name], "list output %r, want %s ACTIVE once (before delete)" % (out, name))
    check(os.path.exists(back), "get wrote no %s" % back)
    got = open(back, "rb").read()
    check(got == data, "get returned %d bytes %r, want the %d uploaded" % (len(got), got[:60], len(data)))
    expect_active(None)
    expect_gone(name)
    # Three sessions: three logins at the auth service and at Dovecot.
    expect_auth(a_off, ["OK"] * 3, "127.0.0.1")
    expect_dovecot_logins(d_off, 3, PROXY_IP)


def main():
    only = set(sys.argv[2:])
    for name, fn in CASES:
        if only and name not in only:
            continue
        if CFG.get("unsupported"):
            print("FAIL %s: %s" % (name, CFG["unsupported"]), flush=True)
            continue
        try:
            fn()
        except Exception as e:  # every failure is a FAIL line
            reason = str(e) if isinstance(e, Failed) else "%s: %s" % (type(e).__name__, e)
            print("FAIL %s: %s" % (name, " ".join(reason.split())[:400]), flush=True)
            if os.environ.get("VERBOSE"):
                traceback.print_exc()
        else:
            print("PASS %s" % name, flush=True)


if __name__ == "__main__":
    main()
