#!/usr/bin/env bash
# kube-scheduler against a real apiserver and etcd, driven by the upstream kubectl: binding
# to a fitting node, taints and tolerations, node selectors, not-ready nodes, resources
# (with pods bound in a row counted before the informer sees them), unschedulable pods
# (condition + FailedScheduling event) that get scheduled once a node is added, and a
# restart that binds only pods still pending.
source "$(dirname "$0")/../harness/cluster.sh"

h_start_etcd
h_start_apiserver
k() { /usr/bin/kubectl --server="$H_API" "$@"; }
start_sched() { h_start scheduler "$H_BIN/kube-scheduler" --master="$H_API" --leader-elect=false -v=2; }

# node NAME CPU MEMORY READY [TAINTS-JSON] [LABELS-JSON]
node() {
	local name=$1 cpu=$2 mem=$3 ready=$4 taints=${5:-[]} labels=${6:-\{\}}
	k create -f - <<EOF2 >/dev/null
{"apiVersion":"v1","kind":"Node","metadata":{"name":"$name","labels":$labels},
 "spec":{"taints":$taints}}
EOF2
	k patch node "$name" --subresource=status --type=merge -p "{\"status\":{
		\"capacity\":{\"cpu\":\"$cpu\",\"memory\":\"$mem\",\"pods\":\"110\"},
		\"allocatable\":{\"cpu\":\"$cpu\",\"memory\":\"$mem\",\"pods\":\"110\"},
		\"conditions\":[{\"type\":\"Ready\",\"status\":\"$ready\",\"reason\":\"KubeletReady\"}]}}" >/dev/null
}

# pod NAME CPU [EXTRA-SPEC-JSON-FIELDS] [EXTRA-CONTAINER-JSON-FIELDS]
pod() {
	local name=$1 cpu=$2 extra=${3:-} cextra=${4:-}
	k create -f - <<EOF2 >/dev/null
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"$name","namespace":"default"},
 "spec":{"containers":[{"name":"c","image":"pause","resources":{"requests":{"cpu":"$cpu","memory":"64Mi"}}$cextra}]$extra}}
EOF2
}
node_of() { k get pod "$1" -o jsonpath='{.spec.nodeName}'; }

node n1 2 4Gi True '[]' '{"disk":"hdd"}'
node n2 4 8Gi True '[{"key":"dedicated","value":"gpu","effect":"NoSchedule"}]' '{"disk":"ssd"}'
node n3 16 64Gi False

start_sched
SCHED_PID=$H_LAST_PID

# An ordinary pod lands on the only ready, untainted node.
pod p1 100m
h_eventually 20 "p1 bound" "^n1$" node_of p1
h_eventually 20 "Scheduled event" "Successfully assigned default/p1 to n1" \
	k get events --field-selector involvedObject.name=p1 -o jsonpath='{.items[*].message}'
h_expect "event reason and source" "Scheduled default-scheduler" \
	k get events --field-selector involvedObject.name=p1 -o jsonpath='{.items[0].reason} {.items[0].source.component}'

# Tolerating the taint and selecting ssd: n2.
pod gpu 100m ',"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"dedicated","operator":"Equal","value":"gpu","effect":"NoSchedule"}]'
h_eventually 20 "gpu pod on n2" "^n2$" node_of gpu

# Tolerating not-ready: n3 is allowed (and emptiest).
pod tolerant 100m ',"nodeSelector":{"kubernetes.io/hostname":"x"}'
pod anywhere 100m ',"tolerations":[{"operator":"Exists"}],"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchFields":[{"key":"metadata.name","operator":"In","values":["n3"]}]}]}}}'
h_eventually 20 "pod tolerating everything on n3" "^n3$" node_of anywhere

# Resources: two 900m pods fit n1 (2 cpu, 100m used) but a third does not; created at once,
# so the later ones are placed before the informer saw the first bound.
pod r1 900m
pod r2 900m
pod r3 900m
h_eventually 20 "r1 r2 bound" "^n1 n1$" sh -c "echo \$(/usr/bin/kubectl --server=$H_API get pod r1 r2 -o jsonpath='{.items[*].spec.nodeName}')"
h_eventually 20 "r3 unschedulable" "Unschedulable" \
	k get pod r3 -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}'
h_expect "r3 not bound" "^$" node_of r3
h_eventually 20 "FailedScheduling event" "0/3 nodes are available: 1 Insufficient cpu, 1 node\(s\) had untolerated taint \{dedicated: gpu\}, 1 node\(s\) had untolerated taint \{node.kubernetes.io/not-ready: \}\. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling\." \
	k get events --field-selector involvedObject.name=r3,reason=FailedScheduling -o jsonpath='{.items[*].message}'
h_eventually 20 "nodeSelector mismatch reported" "didn't match Pod's node affinity/selector" \
	k get pod tolerant -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'

# A new node: the pending pod is retried at once and lands there.
node n4 8 16Gi True
h_eventually 20 "r3 on the new node" "^n4$" node_of r3

# Restart: a pod created while the scheduler is down is bound; bound pods stay as they are.
kill "$SCHED_PID"
wait "$SCHED_PID" 2>/dev/null || true
pod late 100m
start_sched
h_eventually 20 "late pod bound after restart" "^n[14]$" node_of late
sleep 1
h_expect "p1 still on n1" "^n1$" node_of p1
h_expect "one Scheduled event for p1" "^1$" sh -c "/usr/bin/kubectl --server=$H_API get events --field-selector involvedObject.name=p1,reason=Scheduled -o name | grep -c ."

# Deleting a pod frees its room: r4 waits for it.
pod r4 3950m ',"nodeSelector":{"disk":"ssd"},"tolerations":[{"key":"dedicated","operator":"Exists"}]'
h_eventually 20 "r4 unschedulable" "Unschedulable" \
	k get pod r4 -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}'
k delete pod gpu --grace-period=0 --force >/dev/null 2>&1 || k delete pod gpu >/dev/null
h_eventually 30 "r4 on n2 once gpu is gone" "^n2$" node_of r4
# Host ports: the second pod asking for 8080 on hdd nodes (only n1) waits.
pod hp1 10m ',"nodeSelector":{"disk":"hdd"}' ',"ports":[{"containerPort":80,"hostPort":8080}]'
pod hp2 10m ',"nodeSelector":{"disk":"hdd"}' ',"ports":[{"containerPort":80,"hostPort":8080}]'
hp_state() { echo "$(node_of hp1)$(node_of hp2)"; }
h_eventually 20 "one of hp1, hp2 on n1" "^n1$" hp_state
h_eventually 20 "the other waits for the port" "didn't have free ports for the requested pod ports" \
	k get pod hp1 hp2 -o jsonpath='{.items[*].status.conditions[?(@.type=="PodScheduled")].message}'

# A control-plane node, the emptiest, takes no ordinary pod; a pod too big for the workers
# waits, with upstream's whole message.
node cp 8 16Gi True '[{"key":"node-role.kubernetes.io/control-plane","effect":"NoSchedule"}]'
pod small 10m
h_eventually 20 "small bound off the control plane" "^n[124]$" node_of small
pod big 7500m
msg="0/5 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 2 Insufficient cpu. preemption: 0/5 nodes are available: 2 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling."
big_msg() { k get pod big -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
h_eventually 20 "big unschedulable" "Insufficient" big_msg
[ "$(big_msg)" = "$msg" ] || h_fail "big: got \"$(big_msg)\""
echo "PASS"
