#!/usr/bin/env bash
# Interop test (`make interop`): a private Dovecot (IMAP, POP3, ManageSieve)
# and a private Postfix on loopback, the example auth service
# (mailproxy-auth) and mailproxy in front of them, driven by real clients:
# curl (imap, pop3, smtp), swaks, Python's imaplib, poplib and smtplib,
# openssl s_client, and for ManageSieve Debian's python3-sievelib and
# sieve-connect (scripts/interop/sieve_clients.py).
# Postfix delivers (virtual(8), nothing leaves the machine) into a maildir in
# the state directory, where each SMTP case finds its own message again.
#
# Usage: scripts/interop.sh          (as root on Debian 12; installs what it
#                                     needs from Debian when missing)
#        scripts/interop.sh imap|pop3|smtp|sieve|modern|upstream|limits|throttle ...   run only those cases
#        scripts/interop.sh cluster   (`make cluster`; only when named) two
#                                     instances sharing a redis-server behind
#                                     HAProxy: scripts/interop/cluster.sh
# The upstream cases (scripts/interop/upstream.sh) run a second Dovecot
# that requires TLS, dnsmasq and an HTTPS auth service: TLS to backends,
# backends by name, failover, the auth service over HTTPS and as a list.
#                                     (limits: a second mailproxy with max_connections,
#                                     limit_conn, max_commands and user; limits_clients.py)
#                                     (throttle: a third mailproxy with login_throttle in a
#                                     real redis-server; throttle_clients.py)
# The PROXY protocol cases put a private HAProxy (send-proxy, send-proxy-v2)
# in front of mailproxy and a Dovecot listener with `haproxy = yes` behind
# it; clients bind 127.0.0.2 so the real address differs from the proxies'.
# The TLS cases use a CA, a client certificate and an SNI certificate made
# with openssl in the state directory.
# The modern-client cases (scripts/interop/modern_clients.py): XOAUTH2 and
# OAUTHBEARER with curl --oauth2-bearer and imaplib, tokens Dovecot checks
# itself (oauth2 passdb and the introspection endpoint introspect.py), IMAP
# ID and POP3 XCLIENT carrying the client's address to Dovecot, and SMTP
# CHUNKING relayed to Postfix.
# Last comes the matrix (scripts/interop/matrix.py): protocol x {plain,
# STARTTLS, implicit TLS} x {direct, HAProxy v1, v2} x client x mechanism x
# {good password, bad password with Auth-Wait, retry}, each case from its own
# loopback address, checked at the client, the auth service and
# Dovecot/Postfix (matrix.py's docstring has the details).
#
# Environment:
#   KEEP=1       keep the state directory (logs, configs, maildirs)
#   VERBOSE=1    print tracebacks and log tails even when everything passes
#   AUTH_WAIT=N  Auth-Wait seconds the auth service sends on failure (1)
#   MATRIX=0     skip the matrix; MATRIX=only: run only the matrix
#   MATRIX_ONLY=RE   run only the matrix cases whose line matches RE
#                    (e.g. 'imap +starttls +haproxy-v2'); other cases still run
#   MATRIX_JOBS=N    matrix cases run concurrently (12)
#   DIRECT=1     the sieve cases talk to Dovecot's ManageSieve listeners
#                directly instead of mailproxy: tells a Dovecot or client
#                problem from a mailproxy one
#
# Output: one line per case, `PASS name` or `FAIL name: reason`, then
# `N passed, N failed`. Exit status 1 if anything failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE="$ROOT/scripts/interop"
WAIT=${AUTH_WAIT:-1}
MAIL_USER=alice
MAIL_PASS='s3cret-Pass'
SECRET="interop-secret-$$"
SUBJECT="interop hello $$"
BIG_SUBJECT="interop big $$"
BIG_SIZE=$((5 * 1024 * 1024))
MAIL_DOMAIN=interop.test
MAIL_FROM="$MAIL_USER@$MAIL_DOMAIN"
MAIL_RCPT="bob@$MAIL_DOMAIN"
TAG="interop-$$"   # prefix of each SMTP message's X-Interop-Case header
ONLY=" $* "        # protocols whose cases run (all when empty)
for a in "$@"; do
	case $a in
	imap | pop3 | smtp | sieve | modern | upstream | limits | throttle | cluster) ;;
	*)
		echo "usage: $0 [imap|pop3|smtp|sieve|modern|upstream|limits|throttle|cluster ...]" >&2
		exit 2
		;;
	esac
done

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
POSTFIX_STARTED=0
HAPROXY_STARTED=0

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

