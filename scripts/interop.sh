#!/usr/bin/env bash
# Interop test (`make interop`): a private Dovecot on loopback, the example
# auth service (mailproxy-auth) and mailproxy in front of Dovecot, driven by
# real clients: curl, Python's imaplib and openssl s_client.
#
# Usage: scripts/interop.sh          (as root on Debian 12; installs what it
#                                     needs from Debian when missing)
# Environment:
#   KEEP=1       keep the state directory (logs, configs, maildirs)
#   VERBOSE=1    print tracebacks and log tails even when everything passes
#   AUTH_WAIT=N  Auth-Wait seconds the auth service sends on failure (2)
#
# Output: one line per case, `PASS name` or `FAIL name: reason`, then
# `N passed, N failed`. Exit status 1 if anything failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE="$ROOT/scripts/interop"
WAIT=${AUTH_WAIT:-2}
MAIL_USER=alice
MAIL_PASS='s3cret-Pass'
SECRET="interop-secret-$$"
SUBJECT="interop hello $$"
BIG_SUBJECT="interop big $$"
BIG_SIZE=$((5 * 1024 * 1024))

export LC_ALL=C
if [ -z "${HOME:-}" ]; then
	HOME=$(getent passwd "$(id -u)" | cut -d: -f6)
	export HOME
fi
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"

passed=0
failed=0
STATE=""
PIDS=()
POLICY_CREATED=0

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

