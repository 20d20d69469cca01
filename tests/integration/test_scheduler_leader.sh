#!/usr/bin/env bash
# kube-scheduler leader election on a Lease: of two schedulers one leads and binds; when it
# stops it hands the lease over and the other binds; a leader killed outright is replaced
# once its lease expires.
source "$(dirname "$0")/../harness/cluster.sh"

h_start_etcd
h_start_apiserver
k() { /usr/bin/kubectl --server="$H_API" "$@"; }
LE=(--leader-elect=true --leader-elect-lease-duration=3s --leader-elect-renew-deadline=2s --leader-elect-retry-period=300ms)
start_sched() { h_start "sched-$1" "$H_BIN/kube-scheduler" --master="$H_API" "${LE[@]}" -v=2; }

k create -f - >/dev/null <<EOF
{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"}}
EOF
k patch node n1 --subresource=status --type=merge -p '{"status":{"allocatable":{"cpu":"8","memory":"8Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null
pod() {
	k create -f - >/dev/null <<EOF
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"$1","namespace":"default"},"spec":{"containers":[{"name":"c","image":"pause"}]}}
EOF
}
node_of() { k get pod "$1" -o jsonpath='{.spec.nodeName}'; }
holder() { k get lease -n kube-system kube-scheduler -o jsonpath='{.spec.holderIdentity}'; }
leader_log() { grep -l "acquired lease" "$H_TMP"/sched-*.log 2>/dev/null | tr '\n' ' '; }

start_sched a
A=$H_LAST_PID
h_eventually 10 "a leads" "sched-a.log" leader_log
start_sched b
B=$H_LAST_PID
pod p1
h_eventually 10 "p1 bound" "^n1$" node_of p1
sleep 1
h_expect "b is not leading" "^[^ ]*sched-a.log $" leader_log
h_expect "lease held" "." holder

# A graceful stop hands the lease over at once.
kill -TERM "$A"
wait "$A" 2>/dev/null || true
h_eventually 5 "b leads" "sched-b.log" leader_log
pod p2
h_eventually 10 "p2 bound by b" "^n1$" node_of p2
grep -q "default/p2" "$H_TMP/sched-b.log" || h_fail "p2 was not bound by b"

# A leader killed outright: the other takes over after the lease duration.
start_sched c
C=$H_LAST_PID
sleep 1
kill -KILL "$B"
wait "$B" 2>/dev/null || true
pod p3
h_eventually 15 "c leads" "sched-c.log" leader_log
h_eventually 10 "p3 bound by c" "^n1$" node_of p3
grep -q "default/p3" "$H_TMP/sched-c.log" || h_fail "p3 was not bound by c"
echo PASS
