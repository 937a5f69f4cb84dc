#!/usr/bin/env python3
"""Two mailproxy instances sharing one redis-server, behind HAProxy: one line
per case, PASS name / FAIL name: reason.

interop.sh's cluster part (scripts/interop/cluster.sh) starts redis-server,
instances A and B (login_throttle with ip and user_ip rules of 5 failures,
limit_conn 1 per user on a "limited" IMAP listener, TLS sessions in the
store with session tickets off) and HAProxy (round robin, PROXY v2, health
checks) in front of their IMAP and SMTP listeners. The auth service is asked
through authrec.py, whose JSON log says which requests it saw.

Usage: cluster_clients.py CLUSTER_JSON up|down|back
  up:   the store runs (throttling across instances, a legitimate user
        throughout, limit_conn across instances, TLS resumption across)
  down: the store is stopped (logins fail open; the metric says so)
  back: the store runs again, empty (counting resumes; instance A is
        killed under SMTP load: no message acknowledged with 250 is lost)
"""
import json
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.request

CFG = json.load(open(sys.argv[1]))
PHASE = sys.argv[2]
HOST = "127.0.0.1"
TIMEOUT = 30
USER, PASSWORD = CFG["user"], CFG["password"]
FAILURES = CFG["failures"]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


class IMAP:
    """A raw IMAP client from a chosen source address."""

    def __init__(self, port, source="127.0.0.1"):
        self.s = socket.create_connection((HOST, port), timeout=TIMEOUT, source_address=(source, 0))
        self.f = self.s.makefile("rb")
        self.greeting = self.f.readline()
        check(self.greeting.startswith(b"* OK"), "greeting %r" % self.greeting)

    def command(self, tag, line):
        """Sends TAG LINE and returns (tagged reply, seconds it took)."""
        start = time.monotonic()
        self.s.sendall(b"%s %s\r\n" % (tag.encode(), line.encode()))
        while True:
            reply = self.f.readline()
            if not reply or reply.startswith(tag.encode() + b" "):
                return reply, time.monotonic() - start

    def close(self):
        self.s.close()


def login(port, password, source, tag="a"):
    """One LOGIN on a new connection; the tagged reply and its delay."""
    c = IMAP(port, source)
    try:
        return c.command(tag, 'LOGIN %s "%s"' % (USER, password))
    finally:
        c.close()


def auth_requests(client_ip):
    """The auth requests authrec.py recorded for client_ip."""
    out = []
    for line in open(CFG["auth_json"]):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("Client-IP") == client_ip:
            out.append(r)
    return out