show_logs() { # [NAME...]: tail the named logs (default: the daemons')
	[ -n "$STATE" ] && [ -d "$STATE/log" ] || return 0
	local n f
	[ $# -gt 0 ] || set -- mailproxy mailproxy-auth dovecot
	for n in "$@"; do
		f="$STATE/log/$n.log"
		[ -s "$f" ] || continue
		echo "----- last lines of $f" >&2
		tail -n 25 "$f" >&2
	done
}

summary() {
	if [ "$failed" -gt 0 ] || [ -n "${VERBOSE:-}" ]; then show_logs; fi
	echo "$passed passed, $failed failed"
}

# die: a setup step failed; report it as a failed case and stop.
die() {
	fail setup "$*"
	show_logs apt build doveadm mailproxy mailproxy-auth dovecot
	echo "$passed passed, $failed failed"
	exit 1
}

alive() { # PID: running and not a zombie
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

stop_pid() {
	local pid=$1 i
	alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then kill -KILL "$pid" 2>/dev/null; fi
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[i]}"
	done
	if [ "$POLICY_CREATED" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
	if [ -n "$STATE" ] && [ -d "$STATE" ]; then
		if [ "${KEEP:-0}" = 1 ]; then
			echo "state kept in $STATE" >&2
		else
			rm -rf "$STATE"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME CMD...: run a daemon in the background, output to STATE/log/NAME.log.
start() {
	local name=$1
	shift
	"$@" >"$STATE/log/$name.log" 2>&1 </dev/null &
	local pid=$!
	PIDS+=("$pid")
	echo "$pid" >"$STATE/$name.pid"
}

listening() { # PORT: something listens on 127.0.0.1:PORT (no connection made)
	local hex
	hex=$(printf '%04X' "$1")
	grep -Eq "^ *[0-9]+: [0-9A-F]+:$hex [0-9A-F]+:0000 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

wait_listen() { # NAME PORT
	local name=$1 port=$2 pid i
	pid=$(cat "$STATE/$name.pid")
	for i in $(seq 100); do
		listening "$port" && return 0
		alive "$pid" || die "$name exited before listening on 127.0.0.1:$port (see $name.log)"
		sleep 0.1
	done
	die "$name not listening on 127.0.0.1:$port after 10 s"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---------------------------------------------------------------- packages
STATE=$(mktemp -d /tmp/mailproxy-interop.XXXXXX) || die "mktemp failed"
# Dovecot's mail processes run unprivileged: every parent must be traversable.
chmod 755 "$STATE"
mkdir -p "$STATE/log" "$STATE/bin" "$STATE/out"

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

missing=()
pkg_installed dovecot-imapd || missing+=(dovecot-imapd)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
pkg_installed ca-certificates || missing+=(ca-certificates)
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "not root, cannot install: ${missing[*]}"
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		# Keep package installs from starting system daemons (ports 143, ...).
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		POLICY_CREATED=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >"$STATE/log/apt.log" 2>&1 || die "apt-get update failed (see apt.log)"
	apt-get install -y --no-install-recommends "${missing[@]}" >>"$STATE/log/apt.log" 2>&1 ||
		die "apt-get install ${missing[*]} failed (see apt.log)"
	if [ "$POLICY_CREATED" = 1 ]; then
		rm -f /usr/sbin/policy-rc.d
		POLICY_CREATED=0
	fi
fi
for u in dovecot dovenull; do
	getent passwd "$u" >/dev/null || die "user $u missing (dovecot-core creates it)"
done

# ---------------------------------------------------------------- build
(cd "$ROOT" && GOTOOLCHAIN=local go build -buildvcs=false -o "$STATE/bin/mailproxy" ./cmd/mailproxy &&
	GOTOOLCHAIN=local go build -buildvcs=false -o "$STATE/bin/mailproxy-auth" ./cmd/mailproxy-auth) \
	>"$STATE/log/build.log" 2>&1 || die "go build failed: $(head -c 300 "$STATE/log/build.log" | tr '\n' ' ')"

# ---------------------------------------------------------------- ports, certificate
read -r DOVECOT_PORT AUTH_PORT PROXY_PORT PROXY_SSL_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
') || die "could not pick free ports"
[ -n "${PROXY_SSL_PORT:-}" ] || die "could not pick free ports"

openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=localhost" \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$STATE/key.pem" -out "$STATE/cert.pem" >"$STATE/out/openssl-req.txt" 2>&1 ||
	die "openssl req failed"

# ---------------------------------------------------------------- Dovecot
MAIL_UID=$(id -u nobody) MAIL_GID=$(getent group nogroup | cut -d: -f3)
[ -n "$MAIL_UID" ] && [ -n "$MAIL_GID" ] || die "no nobody/nogroup"
mkdir -p "$STATE/dovecot" "$STATE/home/$MAIL_USER/Maildir"/{cur,new,tmp}
cat >"$STATE/dovecot/users" <<EOF
$MAIL_USER:{PLAIN}$MAIL_PASS:$MAIL_UID:$MAIL_GID::$STATE/home/$MAIL_USER::
EOF
chgrp dovecot "$STATE/dovecot/users" && chmod 640 "$STATE/dovecot/users" || die "passwd-file permissions"

cat >"$STATE/dovecot/dovecot.conf" <<EOF
base_dir = $STATE/dovecot/run
state_dir = $STATE/dovecot/lib
instance_name = mailproxy-interop
log_path = $STATE/log/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN $STATE/dovecot/users
}
userdb {
  driver = passwd-file
  args = $STATE/dovecot/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DOVECOT_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
EOF

# Seed the mailbox: a small message first, then a 5 MB one (CRLF line ends,
# so what IMAP returns as BODY[] is the file byte for byte).
seed() { # FILE SUBJECT SIZE
	python3 - "$@" <<'EOF'
import base64, os, sys
path, subject, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
head = ("From: Interop Sender <sender@example.org>\r\n"
        "To: alice@example.org\r\n"
        "Subject: %s\r\n"
        "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
        "Message-ID: <%s@interop.example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n" % (subject, os.urandom(8).hex())).encode()
body = bytearray()
need = max(size - len(head), 0)
while len(body) < need:
    body += base64.b64encode(os.urandom(57)) + b"\r\n"  # 76 chars + CRLF
if size < 1000:
    body = b"Hello from the interop test.\r\n"
with open(path + ".tmp", "wb") as f:
    f.write(head + bytes(body))
os.rename(path + ".tmp", path)
EOF
}
SMALL_FILE="$STATE/home/$MAIL_USER/Maildir/new/1700000001.M1P1.interop"
BIG_FILE="$STATE/home/$MAIL_USER/Maildir/new/1700000002.M2P1.interop"
seed "$SMALL_FILE" "$SUBJECT" 100 || die "seeding the small message failed"
chown -R "$MAIL_UID:$MAIL_GID" "$STATE/home"

start dovecot dovecot -F -c "$STATE/dovecot/dovecot.conf"
wait_listen dovecot "$DOVECOT_PORT"

doveadm() { command doveadm -c "$STATE/dovecot/dovecot.conf" "$@"; }
# UIDs are assigned in the order the messages are seen: sync after each.
doveadm search -u "$MAIL_USER" ALL >"$STATE/out/doveadm-1" 2>>"$STATE/log/doveadm.log" ||
	die "doveadm search failed (see doveadm.log)"
seed "$BIG_FILE" "$BIG_SUBJECT" "$BIG_SIZE" || die "seeding the 5 MB message failed"
BIG_SHA=$(sha256sum "$BIG_FILE" | cut -d' ' -f1)
chown -R "$MAIL_UID:$MAIL_GID" "$STATE/home"
doveadm search -u "$MAIL_USER" ALL >"$STATE/out/doveadm-2" 2>>"$STATE/log/doveadm.log" ||
	die "doveadm search failed (see doveadm.log)"
SMALL_UID=$(doveadm search -u "$MAIL_USER" mailbox INBOX subject "$SUBJECT" 2>>"$STATE/log/doveadm.log" | awk '{print $2; exit}')
BIG_UID=$(doveadm search -u "$MAIL_USER" mailbox INBOX subject "$BIG_SUBJECT" 2>>"$STATE/log/doveadm.log" | awk '{print $2; exit}')
[ -n "$SMALL_UID" ] && [ -n "$BIG_UID" ] || die "seeded messages not found by doveadm search"

# ---------------------------------------------------------------- auth service, proxy
cat >"$STATE/users" <<EOF
# NAME PASSWORD BACKEND_IP:PORT [protocols]
$MAIL_USER $MAIL_PASS 127.0.0.1:$DOVECOT_PORT
EOF
start mailproxy-auth "$STATE/bin/mailproxy-auth" -listen "127.0.0.1:$AUTH_PORT" \
	-users "$STATE/users" -secret "$SECRET" -wait "$WAIT"
wait_listen mailproxy-auth "$AUTH_PORT"

cat >"$STATE/mailproxy.yaml" <<EOF
mail:
  auth_http: http://127.0.0.1:$AUTH_PORT/auth
  auth_http_header: {X-Auth-Key: "$SECRET"}
  ssl_certificate: $STATE/cert.pem
  ssl_certificate_key: $STATE/key.pem
servers:
  - protocol: imap
    starttls: on
    imap_auth: [plain, login, cram-md5]
    listen:
      - 127.0.0.1:$PROXY_PORT
      - {address: "127.0.0.1:$PROXY_SSL_PORT", ssl: true}
EOF
start mailproxy "$STATE/bin/mailproxy" -c "$STATE/mailproxy.yaml"
wait_listen mailproxy "$PROXY_PORT"
wait_listen mailproxy "$PROXY_SSL_PORT"
PROXY_PID=$(cat "$STATE/mailproxy.pid")

IMAP="imap://127.0.0.1:$PROXY_PORT"
IMAPS="imaps://127.0.0.1:$PROXY_SSL_PORT"
OUT="$STATE/out"

# ---------------------------------------------------------------- curl
# curl_case NAME URL WANT_IN_TRACE [curl args...]: fetch the small message,
# expect it back, and WANT_IN_TRACE (an ERE) in curl's -v protocol trace.
curl_case() {
	local name=$1 url=$2 want=$3 rc
	shift 3
	curl -sS -v --max-time 30 -u "$MAIL_USER:$MAIL_PASS" "$@" "$url/INBOX;UID=$SMALL_UID" \
		-o "$OUT/$name.body" 2>"$OUT/$name.trace"
	rc=$?
	if [ "$rc" != 0 ]; then
		fail "$name" "curl exit $rc: $(grep -E '^(curl:|< [A-Z0-9]+ (NO|BAD)|< \* BYE)' "$OUT/$name.trace" | tail -n 3 | tr -d '\r' | tr '\n' ' ')"
	elif ! grep -qF "Subject: $SUBJECT" "$OUT/$name.body"; then
		fail "$name" "fetched message lacks 'Subject: $SUBJECT' ($(wc -c <"$OUT/$name.body") bytes)"
	elif ! grep -Eq "$want" "$OUT/$name.trace"; then
		fail "$name" "no /$want/ in curl's trace"
	else
		pass "$name"
	fi
}

curl_case curl-default "$IMAP" '^> [A-Z0-9]+ (AUTHENTICATE|LOGIN) '
CURL_DEFAULT_MECH=$(grep -Eo '^> [A-Z0-9]+ (AUTHENTICATE [A-Z0-9-]+|LOGIN)' "$OUT/curl-default.trace" | head -n 1 | cut -d' ' -f3-)
curl_case curl-auth-plain "$IMAP" '^> [A-Z0-9]+ AUTHENTICATE PLAIN' --login-options AUTH=PLAIN
curl_case curl-auth-login "$IMAP" '^> [A-Z0-9]+ AUTHENTICATE LOGIN' --login-options AUTH=LOGIN
curl_case curl-auth-cram-md5 "$IMAP" '^> [A-Z0-9]+ AUTHENTICATE CRAM-MD5' --login-options AUTH=CRAM-MD5
curl_case curl-starttls "$IMAP" '^> [A-Z0-9]+ STARTTLS' --ssl-reqd -k
curl_case curl-imaps "$IMAPS" 'SSL connection using' -k

# A wrong password fails, after about Auth-Wait seconds.
name=curl-wrong-password
t0=$(now_ms)
curl -sS -v --max-time 30 -u "$MAIL_USER:$MAIL_PASS-wrong" "$IMAP/INBOX;UID=$SMALL_UID" \
	-o "$OUT/$name.body" 2>"$OUT/$name.trace"
rc=$?
took=$(($(now_ms) - t0))
if [ "$rc" = 0 ]; then
	fail "$name" "curl succeeded with a wrong password"
elif [ "$rc" = 28 ]; then
	fail "$name" "curl timed out (exit 28) instead of getting NO"
elif [ "$took" -lt $((WAIT * 1000 - 300)) ] || [ "$took" -gt $((WAIT * 1000 + 5000)) ]; then
	fail "$name" "failed after ${took} ms, want about Auth-Wait ${WAIT}s (curl exit $rc)"
elif ! grep -Eq '^< [A-Z0-9]+ NO' "$OUT/$name.trace"; then
	fail "$name" "no tagged NO in curl's trace (curl exit $rc)"
else
	pass "$name"
fi

# The 5 MB message through the proxy, checksummed.
name=curl-5mb-fetch
curl -sS --max-time 60 -u "$MAIL_USER:$MAIL_PASS" "$IMAP/INBOX;UID=$BIG_UID" \
	-o "$OUT/$name.body" 2>"$OUT/$name.trace"
rc=$?
if [ "$rc" != 0 ]; then
	fail "$name" "curl exit $rc: $(tail -n 1 "$OUT/$name.trace")"
else
	got=$(sha256sum "$OUT/$name.body" | cut -d' ' -f1)
	if [ "$got" = "$BIG_SHA" ]; then
		pass "$name"
	else
		fail "$name" "sha256 $got ($(wc -c <"$OUT/$name.body") bytes), want $BIG_SHA ($(wc -c <"$BIG_FILE") bytes)"
	fi
fi
rm -f "$OUT/$name.body"

# ---------------------------------------------------------------- Python imaplib
PY_CASES=5
py_seen=0
while IFS= read -r line; do
	case $line in
	"PASS "*)
		pass "${line#PASS }"
		py_seen=$((py_seen + 1))
		;;
	"FAIL "*)
		rest=${line#FAIL }
		fail "${rest%%: *}" "${rest#*: }"
		py_seen=$((py_seen + 1))
		;;
	"__rc "*) py_rc=${line#__rc } ;;
	*) echo "$line" ;;
	esac
done < <(
	timeout 120 python3 "$HERE/imap_clients.py" 127.0.0.1 "$PROXY_PORT" "$PROXY_SSL_PORT" \
		"$MAIL_USER" "$MAIL_PASS" "$SUBJECT" "$BIG_UID" "$BIG_SHA" "$WAIT" 2>"$OUT/python.err"
	echo "__rc $?"
)
if [ "$py_seen" -lt "$PY_CASES" ]; then
	fail imaplib "only $py_seen of $PY_CASES cases reported (python exit ${py_rc:-?}): $(tail -n 1 "$OUT/python.err")"
fi
[ -n "${VERBOSE:-}" ] && [ -s "$OUT/python.err" ] && cat "$OUT/python.err" >&2

# ---------------------------------------------------------------- openssl s_client
name=openssl-starttls
printf 'a LOGIN %s %s\r\nb SELECT INBOX\r\nc LOGOUT\r\n' "$MAIL_USER" "$MAIL_PASS" |
	timeout 30 openssl s_client -starttls imap -connect "127.0.0.1:$PROXY_PORT" -quiet \
		>"$OUT/$name.out" 2>"$OUT/$name.err"
rc=$?
missing_ok=""
for t in a b c; do
	grep -q "^$t OK" "$OUT/$name.out" || missing_ok="$missing_ok $t"
done
if [ -n "$missing_ok" ]; then
	fail "$name" "no tagged OK for:$missing_ok (exit $rc; got: $(head -c 300 "$OUT/$name.out" | tr -d '\r' | tr '\n' '|'))"
elif ! grep -q '^\* BYE' "$OUT/$name.out"; then
	fail "$name" "no * BYE after LOGOUT"
else
	pass "$name"
fi

# ---------------------------------------------------------------- the proxy survived
if alive "$PROXY_PID"; then
	pass mailproxy-still-running
else
	fail mailproxy-still-running "mailproxy exited during the tests"
fi
if grep -Eq '^(panic:|fatal error:)|DATA RACE' "$STATE/log/mailproxy.log"; then
	fail mailproxy-log-clean "panic in mailproxy.log: $(grep -Em1 '^(panic:|fatal error:)|DATA RACE' "$STATE/log/mailproxy.log")"
else
	pass mailproxy-log-clean
fi

[ -n "${CURL_DEFAULT_MECH:-}" ] && echo "# curl-default used: $CURL_DEFAULT_MECH"

summary
[ "$failed" -eq 0 ]
