# Interop cases of the upstream layer, sourced by scripts/interop.sh (they
# use its helpers: start, wait_listen, pass, fail, die, curl_get...):
#
#   - a second Dovecot (dovecot2) with a certificate from the test CA for
#     backend.interop.test: IMAP and POP3 over implicit TLS and
#     STARTTLS/STLS, verified by mailproxy; Dovecot's Login line says
#     "TLS" for a TLS session ("secured" for a plaintext one from
#     loopback, which a control case checks);
#   - the same with the wrong CA and with the wrong name: refused, nothing
#     reaches Dovecot;
#   - Postfix offering STARTTLS: XCLIENT and the login only over TLS
#     (Postfix's Received: line says "using TLS");
#   - the reference auth service over HTTPS (mailproxy-auth -tls-cert),
#     alone and as the second of a list whose first URL is down;
#   - a backend named by host name, resolved through dnsmasq on loopback
#     (proxy_resolve, resolver), its certificate checked against that name;
#   - failover: the first backend down, the auth service names Dovecot2
#     (Auth-Failed-Server), the client sees one login;
#   - ManageSieve to the first Dovecot over STARTTLS.
#
# Each case is checked at the client (curl's fetched message, the SMTP
# delivery), at the auth service (its log line per request: result, user,
# attempt, failed_server) and at the backend (dovecot2.log's Login line
# with TLS, Postfix's Received: line), or for a refusal, that the backend
# saw no login and mailproxy logged the reason.
#
# The `upstream` argument of interop.sh runs only these cases.

UP_USERS="tina stan nate fay sam"

# upstream_pki: the backend certificate, signed by the test CA.
upstream_pki() {
	{
		openssl req -newkey rsa:2048 -nodes -subj "/CN=backend.interop.test" \
			-keyout "$PKI/backend.key" -out "$PKI/backend.csr" &&
			printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:backend.interop.test,IP:127.0.0.1\n' >"$PKI/backend.ext" &&
			openssl x509 -req -in "$PKI/backend.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
				-days 7 -sha256 -extfile "$PKI/backend.ext" -out "$PKI/backend.pem"
	} >"$STATE/out/openssl-backend.txt" 2>&1 || die "making the backend certificate failed (see out/openssl-backend.txt)"
	chmod 644 "$PKI/backend.pem" "$PKI/backend.key" "$PKI/ca.pem"
	chmod 755 "$PKI"
}

# upstream_postfix_tls: main.cf lines offering STARTTLS with the backend
# certificate, and recording TLS in the Received: line.
upstream_postfix_tls() {
	cat <<EOF
smtpd_tls_cert_file = $PKI/backend.pem
smtpd_tls_key_file = $PKI/backend.key
smtpd_tls_security_level = may
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1
EOF
}

# upstream_postfix_master: the master.cf line of tlsmgr, which smtpd's
# STARTTLS needs.
upstream_postfix_master() {
	echo "tlsmgr    unix  -       -       n       1000?   1       tlsmgr"
}

