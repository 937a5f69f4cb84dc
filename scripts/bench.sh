#!/usr/bin/env bash
# scripts/bench.sh — run the side-by-side benchmark (`make bench`).
#
# Usage: scripts/bench.sh [mailbench flags...]      e.g. scripts/bench.sh -quick
#
# Installs Debian's nginx and its mail module (nginx, libnginx-mod-mail),
# redis-server (the attack-throttle figure's store) and strace (the budget
# figures' system calls), when they are missing and this runs as root; no
# system nginx or redis-server is started: a policy-rc.d that refuses every
# service start guards the install, and is removed afterwards only if this
# script created it. Without root and without nginx, the benchmark runs
# against the backend and mailproxy only; without redis-server,
# attack-throttle reports an error for its Redis run; without strace, the
# budget figures' system calls read —.
# Then runs bin/mailbench (built by `make bench`), which starts and stops
# every process it uses itself. Environment: BIN (default bin), NO_INSTALL=1
# to never install.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
POLICY_CREATED=0

cleanup() {
	if [ "$POLICY_CREATED" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
}
trap cleanup EXIT

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

install_nginx() {
	local missing=()
	command -v dpkg-query >/dev/null 2>&1 || return 0 # not Debian: use what is there
	pkg_installed nginx || missing+=(nginx)
	pkg_installed libnginx-mod-mail || missing+=(libnginx-mod-mail)
	pkg_installed redis-server || missing+=(redis-server)
	pkg_installed strace || missing+=(strace)
	[ ${#missing[@]} -gt 0 ] || return 0
	if [ "${NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" != 0 ]; then
		echo "bench.sh: ${missing[*]} missing and not installing (not root or NO_INSTALL=1): running without them" >&2
		return 0
	fi
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		# Keep the install from starting a system nginx on port 80 (or a redis-server).
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		POLICY_CREATED=1
	fi
	echo "bench.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	local log
	log=$(mktemp /tmp/mailbench-apt.XXXXXX)
	if ! { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
		echo "bench.sh: apt-get install ${missing[*]} failed (log: $log): running without them" >&2
	else
		rm -f "$log"
	fi
	if [ "$POLICY_CREATED" = 1 ]; then
		rm -f /usr/sbin/policy-rc.d
		POLICY_CREATED=0
	fi
}

install_nginx
exec "$BIN/mailbench" -mailproxy "$BIN/mailproxy" -mailload "$BIN/mailload" "$@"
