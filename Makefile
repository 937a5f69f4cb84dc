# mailproxy — the two commands a newcomer needs:
#   make run    start the self-contained demo (auth service + backends + proxy)
#   make test   run every test (unit, transcript, end-to-end, conformance, race)

GO       ?= go
BIN      ?= bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
export GOTOOLCHAIN := local

.PHONY: all build run test test-short vet vet-cross fmt-check lint interop cluster fuzz clean bench

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/mailproxy ./cmd/mailproxy
	$(GO) build -o $(BIN)/mailproxy-auth ./cmd/mailproxy-auth
	$(GO) build -o $(BIN)/mailproxy-demo ./cmd/mailproxy-demo

# DEMOFLAGS go to mailproxy-demo, e.g. DEMOFLAGS=-port-offset=1000 when
# its default ports (1143, 1993, 1110, 1995, 1587, 1465, 14190, 19100)
# are taken, or DEMOFLAGS='-imap 127.0.0.1:2143'.
DEMOFLAGS ?=
run: build
	$(BIN)/mailproxy-demo -mailproxy $(BIN)/mailproxy $(DEMOFLAGS)

# test runs every package, then the proxy package again with a goroutine
# per session (event_loops: off) instead of the default event loops.
test: fmt-check vet
	$(GO) test -race -count=1 -timeout 20m ./...
	MAILPROXY_TEST_EVENT_LOOPS=off $(GO) test -race -count=1 -timeout 10m ./proxy

test-short:
	$(GO) test -count=1 -short ./...

vet:
	$(GO) vet ./...
	@$(MAKE) --no-print-directory vet-cross

# vet-cross vets the tree as built for other systems, so that Linux-only
# code (epoll, ppoll, TIOCINQ, Pdeathsig) stays in _linux.go files with a
# fallback elsewhere. It only type-checks: nothing is run.
VET_GOOS ?= darwin freebsd
vet-cross:
	@for goos in $(VET_GOOS); do \
	  echo "GOOS=$$goos $(GO) vet ./..."; \
	  GOOS=$$goos $(GO) vet ./... || exit 1; \
	done

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# lint: vet plus gofmt; golangci-lint is used when it is installed.
lint: fmt-check vet
	@if command -v golangci-lint >/dev/null 2>&1; then golangci-lint run ./...; \
	else echo "golangci-lint not installed: ran go vet and gofmt only"; fi

interop: build
	./scripts/interop.sh

# cluster: two instances sharing a redis-server (throttling, limit_conn,
# TLS sessions) behind HAProxy, with Dovecot and Postfix behind them.
cluster: build
	MATRIX=0 ./scripts/interop.sh cluster

# bench measures mailproxy side by side with nginx's mail module and the
# backend itself and prints one table (about 10 minutes; nothing is left
# running). scripts/bench.sh installs Debian's nginx, libnginx-mod-mail,
# redis-server and strace when missing (as root, no system service started). BENCHFLAGS go to
# mailbench, e.g. `make bench BENCHFLAGS=-quick` or
# BENCHFLAGS='-figures imap-idle -idle-sessions 9000'.
BENCHFLAGS ?=
bench:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/mailproxy ./cmd/mailproxy
	$(GO) build -o $(BIN)/mailload ./e2e/cmd/mailload
	$(GO) build -o $(BIN)/mailbench ./e2e/cmd/mailbench
	BIN=$(BIN) ./scripts/bench.sh $(BENCHFLAGS)

# fuzz runs every fuzz target for FUZZTIME each (default 20s).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf $(BIN)

# deb builds bin/mailproxy_VERSION_ARCH.deb with nfpm (dist/nfpm.yaml):
# static binaries (CGO_ENABLED=0, so the package needs no libc version),
# the systemd unit, the example configuration and the maintainer scripts.
# The Debian version is git describe's, made valid: v1.2.3-4-gabc becomes
# 1.2.3+4.gabc, a bare commit hash 0.0.0+HASH. nfpm runs with `go run`,
# outside go.mod.
NFPM        ?= github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
DEB_VERSION ?= $(shell echo '$(VERSION)' | sed -E 's/^v([0-9])/\1/; /^[0-9]/!s/^/0.0.0+/; s/-/+/; s/-/./g')
# The Maintainer field: whoever builds the package, as git knows them.
DEB_MAINTAINER ?= $(shell git config user.name) <$(shell git config user.email)>
.PHONY: deb
deb:
	@case '$(DEB_MAINTAINER)' in *?' <'?*@?*'>') ;; *) \
	  echo "make deb: no maintainer: set DEB_MAINTAINER='Name <address>', or git's user.name and user.email" >&2; exit 1;; esac
	rm -rf $(BIN)/deb && mkdir -p $(BIN)/deb
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(BIN)/deb/mailproxy ./cmd/mailproxy
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(BIN)/deb/mailproxy-auth ./cmd/mailproxy-auth
	gzip -9n < docs/mailproxy.8 > $(BIN)/deb/mailproxy.8.gz
	gzip -9n < docs/mailproxy.yaml.5 > $(BIN)/deb/mailproxy.yaml.5.gz
	rm -f $(BIN)/mailproxy_*.deb
	DEB_VERSION='$(DEB_VERSION)' DEB_ARCH=$$($(GO) env GOARCH) DEB_BIN='$(BIN)/deb' DEB_MAINTAINER='$(DEB_MAINTAINER)' \
	  $(GO) run $(NFPM) package --config dist/nfpm.yaml --packager deb --target $(BIN)/