# upstream_start: Dovecot2, dnsmasq, the HTTPS auth service and a
# mailproxy with the upstream servers.
upstream_start() {
	read -r D2_IMAP D2_IMAPS D2_POP3 D2_POP3S DNS_PORT AUTH2_PORT AUTH_DOWN_PORT BACKEND_DOWN_PORT \
		UP_IMAP_TLS UP_IMAP_STARTTLS UP_POP3_TLS UP_POP3_STLS UP_IMAP_WRONGCA UP_IMAP_WRONGNAME \
		UP_SMTP UP_IMAP_NAME UP_IMAP_FAILOVER UP_IMAP_LIST UP_SIEVE < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(19)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
') || die "could not pick free ports"
	[ -n "${UP_SIEVE:-}" ] || die "could not pick free ports"

	# Dovecot2: TLS required, the same maildir as alice.
	mkdir -p "$STATE/dovecot2"
	: >"$STATE/dovecot2/users"
	for u in $UP_USERS; do
		echo "$u:{PLAIN}$MAIL_PASS:$MAIL_UID:$MAIL_GID::$STATE/home/$MAIL_USER::" >>"$STATE/dovecot2/users"
	done
	chgrp dovecot "$STATE/dovecot2/users" && chmod 640 "$STATE/dovecot2/users" || die "dovecot2 passwd-file permissions"
	cat >"$STATE/dovecot2/dovecot.conf" <<EOF
base_dir = $STATE/dovecot2/run
state_dir = $STATE/dovecot2/lib
instance_name = mailproxy-interop2
log_path = $STATE/log/dovecot2.log
protocols = imap pop3
listen = 127.0.0.1
ssl = required
disable_plaintext_auth = yes
ssl_cert = <$PKI/backend.pem
ssl_key = <$PKI/backend.key
auth_mechanisms = plain login
auth_verbose = yes
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN $STATE/dovecot2/users
}
userdb {
  driver = passwd-file
  args = $STATE/dovecot2/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $D2_IMAP
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $D2_IMAPS
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $D2_POP3
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $D2_POP3S
    ssl = yes
  }
}
EOF
	start dovecot2 dovecot -F -c "$STATE/dovecot2/dovecot.conf"
	for p in "$D2_IMAP" "$D2_IMAPS" "$D2_POP3" "$D2_POP3S"; do wait_listen dovecot2 "$p"; done

	# dnsmasq: backend.interop.test is 127.0.0.1, nothing else is known.
	start dnsmasq dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --bind-interfaces \
		--listen-address=127.0.0.1 --port="$DNS_PORT" --user=root --group=root --pid-file= \
		--address=/backend.interop.test/127.0.0.1 --local-ttl=60 --log-queries \
		--log-facility="$STATE/log/dnsmasq-queries.log"
	wait_listen dnsmasq "$DNS_PORT"

	# The reference auth service over HTTPS, with replicas and names.
	cat >"$STATE/users2" <<EOF
tina $MAIL_PASS 127.0.0.1:$D2_IMAPS imap
tina $MAIL_PASS 127.0.0.1:$D2_POP3S pop3
stan $MAIL_PASS 127.0.0.1:$D2_IMAP imap
stan $MAIL_PASS 127.0.0.1:$D2_POP3 pop3
nate $MAIL_PASS backend.interop.test:$D2_IMAPS imap
fay $MAIL_PASS 127.0.0.1:$BACKEND_DOWN_PORT,127.0.0.1:$D2_IMAPS imap
sam $MAIL_PASS 127.0.0.1:$POSTFIX_PORT smtp
$MAIL_USER $MAIL_PASS 127.0.0.1:$DOVE_SIEVE sieve
EOF
	openssl req -newkey rsa:2048 -nodes -subj "/CN=auth.interop.test" -addext "subjectAltName=IP:127.0.0.1" \
		-keyout "$PKI/auth.key" -out "$PKI/auth.csr" >>"$STATE/out/openssl-backend.txt" 2>&1 &&
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$PKI/auth.ext" &&
		openssl x509 -req -in "$PKI/auth.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
			-days 7 -sha256 -extfile "$PKI/auth.ext" -out "$PKI/auth.pem" >>"$STATE/out/openssl-backend.txt" 2>&1 ||
		die "making the auth service certificate failed"
	start mailproxy-auth2 "$STATE/bin/mailproxy-auth" -listen "127.0.0.1:$AUTH2_PORT" -users "$STATE/users2" \
		-secret "$SECRET" -wait "$WAIT" -backend-names -tls-cert "$PKI/auth.pem" -tls-key "$PKI/auth.key"
	wait_listen mailproxy-auth2 "$AUTH2_PORT"

	local verified="    proxy_ssl_trusted_certificate: $PKI/ca.pem
    proxy_ssl_name: backend.interop.test"
	cat >"$STATE/mailproxy-up.yaml" <<EOF
