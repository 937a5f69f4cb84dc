#!/usr/bin/env bash
# Installs a built mailproxy .deb on this machine, checks what it put
# there, then purges it and checks that nothing is left: the machine ends
# as it was (the mailproxy system user too, when this script created it).
# CI runs it after `make deb`; run it as root on Debian 12:
#
#   bash dist/deb/test-install.sh bin/mailproxy_*.deb
#
# Installs Debian's systemd package if systemd-analyze is missing (for
# `systemd-analyze verify`; systemd need not be running).
# Output: `PASS name` or `FAIL name: why` per check, then `N passed, N failed`.
# Exit status 1 if anything failed.
set -uo pipefail
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
export PATH="$PATH:/usr/sbin:/sbin"

if [ $# -ne 1 ] || [ ! -f "$1" ]; then
	echo "usage: $0 PACKAGE.deb" >&2
	exit 2
fi
DEB=$1
CONF=/etc/mailproxy/mailproxy.yaml
passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
check() { # check NAME COMMAND...: PASS if the command succeeds
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(echo "$out" | tail -5)"; fi
}

if dpkg -s mailproxy >/dev/null 2>&1; then
	echo "mailproxy is already installed here; not touching it" >&2
	exit 2
fi
user_existed=0
getent passwd mailproxy >/dev/null && user_existed=1

cleanup() {
	if dpkg -s mailproxy >/dev/null 2>&1; then
		dpkg --purge mailproxy >/dev/null 2>&1 || true
	fi
	if [ "$user_existed" = 0 ] && getent passwd mailproxy >/dev/null; then
		deluser --system --quiet mailproxy >/dev/null 2>&1 || true
		getent group mailproxy >/dev/null && delgroup --system --quiet mailproxy >/dev/null 2>&1
	fi
	return 0
}
trap cleanup EXIT

if ! command -v systemd-analyze >/dev/null 2>&1; then
	made_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		made_policy=1
	fi
	apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd >/dev/null
	[ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

# --- install
check "dpkg -i" dpkg -i "$DEB"
check "user mailproxy is a system user without a home" \
	sh -c 'set -e; e=$(getent passwd mailproxy); uid=$(echo "$e" | cut -d: -f3); [ "$uid" -lt 1000 ]; [ ! -d "$(echo "$e" | cut -d: -f6)" ]; getent group mailproxy >/dev/null'
check "binaries installed" sh -c 'test -x /usr/bin/mailproxy && test -x /usr/bin/mailproxy-auth'
want=$(dpkg-deb -f "$DEB" Version)
check "mailproxy -V is a release build" sh -c "mailproxy -V | grep -q 'mailproxy version' && ! mailproxy -V | grep -q 0.1.0-dev"
check "configuration is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' mailproxy | grep -q ' $CONF '"
check "/etc/mailproxy is root:mailproxy 0750" sh -c '[ "$(stat -c %U:%G:%a /etc/mailproxy)" = root:mailproxy:750 ]'
check "generated key is root:mailproxy 0640" sh -c '[ "$(stat -c %U:%G:%a /etc/mailproxy/key.pem)" = root:mailproxy:640 ]'
check "generated certificate is valid" openssl x509 -in /etc/mailproxy/cert.pem -noout -checkend 86400
check "mailproxy -t on the installed configuration" mailproxy -t -c "$CONF"
# As the unit's ExecStartPre runs it: the service user must read the
# configuration, the certificate and the key.
check "mailproxy -t as the mailproxy user" runuser -u mailproxy -- /usr/bin/mailproxy -t -c "$CONF"
check "systemd-analyze verify the installed unit" \
	sh -c 'out=$(systemd-analyze verify --man=no mailproxy.service 2>&1); [ -z "$out" ] || { echo "$out"; exit 1; }'
check "example socket unit shipped" test -f /usr/share/doc/mailproxy/examples/mailproxy.socket
check "Maintainer is a name and an address" sh -c "dpkg-deb -f '$DEB' Maintainer | grep -Eq '^[^<>]+ <[^@ <>]+@[^@ <>]+\.[a-z]+>\$' && ! dpkg-deb -f '$DEB' Maintainer | grep -q localhost"
check "copyright file" grep -q '^License: BSD-2-Clause' /usr/share/doc/mailproxy/copyright
check "docs the README links" test -f /usr/share/doc/mailproxy/docs/SPEC.md
check "man pages installed" sh -c 'gzip -t /usr/share/man/man8/mailproxy.8.gz && gzip -t /usr/share/man/man5/mailproxy.yaml.5.gz && zcat /usr/share/man/man8/mailproxy.8.gz | grep -q "^.TH MAILPROXY 8"'
check "the unit names the man pages" sh -c 'systemctl show -p Documentation mailproxy.service 2>/dev/null | grep -q "man:mailproxy(8) man:mailproxy.yaml(5)" || grep -q "^Documentation=man:mailproxy(8) man:mailproxy.yaml(5)" /lib/systemd/system/mailproxy.service'
check "systemd-analyze verify the mailproxy-auth unit" \
	sh -c 'out=$(systemd-analyze verify --man=no mailproxy-auth.service 2>&1); [ -z "$out" ] || { echo "$out"; exit 1; }'
check "users file is a conffile, root:mailproxy 0640" \
	sh -c "dpkg-query -W -f='\${Conffiles}' mailproxy | grep -q ' /etc/mailproxy/users ' && [ \"\$(stat -c %U:%G:%a /etc/mailproxy/users)\" = root:mailproxy:640 ]"
check "/var/log/mailproxy is mailproxy's" sh -c '[ "$(stat -c %U:%G:%a /var/log/mailproxy)" = mailproxy:mailproxy:750 ]'
# mailproxy-auth as its unit runs it: reads the users file as the
# mailproxy user and answers on 127.0.0.1:9000 with a hashed password.
check "mailproxy-auth answers from the installed users file" sh -c '
	set -e
	hash=$(printf "pw\n" | mailproxy-auth hash -cost 4)
	cp /etc/mailproxy/users /etc/mailproxy/users.test-install
	echo "alice $hash 127.0.0.1:143 imap" >>/etc/mailproxy/users
	runuser -u mailproxy -- /usr/bin/mailproxy-auth -users /etc/mailproxy/users -listen 127.0.0.1:19000 >/tmp/mailproxy-auth.test.log 2>&1 &
	pid=$!
	ok=1
	for i in 1 2 3 4 5 6 7 8 9 10; do
		if curl -s -D - -o /dev/null -H "Auth-Method: plain" -H "Auth-User: alice" -H "Auth-Pass: pw" -H "Auth-Protocol: imap" \
			-H "Auth-Login-Attempt: 1" -H "Client-IP: 127.0.0.1" http://127.0.0.1:19000/auth | grep -q "^Auth-Status: OK"; then ok=0; break; fi
		sleep 0.3
	done
	kill "$pid"; wait "$pid" 2>/dev/null || true
	mv /etc/mailproxy/users.test-install /etc/mailproxy/users
	exit $ok'

# --- reinstall keeps an edited configuration (config|noreplace)
echo "# edited by test-install" >>"$CONF"
check "dpkg -i again" dpkg -i "$DEB"
check "edited configuration kept" grep -q "edited by test-install" "$CONF"
check "certificate not regenerated over an existing one" test -f /etc/mailproxy/key.pem

# --- remove, then purge
check "dpkg -r" dpkg -r mailproxy
check "binaries gone after remove" sh -c '! test -e /usr/bin/mailproxy && ! test -e /lib/systemd/system/mailproxy.service'
check "configuration kept after remove" test -f "$CONF"
check "dpkg --purge" dpkg --purge mailproxy
check "/etc/mailproxy gone after purge" sh -c '! test -e /etc/mailproxy'
check "statoverride gone after purge" sh -c '! dpkg-statoverride --list /etc/mailproxy'
check "no unit state left" sh -c '! ls /etc/systemd/system/*/mailproxy.service /etc/systemd/system/*/mailproxy-auth.service /var/lib/systemd/deb-systemd-helper-enabled/*mailproxy* 2>/dev/null | grep -q .'
check "man pages gone after purge" sh -c '! test -e /usr/share/man/man8/mailproxy.8.gz'

echo "installed and purged mailproxy $want"
echo "deb: $passed passed, $failed failed"
[ "$failed" = 0 ]
