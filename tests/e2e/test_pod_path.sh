#!/usr/bin/env bash
# e2e: the pod path on the lab, checked with the upstream kubectl.
#
# Brings up the lab (deploy/lab) with one worker in a temporary directory, then:
#   1. kubectl get nodes lists w1-k8s Ready;
#   2. kubectl run nginx-pod --image=nginx is Running with a pod IP, and nginx's welcome
#      page answers at that IP from inside the node, and kubectl logs shows the request;
#   3. a deployment scaled to 3: three Running pods with their own IPs on w1-k8s
#      (kubectl get pods -o wide), each a real nginx process under the node's containerd;
#   4. a deleted pod is replaced;
#   5. a container that exits is restarted and restartCount shows it (a busybox pod
#      that exits, and an nginx whose process is killed);
#   6. deleting the deployment removes its ReplicaSet, pods, containers and sandboxes
#      from the API and from containerd;
#   7. deploy/lab down leaves the machine as it was.
# Then the same core checks with kubectl 1.27 and 1.33, a pod with a missing image
# (ErrImagePull / ImagePullBackOff), and a fault test (scheduler, controller-manager,
# kubelet and containerd killed and restarted: convergence, no duplicate pods).
# Env: CKUBE_SOURCE_DIR, CKUBE_BINARY_DIR (set by ctest); CKUBE_E2E_KEEP=1 keeps the lab
# up after the run (for debugging; run `deploy/lab down --dir DIR --purge` after).
set -euo pipefail