mail:
  auth_http: https://127.0.0.1:$AUTH2_PORT/auth
  auth_http_ssl_trusted_certificate: $PKI/ca.pem
  auth_http_header: {X-Auth-Key: "$SECRET"}
  auth_http_keepalive: 4
servers:
  - protocol: imap
    proxy_ssl: on
$verified
    listen: [127.0.0.1:$UP_IMAP_TLS]
  - protocol: imap
    proxy_ssl: starttls
$verified
    listen: [127.0.0.1:$UP_IMAP_STARTTLS]
  - protocol: pop3
    proxy_ssl: on
$verified
    listen: [127.0.0.1:$UP_POP3_TLS]
  - protocol: pop3
    proxy_ssl: starttls
$verified
    listen: [127.0.0.1:$UP_POP3_STLS]
  - protocol: imap
    proxy_ssl: on
    proxy_ssl_trusted_certificate: $PKI/stranger.pem
    proxy_ssl_name: backend.interop.test
    listen: [127.0.0.1:$UP_IMAP_WRONGCA]
  - protocol: imap
    proxy_ssl: on
    proxy_ssl_trusted_certificate: $PKI/ca.pem
    proxy_ssl_name: wrong.interop.test
    listen: [127.0.0.1:$UP_IMAP_WRONGNAME]
  - protocol: smtp
    server_name: proxy.$MAIL_DOMAIN
    smtp_auth: [plain, login]
    smtp_capabilities: ["SIZE 20971520", 8BITMIME, PIPELINING]
    xclient: on
    proxy_ssl: starttls
$verified
    listen: [127.0.0.1:$UP_SMTP]
  - protocol: imap
    proxy_resolve: on
    resolver: [127.0.0.1:$DNS_PORT, ipv6=off]
    proxy_ssl: on
    proxy_ssl_trusted_certificate: $PKI/ca.pem
    listen: [127.0.0.1:$UP_IMAP_NAME]
  - protocol: imap
    proxy_next_upstream_tries: 2
    proxy_ssl: on
$verified
    listen: [127.0.0.1:$UP_IMAP_FAILOVER]
  # ManageSieve to the first Dovecot, STARTTLS then the capabilities
  # again; its certificate is the self-signed one for localhost and
  # 127.0.0.1 (the backend's address is the name checked).
  - protocol: sieve
    proxy_ssl: starttls
    proxy_ssl_trusted_certificate: $STATE/cert.pem
    listen: [127.0.0.1:$UP_SIEVE]
  - protocol: imap
    auth_http: [https://127.0.0.1:$AUTH_DOWN_PORT/auth, https://127.0.0.1:$AUTH2_PORT/auth]
    proxy_ssl: on
$verified
    listen: [127.0.0.1:$UP_IMAP_LIST]
EOF
	"$STATE/bin/mailproxy" -t -c "$STATE/mailproxy-up.yaml" >"$STATE/out/mailproxy-up-t.txt" 2>&1 ||
		die "mailproxy -t refuses the upstream configuration: $(head -n 3 "$STATE/out/mailproxy-up-t.txt" | tr '\n' ' ')"
	start mailproxy-up "$STATE/bin/mailproxy" -log-level debug -c "$STATE/mailproxy-up.yaml"
	for p in "$UP_IMAP_TLS" "$UP_IMAP_STARTTLS" "$UP_POP3_TLS" "$UP_POP3_STLS" "$UP_IMAP_WRONGCA" \
		"$UP_IMAP_WRONGNAME" "$UP_SMTP" "$UP_IMAP_NAME" "$UP_IMAP_FAILOVER" "$UP_IMAP_LIST" "$UP_SIEVE"; do
		wait_listen mailproxy-up "$p"
	done
}

# log_from FILE OFFSET: FILE's bytes after OFFSET.
log_from() { tail -c +"$(($2 + 1))" "$1" 2>/dev/null; }
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