def metric(inst, name, labels):
    """The value of a metric series of instance inst (0 when absent)."""
    body = urllib.request.urlopen("http://%s:%d/metrics" % (HOST, CFG[inst]["metrics"]), timeout=10).read().decode()
    for line in body.splitlines():
        if line.startswith(name + "{") and all('%s="%s"' % kv in line for kv in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def attack(source, attempts, legit_source=None):
    """attempts failed logins from source through HAProxy, a legitimate
    login from legit_source after every second one (so that, HAProxy
    taking A and B in turn, the attacker's land on both); returns
    (replies, delays, legit)."""
    replies, delays, legit = [], [], []
    for i in range(attempts):
        r, d = login(CFG["haproxy"]["imap"], "wrong-%d" % i, source)
        replies.append(r)
        delays.append(d)
        if legit_source and i % 2 == 1:
            legit.append(login(CFG["haproxy"]["imap"], PASSWORD, legit_source)[0])
    return replies, delays, legit


def throttled_across_instances():
    """Failures spread over A and B throttle the attacker at the configured
    count in total; the auth service saw no more; the replies and their
    delays do not tell a throttled attempt from a checked one."""
    src = "127.0.0.3"
    replies, delays, legit = attack(src, FAILURES + 3, "127.0.0.4")
    LEGIT.extend(legit)
    seen = auth_requests(src)
    check(len(seen) == FAILURES, "the auth service saw %d requests from the attacker, want %d" % (len(seen), FAILURES))
    check(all(r.startswith(b"a NO ") for r in replies), "replies %r" % replies)
    check(len(set(replies)) == 1, "throttled replies differ from checked ones: %r" % replies)
    wait = CFG["wait"]
    check(all(d >= wait * 0.9 for d in delays), "a reply came before the Auth-Wait delay: %r" % delays)
    logs = [open(os.path.join(os.path.dirname(CFG["auth_json"]), "mailproxy-cluster-%s.log" % i)).read() for i in "ab"]
    check(all(src in l for l in logs), "the attack did not reach both instances")
    check(any("throttle" in l for l in logs), "no log line says the attacker was throttled")


LEGIT = []  # the legitimate logins' replies during the attack


def legit_throughout():
    """A legitimate user from another address logs in throughout."""
    check(LEGIT and all(r.startswith(b"a OK ") for r in LEGIT), "legitimate logins: %r" % LEGIT)


def limit_conn_across_instances():
    """limit_conn 1 per user: alice on A's limited listener, a second alice
    on B's is refused; once the first leaves, B lets her in."""
    a = IMAP(CFG["a"]["limited"])
    r, _ = a.command("a", 'LOGIN %s "%s"' % (USER, PASSWORD))
    check(r.startswith(b"a OK "), "first login on A: %r" % r)
    r, _ = login(CFG["b"]["limited"], PASSWORD, "127.0.0.1", "b")
    check(r == b"b NO [UNAVAILABLE] Too many connections\r\n", "second login on B: %r" % r)
    a.command("c", "LOGOUT")
    a.close()
    for _ in range(50):
        r, _ = login(CFG["b"]["limited"], PASSWORD, "127.0.0.1", "d")
        if r.startswith(b"d OK "):
            return
        time.sleep(0.1)
    raise AssertionError("B still refuses alice after her session on A ended: %r" % r)


def s_client(port, *args):
    """openssl s_client to port (sending LOGOUT); its output."""
    p = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (HOST, port), "-CAfile", CFG["cert"],
                        "-ign_eof", *args], input=b"a LOGOUT\r\n", capture_output=True, timeout=TIMEOUT)
    return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


SESSION = os.path.join(CFG["out"], "cluster-tls.sess")


def tls_resumes_across_instances():
    """A TLS session made with A (tickets off: the session lives in the
    store) resumes on B, and B's on A."""
    out = s_client(CFG["a"]["imaps"], "-sess_out", SESSION)
    check("New, TLS" in out, "first handshake with A: %s" % out[-300:])
    out = s_client(CFG["b"]["imaps"], "-sess_in", SESSION)
    check("Reused, TLS" in out, "A's session not resumed on B: %s" % out[-400:])
    out = s_client(CFG["b"]["imaps"], "-sess_out", SESSION + ".b")
    out = s_client(CFG["a"]["imaps"], "-sess_in", SESSION + ".b")
    check("Reused, TLS" in out, "B's session not resumed on A: %s" % out[-400:])


def fail_open():
    """With the store stopped: logins go on through both instances, failures
    reach the auth service (not throttled, not refused), a TLS handshake
    still completes, and each instance's metric counts the store errors."""
    for i in range(4):
        r, _ = login(CFG["haproxy"]["imap"], PASSWORD, "127.0.0.4", "l%d" % i)
        check(r.startswith(b"l%d OK " % i), "login with the store down: %r" % r)
    src = "127.0.0.5"
    replies, _, _ = attack(src, FAILURES + 2)
    seen = auth_requests(src)
    check(len(seen) == FAILURES + 2, "with the store down the auth service saw %d of %d failures" % (len(seen), FAILURES + 2))
    out = s_client(CFG["a"]["imaps"], "-sess_in", SESSION)
    check("Verify return code: 0" in out or "New, TLS" in out or "Reused, TLS" in out, "TLS with the store down: %s" % out[-300:])
    for inst in "ab":
        n = metric(inst, "mailproxy_store_errors_total", {"use": "login_throttle"})
        check(n > 0, "instance %s: mailproxy_store_errors_total{use=\"login_throttle\"} = %g" % (inst, n))


def counts_again():
    """The store back (empty): after a moment, the throttle counts again."""
    for _ in range(20):  # the pools reconnect on their next calls
        r, _ = login(CFG["haproxy"]["imap"], PASSWORD, "127.0.0.4", "w")
        if r.startswith(b"w OK "):
            break
        time.sleep(0.2)
    src = "127.0.0.6"
    replies, _, _ = attack(src, FAILURES + 3)
    seen = auth_requests(src)
    check(len(seen) == FAILURES, "after the store came back the auth service saw %d requests, want %d" % (len(seen), FAILURES))