SRC=${CKUBE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${CKUBE_BINARY_DIR:-$SRC/build}
LAB=$SRC/deploy/lab
K132=/usr/bin/kubectl
K127=/usr/lib/google-cloud-sdk/bin/kubectl.1.27
K133=/usr/lib/google-cloud-sdk/bin/kubectl.1.33
NODE=w1-k8s

# shellcheck source=tests/e2e/lib.sh
. "$SRC/tests/e2e/lib.sh"
e2e_preflight test_pod_path

DIR=$(mktemp -d /tmp/ckube-e2e.XXXXXX)
export CKUBE_LAB_DIR=$DIR
KUBECONFIG=$DIR/admin.conf
export KUBECONFIG
PASSED=0
FAILED=0
CURRENT=

BEFORE=$(snapshot)

dump_logs() {
	echo "---- state at failure ----" >&2
	"$LAB" status >&2 2>&1 || true
	"$K132" get nodes -o wide >&2 2>&1 || true
	"$K132" get all -A -o wide >&2 2>&1 || true
	"$K132" get events -A >&2 2>&1 || true
	"$LAB" cri "$NODE" pods >&2 2>&1 || true
	"$LAB" cri "$NODE" containers >&2 2>&1 || true
	local f
	for f in "$DIR"/logs/*.log; do
		[[ -f $f ]] || continue
		echo "---- last lines of $f ----" >&2
		tail -n 40 "$f" >&2
	done
}

finish() {
	local rc=$?
	trap - EXIT
	if [[ $rc -ne 0 && -n $CURRENT ]]; then
		echo "not ok - $CURRENT" >&2
		FAILED=$((FAILED + 1))
	fi
	if [[ $FAILED -gt 0 || $rc -ne 0 ]]; then
		dump_logs
	fi
	if [[ ${CKUBE_E2E_KEEP:-0} == 1 ]]; then
		echo "lab kept in $DIR (deploy/lab down --dir $DIR --purge)" >&2
	else
		"$LAB" down --dir "$DIR" --purge >&2 || true
		local after
		after=$(snapshot)
		if [[ $after != "$BEFORE" ]]; then
			echo "not ok - 7 deploy/lab down leaves the machine as it was:" >&2
			diff <(echo "$BEFORE") <(echo "$after") >&2 || true
			FAILED=$((FAILED + 1))
		elif [[ $rc -eq 0 && $FAILED -eq 0 ]]; then
			echo "ok - 7 deploy/lab down leaves the machine as it was"
			PASSED=$((PASSED + 1))
		fi
		rm -rf "$DIR"
	fi
	echo "$PASSED passed, $FAILED failed"
	if [[ $FAILED -gt 0 ]]; then
		exit 1
	fi
	exit "$rc"
}
trap finish EXIT

# check NAME: the start of a check (a failure inside it is reported with NAME).
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

# kc KUBECTL ARGS...: a kubectl with a request timeout.
kc() {
	local k=$1
	shift
	"$k" --request-timeout=10s "$@"
}
k() { kc "$K132" "$@"; }

nginx_logged() { kc "$1" logs nginx-pod | grep -q '"GET / HTTP/1.1" 200'; }

# until_ok SECONDS WHAT COMMAND...: poll COMMAND (every 0.5 s) until it succeeds.
until_ok() {
	local secs=$1 what=$2
	shift 2
	local end=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= end)); then
			fail "timed out after ${secs}s waiting for $what"
		fi
		sleep 0.5
	done
}

node_ready_in_table() {
	# the server-side table: NAME STATUS ROLES AGE VERSION
	kc "$1" get nodes --no-headers | awk -v n="$NODE" '$1 == n && $2 == "Ready" {f=1} END {exit !f}'
}

pod_running() {
	local k=$1 pod=$2
	[[ $(kc "$k" get pod "$pod" -o 'jsonpath={.status.phase}') == Running ]] &&
		[[ -n $(kc "$k" get pod "$pod" -o 'jsonpath={.status.podIP}') ]]
}

# running_pods K SELECTOR: names of the Running pods with a pod IP (not being deleted).
running_pods() {
	kc "$1" get pods -l "$2" -o \
		'jsonpath={range .items[?(@.status.phase=="Running")]}{.metadata.name} {.status.podIP} {.metadata.deletionTimestamp}{"\n"}{end}' |
		awk 'NF == 2 {print $1}'
}

count_running() {
	[[ $(running_pods "$1" "$2" | wc -l) -eq $3 ]]
}

no_pods() {
	[[ -z $(kc "$1" get pods -l "$2" -o name) ]]
}

# The node's view through CRI: sandboxes "ID STATE NS NAME UID", containers
# "ID STATE SANDBOX NAME ATTEMPT".
cri_pods() { "$LAB" cri "$NODE" pods; }
cri_containers() { "$LAB" cri "$NODE" containers; }

# a pod's containerd container ID (from containerStatuses, "containerd://ID")
container_id() {
	local id
	id=$(k get pod "$1" -o 'jsonpath={.status.containerStatuses[0].containerID}')
	echo "${id#*://}"
}

# task_pid ID: the PID of a running containerd task in the node.
task_pid() {
	"$LAB" ssh "$NODE" ctr -n k8s.io tasks ls | awk -v id="$1" '$1 == id && $3 == "RUNNING" {print $2}'
}

# column_of NAME: the values of a table column, found by its header's position
# (RESTARTS may read "1 (5s ago)", so fields cannot be counted).
column_of() {
	awk -v name="$1" 'NR == 1 { s = index($0 " ", " " name " ") + 1; next }
		{ r = substr($0, s); sub(/[ \t].*/, "", r); print r }'
}

restart_count() {
	k get pod "$1" -o 'jsonpath={.status.containerStatuses[0].restartCount}'
}
restarted() {
	local n
	n=$(restart_count "$1")
	[[ -n $n && $n -ge 1 ]] && pod_running "$K132" "$1"
}

# ---------------------------------------------------------------------------
echo "# lab up in $DIR"
t0=$SECONDS
up_args=(up --workers 1 --dir "$DIR" --build-dir "$BIN")
if [[ -n ${CKUBE_BINARY_DIR:-} ]]; then
	up_args+=(--no-build)
fi
if ! "$LAB" "${up_args[@]}"; then
	CURRENT="lab up"
	fail "deploy/lab up failed"
fi
echo "# lab up took $((SECONDS - t0)) s"

check "1 kubectl get nodes lists $NODE Ready"
until_ok 120 "$NODE Ready" node_ready_in_table "$K132"
k get nodes -o wide
pass