show_logs() { # [NAME...]: tail the named logs (default: the daemons')
	[ -n "$STATE" ] && [ -d "$STATE/log" ] || return 0
	local n f
	[ $# -gt 0 ] || set -- mailproxy mailproxy-auth dovecot postfix
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
	show_logs apt build doveadm postfix-ctl mailproxy mailproxy-auth dovecot postfix
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

# stop_postfix: `postfix -c DIR stop`, then wait for the master to go (it
# is not our child: `postfix start` daemonizes it); SIGKILL by its pid file
# as a last resort.
stop_postfix() {
	[ "$POSTFIX_STARTED" = 1 ] || return 0
	POSTFIX_STARTED=0
	local pid i
	pid=$(tr -dc 0-9 <"$PF/spool/pid/master.pid" 2>/dev/null)
	postfix -c "$PF/etc" stop >>"$STATE/log/postfix-ctl.log" 2>&1
	[ -n "$pid" ] || return 0
	for i in $(seq 100); do
		alive "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}

# stop_haproxy: HAProxy daemonizes (-D): stop it by its pid file.
stop_haproxy() {
	[ "$HAPROXY_STARTED" = 1 ] || return 0
	HAPROXY_STARTED=0
	local pid
	for pid in $(tr -c '0-9' ' ' <"$STATE/haproxy.pid" 2>/dev/null); do
		stop_pid "$pid"
	done
	return 0
}

cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	stop_postfix
	stop_haproxy
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

# want PROTOCOL: its named (non-matrix) cases run
want() { [ "${MATRIX:-1}" != only ] && { [ "$ONLY" = "  " ] || [[ $ONLY == *" $1 "* ]]; }; }
# named GROUP: GROUP was asked for by name (groups that do not run by default)
named() { [[ $ONLY == *" $1 "* ]]; }

# ---------------------------------------------------------------- packages
STATE=$(mktemp -d /tmp/mailproxy-interop.XXXXXX) || die "mktemp failed"
# Dovecot's mail processes run unprivileged: every parent must be traversable.
chmod 755 "$STATE"
mkdir -p "$STATE/log" "$STATE/bin" "$STATE/out"

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

missing=()
pkg_installed dovecot-imapd || missing+=(dovecot-imapd)
pkg_installed dovecot-pop3d || missing+=(dovecot-pop3d)
pkg_installed dovecot-managesieved || missing+=(dovecot-managesieved)
pkg_installed dovecot-sieve || missing+=(dovecot-sieve)
pkg_installed python3-sievelib || missing+=(python3-sievelib)
pkg_installed sieve-connect || missing+=(sieve-connect)
pkg_installed postfix || missing+=(postfix)
pkg_installed swaks || missing+=(swaks)
# swaks needs Net::SSLeay for --tls/--tls-on-connect (only a Recommends).
pkg_installed libnet-ssleay-perl || missing+=(libnet-ssleay-perl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
pkg_installed ca-certificates || missing+=(ca-certificates)
pkg_installed haproxy || missing+=(haproxy)
pkg_installed redis-server || missing+=(redis-server)
command -v dnsmasq >/dev/null 2>&1 || missing+=(dnsmasq-base)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "not root, cannot install: ${missing[*]}"
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		# Keep package installs from starting system daemons (ports 143, ...).
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		POLICY_CREATED=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Postfix asks what to configure: nothing (this script writes its own).
	echo 'postfix postfix/main_mailer_type select No configuration' |
		debconf-set-selections >>"$STATE/log/apt.log" 2>&1
	apt-get update >"$STATE/log/apt.log" 2>&1 || die "apt-get update failed (see apt.log)"
	apt-get install -y --no-install-recommends "${missing[@]}" >>"$STATE/log/apt.log" 2>&1 ||
		die "apt-get install ${missing[*]} failed (see apt.log)"
	if [ "$POLICY_CREATED" = 1 ]; then
		rm -f /usr/sbin/policy-rc.d
		POLICY_CREATED=0
	fi
fi
for u in dovecot dovenull postfix; do
	getent passwd "$u" >/dev/null || die "user $u missing (dovecot-core / postfix create it)"
done
getent group postdrop >/dev/null || die "group postdrop missing (postfix creates it)"
# Debian's python3 (installed above) rather than the first in PATH: a version
# manager's shim there can cost seconds per start on a busy machine, and this
# script starts Python a few dozen times.
PY=python3
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; fi
python3() { "$PY" "$@"; } # not for `start`: its pid must be the daemon's

# ---------------------------------------------------------------- build
(cd "$ROOT" && GOTOOLCHAIN=local go build -buildvcs=false -o "$STATE/bin/mailproxy" ./cmd/mailproxy &&
	GOTOOLCHAIN=local go build -buildvcs=false -o "$STATE/bin/mailproxy-auth" ./cmd/mailproxy-auth) \
	>"$STATE/log/build.log" 2>&1 || die "go build failed: $(head -c 300 "$STATE/log/build.log" | tr '\n' ' ')"

# ---------------------------------------------------------------- ports, certificate
read -r DOVECOT_PORT AUTH_PORT PROXY_PORT PROXY_SSL_PORT DOVECOT_POP3_PORT POSTFIX_PORT \
	POP3_PORT POP3_SSL_PORT SMTP_PORT SMTP_SSL_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(10)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
') || die "could not pick free ports"
[ -n "${SMTP_SSL_PORT:-}" ] || die "could not pick free ports"
# PROXY protocol and TLS cases: HAProxy frontends (v1, v2), mailproxy's
# proxy_protocol listeners, Dovecot's haproxy listeners, mailproxy servers
# sending PROXY (on, v2), the client-certificate and SNI servers.
read -r AUTHREC_PORT HAP1_IMAP HAP1_POP3 HAP1_SMTP HAP2_IMAP HAP2_POP3 HAP2_SMTP \
	PP_IMAP PP_POP3 PP_SMTP DOVE_HAP_IMAP DOVE_HAP_POP3 PPOUT1_IMAP PPOUT1_POP3 \
	PPOUT2_IMAP PPOUT2_POP3 VERIFY_SSL_PORT VERIFY_PORT SNI_SSL_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(19)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
') || die "could not pick free ports"
[ -n "${SNI_SSL_PORT:-}" ] || die "could not pick free ports"
# The matrix: mailproxy's direct (plain + STARTTLS, implicit TLS) and
# proxy_protocol listeners per protocol, HAProxy v1 and v2 frontends for each
# proxy_protocol listener.
read -r MX_IMAP MX_IMAPS MX_PP_IMAP MX_PP_IMAPS MX_POP3 MX_POP3S MX_PP_POP3 MX_PP_POP3S \
	MX_SMTP MX_SMTPS MX_PP_SMTP MX_PP_SMTPS \
	MX1_IMAP MX1_IMAPS MX2_IMAP MX2_IMAPS MX1_POP3 MX1_POP3S MX2_POP3 MX2_POP3S \
	MX1_SMTP MX1_SMTPS MX2_SMTP MX2_SMTPS < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(24)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
') || die "could not pick free ports"
[ -n "${MX2_SMTPS:-}" ] || die "could not pick free ports"
# ManageSieve: Dovecot's listeners (plain with STARTTLS, implicit TLS) and
# mailproxy's sieve server (plain with STARTTLS, implicit TLS).
read -r DOVE_SIEVE DOVE_SIEVE_TLS SIEVE_PORT SIEVE_SSL_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
') || die "could not pick free ports"
[ -n "${SIEVE_SSL_PORT:-}" ] || die "could not pick free ports"
# Modern clients: servers offering XOAUTH2 and OAUTHBEARER (OA_*) and
# XOAUTH2 alone (OX_*), plain with STARTTLS and implicit TLS; the
# proxy_forward servers behind PROXY headers; the CHUNKING relay; the
# token introspection endpoint Dovecot asks.
# The ports picked above are free again by now: keep clear of them.
read -r OA_IMAP OA_IMAPS OA_POP3 OA_POP3S OA_SMTP OA_SMTPS OX_IMAP OX_IMAPS OX_POP3 OX_POP3S \
	OX_SMTP OX_SMTPS FWD_IMAP FWD_POP3 CHUNK_SMTP INTROSPECT_PORT < <(python3 -c '
import socket, sys
taken = set(int(p) for p in sys.argv[1:])
socks = []
while len(socks) < 16:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    if s.getsockname()[1] in taken:
        continue  # kept open, so it is not offered again
    socks.append(s)
print(*[s.getsockname()[1] for s in socks])
' "$DOVECOT_PORT" "$AUTH_PORT" "$PROXY_PORT" "$PROXY_SSL_PORT" "$DOVECOT_POP3_PORT" "$POSTFIX_PORT" \
	"$POP3_PORT" "$POP3_SSL_PORT" "$SMTP_PORT" "$SMTP_SSL_PORT" "$AUTHREC_PORT" "$HAP1_IMAP" "$HAP1_POP3" \
	"$HAP1_SMTP" "$HAP2_IMAP" "$HAP2_POP3" "$HAP2_SMTP" "$PP_IMAP" "$PP_POP3" "$PP_SMTP" "$DOVE_HAP_IMAP" \
	"$DOVE_HAP_POP3" "$PPOUT1_IMAP" "$PPOUT1_POP3" "$PPOUT2_IMAP" "$PPOUT2_POP3" "$VERIFY_SSL_PORT" \
	"$VERIFY_PORT" "$SNI_SSL_PORT" "$MX_IMAP" "$MX_IMAPS" "$MX_PP_IMAP" "$MX_PP_IMAPS" "$MX_POP3" "$MX_POP3S" \
	"$MX_PP_POP3" "$MX_PP_POP3S" "$MX_SMTP" "$MX_SMTPS" "$MX_PP_SMTP" "$MX_PP_SMTPS" "$MX1_IMAP" "$MX1_IMAPS" \
	"$MX2_IMAP" "$MX2_IMAPS" "$MX1_POP3" "$MX1_POP3S" "$MX2_POP3" "$MX2_POP3S" "$MX1_SMTP" "$MX1_SMTPS" \
	"$MX2_SMTP" "$MX2_SMTPS" "$DOVE_SIEVE" "$DOVE_SIEVE_TLS" "$SIEVE_PORT" "$SIEVE_SSL_PORT") ||
	die "could not pick free ports"
[ -n "${INTROSPECT_PORT:-}" ] || die "could not pick free ports"
# Bearer tokens in the auth service's users file: one answered with the
# password, one Dovecot checks itself (forward), one Dovecot's
# introspection endpoint calls inactive.
TOKEN_PASS="tok-pass-$$"
TOKEN_FORWARD="tok-forward-$$"
TOKEN_REVOKED="tok-revoked-$$"
# The client's own address, different from HAProxy's and mailproxy's.
if python3 -c 'import socket; socket.socket().bind(("127.0.0.2", 0))' 2>/dev/null; then
	CLIENT_IP=127.0.0.2
else
	CLIENT_IP=127.0.0.1
	echo "# cannot bind 127.0.0.2: PROXY cases use 127.0.0.1 as the client address"
fi
PP_USER=carol # routed by the auth service to Dovecot's haproxy listeners
PP_PASS='c4rol-Pass'
SNI_NAME=sni.$MAIL_DOMAIN
MX_USER=dave # the matrix's user: Dovecot's haproxy listeners, Postfix
MX_PASS='d4ve-Pass'

openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=localhost" \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$STATE/key.pem" -out "$STATE/cert.pem" >"$STATE/out/openssl-req.txt" 2>&1 ||
	die "openssl req failed"
# A CA, a client certificate it signed, an untrusted self-signed client
# certificate and a certificate for SNI_NAME.
PKI="$STATE/pki"
mkdir -p "$PKI"
{
	openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=Interop Test CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$PKI/ca.key" -out "$PKI/ca.pem" &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=$MAIL_USER/O=Interop" \
			-keyout "$PKI/client.key" -out "$PKI/client.csr" &&
		printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$PKI/client.ext" &&
		openssl x509 -req -in "$PKI/client.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
			-days 7 -sha256 -extfile "$PKI/client.ext" -out "$PKI/client.pem" &&
		openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=stranger" \
			-keyout "$PKI/stranger.key" -out "$PKI/stranger.pem" &&
		openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=$SNI_NAME" \
			-addext "subjectAltName=DNS:$SNI_NAME" -keyout "$PKI/sni.key" -out "$PKI/sni.pem"
} >"$STATE/out/openssl-pki.txt" 2>&1 || die "making the test PKI failed (see out/openssl-pki.txt)"
. "$HERE/upstream.sh"
. "$HERE/cluster.sh"
upstream_pki

# ---------------------------------------------------------------- Dovecot
MAIL_UID=$(id -u nobody) MAIL_GID=$(getent group nogroup | cut -d: -f3)
[ -n "$MAIL_UID" ] && [ -n "$MAIL_GID" ] || die "no nobody/nogroup"
mkdir -p "$STATE/dovecot" "$STATE/home/$MAIL_USER/Maildir"/{cur,new,tmp}
# ManageSieve scripts, per user: $SIEVE_ROOT/USER/scripts/NAME.sieve and the
# active one linked from $SIEVE_ROOT/USER/active.sieve (Dovecot makes them).
SIEVE_ROOT="$STATE/sieve"
mkdir -p "$SIEVE_ROOT" && chown "$MAIL_UID:$MAIL_GID" "$SIEVE_ROOT" || die "mkdir $SIEVE_ROOT"
cat >"$STATE/dovecot/users" <<EOF
$MAIL_USER:{PLAIN}$MAIL_PASS:$MAIL_UID:$MAIL_GID::$STATE/home/$MAIL_USER::
$PP_USER:{PLAIN}$PP_PASS:$MAIL_UID:$MAIL_GID::$STATE/home/$MAIL_USER::
$MX_USER:{PLAIN}$MX_PASS:$MAIL_UID:$MAIL_GID::$STATE/home/$MAIL_USER::
EOF
chgrp dovecot "$STATE/dovecot/users" && chmod 640 "$STATE/dovecot/users" || die "passwd-file permissions"

cat >"$STATE/dovecot/dovecot.conf" <<EOF
base_dir = $STATE/dovecot/run
state_dir = $STATE/dovecot/lib
instance_name = mailproxy-interop
log_path = $STATE/log/dovecot.log
protocols = imap pop3 sieve
listen = 127.0.0.1
# TLS for ManageSieve only (STARTTLS, the implicit-TLS listener): IMAP and
# POP3 stay plaintext (protocol blocks below).
ssl = yes
ssl_cert = <$STATE/cert.pem
ssl_key = <$STATE/key.pem
disable_plaintext_auth = no
# XOAUTH2 and OAUTHBEARER for mailproxy's Auth-Backend-Method logins,
# checked by the oauth2 passdb below.
auth_mechanisms = plain login xoauth2 oauthbearer
auth_verbose = yes
# mailproxy's IMAP ID x-originating-ip and POP3 XCLIENT are believed from
# loopback (proxy_forward).
login_trusted_networks = 127.0.0.0/8
mail_location = maildir:~/Maildir
haproxy_trusted_networks = 127.0.0.0/8
passdb {
  driver = passwd-file
  args = scheme=PLAIN $STATE/dovecot/users
}
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $STATE/dovecot/oauth2.conf.ext
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
  inet_listener imap_haproxy {
    address = 127.0.0.1
    port = $DOVE_HAP_IMAP
    haproxy = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $DOVECOT_POP3_PORT
  }
  inet_listener pop3s {
    port = 0
  }
  inet_listener pop3_haproxy {
    address = 127.0.0.1
    port = $DOVE_HAP_POP3
    haproxy = yes
  }
}
protocol imap {
  ssl = no
}
protocol pop3 {
  ssl = no
}
# ManageSieve (RFC 5804): the auth service routes Auth-Protocol: sieve to
# the plain listener (STARTTLS offered, plaintext AUTHENTICATE allowed);
# DIRECT=1 clients also use the implicit-TLS one. Same passdb as IMAP.
service managesieve-login {
  inet_listener sieve {
    address = 127.0.0.1
    port = $DOVE_SIEVE
  }
  inet_listener sieve_tls {
    address = 127.0.0.1
    port = $DOVE_SIEVE_TLS
    ssl = yes
  }
}
plugin {
  sieve = file:$SIEVE_ROOT/%u/scripts;active=$SIEVE_ROOT/%u/active.sieve
}
EOF

cat >"$STATE/dovecot/oauth2.conf.ext" <<EOF
introspection_mode = post
introspection_url = http://127.0.0.1:$INTROSPECT_PORT/introspect
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
EOF
printf '%s %s\n' "$TOKEN_FORWARD" "$MAIL_USER" >"$STATE/introspect-tokens"
: >"$STATE/log/introspect.log"
start introspect "$PY" "$HERE/introspect.py" "$INTROSPECT_PORT" "$STATE/introspect-tokens" "$STATE/log/introspect.log"
wait_listen introspect "$INTROSPECT_PORT"

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
wait_listen dovecot "$DOVECOT_POP3_PORT"
wait_listen dovecot "$DOVE_HAP_IMAP"
wait_listen dovecot "$DOVE_HAP_POP3"
wait_listen dovecot "$DOVE_SIEVE"
wait_listen dovecot "$DOVE_SIEVE_TLS"

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

# ---------------------------------------------------------------- Postfix
# A private instance: its own config directory and queue under the state
# directory, no chroot, logging to a file through postlogd, XCLIENT allowed
# from loopback, every non-local transport an error, and virtual(8)
# delivery for $MAIL_DOMAIN into maildirs under $STATE/vmail.
PF="$STATE/postfix"
VMAIL="$STATE/vmail"
RCPT_MAILDIR="$VMAIL/$MAIL_DOMAIN/${MAIL_RCPT%@*}"
mkdir -p "$PF/etc" "$PF/spool" "$PF/lib" "$RCPT_MAILDIR"/{cur,new,tmp} || die "mkdir postfix dirs"
chown -R "$MAIL_UID:$MAIL_GID" "$VMAIL" && chown postfix "$PF/lib" || die "chown postfix dirs"
cat >"$PF/etc/vmailbox" <<EOF
$MAIL_RCPT $MAIL_DOMAIN/${MAIL_RCPT%@*}/
$MAIL_FROM $MAIL_DOMAIN/$MAIL_USER/
EOF
cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/lib
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.$MAIL_DOMAIN
mydomain = $MAIL_DOMAIN
myorigin = \$mydomain
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP mailproxy-interop
biff = no
smtputf8_enable = no
maillog_file = $STATE/log/postfix.log
maillog_file_prefixes = $STATE/log
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_sasl_authenticated_header = yes
default_transport = error:interop: no mail leaves this machine
relay_transport = error:interop: no mail leaves this machine
local_transport = error:interop: no local delivery
virtual_mailbox_domains = $MAIL_DOMAIN
virtual_mailbox_base = $VMAIL
virtual_mailbox_maps = texthash:$PF/etc/vmailbox
virtual_uid_maps = static:$MAIL_UID
virtual_gid_maps = static:$MAIL_GID
virtual_minimum_uid = 1
message_size_limit = 20971520
virtual_mailbox_limit = 52428800
EOF
upstream_postfix_tls >>"$PF/etc/main.cf"
cat >"$PF/etc/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:$POSTFIX_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
upstream_postfix_master >>"$PF/etc/master.cf"
postfix -c "$PF/etc" post-install create-missing >>"$STATE/log/postfix-ctl.log" 2>&1 ||
	die "postfix post-install create-missing failed (see postfix-ctl.log)"
POSTFIX_STARTED=1 # from here on, cleanup runs `postfix stop`
postfix -c "$PF/etc" start >>"$STATE/log/postfix-ctl.log" 2>&1 ||
	die "postfix start failed (see postfix-ctl.log)"
tr -dc 0-9 <"$PF/spool/pid/master.pid" >"$STATE/postfix.pid" 2>/dev/null
[ -s "$STATE/postfix.pid" ] || die "postfix started but wrote no master.pid"
wait_listen postfix "$POSTFIX_PORT"

# ---------------------------------------------------------------- auth service, proxy
cat >"$STATE/users" <<EOF
# NAME PASSWORD BACKEND_IP:PORT [protocols]
$MAIL_USER $MAIL_PASS 127.0.0.1:$DOVECOT_PORT imap
$MAIL_USER $MAIL_PASS 127.0.0.1:$DOVECOT_POP3_PORT pop3
$MAIL_USER $MAIL_PASS 127.0.0.1:$POSTFIX_PORT smtp
$PP_USER $PP_PASS 127.0.0.1:$DOVE_HAP_IMAP imap
$PP_USER $PP_PASS 127.0.0.1:$DOVE_HAP_POP3 pop3
$MX_USER $MX_PASS 127.0.0.1:$DOVE_HAP_IMAP imap
$MX_USER $MX_PASS 127.0.0.1:$DOVE_HAP_POP3 pop3
$MX_USER $MX_PASS 127.0.0.1:$POSTFIX_PORT smtp
$MAIL_USER $MAIL_PASS 127.0.0.1:$DOVE_SIEVE sieve
# Relaying (smtp_auth none) to Postfix, and the bearer tokens.
* - 127.0.0.1:$POSTFIX_PORT smtp
token:$TOKEN_PASS $MAIL_USER
token:$TOKEN_FORWARD $MAIL_USER forward
token:$TOKEN_REVOKED $MAIL_USER forward
EOF
start mailproxy-auth "$STATE/bin/mailproxy-auth" -listen "127.0.0.1:$AUTH_PORT" \
	-users "$STATE/users" -secret "$SECRET" -wait "$WAIT" -allow-relay
wait_listen mailproxy-auth "$AUTH_PORT"
# The servers of the PROXY and TLS cases ask the auth service through a
# relay that records each request's Client-IP (and TLS verdict).
AUTHREC_LOG="$STATE/log/authrec-requests.log"
AUTHREC_JSON="$STATE/log/authrec-requests.json"
: >"$AUTHREC_LOG"
: >"$AUTHREC_JSON"
start authrec "$PY" "$HERE/authrec.py" "$AUTHREC_PORT" "$AUTH_PORT" "$AUTHREC_LOG" "$AUTHREC_JSON"
wait_listen authrec "$AUTHREC_PORT"

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
  - protocol: pop3
    starttls: on
    pop3_auth: [plain, apop, cram-md5]
    listen:
      - 127.0.0.1:$POP3_PORT
      - {address: "127.0.0.1:$POP3_SSL_PORT", ssl: true}
  - protocol: smtp
    server_name: proxy.$MAIL_DOMAIN
    starttls: on
    smtp_auth: [plain, login, cram-md5]
    smtp_capabilities: ["SIZE 20971520", 8BITMIME, PIPELINING]
    xclient: on
    listen:
      - 127.0.0.1:$SMTP_PORT
      - {address: "127.0.0.1:$SMTP_SSL_PORT", ssl: true}
  # Behind HAProxy (send-proxy, send-proxy-v2).
  - protocol: imap
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    set_real_ip_from: [127.0.0.0/8]
    listen:
      - {address: "127.0.0.1:$PP_IMAP", proxy_protocol: true}
  - protocol: pop3
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    set_real_ip_from: [127.0.0.0/8]
    listen:
      - {address: "127.0.0.1:$PP_POP3", proxy_protocol: true}
  - protocol: smtp
    server_name: proxy.$MAIL_DOMAIN
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    smtp_auth: [plain, login]
    smtp_capabilities: ["SIZE 20971520", 8BITMIME, PIPELINING]
    xclient: on
    set_real_ip_from: [127.0.0.0/8]
    listen:
      - {address: "127.0.0.1:$PP_SMTP", proxy_protocol: true}
  # Sending PROXY to Dovecot's haproxy listeners.
  - protocol: imap
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    proxy_protocol: on
    listen: [127.0.0.1:$PPOUT1_IMAP]
  - protocol: pop3
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    proxy_protocol: on
    listen: [127.0.0.1:$PPOUT1_POP3]
  - protocol: imap
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    proxy_protocol: v2
    listen: [127.0.0.1:$PPOUT2_IMAP]
  - protocol: pop3
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    proxy_protocol: v2
    listen: [127.0.0.1:$PPOUT2_POP3]
  # Client certificates required.
  - protocol: imap
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    starttls: on
    ssl_verify_client: on
    ssl_client_certificate: $PKI/ca.pem
    listen:
      - {address: "127.0.0.1:$VERIFY_SSL_PORT", ssl: true}
      - 127.0.0.1:$VERIFY_PORT
  # A certificate by SNI name, the default one for other names; sessions
  # resume from the server-side cache (tickets off).
  - protocol: imap
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    sni_certificates:
      - {names: ["$SNI_NAME"], ssl_certificate: $PKI/sni.pem, ssl_certificate_key: $PKI/sni.key}
    ssl_session_tickets: off
    ssl_session_cache: shared:SSL:1m
    listen:
      - {address: "127.0.0.1:$SNI_SSL_PORT", ssl: true}
  # The matrix: direct and behind HAProxy, each plain (with STARTTLS) and
  # implicit TLS. IMAP and POP3 send PROXY to Dovecot's haproxy listeners,
  # so Dovecot logs each case's own client address.
  - protocol: imap
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    starttls: on
    imap_auth: [plain, login, cram-md5]
    proxy_protocol: on
    set_real_ip_from: [127.0.0.0/8]
    listen:
      - 127.0.0.1:$MX_IMAP
      - {address: "127.0.0.1:$MX_IMAPS", ssl: true}
      - {address: "127.0.0.1:$MX_PP_IMAP", proxy_protocol: true}
      - {address: "127.0.0.1:$MX_PP_IMAPS", ssl: true, proxy_protocol: true}
  - protocol: pop3
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    starttls: on
    pop3_auth: [plain, apop, cram-md5]
    proxy_protocol: on
    set_real_ip_from: [127.0.0.0/8]
    listen:
      - 127.0.0.1:$MX_POP3
      - {address: "127.0.0.1:$MX_POP3S", ssl: true}
      - {address: "127.0.0.1:$MX_PP_POP3", proxy_protocol: true}
      - {address: "127.0.0.1:$MX_PP_POP3S", ssl: true, proxy_protocol: true}
  - protocol: smtp
    server_name: proxy.$MAIL_DOMAIN
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    starttls: on
    smtp_auth: [plain, login, cram-md5]
    smtp_capabilities: ["SIZE 20971520", 8BITMIME, PIPELINING]
    xclient: on
    set_real_ip_from: [127.0.0.0/8]
    listen:
      - 127.0.0.1:$MX_SMTP
      - {address: "127.0.0.1:$MX_SMTPS", ssl: true}
      - {address: "127.0.0.1:$MX_PP_SMTP", proxy_protocol: true}
      - {address: "127.0.0.1:$MX_PP_SMTPS", ssl: true, proxy_protocol: true}
EOF
# Modern clients: OAuth servers (both mechanisms; XOAUTH2 alone), the
# proxy_forward servers behind PROXY headers, the CHUNKING relay.
oauth_servers() { # PREFIX MECHANISMS IMAP IMAPS POP3 POP3S SMTP SMTPS
	cat <<EOF
  - protocol: imap
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    starttls: on
    imap_auth: [$2, sasl-ir]
    proxy_pass_error_message: on
    listen:
      - 127.0.0.1:$3
      - {address: "127.0.0.1:$4", ssl: true}
  - protocol: pop3
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    starttls: on
    pop3_auth: [$2]
    listen:
      - 127.0.0.1:$5
      - {address: "127.0.0.1:$6", ssl: true}
  - protocol: smtp
    server_name: proxy.$MAIL_DOMAIN
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    starttls: on
    smtp_auth: [$2]
    smtp_capabilities: ["SIZE 20971520", 8BITMIME, PIPELINING]
    xclient: on
    listen:
      - 127.0.0.1:$7
      - {address: "127.0.0.1:$8", ssl: true}
EOF
}
{
	echo "  # Modern clients: XOAUTH2 and OAUTHBEARER."
	oauth_servers oa "xoauth2, oauthbearer" "$OA_IMAP" "$OA_IMAPS" "$OA_POP3" "$OA_POP3S" "$OA_SMTP" "$OA_SMTPS"
	oauth_servers ox "xoauth2" "$OX_IMAP" "$OX_IMAPS" "$OX_POP3" "$OX_POP3S" "$OX_SMTP" "$OX_SMTPS"
	cat <<EOF
  # The client's address to Dovecot in its own protocol, behind PROXY.
  - protocol: imap
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    imap_id: {name: mailproxy-interop, version: "1"}
    proxy_forward: imap_id
    auth_http_pass_client_details: on
    set_real_ip_from: [127.0.0.0/8]
    listen:
      - {address: "127.0.0.1:$FWD_IMAP", proxy_protocol: true}
  - protocol: pop3
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    proxy_forward: xclient
    set_real_ip_from: [127.0.0.0/8]
    listen:
      - {address: "127.0.0.1:$FWD_POP3", proxy_protocol: true}
  # Relaying with PIPELINING and CHUNKING.
  - protocol: smtp
    server_name: proxy.$MAIL_DOMAIN
    auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
    smtp_auth: [none]
    smtp_capabilities: [PIPELINING, CHUNKING, 8BITMIME, "SIZE 20971520"]
    xclient: on
    listen: [127.0.0.1:$CHUNK_SMTP]
EOF
} >>"$STATE/mailproxy.yaml"
# ManageSieve: a sieve server (STARTTLS, implicit TLS) asking the auth
# service through the recording relay. It goes into the configuration only
# if this mailproxy accepts it (`mailproxy -t` on the mail section plus this
# entry): a mailproxy without sieve support would refuse the whole file, so
# then only the sieve cases fail, with the reason.
SIEVE_SERVER='  # ManageSieve (RFC 5804): plain with STARTTLS, implicit TLS.
  - protocol: sieve
    auth_http: http://127.0.0.1:'$AUTHREC_PORT'/auth
    starttls: on
    sieve_auth: [plain, login]
    listen:
      - 127.0.0.1:'$SIEVE_PORT'
      - {address: "127.0.0.1:'$SIEVE_SSL_PORT'", ssl: true}'
SIEVE_UNSUPPORTED=""
{ sed -n '1,/^servers:/p' "$STATE/mailproxy.yaml" && printf '%s\n' "$SIEVE_SERVER"; } >"$STATE/sieve-probe.yaml"
if "$STATE/bin/mailproxy" -t -c "$STATE/sieve-probe.yaml" >"$STATE/out/sieve-probe.txt" 2>&1; then
	printf '%s\n' "$SIEVE_SERVER" >>"$STATE/mailproxy.yaml"
else
	SIEVE_UNSUPPORTED="mailproxy has no sieve support (mailproxy -t refuses a sieve server: $(grep -v '^$' "$STATE/out/sieve-probe.txt" | head -n 1 | cut -c1-200))"
	echo "# $SIEVE_UNSUPPORTED"
fi
start mailproxy "$STATE/bin/mailproxy" -c "$STATE/mailproxy.yaml"
wait_listen mailproxy "$PROXY_PORT"
wait_listen mailproxy "$PROXY_SSL_PORT"
for p in "$POP3_PORT" "$POP3_SSL_PORT" "$SMTP_PORT" "$SMTP_SSL_PORT"; do
	wait_listen mailproxy "$p"
done
for p in "$PP_IMAP" "$PP_POP3" "$PP_SMTP" "$PPOUT1_IMAP" "$PPOUT1_POP3" "$PPOUT2_IMAP" \
	"$PPOUT2_POP3" "$VERIFY_SSL_PORT" "$VERIFY_PORT" "$SNI_SSL_PORT" \
	"$MX_IMAP" "$MX_IMAPS" "$MX_PP_IMAP" "$MX_PP_IMAPS" "$MX_POP3" "$MX_POP3S" "$MX_PP_POP3" \
	"$MX_PP_POP3S" "$MX_SMTP" "$MX_SMTPS" "$MX_PP_SMTP" "$MX_PP_SMTPS" \
	"$OA_IMAP" "$OA_IMAPS" "$OA_POP3" "$OA_POP3S" "$OA_SMTP" "$OA_SMTPS" "$OX_IMAP" "$OX_IMAPS" \
	"$OX_POP3" "$OX_POP3S" "$OX_SMTP" "$OX_SMTPS" "$FWD_IMAP" "$FWD_POP3" "$CHUNK_SMTP"; do
	wait_listen mailproxy "$p"
done
if [ -z "$SIEVE_UNSUPPORTED" ]; then
	wait_listen mailproxy "$SIEVE_PORT"
	wait_listen mailproxy "$SIEVE_SSL_PORT"
fi
PROXY_PID=$(cat "$STATE/mailproxy.pid")

# ---------------------------------------------------------------- HAProxy
# Private, daemonized (-D), TCP mode, no health checks: v1 and v2 frontends
# for each protocol in front of mailproxy's proxy_protocol listeners.
hap_listen() { # NAME BIND_PORT SERVER_PORT SEND_PROXY
	printf 'listen %s\n    bind 127.0.0.1:%s\n    server s1 127.0.0.1:%s %s\n\n' "$@"
}
{
	printf 'global\n    maxconn 256\n\ndefaults\n    mode tcp\n    timeout connect 5s\n'
	printf '    timeout client 60s\n    timeout server 60s\n\n'
	hap_listen imap-v1 "$HAP1_IMAP" "$PP_IMAP" send-proxy
	hap_listen pop3-v1 "$HAP1_POP3" "$PP_POP3" send-proxy
	hap_listen smtp-v1 "$HAP1_SMTP" "$PP_SMTP" send-proxy
	hap_listen imap-v2 "$HAP2_IMAP" "$PP_IMAP" send-proxy-v2
	hap_listen pop3-v2 "$HAP2_POP3" "$PP_POP3" send-proxy-v2
	hap_listen smtp-v2 "$HAP2_SMTP" "$PP_SMTP" send-proxy-v2
	# The matrix (TLS passes through: mode tcp).
	hap_listen mx-imap-v1 "$MX1_IMAP" "$MX_PP_IMAP" send-proxy
	hap_listen mx-imaps-v1 "$MX1_IMAPS" "$MX_PP_IMAPS" send-proxy
	hap_listen mx-imap-v2 "$MX2_IMAP" "$MX_PP_IMAP" send-proxy-v2
	hap_listen mx-imaps-v2 "$MX2_IMAPS" "$MX_PP_IMAPS" send-proxy-v2
	hap_listen mx-pop3-v1 "$MX1_POP3" "$MX_PP_POP3" send-proxy
	hap_listen mx-pop3s-v1 "$MX1_POP3S" "$MX_PP_POP3S" send-proxy
	hap_listen mx-pop3-v2 "$MX2_POP3" "$MX_PP_POP3" send-proxy-v2
	hap_listen mx-pop3s-v2 "$MX2_POP3S" "$MX_PP_POP3S" send-proxy-v2
	hap_listen mx-smtp-v1 "$MX1_SMTP" "$MX_PP_SMTP" send-proxy
	hap_listen mx-smtps-v1 "$MX1_SMTPS" "$MX_PP_SMTPS" send-proxy
	hap_listen mx-smtp-v2 "$MX2_SMTP" "$MX_PP_SMTP" send-proxy-v2
	hap_listen mx-smtps-v2 "$MX2_SMTPS" "$MX_PP_SMTPS" send-proxy-v2
} >"$STATE/haproxy.cfg"
HAPROXY_STARTED=1 # from here on, cleanup stops it by its pid file
haproxy -f "$STATE/haproxy.cfg" -D -p "$STATE/haproxy.pid" >"$STATE/log/haproxy.log" 2>&1 </dev/null ||
	die "haproxy did not start: $(tail -n 3 "$STATE/log/haproxy.log" | tr '\n' ' ')"
for i in $(seq 50); do [ -s "$STATE/haproxy.pid" ] && break; sleep 0.1; done
[ -s "$STATE/haproxy.pid" ] || die "haproxy wrote no pid file"
for p in "$HAP1_IMAP" "$HAP1_POP3" "$HAP1_SMTP" "$HAP2_IMAP" "$HAP2_POP3" "$HAP2_SMTP" \
	"$MX1_IMAP" "$MX1_IMAPS" "$MX2_IMAP" "$MX2_IMAPS" "$MX1_POP3" "$MX1_POP3S" "$MX2_POP3" \
	"$MX2_POP3S" "$MX1_SMTP" "$MX1_SMTPS" "$MX2_SMTP" "$MX2_SMTPS"; do
	for i in $(seq 50); do listening "$p" && break; sleep 0.1; done
	listening "$p" || die "haproxy not listening on 127.0.0.1:$p"
done

if want upstream; then upstream_start; fi

echo "# servers up after ${SECONDS}s"
IMAP="imap://127.0.0.1:$PROXY_PORT"
IMAPS="imaps://127.0.0.1:$PROXY_SSL_PORT"
POP3="pop3://127.0.0.1:$POP3_PORT"
POP3S="pop3s://127.0.0.1:$POP3_SSL_PORT"
SMTP="smtp://127.0.0.1:$SMTP_PORT"
SMTPS="smtps://127.0.0.1:$SMTP_SSL_PORT"
OUT="$STATE/out"

# ---------------------------------------------------------------- helpers
trace_tail() { # TRACE: the last protocol errors in a curl -v trace, on one line
	grep -E '^(curl:|< [A-Z0-9]+ (NO|BAD)|< \* BYE|< -ERR|< [45][0-9][0-9][ -])' "$1" |
		tail -n 3 | tr -d '\r' | tr '\n' ' '
}

# curl_get NAME URL WANT_IN_TRACE WANT_IN_BODY [curl args...]: fetch URL,
# expect WANT_IN_BODY (a fixed string) in what comes back and WANT_IN_TRACE
# (an ERE) in curl's -v protocol trace.
curl_get() {
	local name=$1 url=$2 want=$3 body=$4 rc
	shift 4
	curl -sS -v --max-time 30 -u "$MAIL_USER:$MAIL_PASS" "$@" "$url" \
		-o "$OUT/$name.body" 2>"$OUT/$name.trace"
	rc=$?
	if [ "$rc" != 0 ]; then
		fail "$name" "curl exit $rc: $(trace_tail "$OUT/$name.trace")"
	elif ! grep -qF "$body" "$OUT/$name.body"; then
		fail "$name" "fetched message lacks '$body' ($(wc -c <"$OUT/$name.body") bytes)"
	elif ! grep -Eq "$want" "$OUT/$name.trace"; then
		fail "$name" "no /$want/ in curl's trace"
	else
		pass "$name"
	fi
}

# curl_case NAME URL WANT_IN_TRACE [curl args...]: fetch the small message
# over IMAP.
curl_case() {
	local name=$1 url=$2 want=$3
	shift 3
	curl_get "$name" "$url/INBOX;UID=$SMALL_UID" "$want" "Subject: $SUBJECT" "$@"
}

# delivered NAME TAG [maildir.py check options...]: PASS if Postfix delivered
# the message tagged TAG with the client's HELO NAME.interop.test, [127.0.0.1]
# and the login in its Received: line (XCLIENT), else FAIL with the reason.
delivered() {
	local name=$1 tag=$2 why
	shift 2
	if why=$(python3 "$HERE/maildir.py" check "$RCPT_MAILDIR" "$tag" \
		--helo "$name.$MAIL_DOMAIN" --login "$MAIL_USER" "$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$why"
	fi
}

# curl_send NAME URL WANT_IN_TRACE SIZE [curl args...]: send a message of
# SIZE bytes (EHLO NAME.interop.test), expect WANT_IN_TRACE in the trace and
# the message delivered intact.
curl_send() {
	local name=$1 url=$2 want=$3 size=$4 tag="$TAG-$1" sha rc
	shift 4
	sha=$(MAIL_FROM=$MAIL_FROM MAIL_RCPT=$MAIL_RCPT python3 "$HERE/maildir.py" make \
		"$OUT/$name.eml" "$tag" "curl $name" "$size") || {
		fail "$name" "could not write the message"
		return
	}
	curl -sS -v --max-time 60 -u "$MAIL_USER:$MAIL_PASS" --mail-from "$MAIL_FROM" \
		--mail-rcpt "$MAIL_RCPT" --upload-file "$OUT/$name.eml" "$@" "$url/$name.$MAIL_DOMAIN" \
		-o "$OUT/$name.body" 2>"$OUT/$name.trace"
	rc=$?
	if [ "$rc" != 0 ]; then
		fail "$name" "curl exit $rc: $(trace_tail "$OUT/$name.trace")"
	elif ! grep -Eq "$want" "$OUT/$name.trace"; then
		fail "$name" "no /$want/ in curl's trace"
	else
		delivered "$name" "$tag" --body-sha "$sha" --timeout 30
	fi
	[ "$size" -lt 100000 ] || rm -f "$OUT/$name.eml"
}

# wrong_password NAME URL REFUSAL_RE [curl args...]: a wrong password fails,
# after about Auth-Wait seconds, with REFUSAL_RE in curl's trace.
wrong_password() {
	local name=$1 url=$2 refusal=$3 rc t0 took
	shift 3
	t0=$(now_ms)
	curl -sS -v --max-time 30 -u "$MAIL_USER:$MAIL_PASS-wrong" "$@" "$url" \
		-o "$OUT/$name.body" 2>"$OUT/$name.trace"
	rc=$?
	took=$(($(now_ms) - t0))
	if [ "$rc" = 0 ]; then
		fail "$name" "curl succeeded with a wrong password"
	elif [ "$rc" = 28 ]; then
		fail "$name" "curl timed out (exit 28) instead of getting a refusal"
	elif [ "$took" -lt $((WAIT * 1000 - 300)) ] || [ "$took" -gt $((WAIT * 1000 + 5000)) ]; then
		fail "$name" "failed after ${took} ms, want about Auth-Wait ${WAIT}s (curl exit $rc)"
	elif ! grep -Eq "$refusal" "$OUT/$name.trace"; then
		fail "$name" "no /$refusal/ in curl's trace (curl exit $rc: $(trace_tail "$OUT/$name.trace"))"
	else
		pass "$name"
	fi
}

# checksum_get NAME URL SHA: fetch URL (curl), compare the sha256.
checksum_get() {
	local name=$1 url=$2 sha=$3 rc got
	curl -sS --max-time 60 -u "$MAIL_USER:$MAIL_PASS" "$url" \
		-o "$OUT/$name.body" 2>"$OUT/$name.trace"
	rc=$?
	if [ "$rc" != 0 ]; then
		fail "$name" "curl exit $rc: $(tail -n 1 "$OUT/$name.trace")"
	else
		got=$(sha256sum "$OUT/$name.body" | cut -d' ' -f1)
		if [ "$got" = "$sha" ]; then
			pass "$name"
		else
			fail "$name" "sha256 $got ($(wc -c <"$OUT/$name.body") bytes), want $sha ($(wc -c <"$BIG_FILE") bytes)"
		fi
	fi
	rm -f "$OUT/$name.body"
}

# batched FILE: in swaks' transcript, MAIL FROM, RCPT TO and DATA all went
# out before the first reply after MAIL FROM (--pipeline did pipeline).
batched() {
	awk '/-> MAIL FROM/ && !m {m = NR; next}
		m && /-> DATA/ && !d {d = NR}
		m && /<- +[0-9]/ && !r {r = NR}
		END {exit !(m && d && r > d)}' "$1"
}

# swaks_case NAME PORT WANT_IN_OUTPUT [swaks args...]: send with swaks,
# check its transcript and the delivery.
swaks_case() {
	local name=$1 port=$2 want=$3 tag="$TAG-$1" rc
	shift 3
	timeout 60 swaks --server 127.0.0.1 --port "$port" --timeout 30 \
		--ehlo "$name.$MAIL_DOMAIN" --from "$MAIL_FROM" --to "$MAIL_RCPT" \
		--auth-user "$MAIL_USER" --auth-password "$MAIL_PASS" \
		--header "Subject: swaks $name" --header "X-Interop-Case: $tag" \
		"$@" >"$OUT/$name.out" 2>&1
	rc=$?
	if [ "$rc" != 0 ]; then
		fail "$name" "swaks exit $rc: $(grep -E '^(\*\*\*|<\*\*|<[-~]+ +[45])' "$OUT/$name.out" | tail -n 3 | tr -d '\r' | tr '\n' ' ')"
	elif ! grep -Eq -- "$want" "$OUT/$name.out"; then
		fail "$name" "no /$want/ in swaks' transcript"
	elif [[ " $* " == *" --pipeline "* ]] && ! batched "$OUT/$name.out"; then
		fail "$name" "MAIL, RCPT and DATA not sent before the first reply to them (see $name.out)"
	else
		delivered "$name" "$tag"
	fi
}

# run_py LABEL CASES SCRIPT ARGS...: run a Python client script that prints
# PASS/FAIL lines; a script that reports fewer than CASES cases fails LABEL.
run_py() {
	local label=$1 want_cases=$2 seen=0 py_rc="?" line rest
	shift 2
	while IFS= read -r line; do
		case $line in
		"PASS "*)
			pass "${line#PASS }"
			seen=$((seen + 1))
			;;
		"FAIL "*)
			rest=${line#FAIL }
			fail "${rest%%: *}" "${rest#*: }"
			seen=$((seen + 1))
			;;
		"__rc "*) py_rc=${line#__rc } ;;
		*) echo "$line" ;;
		esac
	done < <(
		timeout "${RUN_PY_TIMEOUT:-180}" "$PY" "$@" 2>"$OUT/$label.err"
		echo "__rc $?"
	)
	if [ "$seen" -lt "$want_cases" ]; then
		fail "$label" "only $seen of $want_cases cases reported (python exit $py_rc): $(tail -n 1 "$OUT/$label.err")"
	fi
	if [ -n "${VERBOSE:-}" ] && [ -s "$OUT/$label.err" ]; then cat "$OUT/$label.err" >&2; fi
}

# ================================================================ IMAP
if want imap; then
	curl_case curl-default "$IMAP" '^> [A-Z0-9]+ (AUTHENTICATE|LOGIN) '
	CURL_DEFAULT_MECH=$(grep -Eo '^> [A-Z0-9]+ (AUTHENTICATE [A-Z0-9-]+|LOGIN)' "$OUT/curl-default.trace" | head -n 1 | cut -d' ' -f3-)
	curl_case curl-auth-plain "$IMAP" '^> [A-Z0-9]+ AUTHENTICATE PLAIN' --login-options AUTH=PLAIN
	curl_case curl-auth-login "$IMAP" '^> [A-Z0-9]+ AUTHENTICATE LOGIN' --login-options AUTH=LOGIN
	curl_case curl-auth-cram-md5 "$IMAP" '^> [A-Z0-9]+ AUTHENTICATE CRAM-MD5' --login-options AUTH=CRAM-MD5
	curl_case curl-starttls "$IMAP" '^> [A-Z0-9]+ STARTTLS' --ssl-reqd -k
	curl_case curl-imaps "$IMAPS" 'SSL connection using' -k
	wrong_password curl-wrong-password "$IMAP/INBOX;UID=$SMALL_UID" '^< [A-Z0-9]+ NO'
	checksum_get curl-5mb-fetch "$IMAP/INBOX;UID=$BIG_UID" "$BIG_SHA"

	run_py imaplib 5 "$HERE/imap_clients.py" 127.0.0.1 "$PROXY_PORT" "$PROXY_SSL_PORT" \
		"$MAIL_USER" "$MAIL_PASS" "$SUBJECT" "$BIG_UID" "$BIG_SHA" "$WAIT"

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
fi

# ================================================================ POP3
# Dovecot numbers the messages by UID: 1 is the small one, 2 the 5 MB one.
if want pop3; then
	curl_get curl-pop3-default "$POP3/1" '^> (AUTH|APOP|USER)' "Subject: $SUBJECT"
	CURL_POP3_DEFAULT=$(grep -Eo '^> (AUTH [A-Z0-9-]+|APOP|USER)' "$OUT/curl-pop3-default.trace" | head -n 1 | cut -c3-)
	curl_get curl-pop3-auth-plain "$POP3/1" '^> AUTH PLAIN' "Subject: $SUBJECT" --login-options AUTH=PLAIN
	curl_get curl-pop3-auth-login "$POP3/1" '^> AUTH LOGIN' "Subject: $SUBJECT" --login-options AUTH=LOGIN
	curl_get curl-pop3-auth-cram-md5 "$POP3/1" '^> AUTH CRAM-MD5' "Subject: $SUBJECT" --login-options AUTH=CRAM-MD5
	curl_get curl-pop3-apop "$POP3/1" '^> APOP ' "Subject: $SUBJECT" --login-options 'AUTH=+APOP'
	curl_get curl-pop3-stls "$POP3/1" '^> STLS' "Subject: $SUBJECT" --ssl-reqd -k
	curl_get curl-pop3s "$POP3S/1" 'SSL connection using' "Subject: $SUBJECT" -k
	wrong_password curl-pop3-wrong-password "$POP3/1" '^< -ERR'
	checksum_get curl-pop3-5mb-retr "$POP3/2" "$BIG_SHA"

	run_py poplib 6 "$HERE/pop3_clients.py" 127.0.0.1 "$POP3_PORT" "$POP3_SSL_PORT" \
		"$MAIL_USER" "$MAIL_PASS" "$SUBJECT" "$BIG_SHA" "$WAIT"
fi

# ================================================================ SMTP
# Every message is delivered by Postfix into $RCPT_MAILDIR and checked there.
if want smtp; then
	curl_send curl-smtp-default "$SMTP" '^> AUTH ' 100
	CURL_SMTP_DEFAULT=$(grep -Eo '^> AUTH [A-Z0-9-]+' "$OUT/curl-smtp-default.trace" | head -n 1 | cut -c3-)
	curl_send curl-smtp-auth-plain "$SMTP" '^> AUTH PLAIN' 100 --login-options AUTH=PLAIN
	curl_send curl-smtp-auth-login "$SMTP" '^> AUTH LOGIN' 100 --login-options AUTH=LOGIN
	curl_send curl-smtp-auth-cram-md5 "$SMTP" '^> AUTH CRAM-MD5' 100 --login-options AUTH=CRAM-MD5
	curl_send curl-smtp-starttls "$SMTP" '^> STARTTLS' 100 --ssl-reqd -k
	curl_send curl-smtps "$SMTPS" 'SSL connection using' 100 -k
	# 5 MB through the plain (spliced) path: body checksum, [127.0.0.1] and
	# "Authenticated sender: alice" (XCLIENT) in Postfix's Received: line.
	curl_send curl-smtp-5mb "$SMTP" '^> AUTH ' "$BIG_SIZE" --login-options AUTH=PLAIN
	printf 'Subject: never sent\r\n\r\nwrong password\r\n' >"$OUT/wrong.eml"
	wrong_password curl-smtp-wrong-password "$SMTP/wrong.$MAIL_DOMAIN" '^< 535 ' \
		--mail-from "$MAIL_FROM" --mail-rcpt "$MAIL_RCPT" --upload-file "$OUT/wrong.eml"

	swaks_case swaks-auth-plain "$SMTP_PORT" '-> AUTH PLAIN' --auth PLAIN
	swaks_case swaks-auth-login "$SMTP_PORT" '-> AUTH LOGIN' --auth LOGIN
	swaks_case swaks-auth-cram-md5 "$SMTP_PORT" '-> AUTH CRAM-MD5' --auth CRAM-MD5
	swaks_case swaks-tls "$SMTP_PORT" '~> AUTH PLAIN' --auth PLAIN --tls
	swaks_case swaks-tls-on-connect "$SMTP_SSL_PORT" '~> AUTH LOGIN' --auth LOGIN --tls-on-connect
	swaks_case swaks-pipeline "$SMTP_PORT" '-> DATA' --auth PLAIN --pipeline

	run_py smtplib 7 "$HERE/smtp_clients.py" 127.0.0.1 "$SMTP_PORT" "$SMTP_SSL_PORT" \
		"$MAIL_USER" "$MAIL_PASS" "$MAIL_FROM" "$MAIL_RCPT" "$RCPT_MAILDIR" "$TAG" "$WAIT"
fi

# ================================================================ ManageSieve
# python3-sievelib (STARTTLS, implicit TLS, a wrong password) and
# sieve-connect through mailproxy's sieve server, each case checked at the
# client, the auth service (the relay's JSON lines) and Dovecot (its log,
# the user's script files): see scripts/interop/sieve_clients.py.
if want sieve; then
	if [ "${DIRECT:-0}" = 1 ]; then
		echo "# sieve cases straight at Dovecot's ManageSieve listeners (DIRECT=1), not mailproxy"
		S_MODE=direct S_PORT=$DOVE_SIEVE S_SSL_PORT=$DOVE_SIEVE_TLS S_IMPL=Dovecot S_UNSUPPORTED=""
	else
		S_MODE=proxy S_PORT=$SIEVE_PORT S_SSL_PORT=$SIEVE_SSL_PORT S_IMPL=mailproxy S_UNSUPPORTED=$SIEVE_UNSUPPORTED
	fi
	S_UNSUPPORTED=$S_UNSUPPORTED python3 - "$STATE/sieve.json" <<EOF || die "writing sieve.json failed"
import json, os, sys
json.dump({
    "mode": "$S_MODE", "unsupported": os.environ["S_UNSUPPORTED"],
    "host": "127.0.0.1", "starttls_port": $S_PORT, "tls_port": $S_SSL_PORT,
    "user": "$MAIL_USER", "password": "$MAIL_PASS", "wait": $WAIT, "client_ip": "$CLIENT_IP",
    "auth_json": "$AUTHREC_JSON", "dovecot_log": "$STATE/log/dovecot.log",
    "sieve_dir": "$SIEVE_ROOT/$MAIL_USER/scripts", "active_path": "$SIEVE_ROOT/$MAIL_USER/active.sieve",
    "implementation": "$S_IMPL", "out": "$OUT",
}, open(sys.argv[1], "w"), indent=1)
EOF
	run_py sieve 4 "$HERE/sieve_clients.py" "$STATE/sieve.json"
fi

# ================================================================ PROXY protocol
# Clients bind $CLIENT_IP. Through HAProxy (send-proxy / send-proxy-v2) the
# auth service must get Client-IP: $CLIENT_IP and Postfix (XCLIENT) must
# record [$CLIENT_IP]; mailproxy sending PROXY (on / v2) to Dovecot's
# haproxy listeners must make Dovecot log rip=$CLIENT_IP.

# proxied_get NAME URL USER PASS [curl args...]: fetch URL from $CLIENT_IP
# and expect the small message; print the reason and return 1 otherwise.
proxied_get() {
	local name=$1 url=$2 user=$3 pw=$4 rc
	shift 4
	curl -sS -v --max-time 30 --interface "$CLIENT_IP" -u "$user:$pw" "$@" "$url" \
		-o "$OUT/$name.body" 2>"$OUT/$name.trace"
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "curl exit $rc: $(trace_tail "$OUT/$name.trace")"
		return 1
	fi
	grep -qF "Subject: $SUBJECT" "$OUT/$name.body" && return 0
	echo "fetched message lacks 'Subject: $SUBJECT' ($(wc -c <"$OUT/$name.body") bytes)"
	return 1
}

# auth_saw FROM_LINE PROTO: an auth request recorded after line FROM_LINE
# of the relay's log is for PROTO with Client-IP: $CLIENT_IP.
auth_saw() {
	tail -n +"$(($1 + 1))" "$AUTHREC_LOG" | grep -E "(^| )Auth-Protocol=$2( |$)" |
		grep -Eq "(^| )Client-IP=${CLIENT_IP//./\\.}( |$)"
}
auth_got() { # FROM_LINE: the auth requests recorded after FROM_LINE, on one line
	tail -n +"$(($1 + 1))" "$AUTHREC_LOG" | tail -n 3 | tr '\n' '|'
}

# hap_get NAME URL PROTO: fetch through HAProxy, check the auth request.
hap_get() {
	local name=$1 url=$2 proto=$3 n why
	n=$(wc -l <"$AUTHREC_LOG")
	if ! why=$(proxied_get "$name" "$url" "$MAIL_USER" "$MAIL_PASS"); then
		fail "$name" "$why"
	elif ! auth_saw "$n" "$proto"; then
		fail "$name" "auth service got no $proto request with Client-IP: $CLIENT_IP (got: $(auth_got "$n"))"
	else
		pass "$name"
	fi
}

# hap_send NAME PORT: send a message through HAProxy on PORT from
# $CLIENT_IP; check the auth request and [$CLIENT_IP] in Received:.
hap_send() {
	local name=$1 port=$2 tag="$TAG-$1" sha rc n why
	n=$(wc -l <"$AUTHREC_LOG")
	sha=$(MAIL_FROM=$MAIL_FROM MAIL_RCPT=$MAIL_RCPT python3 "$HERE/maildir.py" make \
		"$OUT/$name.eml" "$tag" "curl $name" 100) || {
		fail "$name" "could not write the message"
		return
	}
	curl -sS -v --max-time 60 --interface "$CLIENT_IP" -u "$MAIL_USER:$MAIL_PASS" \
		--login-options AUTH=PLAIN --mail-from "$MAIL_FROM" --mail-rcpt "$MAIL_RCPT" \
		--upload-file "$OUT/$name.eml" "smtp://127.0.0.1:$port/$name.$MAIL_DOMAIN" \
		-o "$OUT/$name.body" 2>"$OUT/$name.trace"
	rc=$?
	if [ "$rc" != 0 ]; then
		fail "$name" "curl exit $rc: $(trace_tail "$OUT/$name.trace")"
	elif ! auth_saw "$n" smtp; then
		fail "$name" "auth service got no smtp request with Client-IP: $CLIENT_IP (got: $(auth_got "$n"))"
	elif ! why=$(python3 "$HERE/maildir.py" check "$RCPT_MAILDIR" "$tag" --helo "$name.$MAIL_DOMAIN" \
		--login "$MAIL_USER" --addr "$CLIENT_IP" --body-sha "$sha" --timeout 30 2>&1); then
		fail "$name" "$why"
	else
		pass "$name"
	fi
}

# pp_out NAME URL: log in as $PP_USER through a mailproxy server sending
# PROXY to Dovecot's haproxy listener; Dovecot must log rip=$CLIENT_IP.
pp_out() {
	local name=$1 url=$2 off why i
	off=$(stat -c %s "$STATE/log/dovecot.log")
	if ! why=$(proxied_get "$name" "$url" "$PP_USER" "$PP_PASS"); then
		fail "$name" "$why"
		return
	fi
	for i in $(seq 30); do
		if tail -c +"$((off + 1))" "$STATE/log/dovecot.log" |
			grep -Eq "Login: user=<$PP_USER>.* rip=${CLIENT_IP//./\\.},"; then
			pass "$name"
			return
		fi
		sleep 0.1
	done
	fail "$name" "no 'Login: user=<$PP_USER>, ... rip=$CLIENT_IP' in dovecot.log (got: $(tail -c +"$((off + 1))" "$STATE/log/dovecot.log" | grep 'Login:' | tail -n 2 | tr '\n' '|'))"
}

if want imap; then
	hap_get haproxy-v1-imap "imap://127.0.0.1:$HAP1_IMAP/INBOX;UID=$SMALL_UID" imap
	hap_get haproxy-v2-imap "imap://127.0.0.1:$HAP2_IMAP/INBOX;UID=$SMALL_UID" imap
	pp_out proxy-protocol-v1-to-dovecot-imap "imap://127.0.0.1:$PPOUT1_IMAP/INBOX;UID=$SMALL_UID"
	pp_out proxy-protocol-v2-to-dovecot-imap "imap://127.0.0.1:$PPOUT2_IMAP/INBOX;UID=$SMALL_UID"
	run_py imaplib-haproxy 1 "$HERE/imap_source.py" 127.0.0.1 "$HAP2_IMAP" "$CLIENT_IP" \
		"$MAIL_USER" "$MAIL_PASS" "$SUBJECT" "$AUTHREC_LOG"
fi
if want pop3; then
	hap_get haproxy-v1-pop3 "pop3://127.0.0.1:$HAP1_POP3/1" pop3
	hap_get haproxy-v2-pop3 "pop3://127.0.0.1:$HAP2_POP3/1" pop3
	pp_out proxy-protocol-v1-to-dovecot-pop3 "pop3://127.0.0.1:$PPOUT1_POP3/1"
	pp_out proxy-protocol-v2-to-dovecot-pop3 "pop3://127.0.0.1:$PPOUT2_POP3/1"
fi
if want smtp; then
	hap_send haproxy-v1-smtp "$HAP1_SMTP"
	hap_send haproxy-v2-smtp "$HAP2_SMTP"
fi

# ================================================================ TLS: client certificates, SNI
# s_client_login NAME OUT_RE [s_client args...]: LOGIN, SELECT, LOGOUT
# through openssl s_client; expect OUT_RE (an ERE) in what comes back.
s_client_login() {
	local name=$1 re=$2 rc
	shift 2
	printf 'a LOGIN %s %s\r\nb SELECT INBOX\r\nc LOGOUT\r\n' "$MAIL_USER" "$MAIL_PASS" |
		timeout 30 openssl s_client -quiet "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
	rc=$?
	if grep -Eq "$re" "$OUT/$name.out"; then
		pass "$name"
	else
		fail "$name" "no /$re/ (exit $rc; got: $(head -c 300 "$OUT/$name.out" | tr -d '\r' | tr '\n' '|') $(tail -n 1 "$OUT/$name.err"))"
	fi
}

# served_subject NAME WANT [s_client args...]: the subject of the
# certificate the SNI server presents.
served_subject() {
	local name=$1 want=$2 got
	shift 2
	got=$(timeout 30 openssl s_client -connect "127.0.0.1:$SNI_SSL_PORT" "$@" </dev/null 2>"$OUT/$name.err" |
		openssl x509 -noout -subject 2>>"$OUT/$name.err")
	if [ "$got" = "subject=CN = $want" ]; then
		pass "$name"
	else
		fail "$name" "served '$got', want 'subject=CN = $want' ($(tail -n 1 "$OUT/$name.err"))"
	fi
}

if want imap; then
	n=$(wc -l <"$AUTHREC_LOG")
	s_client_login client-cert-imaps '^b OK' -connect "127.0.0.1:$VERIFY_SSL_PORT" \
		-cert "$PKI/client.pem" -key "$PKI/client.key"
	if tail -n +"$((n + 1))" "$AUTHREC_LOG" | grep -q 'Auth-SSL-Verify=SUCCESS'; then
		pass client-cert-auth-ssl-verify
	else
		fail client-cert-auth-ssl-verify "auth service got no Auth-SSL-Verify: SUCCESS (got: $(auth_got "$n"))"
	fi
	s_client_login client-cert-starttls '^b OK' -starttls imap -connect "127.0.0.1:$VERIFY_PORT" \
		-cert "$PKI/client.pem" -key "$PKI/client.key"
	s_client_login client-cert-missing '^\* BYE No required SSL certificate' \
		-connect "127.0.0.1:$VERIFY_SSL_PORT"
	s_client_login client-cert-missing-starttls '^\* BYE No required SSL certificate' \
		-starttls imap -connect "127.0.0.1:$VERIFY_PORT"
	s_client_login client-cert-untrusted '^\* BYE SSL certificate error' \
		-connect "127.0.0.1:$VERIFY_SSL_PORT" -cert "$PKI/stranger.pem" -key "$PKI/stranger.key"
	curl_case curl-client-cert "imaps://127.0.0.1:$VERIFY_SSL_PORT" 'SSL connection using' -k \
		--cert "$PKI/client.pem" --key "$PKI/client.key"

	served_subject sni-certificate-by-name "$SNI_NAME" -servername "$SNI_NAME"
	served_subject sni-certificate-by-name-case "$SNI_NAME" -servername "SNI.${MAIL_DOMAIN^^}"
	served_subject sni-certificate-other-name localhost -servername "other.$MAIL_DOMAIN"
	served_subject sni-certificate-no-sni localhost -noservername
	# curl verifying the SNI certificate against itself (no -k).
	curl_case curl-sni-verified "imaps://$SNI_NAME:$SNI_SSL_PORT" 'SSL connection using' \
		--resolve "$SNI_NAME:$SNI_SSL_PORT:127.0.0.1" --cacert "$PKI/sni.pem"

	# ssl_session_tickets off + ssl_session_cache: s_client resumes the
	# session it saved (-sess_out, then -sess_in): "Reused".
	for v in 1_2 1_3; do
		name=s-client-session-reused-tls$v
		rm -f "$OUT/$name.sess"
		printf 'a LOGOUT\r\n' | timeout 30 openssl s_client -connect "127.0.0.1:$SNI_SSL_PORT" -tls$v -ign_eof \
			-sess_out "$OUT/$name.sess" >"$OUT/$name.first" 2>&1
		printf 'a LOGOUT\r\n' | timeout 30 openssl s_client -connect "127.0.0.1:$SNI_SSL_PORT" -tls$v -ign_eof \
			-sess_in "$OUT/$name.sess" >"$OUT/$name.out" 2>&1
		if grep -q '^Reused, ' "$OUT/$name.out" && grep -q '^New, ' "$OUT/$name.first"; then
			pass "$name"
		else
			fail "$name" "no 'Reused' on the second connection (got: $(grep -E '^(New|Reused), ' "$OUT/$name.out" | head -n 1))"
		fi
	done
fi

# ================================================================ modern clients
# XOAUTH2, OAUTHBEARER, IMAP ID, proxy_forward, CHUNKING: see
# scripts/interop/modern_clients.py.
if want modern; then
	python3 - "$STATE/modern.json" <<EOF || die "writing modern.json failed"
import base64, json, sys
json.dump({
    "user": "$MAIL_USER", "password": "$MAIL_PASS", "wait": $WAIT, "subject": "$SUBJECT",
    "small_uid": "$SMALL_UID", "tag": "$TAG", "out": "$OUT", "domain": "$MAIL_DOMAIN",
    "mail_from": "$MAIL_FROM", "mail_rcpt": "$MAIL_RCPT", "rcpt_maildir": "$RCPT_MAILDIR",
    "auth_json": "$AUTHREC_JSON", "dovecot_log": "$STATE/log/dovecot.log",
    "introspect_log": "$STATE/log/introspect.log", "mailproxy_log": "$STATE/log/mailproxy.log",
    "postfix_log": "$STATE/log/postfix.log",
    "tokens": {"pass": "$TOKEN_PASS", "forward": "$TOKEN_FORWARD", "revoked": "$TOKEN_REVOKED"},
    "error_sasl": base64.b64encode(b'{"status":"invalid_token","schemes":"bearer","scope":"mail"}').decode(),
    "ports": {"oa_imap": $OA_IMAP, "oa_imaps": $OA_IMAPS, "oa_pop3": $OA_POP3, "oa_pop3s": $OA_POP3S,
              "oa_smtp": $OA_SMTP, "oa_smtps": $OA_SMTPS, "ox_imap": $OX_IMAP, "ox_imaps": $OX_IMAPS,
              "ox_pop3": $OX_POP3, "ox_pop3s": $OX_POP3S, "ox_smtp": $OX_SMTP, "ox_smtps": $OX_SMTPS,
              "fwd_imap": $FWD_IMAP, "fwd_pop3": $FWD_POP3, "chunk_smtp": $CHUNK_SMTP},
}, open(sys.argv[1], "w"), indent=1)
EOF
	MODERN_CASES=$(python3 "$HERE/modern_clients.py" "$STATE/modern.json" --list | wc -l)
	run_py modern "$MODERN_CASES" "$HERE/modern_clients.py" "$STATE/modern.json"
fi

# ================================================================ upstreams
# TLS to backends, backends by name, failover, the auth service over HTTPS
# and as a list: scripts/interop/upstream.sh.
if want upstream; then upstream_cases; fi

# ================================================================ limits and privileges
# A second mailproxy, started as root with user nobody: max_connections 3
# for the process, limit_conn 1 per user (Dovecot behind it) and 1 per
# client address, max_commands 5; its IMAP listener on a port below 1024.
if want limits; then
	read -r LIM_IMAP LIM_POP3 LIM_SMTP LIM_ADDR < <(python3 -c '
import socket
low = None
for p in range(999, 600, -1):
    try:
        s = socket.socket(); s.bind(("127.0.0.1", p)); low = s; break
    except OSError:
        pass
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(low.getsockname()[1], *[s.getsockname()[1] for s in socks])
') || die "could not pick free ports"
	mkdir -p "$STATE/limits"
	chmod 755 "$STATE/limits"
	cat >"$STATE/limits/mailproxy.yaml" <<EOF
user: nobody nogroup
pid: $STATE/limits/mailproxy.pid
max_connections: 3
limit_conn_zone:
  - {key: \$remote_user, zone: "user:1m"}
  - {key: \$remote_addr, zone: "addr:1m"}
mail:
  auth_http: http://127.0.0.1:$AUTH_PORT/auth
  auth_http_header: {X-Auth-Key: "$SECRET"}
  max_commands: 5
servers:
  - protocol: imap
    listen: [127.0.0.1:$LIM_IMAP]
    limit_conn: [{zone: user, number: 1}]
  - protocol: pop3
    listen: [127.0.0.1:$LIM_POP3]
  - protocol: smtp
    server_name: proxy.$MAIL_DOMAIN
    listen: [127.0.0.1:$LIM_SMTP]
  - protocol: imap
    listen: [127.0.0.1:$LIM_ADDR]
    limit_conn: [{zone: addr, number: 1}]
EOF
	chmod 644 "$STATE/limits/mailproxy.yaml"
	start mailproxy-limits "$STATE/bin/mailproxy" -c "$STATE/limits/mailproxy.yaml"
	for p in "$LIM_IMAP" "$LIM_POP3" "$LIM_SMTP" "$LIM_ADDR"; do
		wait_listen mailproxy-limits "$p"
	done
	LIM_PID=$(cat "$STATE/mailproxy-limits.pid")
	NOBODY=$(id -u nobody)
	if awk -v u="$NOBODY" '/^Uid:/ { if ($2 != u || $3 != u || $4 != u || $5 != u) bad = 1 } END { exit bad }' /proc/"$LIM_PID"/task/*/status &&
		grep -q '^CapEff:[[:space:]]*0000000000000000$' /proc/"$LIM_PID"/status; then
		pass limits-runs-as-nobody
	else
		fail limits-runs-as-nobody "$(grep -h '^Uid:' /proc/"$LIM_PID"/task/*/status | sort -u | tr '\n' ' ') $(grep '^CapEff' /proc/"$LIM_PID"/status)"
	fi
	run_py limits 7 "$HERE/limits_clients.py" 127.0.0.1 "$LIM_IMAP" "$LIM_POP3" "$LIM_SMTP" "$LIM_ADDR" \
		"$MAIL_USER" "$MAIL_PASS"
	# curl at the cap reports the server's refusal: three connections
	# hold the cap meanwhile.
	python3 -c '
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(3)]
for s in socks:
    s.recv(100)
time.sleep(10)
' "$LIM_IMAP" &
	LIM_HOLDER=$!
	sleep 1
	timeout 30 curl -sv --user "$MAIL_USER:$MAIL_PASS" "imap://127.0.0.1:$LIM_IMAP/INBOX" >"$OUT/limits-curl.out" 2>"$OUT/limits-curl.trace"
	kill "$LIM_HOLDER" 2>/dev/null
	wait "$LIM_HOLDER" 2>/dev/null
	if grep -q '^< \* BYE \[UNAVAILABLE\] Too many connections, try again later' "$OUT/limits-curl.trace"; then
		pass limits-curl-try-later-at-cap
	else
		fail limits-curl-try-later-at-cap "$(trace_tail "$OUT/limits-curl.trace")"
	fi
	LIM_LOG="$STATE/log/mailproxy-limits.log"
	if grep -q 'connection refused: max_connections reached' "$LIM_LOG" &&
		grep -q 'limiting connections by zone \\"user\\"' "$LIM_LOG" &&
		grep -q 'limiting connections by zone \\"addr\\"' "$LIM_LOG" &&
		grep -q 'client sent too many commands' "$LIM_LOG"; then
		pass limits-logged
	else
		fail limits-logged "$(tail -n 5 "$LIM_LOG" | tr '\n' '|')"
	fi
	if alive "$LIM_PID"; then
		pass limits-still-running
	else
		fail limits-still-running "the limits mailproxy exited"
	fi
fi

# ================================================================ login throttling
# A third mailproxy with login_throttle in a real redis-server (Debian's,
# on a loopback port, its own directory), Dovecot behind it; real clients
# fail, are throttled, and the blocks are in the store
# (throttle_clients.py).
if want throttle; then
	read -r THR_IMAP THR_POP3 THR_REDIS < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
') || die "could not pick free ports"
	mkdir -p "$STATE/throttle/redis"
	start redis-throttle redis-server --port "$THR_REDIS" --bind 127.0.0.1 --dir "$STATE/throttle/redis" \
		--save "" --appendonly no --daemonize no
	wait_listen redis-throttle "$THR_REDIS"
	cat >"$STATE/throttle/mailproxy.yaml" <<EOF
pid: $STATE/throttle/mailproxy.pid
mail:
  auth_http: http://127.0.0.1:$AUTH_PORT/auth
  auth_http_header: {X-Auth-Key: "$SECRET"}
  imap_id: {}
  login_throttle:
    store: redis://127.0.0.1:$THR_REDIS/0
    user_ip: {failures: 3, window: 5m, block: 5m}
    exempt: [127.0.0.9]
servers:
  - protocol: imap
    listen: [127.0.0.1:$THR_IMAP]
  - protocol: pop3
    listen: [127.0.0.1:$THR_POP3]
EOF
	start mailproxy-throttle "$STATE/bin/mailproxy" -c "$STATE/throttle/mailproxy.yaml"
	for p in "$THR_IMAP" "$THR_POP3"; do
		wait_listen mailproxy-throttle "$p"
	done
	run_py throttle 5 "$HERE/throttle_clients.py" 127.0.0.1 "$THR_IMAP" "$THR_POP3" "$THR_REDIS" \
		"$MAIL_USER" "$MAIL_PASS" "$WAIT"
	THR_LOG="$STATE/log/mailproxy-throttle.log"
	if grep -q 'login throttled.*rule=user_ip' "$THR_LOG" && grep -q 'login throttle: block started' "$THR_LOG"; then
		pass throttle-logged
	else
		fail throttle-logged "$(tail -n 5 "$THR_LOG" | tr '\n' '|')"
	fi
fi

# ================================================================ cluster
# Two instances sharing a redis-server behind HAProxy: scripts/interop/cluster.sh.
if named cluster; then cluster_cases; fi

# ================================================================ the matrix
# matrix.py runs the cases concurrently (MATRIX_JOBS) and prints them in
# order; see its docstring for what each case checks.
if [ "${MATRIX:-1}" != 0 ]; then
	python3 - "$STATE/matrix.json" <<EOF || die "writing matrix.json failed"
import json, sys
json.dump({
    "user": "$MX_USER", "password": "$MX_PASS", "wait": $WAIT, "subject": "$SUBJECT",
    "small_uid": "$SMALL_UID", "tag": "$TAG", "out": "$OUT",
    "mail_from": "$MAIL_FROM", "mail_rcpt": "$MAIL_RCPT", "rcpt_maildir": "$RCPT_MAILDIR",
    "auth_json": "$AUTHREC_JSON", "dovecot_log": "$STATE/log/dovecot.log",
    "protocols": "$ONLY".split(),
    "ports": {
        "imap": {"direct": {"plain": $MX_IMAP, "tls": $MX_IMAPS},
                 "haproxy-v1": {"plain": $MX1_IMAP, "tls": $MX1_IMAPS},
                 "haproxy-v2": {"plain": $MX2_IMAP, "tls": $MX2_IMAPS}},
        "pop3": {"direct": {"plain": $MX_POP3, "tls": $MX_POP3S},
                 "haproxy-v1": {"plain": $MX1_POP3, "tls": $MX1_POP3S},
                 "haproxy-v2": {"plain": $MX2_POP3, "tls": $MX2_POP3S}},
        "smtp": {"direct": {"plain": $MX_SMTP, "tls": $MX_SMTPS},
                 "haproxy-v1": {"plain": $MX1_SMTP, "tls": $MX1_SMTPS},
                 "haproxy-v2": {"plain": $MX2_SMTP, "tls": $MX2_SMTPS}},
    },
}, open(sys.argv[1], "w"), indent=1)
EOF
	MX_CASES=$(python3 "$HERE/matrix.py" "$STATE/matrix.json" --list | wc -l)
	if [ "$MX_CASES" -gt 0 ]; then # none when only sieve was asked for
		echo "# matrix: $MX_CASES cases, ${MATRIX_JOBS:-12} at a time (named cases done after ${SECONDS}s)"
		RUN_PY_TIMEOUT=900 run_py matrix "$MX_CASES" "$HERE/matrix.py" "$STATE/matrix.json"
		echo "# matrix done after ${SECONDS}s"
	fi
fi

# ---------------------------------------------------------------- the proxy survived
if alive "$PROXY_PID"; then
	pass mailproxy-still-running
else
	fail mailproxy-still-running "mailproxy exited during the tests"
fi
if grep -qF -e "$TOKEN_PASS" -e "$TOKEN_FORWARD" -e "$TOKEN_REVOKED" "$STATE/log/mailproxy.log"; then
	fail mailproxy-log-no-tokens "a bearer token is in mailproxy.log"
else
	pass mailproxy-log-no-tokens
fi
if grep -Eq '^(panic:|fatal error:)|DATA RACE' "$STATE/log/mailproxy.log"; then
	fail mailproxy-log-clean "panic in mailproxy.log: $(grep -Em1 '^(panic:|fatal error:)|DATA RACE' "$STATE/log/mailproxy.log")"
else
	pass mailproxy-log-clean
fi
if [ -s "$STATE/log/mailproxy-up.log" ]; then
	if grep -Eq '^(panic:|fatal error:)|DATA RACE' "$STATE/log/mailproxy-up.log"; then
		fail mailproxy-up-log-clean "panic in mailproxy-up.log"
	elif grep -qF "$MAIL_PASS" "$STATE/log/mailproxy-up.log"; then
		fail mailproxy-up-log-clean "a password in mailproxy-up.log (debug level)"
	else
		pass mailproxy-up-log-clean
	fi
fi

[ -n "${CURL_DEFAULT_MECH:-}" ] && echo "# curl-default (imap) used: $CURL_DEFAULT_MECH"
[ -n "${CURL_POP3_DEFAULT:-}" ] && echo "# curl-pop3-default used: $CURL_POP3_DEFAULT"
[ -n "${CURL_SMTP_DEFAULT:-}" ] && echo "# curl-smtp-default used: $CURL_SMTP_DEFAULT"

summary
[ "$failed" -eq 0 ]
