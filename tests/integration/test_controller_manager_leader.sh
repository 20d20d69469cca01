#!/usr/bin/env bash
# kube-controller-manager leader election on the kube-controller-manager Lease: of two
# instances only the leader runs the controllers; a graceful stop hands the lease over at
# once; a leader killed outright is replaced once its lease expires; a leader whose lease
# is taken from it exits with code 1, as upstream.
source "$(dirname "$0")/../harness/cluster.sh"

h_start_etcd
h_start_apiserver
k() { /usr/bin/kubectl --server="$H_API" "$@"; }
LE=(--leader-elect-lease-duration=3s --leader-elect-renew-deadline=2s --leader-elect-retry-period=300ms)
start_cm() { h_start "cm-$1" "$H_BIN/kube-controller-manager" --master="$H_API" "${LE[@]}" -v=2; }
acting() { grep -l "controllers started" "$H_TMP"/cm-*.log 2>/dev/null | xargs -r -n1 basename | tr '\n' ' '; }
holder() { k get lease -n kube-system kube-controller-manager -o jsonpath='{.spec.holderIdentity}'; }
npods() { k get pods -l "app=$1" -o name | grep -c . || true; }

start_cm a
A=$H_LAST_PID
h_eventually 10 "a leads" "^cm-a.log $" acting
start_cm b
B=$H_LAST_PID
h_eventually 10 "b campaigns" "campaigning for kube-system/kube-controller-manager" cat "$H_TMP/cm-b.log"
h_expect "create deployment" "created" k create deployment web --image=nginx --replicas=2
h_eventually 20 "two pods" "^2$" npods web
sleep 1
h_expect "only a acts" "^cm-a.log $" acting
h_expect "lease held by a" "." holder
grep -q "default/web" "$H_TMP/cm-b.log" && h_fail "b synced web while not leading"

# A graceful stop hands the lease over at once.
kill -TERM "$A"
wait "$A" 2>/dev/null || true
h_eventually 5 "b acts" "cm-b.log" acting
h_expect "create web2" "created" k create deployment web2 --image=nginx --replicas=1
h_eventually 20 "web2's pod" "^1$" npods web2

# A leader killed outright: the other takes over after the lease duration.
start_cm c
C=$H_LAST_PID
h_eventually 10 "c campaigns" "campaigning for" cat "$H_TMP/cm-c.log"
kill -KILL "$B"
wait "$B" 2>/dev/null || true
h_eventually 15 "c acts" "cm-c.log" acting
h_expect "scale web2" "scaled" k scale deployment web2 --replicas=3
h_eventually 20 "web2 scaled by c" "^3$" npods web2

# The lease taken away (another holder, freshly renewed): c stops leading and exits 1.
now=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
k patch lease -n kube-system kube-controller-manager --type=merge \
	-p "{\"spec\":{\"holderIdentity\":\"intruder\",\"renewTime\":\"$now\",\"leaseDurationSeconds\":60}}" >/dev/null
gone() { if kill -0 "$C" 2>/dev/null; then echo running; else echo gone; fi; }
h_eventually 10 "c exits" "^gone$" gone
rc=0
wait "$C" || rc=$?
[ "$rc" = 1 ] || h_fail "c exited with $rc after losing the lease, want 1"
grep -q "leaderelection lost" "$H_TMP/cm-c.log" || h_fail "c did not log leaderelection lost"
echo PASS
