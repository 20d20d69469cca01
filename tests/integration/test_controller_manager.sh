#!/usr/bin/env bash
# kube-controller-manager against a real apiserver and etcd, driven by the upstream kubectl:
# Deployment -> ReplicaSet -> Pods, scale, self-healing, restart without duplicates,
# a new template rolls out a new ReplicaSet, and cascading deletion by the garbage collector;
# status writes of a burst are not made against stale copies (no conflicts).
source "$(dirname "$0")/../harness/cluster.sh"

h_start_etcd
h_start_apiserver -v=3
k() { /usr/bin/kubectl --server="$H_API" "$@"; }
start_cm() { h_start controller-manager "$H_BIN/kube-controller-manager" --master="$H_API" -v=2; }
start_cm
CM_PID=$H_LAST_PID

npods() { k get pods -l app=web -o name | grep -c . || true; }

# Ten pods at once: each pod event changes the ReplicaSet's status, and the Deployment's
# follows. A sync writes status only over the version its cache shows, after its previous
# write's event: no write may fail with a conflict (nobody else writes these objects).
h_expect "create a burst" "created" k create deployment burst --image=nginx --replicas=10
h_eventually 20 "burst status" "^10 10$" sh -c "/usr/bin/kubectl --server=$H_API get rs -l app=burst \
	-o jsonpath='{.items[0].status.replicas}' && echo -n ' ' && /usr/bin/kubectl --server=$H_API \
	get deploy burst -o jsonpath='{.status.replicas}'"
sleep 1
status_puts() { grep -c "verb=\"PUT\" URI=\"/apis/apps/v1/namespaces/default/$1/burst[^\"]*/status\".*resp=$2" "$H_TMP/apiserver.log" || true; }
# The ten creations go in batches of 1, 2, 4, 3 (upstream's slow start), each batch once
# the one before has returned: the first ends before any other begins, and never more
# than four are under way. Each request's span: its "HTTP" line's time less its latency.
create_spans() {
	grep 'verb="POST" URI="/api/v1/namespaces/default/pods" latency=' "$H_TMP/apiserver.log" |
		awk '{ split($2, t, ":"); e = t[1] * 3600 + t[2] * 60 + t[3]
			match($0, /latency="[0-9.]+ms"/); l = substr($0, RSTART + 9, RLENGTH - 12) / 1000
			printf "%.6f %.6f\n", e - l, e }' | sort -n | head -10
}
slow_start() {
	create_spans | awk '{ s[NR] = $1; e[NR] = $2 }
		END {
			if (NR != 10) { print "creates: " NR; exit }
			for (i = 2; i <= NR; i++) if (s[i] < e[1]) { print "overlap with the first"; exit }
			m = 0
			for (i = 1; i <= NR; i++) { c = 0; for (j = 1; j <= NR; j++) if (s[j] <= s[i] && e[j] > s[i]) c++; if (c > m) m = c }
			print "at most " m
		}'
}
h_expect "creations in slow-start batches" "^at most [1-4]$" slow_start
h_expect "replicaset status written" "^[1-9]" status_puts replicasets 200
h_expect "no conflicting replicaset status write" "^0$" status_puts replicasets 409
h_expect "no conflicting deployment status write" "^0$" status_puts deployments 409
h_expect "delete the burst" "deleted" k delete deployment burst
h_eventually 30 "burst collected" "^0$" sh -c "/usr/bin/kubectl --server=$H_API get pods -l app=burst -o name | grep -c . || true"

h_expect "create deployment" "created" k create deployment web --image=nginx --replicas=2
h_eventually 20 "replicaset created" "^web-[a-z0-9]+ +2 +2 " k get rs --no-headers
h_eventually 20 "two pods" "^2$" npods
h_expect "pods owned by the replicaset" "ReplicaSet" \
	k get pods -l app=web -o jsonpath='{.items[0].metadata.ownerReferences[0].kind}'
h_expect "pod-template-hash label" "[a-z0-9]" \
	k get pods -l app=web -o jsonpath='{.items[0].metadata.labels.pod-template-hash}'

h_expect "scale" "scaled" k scale deployment web --replicas=3
h_eventually 20 "three pods" "^3$" npods
h_eventually 20 "deployment status" "^3 3$" \
	k get deploy web -o jsonpath='{.status.replicas} {.status.updatedReplicas}'

victim=$(k get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
h_expect "delete a pod" "deleted" k delete pod "$victim"
h_eventually 20 "a replacement pod" "^3$" npods
h_expect "the victim is gone" "^$" sh -c "/usr/bin/kubectl --server=$H_API get pods -o name | grep -x pod/$victim || true"

# Restarting loses nothing and creates no duplicates.
kill "$CM_PID"
wait "$CM_PID" 2>/dev/null || true
start_cm
sleep 3
h_expect "still three pods after a restart" "^3$" npods
h_expect "one replicaset" "^1$" sh -c "/usr/bin/kubectl --server=$H_API get rs -o name | grep -c ."

# A new template makes a second ReplicaSet (its pods never become ready here: no kubelet,
# so the rollout stops at the surge).
h_expect "set image" "updated" k set image deployment/web nginx=busybox
h_eventually 20 "second replicaset" "^2$" sh -c "/usr/bin/kubectl --server=$H_API get rs -o name | grep -c ."
h_eventually 20 "revision annotation" "2" \
	k get deploy web -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}{.status.observedGeneration}'

# Cascading deletion (kubectl sends propagationPolicy=Background).
h_expect "delete deployment" "deleted" k delete deployment web
h_eventually 30 "replicasets collected" "^0$" sh -c "/usr/bin/kubectl --server=$H_API get rs -o name | grep -c . || true"
h_eventually 30 "pods collected" "^0$" npods
echo "test_controller_manager: passed"