# up_case NAME URL USER WANT_BODY AUTH_RE DOVECOT_RE [curl args...]: fetch
# URL as USER through mailproxy-up; PASS when the body has WANT_BODY, the
# auth service logged AUTH_RE (an ERE, on one line) and dovecot2 logged
# DOVECOT_RE for this case.
up_case() {
	local name=$1 url=$2 user=$3 want=$4 auth_re=$5 dove_re=$6 a0 d0 rc i
	shift 6
	a0=$(size_of "$STATE/log/mailproxy-auth2.log")
	d0=$(size_of "$STATE/log/dovecot2.log")
	curl -sS -v --max-time 30 -u "$user:$MAIL_PASS" "$@" "$url" -o "$OUT/$name.body" 2>"$OUT/$name.trace"
	rc=$?
	if [ "$rc" != 0 ]; then
		fail "$name" "curl exit $rc: $(trace_tail "$OUT/$name.trace")"
		return
	fi
	if ! grep -qF "$want" "$OUT/$name.body"; then
		fail "$name" "fetched message lacks '$want'"
		return
	fi
	if ! log_from "$STATE/log/mailproxy-auth2.log" "$a0" | grep -Eq "$auth_re"; then
		fail "$name" "the auth service logged no /$auth_re/ (got: $(log_from "$STATE/log/mailproxy-auth2.log" "$a0" | tail -n 2 | tr '\n' '|'))"
		return
	fi
	for i in $(seq 30); do
		log_from "$STATE/log/dovecot2.log" "$d0" | grep -Eq "$dove_re" && break
		sleep 0.1
	done
	if log_from "$STATE/log/dovecot2.log" "$d0" | grep -Eq "$dove_re"; then
		pass "$name"
	else
		fail "$name" "dovecot2.log has no /$dove_re/ (got: $(log_from "$STATE/log/dovecot2.log" "$d0" | grep -E 'Login|Disconnected|Aborted' | tail -n 2 | tr '\n' '|'))"
	fi
}

# up_refused NAME URL USER PROXY_LOG_RE: the login fails with nginx's
# internal error, mailproxy-up logs PROXY_LOG_RE, dovecot2 logs no login.
up_refused() {
	local name=$1 url=$2 user=$3 re=$4 m0 d0 rc
	m0=$(size_of "$STATE/log/mailproxy-up.log")
	d0=$(size_of "$STATE/log/dovecot2.log")
	curl -sS -v --max-time 30 -u "$user:$MAIL_PASS" "$url" -o "$OUT/$name.body" 2>"$OUT/$name.trace"
	rc=$?
	sleep 0.3
	if [ "$rc" = 0 ]; then
		fail "$name" "curl succeeded"
	elif ! grep -Eq '^< \* BAD internal server error' "$OUT/$name.trace"; then
		fail "$name" "no internal error in curl's trace (exit $rc: $(trace_tail "$OUT/$name.trace"))"
	elif ! log_from "$STATE/log/mailproxy-up.log" "$m0" | grep -Eq "$re"; then
		fail "$name" "mailproxy logged no /$re/"
	elif log_from "$STATE/log/dovecot2.log" "$d0" | grep -q "Login: user=<$user>"; then
		fail "$name" "dovecot2 logged a login for $user"
	else
		pass "$name"
	fi
}