check "2 kubectl run nginx-pod --image=nginx: Running, with a pod IP serving nginx's welcome page"
k run nginx-pod --image=nginx
until_ok 120 "nginx-pod Running with an IP" pod_running "$K132" nginx-pod
ip=$(k get pod nginx-pod -o 'jsonpath={.status.podIP}')
[[ $(k get pod nginx-pod -o 'jsonpath={.spec.nodeName}') == "$NODE" ]] || fail "nginx-pod not on $NODE"
page=$("$LAB" ssh "$NODE" curl -s -m 5 "http://$ip/") || fail "curl http://$ip/ from $NODE failed"
grep -q "Welcome to nginx!" <<<"$page" || fail "http://$ip/ did not answer nginx's welcome page: $page"
k get pod nginx-pod -o wide
# nginx logs the request to its stdout; the apiserver proxies the kubelet's log endpoint
until_ok 30 "kubectl logs nginx-pod shows the request" nginx_logged "$K132"
pass

check "3 deployment dpy-nginx scaled to 3: three Running pods, own IPs, real nginx under containerd"
k create deployment dpy-nginx --image=nginx
k scale deployment dpy-nginx --replicas=3
until_ok 180 "3 Running dpy-nginx pods" count_running "$K132" app=dpy-nginx 3
wide=$(k get pods -l app=dpy-nginx -o wide)
echo "$wide"
# columns: NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES
header=$(head -1 <<<"$wide")
[[ $header =~ ^NAME[[:space:]]+READY[[:space:]]+STATUS[[:space:]]+RESTARTS[[:space:]]+AGE[[:space:]]+IP[[:space:]]+NODE ]] ||
	fail "unexpected -o wide columns: $header"
ips=$(column_of IP <<<"$wide" | sort -u)
[[ $(wc -l <<<"$ips") -eq 3 ]] || fail "expected 3 distinct pod IPs, got: $ips"
while read -r ipx; do
	[[ $ipx =~ ^10\.244\.1\.[0-9]+$ ]] || fail "pod IP $ipx not in $NODE's pod CIDR 10.244.1.0/24"
done <<<"$ips"
nodes=$(column_of NODE <<<"$wide" | sort -u)
[[ $nodes == "$NODE" ]] || fail "NODE column: $nodes"
for pod in $(running_pods "$K132" app=dpy-nginx); do
	cid=$(container_id "$pod")
	[[ -n $cid ]] || fail "$pod has no containerID"
	pid=$(task_pid "$cid")
	[[ -n $pid ]] || fail "$pod: no running containerd task $cid on $NODE"
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
	[[ $cmd == *nginx* ]] || fail "$pod: task $cid runs '$cmd', not nginx"
	ipx=$(k get pod "$pod" -o 'jsonpath={.status.podIP}')
	"$LAB" ssh "$NODE" curl -s -m 5 "http://$ipx/" | grep "Welcome to nginx!" >/dev/null ||
		fail "$pod ($ipx) does not serve the welcome page"
done
pass

check "4 a deleted pod is replaced"
victim=$(running_pods "$K132" app=dpy-nginx | awk "NR == 1")
k delete pod "$victim" --wait=false
replaced() {
	local names
	names=$(running_pods "$K132" app=dpy-nginx)
	[[ $(wc -l <<<"$names") -eq 3 ]] && ! grep -qx "$victim" <<<"$names"
}
until_ok 120 "a replacement for $victim" replaced
k get pods -l app=dpy-nginx -o wide
pass

check "5 an exiting container is restarted and restartCount shows it"
k run crasher --image=busybox -- sh -c 'sleep 2; exit 1'
crasher_restarted() {
	local n
	n=$(restart_count crasher)
	[[ -n $n && $n -ge 1 ]]
}
until_ok 150 "crasher's restartCount >= 1" crasher_restarted
k get pod crasher
# kill nginx-pod's nginx: the kubelet starts it again
cid=$(container_id nginx-pod)
pid=$(task_pid "$cid")
[[ -n $pid ]] || fail "nginx-pod: no running task"
kill -KILL "$pid"
until_ok 120 "nginx-pod restarted after its nginx was killed" restarted nginx-pod
k get pod nginx-pod
k delete pod crasher --wait=false
pass

