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
