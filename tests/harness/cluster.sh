# Shell test harness: source it from tests/integration/test_*.sh.
#   h_start_etcd                  a real etcd on free loopback ports; sets H_ETCD
#   h_start_apiserver [ARGS...]   kube-apiserver on it, plain HTTP on 127.0.0.1; sets H_API
#   h_start NAME CMD...           any process, logged to $H_TMP/NAME.log, stopped on exit
#   h_expect / h_expect_fail / h_eventually   assertions that print logs on failure
# Everything lives in $H_TMP and every process started is stopped by PID on exit.
set -euo pipefail

H_BIN=${CKUBE_BINARY_DIR:?CKUBE_BINARY_DIR must name the build dir}
H_TMP=$(mktemp -d "/tmp/ckube-test.XXXXXX")
H_PIDS=()

h_cleanup() {
	local p
	for p in "${H_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${H_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$H_TMP"
}
trap h_cleanup EXIT

h_fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$H_TMP"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f" >&2
		tail -n 30 "$f" >&2
	done
	exit 1
}

# h_expect NAME PATTERN CMD...: CMD succeeds and its output matches PATTERN (ERE).
h_expect() {
	local name=$1 pat=$2 out
	shift 2
	out=$("$@" 2>&1) || h_fail "$name: command failed: $* :: $out"
	grep -qE -- "$pat" <<<"$out" || h_fail "$name: expected /$pat/ in: $out"
}

# h_expect_fail NAME PATTERN CMD...: CMD fails and its output matches PATTERN.
h_expect_fail() {
	local name=$1 pat=$2 out
	shift 2
	if out=$("$@" 2>&1); then h_fail "$name: command succeeded: $out"; fi
	grep -qE -- "$pat" <<<"$out" || h_fail "$name: expected /$pat/ in: $out"
}

# h_eventually SECONDS NAME PATTERN CMD...: like h_expect, retried until SECONDS pass.
h_eventually() {
	local secs=$1 name=$2 pat=$3 out="" end
	shift 3
	end=$((SECONDS + secs))
	while [ $SECONDS -le $end ]; do
		out=$("$@" 2>&1) && grep -qE -- "$pat" <<<"$out" && return 0
		sleep 0.2
	done
	h_fail "$name: expected /$pat/ within $secs s, last: $out"
}

h_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# h_start NAME CMD...: starts CMD in the background, logging to $H_TMP/NAME.log.
h_start() {
	local name=$1
	shift
	"$@" >"$H_TMP/$name.log" 2>&1 &
	H_PIDS+=($!)
	H_LAST_PID=$!
}

h_start_etcd() {
	local cp pp
	cp=$(h_free_port)
	pp=$(h_free_port)
	h_start etcd etcd --data-dir "$H_TMP/etcd" --listen-client-urls "http://127.0.0.1:$cp" \
		--advertise-client-urls "http://127.0.0.1:$cp" --listen-peer-urls "http://127.0.0.1:$pp" \
		--initial-advertise-peer-urls "http://127.0.0.1:$pp" \
		--initial-cluster "default=http://127.0.0.1:$pp"
	H_ETCD="http://127.0.0.1:$cp"
	curl -sf --retry 100 --retry-connrefused --retry-delay 1 --max-time 60 "$H_ETCD/health" \
		>/dev/null || h_fail "etcd did not start"
}

h_start_apiserver() {
	local port
	port=$(h_free_port)
	h_start apiserver "$H_BIN/kube-apiserver" --etcd-servers="$H_ETCD" --secure-port=0 \
		--insecure-port="$port" "$@"
	H_API="http://127.0.0.1:$port"
	curl -sf --retry 100 --retry-connrefused --retry-delay 1 --max-time 60 "$H_API/readyz" \
		>/dev/null || h_fail "kube-apiserver did not start"
}
