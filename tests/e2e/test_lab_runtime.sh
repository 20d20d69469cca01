#!/usr/bin/env bash
# e2e: the lab itself, without ckube's components (deploy/lab up --runtime-only).
#
# Two workers with their own containerd; through CRI (deploy/lab cri, no kubelet):
#   1. the images are deterministic (two builds, same bytes);
#   2. PullImage of `nginx` and `busybox` goes through the lab registry mirror, and an
#      image the registry lacks fails;
#   3. an nginx pod on each worker: its welcome page from inside its node, from the other
#      node (pod routes), from the host (host routes) and from the other pod;
#   4. no default route anywhere: nodes and pods cannot reach 8.8.8.8;
#   5. deploy/lab down leaves the machine as it was (namespaces, links, mounts, iptables,
#      routes, cgroups, processes).
# Env: CKUBE_SOURCE_DIR, CKUBE_BINARY_DIR (set by ctest).
set -euo pipefail

SRC=${CKUBE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${CKUBE_BINARY_DIR:-$SRC/build}
LAB=$SRC/deploy/lab

# shellcheck source=tests/e2e/lib.sh
. "$SRC/tests/e2e/lib.sh"
e2e_preflight test_lab_runtime

DIR=$(mktemp -d /tmp/ckube-e2e.XXXXXX)
export CKUBE_LAB_DIR=$DIR
PASSED=0
FAILED=0
CURRENT=
BEFORE=$(snapshot)

finish() {
	local rc=$?
	trap - EXIT
	if [[ $rc -ne 0 ]]; then
		echo "not ok - ${CURRENT:-setup}" >&2
		FAILED=$((FAILED + 1))
		"$LAB" status >&2 || true
		local f
		for f in "$DIR"/logs/*.log; do
			[[ -f $f ]] || continue
			echo "---- last lines of $f ----" >&2
			tail -n 30 "$f" >&2
		done
	fi
	"$LAB" down --dir "$DIR" --purge >&2 || true
	local after
	after=$(snapshot)
	if [[ $after != "$BEFORE" ]]; then
		echo "not ok - 5 deploy/lab down leaves the machine as it was:" >&2
		diff <(echo "$BEFORE") <(echo "$after") >&2 || true
		FAILED=$((FAILED + 1))
	else
		echo "ok - 5 deploy/lab down leaves the machine as it was"
		PASSED=$((PASSED + 1))
	fi
	rm -rf "$DIR" "${IMG1:-}" "${IMG2:-}"
	echo "$PASSED passed, $FAILED failed"
	[[ $FAILED -eq 0 ]] || exit 1
	exit "$rc"
}
trap finish EXIT

check() {
	CURRENT=$1
	echo "# $CURRENT"
}
pass() {
	echo "ok - $CURRENT"
	PASSED=$((PASSED + 1))
	CURRENT=
}
fail() {
	echo "FAIL: $CURRENT: $*" >&2
	exit 1
}

PAUSE=$BIN/deploy/images/pause/pause
if [[ ! -x $PAUSE ]]; then
	cmake -S "$SRC" -B "$BIN" >/dev/null
	cmake --build "$BIN" --target pause >/dev/null
fi

check "1 the images are deterministic"
IMG1=$(mktemp -d /tmp/ckube-img.XXXXXX)
IMG2=$(mktemp -d /tmp/ckube-img.XXXXXX)
"$SRC/deploy/images/build" "$IMG1" --pause "$PAUSE"
"$SRC/deploy/images/build" "$IMG2" --pause "$PAUSE"
for t in pause busybox nginx; do
	[[ -s $IMG1/$t.tar ]] || fail "$t.tar missing"
	cmp -s "$IMG1/$t.tar" "$IMG2/$t.tar" || fail "$t.tar differs between two builds"
	tar -tf "$IMG1/$t.tar" | grep -x index.json >/dev/null || fail "$t.tar has no index.json"
	tar -xOf "$IMG1/$t.tar" index.json | grep '"io.containerd.image.name"' >/dev/null ||
		fail "$t.tar: no io.containerd.image.name annotation"
done
pass

up_args=(up --runtime-only --workers 2 --dir "$DIR" --build-dir "$BIN")
if [[ -n ${CKUBE_BINARY_DIR:-} ]]; then
	up_args+=(--no-build)
fi
CURRENT="deploy/lab up --runtime-only"
"$LAB" "${up_args[@]}" || fail "deploy/lab up --runtime-only failed"

check "2 PullImage through the lab registry mirror"
for n in 1 2; do
	"$LAB" cri "w$n-k8s" pull nginx || fail "w$n-k8s: PullImage nginx"
	"$LAB" cri "w$n-k8s" pull busybox || fail "w$n-k8s: PullImage busybox"
	if "$LAB" cri "w$n-k8s" pull no-such-image:1 2>/dev/null; then
		fail "w$n-k8s: PullImage of an image the registry lacks succeeded"
	fi
done
pass

check "3 an nginx pod per worker answers from its node, the other node, the host and the other pod"
declare -A IP SBX
for n in 1 2; do
	read -r sid _ ip < <("$LAB" cri "w$n-k8s" smoke nginx) || fail "w$n-k8s: CRI smoke pod"
	[[ $ip =~ ^10\.244\.$n\.[0-9]+$ ]] || fail "w$n-k8s: pod IP '$ip' not in 10.244.$n.0/24"
	IP[$n]=$ip
	SBX[$n]=$sid
done
# (no grep -q in a pipe: its early exit would fail the pipeline under pipefail)
welcome() { grep "Welcome to nginx!" >/dev/null; }
for n in 1 2; do
	for m in 1 2; do
		"$LAB" ssh "w$m-k8s" curl -s -m 5 "http://${IP[$n]}/" | welcome ||
			fail "w$m-k8s cannot reach the pod ${IP[$n]} on w$n-k8s"
	done
	curl -s -m 5 "http://${IP[$n]}/" | welcome || fail "the host cannot reach the pod ${IP[$n]}"
done
# pod to pod: from w1's pod network namespace (its pause process) to w2's pod
pause_pid=$("$LAB" ssh w1-k8s ctr -n k8s.io tasks ls | awk -v id="${SBX[1]}" '$1 == id {print $2}')
[[ -n $pause_pid ]] || fail "no task for w1's sandbox"
# (busybox 1.35 wget crashes with -T: bound it with timeout instead)
timeout 10 nsenter -t "$pause_pid" -n /bin/busybox wget -q -O - "http://${IP[2]}/" | welcome ||
	fail "w1's pod cannot reach w2's pod"
pass

check "4 no default route in the nodes and the pods"
for n in 1 2; do
	if "$LAB" ssh "w$n-k8s" ip route get 8.8.8.8 >/dev/null 2>&1; then
		fail "w$n-k8s has a route to 8.8.8.8"
	fi
	if "$LAB" ssh "w$n-k8s" ip route | grep '^default' >/dev/null; then
		fail "w$n-k8s has a default route"
	fi
done
if nsenter -t "$pause_pid" -n ip route get 8.8.8.8 >/dev/null 2>&1; then
	fail "w1's pod has a route to 8.8.8.8"
fi
if nsenter --net=/run/netns/ckube-m-k8s ip route get 8.8.8.8 >/dev/null 2>&1; then
	fail "m-k8s has a route to 8.8.8.8"
fi
for n in 1 2; do
	"$LAB" cri "w$n-k8s" teardown "${SBX[$n]}" || fail "w$n-k8s: teardown of the smoke pod"
done
pass
CURRENT=
