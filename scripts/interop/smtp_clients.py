#!/usr/bin/env python3
"""Python smtplib against mailproxy: one line per case, PASS name / FAIL name: reason.

Every message carries "X-Interop-Case: TAG-<case>"; a case passes only when
Postfix (behind mailproxy) delivered it into MAILDIR with a Received: line
showing the client's HELO, [127.0.0.1] and "Authenticated sender: USER"
(XCLIENT).

Usage: smtp_clients.py HOST PORT SSL_PORT USER PASSWORD FROM RCPT MAILDIR TAG WAIT [CASE...]
"""
import os
import smtplib
import ssl
import sys
import time
import traceback
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import maildir  # noqa: E402

(HOST, PORT, SSL_PORT, USER, PASSWORD, FROM, RCPT, MAILDIR, TAG, WAIT) = sys.argv[1:11]
PORT, SSL_PORT, WAIT = int(PORT), int(SSL_PORT), float(WAIT)
TIMEOUT = 60


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def helo_of(case):
    return "%s.interop.test" % case


def features(s):
    code, _ = s.ehlo()
    check(code == 250, "EHLO: %d" % code)
    return s.esmtp_features


def check_auth_line(s):
    auth = features(s).get("auth", "").upper().split()
    check({"PLAIN", "LOGIN", "CRAM-MD5"} <= set(auth), "EHLO AUTH line: %r" % auth)


def send(s, case, size=100):
    """Send a message tagged for case; return the body sha256 (LF form)."""
    tag = "%s-%s" % (TAG, case)
    msg = maildir.make_message(tag, "smtplib %s" % case, size, FROM, RCPT)
    refused = s.sendmail(FROM, [RCPT], msg)
    check(not refused, "refused recipients: %r" % refused)
    return tag, maildir.body_sha(msg)


def delivered(case, tag, sha):
    why = maildir.check_delivered(MAILDIR, tag, sha, helo=helo_of(case), login=USER)
    check(why is None, why)


def case_login(case):
    s = smtplib.SMTP(HOST, PORT, local_hostname=helo_of(case), timeout=TIMEOUT)
    check_auth_line(s)
    check(s.has_extn("starttls"), "no STARTTLS in EHLO: %r" % s.esmtp_features)
    code, _ = s.login(USER, PASSWORD)  # smtplib prefers CRAM-MD5
    check(code == 235, "AUTH: %d" % code)
    tag, sha = send(s, case)
    s.quit()
    delivered(case, tag, sha)


def case_auth_plain(case):
    s = smtplib.SMTP(HOST, PORT, local_hostname=helo_of(case), timeout=TIMEOUT)
    features(s)
    s.user, s.password = USER, PASSWORD
    code, _ = s.auth("PLAIN", s.auth_plain, initial_response_ok=True)
    check(code == 235, "AUTH PLAIN: %d" % code)
    tag, sha = send(s, case)
    s.quit()
    delivered(case, tag, sha)


def case_starttls(case):
    s = smtplib.SMTP(HOST, PORT, local_hostname=helo_of(case), timeout=TIMEOUT)
    features(s)
    code, _ = s.starttls(context=ctx())
    check(code == 220, "STARTTLS: %d" % code)
    check(isinstance(s.sock, ssl.SSLSocket), "socket is not TLS after STARTTLS")
    check_auth_line(s)
    check(not s.has_extn("starttls"), "STARTTLS still offered after STARTTLS")
    s.login(USER, PASSWORD)
    tag, sha = send(s, case)
    s.quit()
    delivered(case, tag, sha)


def case_ssl(case):
    s = smtplib.SMTP_SSL(HOST, SSL_PORT, local_hostname=helo_of(case), context=ctx(), timeout=TIMEOUT)
    check_auth_line(s)
    s.login(USER, PASSWORD)
    tag, sha = send(s, case)
    s.quit()
    delivered(case, tag, sha)


def case_send_message(case):
    tag = "%s-%s" % (TAG, case)
    m = EmailMessage()
    m["From"] = FROM
    m["To"] = RCPT
    m["Subject"] = "smtplib send_message"
    m[maildir.CASE_HEADER] = tag
    m.set_content("Sent with send_message.\n.leading dot\n")
    with smtplib.SMTP(HOST, PORT, local_hostname=helo_of(case), timeout=TIMEOUT) as s:
        s.login(USER, PASSWORD)
        refused = s.send_message(m)
        check(not refused, "refused recipients: %r" % refused)
    delivered(case, tag, None)


def case_big_starttls(case):
    s = smtplib.SMTP(HOST, PORT, local_hostname=helo_of(case), timeout=TIMEOUT)
    features(s)
    s.starttls(context=ctx())
    s.login(USER, PASSWORD)
    tag, sha = send(s, case, 5 * 1024 * 1024)
    s.quit()
    delivered(case, tag, sha)


def case_wrong_password_then_retry(case):
    s = smtplib.SMTP(HOST, PORT, local_hostname=helo_of(case), timeout=TIMEOUT)
    features(s)
    # One mechanism only: login() would try each advertised one in turn.
    s.user, s.password = USER, PASSWORD + "-wrong"
    t0 = time.monotonic()
    try:
        s.auth("PLAIN", s.auth_plain, initial_response_ok=True)
    except smtplib.SMTPAuthenticationError as e:
        took = time.monotonic() - t0
        check(e.smtp_code == 535, "AUTH with a wrong password: %d %r" % (e.smtp_code, e.smtp_error))
        check(took >= WAIT - 0.3, "failure came after %.2fs, want >= Auth-Wait %.0fs" % (took, WAIT))
        check(took < WAIT + 5, "failure came after %.2fs, want about %.0fs" % (took, WAIT))
    else:
        raise AssertionError("AUTH PLAIN with a wrong password succeeded")
    s.login(USER, PASSWORD)  # retry on the same connection
    tag, sha = send(s, case)
    s.quit()
    delivered(case, tag, sha)


CASES = [
    ("smtplib-login", case_login),
    ("smtplib-auth-plain", case_auth_plain),
    ("smtplib-starttls", case_starttls),
    ("smtplib-ssl", case_ssl),
    ("smtplib-send-message", case_send_message),
    ("smtplib-starttls-5mb", case_big_starttls),
    ("smtplib-wrong-password-then-retry", case_wrong_password_then_retry),
]

only = set(sys.argv[11:])
for name, fn in CASES:
    if only and name not in only:
        continue
    try:
        fn(name)
    except Exception as e:  # every failure is a FAIL line
        reason = "%s: %s" % (type(e).__name__, e)
        reason = " ".join(reason.split())[:300]
        print("FAIL %s: %s" % (name, reason), flush=True)
        if os.environ.get("VERBOSE"):
            traceback.print_exc()
    else:
        print("PASS %s" % name, flush=True)
