#!/bin/sh
# fuzz-ci.sh: run every native fuzz target briefly, one package and one
# target at a time, and fail on the first finding. Meant for CI: the seed
# corpora (testdata/fuzz/<FuzzName>/ of each package) are run first by
# `go test -fuzz`, so a seed that regresses fails here at once.
#
#   FUZZTIME=3s   time per target (default 3s; any -fuzztime value)
#   GO=go         the go command
#   scripts/fuzz-ci.sh [PACKAGE...]   only these packages (default ./...)
#
# A finding is written by Go to testdata/fuzz/<FuzzName>/ of the package
# (the failing input, to be committed as a regression seed once fixed).
set -eu

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-3s}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

cd "$(dirname "$0")/.."

[ $# -gt 0 ] || set -- ./...
pkgs=$("$GO" list -f '{{.ImportPath}} {{.Dir}}' "$@")

start=$(date +%s)
tally=$(mktemp)
trap 'rm -f "$tally"' EXIT
# Targets are found in the source, not with `go test -list`: a package's
# TestMain may fail when no test runs (proxy's checks its session logs).
printf '%s\n' "$pkgs" | while read -r pkg dir; do
	targets=$(cat "$dir"/*_test.go 2>/dev/null |
		sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*\*testing\.F).*/\1/p')
	for f in $targets; do
		echo "== $pkg $f ($FUZZTIME)"
		if ! "$GO" test -run '^$' -fuzz "^$f\$" -fuzztime "$FUZZTIME" "$pkg"; then
			echo "FAIL: $pkg $f: failed above (a finding is saved under the package's testdata/fuzz/$f/)" >&2
			exit 1
		fi
		echo "$pkg $f" >>"$tally"
	done
done
echo "fuzz-ci: $(wc -l <"$tally") targets, $FUZZTIME each, $(($(date +%s) - start))s in all"