upstream_cases() {
	local msg="INBOX;UID=$SMALL_UID" tls_login
	tls_login() { echo "Login: user=<$1>.*, TLS"; }
	up_case upstream-imap-tls-verified "imap://127.0.0.1:$UP_IMAP_TLS/$msg" tina "Subject: $SUBJECT" \
		'result=ok .*user=tina protocol=imap attempt=1' "$(tls_login tina)"
	up_case upstream-imap-starttls-verified "imap://127.0.0.1:$UP_IMAP_STARTTLS/$msg" stan "Subject: $SUBJECT" \
		'result=ok .*user=stan protocol=imap' "$(tls_login stan)"
	up_case upstream-pop3-tls-verified "pop3://127.0.0.1:$UP_POP3_TLS/1" tina "Subject: $SUBJECT" \
		'result=ok .*user=tina protocol=pop3' "pop3-login: Info: $(tls_login tina)"
	up_case upstream-pop3-stls-verified "pop3://127.0.0.1:$UP_POP3_STLS/1" stan "Subject: $SUBJECT" \
		'result=ok .*user=stan protocol=pop3' "pop3-login: Info: $(tls_login stan)"
	up_refused upstream-imap-tls-wrong-ca "imap://127.0.0.1:$UP_IMAP_WRONGCA/$msg" tina \
		'upstream TLS failed.*certificate signed by unknown authority'
	up_refused upstream-imap-tls-wrong-name "imap://127.0.0.1:$UP_IMAP_WRONGNAME/$msg" tina \
		'upstream TLS failed.*not wrong\.interop\.test'
	# The control: Dovecot counts loopback as secured and lets a
	# plaintext login in, but its Login line then says "secured", not
	# "TLS" — so the TLS in the lines above is what proves that mailproxy
	# logged in over TLS.
	local d0 i
	d0=$(size_of "$STATE/log/dovecot2.log")
	curl -sS --max-time 20 -u "stan:$MAIL_PASS" "imap://127.0.0.1:$D2_IMAP/$msg" -o /dev/null 2>"$OUT/dovecot2-plain.trace"
	for i in $(seq 30); do
		log_from "$STATE/log/dovecot2.log" "$d0" | grep -q 'Login: user=<stan>' && break
		sleep 0.1
	done
	if log_from "$STATE/log/dovecot2.log" "$d0" | grep -E 'Login: user=<stan>' | grep -qv ', TLS,'; then
		pass upstream-dovecot-log-tells-plaintext
	else
		fail upstream-dovecot-log-tells-plaintext "a plaintext login is not told apart in dovecot2.log: $(log_from "$STATE/log/dovecot2.log" "$d0" | grep Login | tail -n 1)"
	fi

	# Backend by name (dnsmasq), the certificate checked against it.
	local q0
	q0=$(size_of "$STATE/log/dnsmasq-queries.log")
	up_case upstream-imap-backend-by-name "imap://127.0.0.1:$UP_IMAP_NAME/$msg" nate "Subject: $SUBJECT" \
		'result=ok .*user=nate protocol=imap .*backend=backend\.interop\.test:' "$(tls_login nate)"
	if log_from "$STATE/log/dnsmasq-queries.log" "$q0" | grep -q 'query\[A\] backend\.interop\.test from 127\.0\.0\.1'; then
		pass upstream-imap-backend-by-name-dns
	else
		fail upstream-imap-backend-by-name-dns "dnsmasq logged no A query for backend.interop.test"
	fi

	# Failover: the first backend is down.
	up_case upstream-imap-failover "imap://127.0.0.1:$UP_IMAP_FAILOVER/$msg" fay "Subject: $SUBJECT" \
		"result=ok .*user=fay protocol=imap attempt=2 .*backend=127\\.0\\.0\\.1:$D2_IMAPS failed_server=127\\.0\\.0\\.1:$BACKEND_DOWN_PORT" "$(tls_login fay)"

	# The auth service over HTTPS, the first of the list down.
	local m0
	m0=$(size_of "$STATE/log/mailproxy-up.log")
	up_case upstream-auth-https-list-one-down "imap://127.0.0.1:$UP_IMAP_LIST/$msg" tina "Subject: $SUBJECT" \
		'result=ok .*user=tina protocol=imap' "$(tls_login tina)"
	if log_from "$STATE/log/mailproxy-up.log" "$m0" | grep -q "auth endpoint failed.*endpoint=https://127.0.0.1:$AUTH_DOWN_PORT/auth result=error"; then
		pass upstream-auth-https-list-skips-down
	else
		fail upstream-auth-https-list-skips-down "mailproxy logged no failure of the down endpoint"
	fi

	# ManageSieve: AUTHENTICATE through mailproxy, STARTTLS to Dovecot.
	local d1 out
	d1=$(size_of "$STATE/log/dovecot.log")
	a0=$(size_of "$STATE/log/mailproxy-auth2.log")
	out=$(python3 - 127.0.0.1 "$UP_SIEVE" "$MAIL_USER" "$MAIL_PASS" <<'PY' 2>&1
import base64, socket, sys
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection((host, port), timeout=20)
f = s.makefile("rb")
def until_response():
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise SystemExit("closed after %r" % lines)
        lines.append(line)
        if line[:2] in (b"OK", b"NO") or line[:3] == b"BYE":
            return lines
until_response()  # the greeting
ir = base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()
s.sendall(('AUTHENTICATE "PLAIN" "%s"\r\n' % ir).encode())
r = until_response()
if not r[-1].startswith(b"OK"):
    raise SystemExit("AUTHENTICATE: %r" % r)
s.sendall(b"LISTSCRIPTS\r\n")
r = until_response()
if not r[-1].startswith(b"OK"):
    raise SystemExit("LISTSCRIPTS: %r" % r)
s.sendall(b"LOGOUT\r\n")
print("ok")
PY
)
	sleep 0.3
	if [ "$out" != ok ]; then
		fail upstream-sieve-starttls "client: $out"
	elif ! log_from "$STATE/log/mailproxy-auth2.log" "$a0" | grep -Eq "result=ok .*user=$MAIL_USER protocol=sieve"; then
		fail upstream-sieve-starttls "the auth service logged no sieve login"
	elif ! log_from "$STATE/log/dovecot.log" "$d1" | grep -Eq "managesieve-login: Info: Login: user=<$MAIL_USER>.*, TLS"; then
		fail upstream-sieve-starttls "dovecot.log has no managesieve Login with TLS (got: $(log_from "$STATE/log/dovecot.log" "$d1" | grep Login | tail -n 1))"
	else
		pass upstream-sieve-starttls
	fi

	# Postfix offering STARTTLS: the message is delivered with TLS on the
	# last hop, XCLIENT's address and login.
	local name=upstream-smtp-starttls tag="$TAG-upstream-smtp-starttls" sha rc a0
	a0=$(size_of "$STATE/log/mailproxy-auth2.log")
	sha=$(MAIL_FROM=$MAIL_FROM MAIL_RCPT=$MAIL_RCPT python3 "$HERE/maildir.py" make "$OUT/$name.eml" "$tag" "curl $name" 100)
	curl -sS -v --max-time 60 -u "sam:$MAIL_PASS" --login-options AUTH=PLAIN --mail-from "$MAIL_FROM" \
		--mail-rcpt "$MAIL_RCPT" --upload-file "$OUT/$name.eml" "smtp://127.0.0.1:$UP_SMTP/$name.$MAIL_DOMAIN" \
		-o "$OUT/$name.body" 2>"$OUT/$name.trace"
	rc=$?
	local why
	if [ "$rc" != 0 ]; then
		fail "$name" "curl exit $rc: $(trace_tail "$OUT/$name.trace")"
	elif ! log_from "$STATE/log/mailproxy-auth2.log" "$a0" | grep -Eq 'result=ok .*user=sam protocol=smtp'; then
		fail "$name" "the auth service logged no login for sam"
	elif ! why=$(python3 "$HERE/maildir.py" check "$RCPT_MAILDIR" "$tag" --helo "$name.$MAIL_DOMAIN" \
		--login sam --body-sha "$sha" --received-has "using TLS" --timeout 30 2>&1); then
		fail "$name" "$why"
	else
		pass "$name"
	fi
}
