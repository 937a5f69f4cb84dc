# shellcheck shell=bash
# The cluster cases (`make cluster`, `scripts/interop.sh cluster`), sourced
# by interop.sh after its Dovecot, Postfix and auth service are up: Debian's
# redis-server on a loopback port with its own directory, two mailproxy
# instances (A and B) sharing it for login_throttle, limit_conn_store and
# ssl_session_store, and a private HAProxy balancing both with PROXY v2 and
# health checks. scripts/interop/cluster_clients.py drives the clients in
# three phases: store up, store stopped, store back (then instance A is
# killed under SMTP load). Everything started here is stopped by PID.

# cluster_cases runs the cluster cases.
cluster_cases() {
	local d="$STATE/cluster" inst port p
	mkdir -p "$d/redis"
	read -r REDIS_PORT CA_IMAP CA_LIM CA_IMAPS CA_SMTP CA_METRICS CB_IMAP CB_LIM CB_IMAPS CB_SMTP \
		CB_METRICS HC_IMAP HC_SMTP < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(13)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
') || die "could not pick free ports"
	[ -n "${HC_SMTP:-}" ] || die "could not pick free ports"
	# One set of ssl_session_ticket_key files for both instances: the TLS
	# session store's entries are encrypted with it.
	openssl rand 80 >"$d/ticket.key" 2>/dev/null || die "openssl rand failed"
	chmod 600 "$d/ticket.key"

	redis_start() {
		start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$d/redis" \
			--save "" --appendonly no --daemonize no
		wait_listen redis "$REDIS_PORT"
	}
	redis_start

	for inst in a b; do
		if [ $inst = a ]; then
			set -- "$CA_IMAP" "$CA_LIM" "$CA_IMAPS" "$CA_SMTP" "$CA_METRICS"
		else
			set -- "$CB_IMAP" "$CB_LIM" "$CB_IMAPS" "$CB_SMTP" "$CB_METRICS"
		fi
		cat >"$d/mailproxy-$inst.yaml" <<EOF
pid: $d/mailproxy-$inst.pid
metrics_listen: 127.0.0.1:$5
limit_conn_store: redis://127.0.0.1:$REDIS_PORT/0
limit_conn_zone: [{key: \$remote_user, zone: "user:1m"}]
mail:
  auth_http: http://127.0.0.1:$AUTHREC_PORT/auth
  auth_http_header: {X-Auth-Key: "$SECRET"}
  ssl_certificate: $STATE/cert.pem
  ssl_certificate_key: $STATE/key.pem
  ssl_session_tickets: off
  ssl_session_cache: shared:SSL:1m
  ssl_session_timeout: 10m
  ssl_session_ticket_key: [$d/ticket.key]
  ssl_session_store: redis://127.0.0.1:$REDIS_PORT/0
  set_real_ip_from: [127.0.0.0/8]
  login_throttle:
    store: redis://127.0.0.1:$REDIS_PORT/0
    ip: {failures: 5, window: 5m, block: 15m}
    user_ip: {failures: 5, window: 5m, block: 5m}
servers:
  - protocol: imap
    listen:
      - {address: "127.0.0.1:$1", proxy_protocol: true}
      - {address: "127.0.0.1:$3", ssl: true}
  - protocol: imap
    listen: [127.0.0.1:$2]
    limit_conn: [{zone: user, number: 1}]
  - protocol: smtp
    server_name: proxy.$MAIL_DOMAIN
    smtp_auth: [plain, login]
    listen: [{address: "127.0.0.1:$4", proxy_protocol: true}]
EOF
		"$STATE/bin/mailproxy" -t -c "$d/mailproxy-$inst.yaml" >"$OUT/cluster-$inst-t.txt" 2>&1 ||
			die "mailproxy -t refused the cluster configuration: $(tail -n 3 "$OUT/cluster-$inst-t.txt" | tr '\n' ' ')"
		start "mailproxy-cluster-$inst" "$STATE/bin/mailproxy" -c "$d/mailproxy-$inst.yaml"
		for port in "$1" "$2" "$3" "$4" "$5"; do
			wait_listen "mailproxy-cluster-$inst" "$port"
		done
	done

	# HAProxy in the foreground (-db), so that `start` owns its PID: round
	# robin over both instances with PROXY v2, health checks every 300 ms
	# that send the PROXY header too, and a redispatch when a server refuses.
	{
		printf 'global\n    maxconn 512\n\ndefaults\n    mode tcp\n    timeout connect 2s\n'
		printf '    timeout client 60s\n    timeout server 60s\n    retries 3\n    option redispatch 1\n\n'
		for p in imap smtp; do
			if [ $p = imap ]; then set -- "$HC_IMAP" "$CA_IMAP" "$CB_IMAP"; else set -- "$HC_SMTP" "$CA_SMTP" "$CB_SMTP"; fi
			printf 'listen cluster-%s\n    bind 127.0.0.1:%s\n    balance roundrobin\n' "$p" "$1"
			printf '    server a 127.0.0.1:%s send-proxy-v2 check check-send-proxy inter 300 fall 1 rise 2\n' "$2"
			printf '    server b 127.0.0.1:%s send-proxy-v2 check check-send-proxy inter 300 fall 1 rise 2\n\n' "$3"
		done
	} >"$d/haproxy.cfg"
	start haproxy-cluster haproxy -db -f "$d/haproxy.cfg"
	wait_listen haproxy-cluster "$HC_IMAP"
	wait_listen haproxy-cluster "$HC_SMTP"

	python3 - "$d/cluster.json" <<EOF || die "writing cluster.json failed"
import json, sys
json.dump({
    "user": "$MAIL_USER", "password": "$MAIL_PASS", "wait": $WAIT,
    "mail_from": "$MAIL_FROM", "mail_rcpt": "$MAIL_RCPT", "rcpt_maildir": "$RCPT_MAILDIR",
    "tag": "$TAG-cluster", "auth_json": "$AUTHREC_JSON", "out": "$OUT", "cert": "$STATE/cert.pem",
    "failures": 5,
    "haproxy": {"imap": $HC_IMAP, "smtp": $HC_SMTP},
    "a": {"imaps": $CA_IMAPS, "limited": $CA_LIM, "metrics": $CA_METRICS, "pidfile": "$d/mailproxy-a.pid"},
    "b": {"imaps": $CB_IMAPS, "limited": $CB_LIM, "metrics": $CB_METRICS, "pidfile": "$d/mailproxy-b.pid"},
}, open(sys.argv[1], "w"), indent=1)
EOF
	run_py cluster-up 4 "$HERE/cluster_clients.py" "$d/cluster.json" up
	stop_pid "$(cat "$STATE/redis.pid")"
	run_py cluster-down 1 "$HERE/cluster_clients.py" "$d/cluster.json" down
	redis_start
	run_py cluster-back 2 "$HERE/cluster_clients.py" "$d/cluster.json" back
	for inst in a b; do
		if grep -Eq '^(panic:|fatal error:)|DATA RACE' "$STATE/log/mailproxy-cluster-$inst.log"; then
			fail "cluster-$inst-log-clean" "panic in mailproxy-cluster-$inst.log"
		else
			pass "cluster-$inst-log-clean"
		fi
	done
}