check "6 deleting the deployment removes its ReplicaSet, pods, containers and sandboxes"
uids=$(k get pods -l app=dpy-nginx -o 'jsonpath={range .items[*]}{.metadata.uid}{"\n"}{end}')
[[ -n $uids ]] || fail "no dpy-nginx pods"
k delete deployment dpy-nginx
gone_from_api() {
	[[ -z $(k get replicasets -l app=dpy-nginx -o name) ]] && no_pods "$K132" app=dpy-nginx
}
until_ok 120 "dpy-nginx's ReplicaSet and pods gone from the API" gone_from_api
gone_from_node() {
	local sandboxes cont uid sid
	sandboxes=$(cri_pods) || return 1
	for uid in $uids; do
		if grep -q " $uid\$" <<<"$sandboxes"; then
			return 1
		fi
	done
	# every container left belongs to a sandbox that is left
	cont=$(cri_containers) || return 1
	while read -r _ _ sid _; do
		[[ -n $sid ]] || continue
		grep -q "^$sid " <<<"$sandboxes" || return 1
	done <<<"$cont"
}
until_ok 120 "dpy-nginx's sandboxes and containers gone from containerd" gone_from_node
cri_pods
pass

# ---------------------------------------------------------------------------
# The core checks with other kubectl versions.
core_checks() {
	local kv=$1 v=$2
	check "kubectl $v: nodes Ready, a pod Running, a deployment of 2, deletion"
	[[ -x $kv ]] || fail "$kv missing"
	until_ok 30 "$NODE Ready ($v)" node_ready_in_table "$kv"
	kc "$kv" run "pod-$v" --image=nginx
	until_ok 120 "pod-$v Running" pod_running "$kv" "pod-$v"
	kc "$kv" get pods -o wide
	kc "$kv" create deployment "dpy-$v" --image=nginx --replicas=2
	until_ok 120 "2 Running dpy-$v pods" count_running "$kv" "app=dpy-$v" 2
	kc "$kv" get deployment "dpy-$v"
	kc "$kv" delete deployment "dpy-$v"
	kc "$kv" delete pod "pod-$v" --wait=false
	until_ok 120 "dpy-$v pods gone" no_pods "$kv" "app=dpy-$v"
	pass
}
core_checks "$K127" 1-27
core_checks "$K133" 1-33

check "a pod with a missing image shows ErrImagePull or ImagePullBackOff"
# an image the lab registry does not have (resolved through the mirror: nothing leaves the machine)
k run noimage --image=no-such-image:1
pull_error() {
	local r
	r=$(k get pod noimage -o 'jsonpath={.status.containerStatuses[0].state.waiting.reason}')
	[[ $r == ErrImagePull || $r == ImagePullBackOff ]]
}
until_ok 120 "noimage waiting with ErrImagePull/ImagePullBackOff" pull_error
k get pod noimage
k delete pod noimage --wait=false
pass

check "fault: scheduler, controller-manager, kubelet and containerd killed and restarted converge without duplicates"
k create deployment fault --image=nginx --replicas=2
until_ok 120 "2 Running fault pods" count_running "$K132" app=fault 2
first=$(running_pods "$K132" app=fault)
for c in kube-scheduler kube-controller-manager "$NODE.kubelet" "$NODE.containerd"; do
	read -r pid _ <"$DIR/run/$c.pid"
	kill -KILL "$pid"
done
k scale deployment fault --replicas=3
"$LAB" up --workers 1 --dir "$DIR" --build-dir "$BIN" --no-build >/dev/null ||
	fail "deploy/lab up (restart of the killed components) failed"
until_ok 120 "3 Running fault pods after the restarts" count_running "$K132" app=fault 3
sleep 5
n=$(k get pods -l app=fault --no-headers | wc -l)
[[ $n -eq 3 ]] || fail "expected 3 fault pods after convergence, found $n"
[[ $(k get replicasets -l app=fault -o name | wc -l) -eq 1 ]] || fail "more than one ReplicaSet for fault"
sandboxes=$(cri_pods | awk '$2 == "SANDBOX_READY" && $4 ~ /^fault-/' | wc -l)
[[ $sandboxes -eq 3 ]] || fail "expected 3 ready fault sandboxes on $NODE, found $sandboxes"
# the pods that ran before the faults are the same pods, still running
now=$(running_pods "$K132" app=fault)
for pod in $first; do
	grep -qx "$pod" <<<"$now" || fail "$pod was not running after the restarts"
	[[ $(restart_count "$pod") -eq 0 ]] || fail "$pod's container was restarted by the faults"
done
k delete deployment fault
pass