def smtp_send(i, tag):
    """Sends message i through HAProxy; True once a 250 acknowledged it.
    A refused or broken connection is retried as a client would."""
    msg = ("From: %s\r\nTo: %s\r\nSubject: cluster %d\r\nX-Cluster-Case: %s-%d\r\n\r\nmessage %d\r\n"
           % (CFG["mail_from"], CFG["mail_rcpt"], i, tag, i, i))
    for attempt in range(10):
        try:
            s = smtplib.SMTP(HOST, CFG["haproxy"]["smtp"], timeout=TIMEOUT)
            s.ehlo("client.example")
            s.login(USER, PASSWORD)
            s.sendmail(CFG["mail_from"], [CFG["mail_rcpt"]], msg)  # raises unless 250
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass
            return True
        except (smtplib.SMTPException, OSError):
            time.sleep(0.3)
    return False


def delivered(tag):
    """The X-Cluster-Case values of tag found in the recipient's maildir."""
    found = set()
    for sub in ("new", "cur"):
        d = os.path.join(CFG["rcpt_maildir"], sub)
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            try:
                head = open(os.path.join(d, name), "rb").read(4096).decode(errors="replace")
            except OSError:
                continue
            for m in re.finditer(r"X-Cluster-Case: (%s-\d+)" % re.escape(tag), head):
                found.add(m.group(1))
    return found


def instance_killed_under_load():
    """Four SMTP clients send through HAProxy while instance A is killed
    (SIGKILL): they reconnect through HAProxy to B, every message
    acknowledged with 250 reaches Postfix's maildir, and IMAP logins
    through HAProxy succeed afterwards."""
    tag = CFG["tag"]
    per, threads, acked = 15, 4, {}
    lock = threading.Lock()

    def sender(k):
        for j in range(per):
            i = k * per + j
            ok = smtp_send(i, tag)
            with lock:
                acked[i] = ok

    ts = [threading.Thread(target=sender, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    while True:
        with lock:
            if len(acked) >= per:
                break
        time.sleep(0.05)
    pid = int(open(CFG["a"]["pidfile"]).read().strip())
    os.kill(pid, signal.SIGKILL)
    for t in ts:
        t.join(timeout=300)
    ok = sorted(i for i, v in acked.items() if v)
    check(len(acked) == per * threads, "only %d of %d messages tried" % (len(acked), per * threads))
    want = {"%s-%d" % (tag, i) for i in ok}
    got = set()
    for _ in range(60):
        got = delivered(tag)
        if want <= got:
            break
        time.sleep(0.5)
    lost = sorted(want - got)
    check(not lost, "%d messages acknowledged with 250 were not delivered: %s" % (len(lost), lost[:5]))
    check(len(ok) >= per * threads - 2, "only %d of %d messages acknowledged after the kill" % (len(ok), per * threads))
    for i in range(5):
        r, _ = login(CFG["haproxy"]["imap"], PASSWORD, "127.0.0.4", "k%d" % i)
        check(r.startswith(b"k%d OK " % i), "IMAP login after the kill: %r" % r)
    print("# cluster: %d messages acknowledged, all delivered; A killed after %d" % (len(ok), per))


def run(name, fn):
    try:
        fn()
        print("PASS %s" % name, flush=True)
    except Exception as e:  # noqa: BLE001 - a case's failure, whatever it is
        traceback.print_exc(file=sys.stderr)
        print("FAIL %s: %s" % (name, str(e).replace("\n", " ")[:400]), flush=True)


if PHASE == "up":
    run("cluster-throttle-across-instances", throttled_across_instances)
    run("cluster-legit-user-throughout", legit_throughout)
    run("cluster-limit-conn-across-instances", limit_conn_across_instances)
    run("cluster-tls-resume-across-instances", tls_resumes_across_instances)
elif PHASE == "down":
    run("cluster-store-down-fail-open", fail_open)
elif PHASE == "back":
    run("cluster-store-back-counts-again", counts_again)
    run("cluster-instance-killed-under-load", instance_killed_under_load)
else:
    sys.exit("unknown phase %r" % PHASE)
