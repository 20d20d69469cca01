#!/bin/bash
# The upstream kubectl (1.27, 1.32, 1.33), unmodified and without workaround flags, against
# kube-apiserver on a real etcd; plus the API's error shapes and watch semantics with curl.
# Everything runs in a temp dir on 127.0.0.1 and is stopped by PID.
set -euo pipefail

BIN=${CKUBE_BINARY_DIR:?CKUBE_BINARY_DIR must name the build dir}
SDK=/usr/lib/google-cloud-sdk/bin
TMP=$(mktemp -d /tmp/ckube-apiserver-kubectl.XXXXXX)
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	for f in "$TMP"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
	exit 1
}

# expect NAME PATTERN COMMAND...: runs the command; its output must match PATTERN.
expect() {
	local name=$1 pat=$2
	shift 2
	local out
	out=$("$@" 2>&1) || fail "$name: command failed: $* :: $out"
	grep -qE -- "$pat" <<<"$out" || fail "$name: expected /$pat/ in: $out"
}

# expect_fail NAME PATTERN COMMAND...: the command must fail with output matching PATTERN.
expect_fail() {
	local name=$1 pat=$2
	shift 2
	local out
	if out=$("$@" 2>&1); then fail "$name: command succeeded: $out"; fi
	grep -qE -- "$pat" <<<"$out" || fail "$name: expected /$pat/ in: $out"
}

# eventually NAME PATTERN COMMAND...: like expect, retried for up to 20 s (for effects of a
# command running in the background).
eventually() {
	local name=$1 pat=$2
	shift 2
	local out
	for _ in $(seq 100); do
		out=$("$@" 2>&1) && grep -qE -- "$pat" <<<"$out" && return 0
		sleep 0.2
	done
	fail "$name: expected /$pat/ within 20 s, last: $out"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- etcd and two apiservers on it ----
EP=$(free_port)
PP=$(free_port)
etcd --data-dir "$TMP/etcd" --listen-client-urls "http://127.0.0.1:$EP" \
	--advertise-client-urls "http://127.0.0.1:$EP" --listen-peer-urls "http://127.0.0.1:$PP" \
	--initial-advertise-peer-urls "http://127.0.0.1:$PP" \
	--initial-cluster "default=http://127.0.0.1:$PP" >"$TMP/etcd.log" 2>&1 &
PIDS+=($!)
curl -sf --retry 100 --retry-connrefused --retry-delay 1 --max-time 60 \
	"http://127.0.0.1:$EP/health" >/dev/null || fail "etcd did not start"

start_apiserver() {
	local port=$1 log=$2
	"$BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$EP" --secure-port=0 \
		--insecure-port="$port" --service-cluster-ip-range=10.96.0.0/28 >"$log" 2>&1 &
	PIDS+=($!)
	curl -sf --retry 100 --retry-connrefused --retry-delay 1 --max-time 60 \
		"http://127.0.0.1:$port/readyz" >/dev/null || fail "kube-apiserver did not start"
}
AP=$(free_port)
start_apiserver "$AP" "$TMP/apiserver.log"
S=http://127.0.0.1:$AP

cat >"$TMP/kubeconfig" <<EOK
apiVersion: v1
kind: Config
clusters:
- cluster: {server: "$S"}
  name: ckube
contexts:
- context: {cluster: ckube, user: admin}
  name: ckube
current-context: ckube
users:
- name: admin
  user: {}
EOK
export KUBECONFIG=$TMP/kubeconfig

# A stand-in kubelet serving /containerLogs/<ns>/<pod>/<container> as files.
KP=$(free_port)
mkdir -p "$TMP/kubelet"
(cd "$TMP/kubelet" && exec python3 -m http.server "$KP" --bind 127.0.0.1) >"$TMP/kubelet.log" 2>&1 &
PIDS+=($!)
curl -s --retry 100 --retry-connrefused --retry-delay 1 --max-time 60 -o /dev/null \
	"http://127.0.0.1:$KP/" || fail "stand-in kubelet did not start"

# ---- kubectl, every version ----
expect "empty node list" "No resources found" kubectl get nodes

for v in 1.27 1.32 1.33; do
	K=$SDK/kubectl.$v
	[ -x "$K" ] || fail "missing $K"
	ns=t${v/./-}
	node=node-${v/./-}
	expect "$v create ns" "namespace/$ns created" "$K" create namespace "$ns"
	expect "$v namespaces" "^$ns +Active" "$K" get ns

	cat >"$TMP/node-$v.yaml" <<EON
apiVersion: v1
kind: Node
metadata:
  name: $node
  labels: {node-role.kubernetes.io/worker: ""}
status:
  conditions: [{type: Ready, status: "True"}]
  addresses: [{type: InternalIP, address: 127.0.0.1}]
  daemonEndpoints: {kubeletEndpoint: {Port: $KP}}
  nodeInfo: {kubeletVersion: v$v.0, osImage: Debian, kernelVersion: "6.1", containerRuntimeVersion: "containerd://1.6.20"}
EON
	expect "$v apply node" "node/$node created" "$K" apply -f "$TMP/node-$v.yaml"
	expect "$v apply node again" "node/$node unchanged" "$K" apply -f "$TMP/node-$v.yaml"
	expect "$v node wide" "^$node +Ready +worker .* v$v.0 +127.0.0.1 +<none> +Debian +6.1 +containerd://1.6.20" \
		"$K" get nodes -o wide
	sed "s/name: $node/name: $node-b/" "$TMP/node-$v.yaml" >"$TMP/node-$v-b.yaml"
	expect "$v create -f node" "node/$node-b created" "$K" create -f "$TMP/node-$v-b.yaml"
	expect_fail "$v create existing" 'AlreadyExists|already exists' "$K" create -f "$TMP/node-$v-b.yaml"

	expect "$v run" "pod/nginx-pod created" "$K" run nginx-pod --image=nginx -n "$ns"
	expect "$v pods wide" "NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES" \
		"$K" get pods -o wide -n "$ns"
	expect "$v pod pending" "^nginx-pod +0/1 +Pending +0 " "$K" get pods -n "$ns"
	expect "$v pod defaults" "^Always ClusterFirst 30 default-scheduler Always$" "$K" get pod nginx-pod -n "$ns" \
		-o 'jsonpath={.spec.restartPolicy} {.spec.dnsPolicy} {.spec.terminationGracePeriodSeconds} {.spec.schedulerName} {.spec.containers[0].imagePullPolicy}'
	expect "$v label selector" "^nginx-pod " "$K" get pods -n "$ns" -l run=nginx-pod --no-headers
	expect "$v label selector miss" "No resources found" "$K" get pods -n "$ns" -l 'run in (x,y)'
	expect "$v field selector" "^pod/nginx-pod$" "$K" get pods -A --field-selector "status.phase=Pending,metadata.namespace=$ns" --no-headers -o name

	expect "$v create deployment" "deployment.apps/dpy-nginx created" "$K" create deployment dpy-nginx --image=nginx -n "$ns"
	expect "$v deployment defaults" "^1 RollingUpdate 25% 10 600$" "$K" get deploy dpy-nginx -n "$ns" \
		-o 'jsonpath={.spec.replicas} {.spec.strategy.type} {.spec.strategy.rollingUpdate.maxSurge} {.spec.revisionHistoryLimit} {.spec.progressDeadlineSeconds}'
	expect "$v scale" "deployment.apps/dpy-nginx scaled" "$K" scale deployment dpy-nginx --replicas=3 -n "$ns"
	expect "$v scaled" "^3 2$" "$K" get deploy dpy-nginx -n "$ns" -o 'jsonpath={.spec.replicas} {.metadata.generation}'
	expect "$v get deploy,rs,pods" "deployment.apps/dpy-nginx +0/3 +0 +0 " "$K" get deploy,rs,pods -n "$ns"
	expect "$v deploy wide" "^dpy-nginx +0/3 +0 +0 +[0-9]+s +nginx +nginx +app=dpy-nginx$" "$K" get deploy -o wide -n "$ns"

	# Watch: the event of a new pod arrives on a running `get --watch`.
	mkfifo "$TMP/watch-$v"
	timeout 60 "$K" get pods -n "$ns" --watch >"$TMP/watch-$v" 2>&1 &
	WP=$!
	exec 3<"$TMP/watch-$v"
	expect "$v run p2" "pod/p2 created" "$K" run p2 --image=busybox:1.36 -n "$ns"
	timeout 20 grep -m1 -q '^p2 ' <&3 || fail "$v watch: no event for p2"
	kill "$WP" 2>/dev/null || true
	wait "$WP" 2>/dev/null || true
	exec 3<&-

	expect "$v describe pod" "^Status: +Pending" "$K" describe pod nginx-pod -n "$ns"
	expect "$v describe deployment" "^Replicas: +3 desired" "$K" describe deployment dpy-nginx -n "$ns"
	expect "$v delete unbound" 'pod "nginx-pod" deleted' "$K" delete pod nginx-pod -n "$ns"
	expect_fail "$v gone" "NotFound|not found" "$K" get pod nginx-pod -n "$ns"

	# A bound pod is deleted gracefully: kubectl waits until the kubelet (here: curl)
	# deletes it with gracePeriodSeconds=0.
	curl -sf -XPOST -H 'Content-Type: application/json' "$S/api/v1/namespaces/$ns/pods/p2/binding" \
		-d "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"p2\"},\"target\":{\"kind\":\"Node\",\"name\":\"$node\"}}" >/dev/null ||
		fail "$v binding"
	expect "$v bound" "^$node True$" "$K" get pod p2 -n "$ns" -o 'jsonpath={.spec.nodeName} {.status.conditions[?(@.type=="PodScheduled")].status}'
	mkdir -p "$TMP/kubelet/containerLogs/$ns/p2"
	printf 'log line 1\nlog line 2\n' >"$TMP/kubelet/containerLogs/$ns/p2/p2"
	expect "$v logs" "^log line 1$" "$K" logs p2 -n "$ns"
	expect_fail "$v logs bad container" "container nope is not valid for pod p2" "$K" logs p2 -c nope -n "$ns"
	timeout 60 "$K" delete pod p2 -n "$ns" >"$TMP/delete-$v.out" 2>&1 &
	DP=$!
	eventually "$v terminating" "^p2 +0/1 +Terminating " "$K" get pod p2 -n "$ns" --no-headers
	expect "$v grace" "^30$" "$K" get pod p2 -n "$ns" -o 'jsonpath={.metadata.deletionGracePeriodSeconds}'
	kill -0 "$DP" || fail "$v kubectl delete returned before the pod was gone"
	curl -sf -XDELETE -H 'Content-Type: application/json' "$S/api/v1/namespaces/$ns/pods/p2" \
		-d '{"gracePeriodSeconds":0}' >/dev/null || fail "$v final delete"
	wait "$DP" || fail "$v kubectl delete of a bound pod failed: $(cat "$TMP/delete-$v.out")"
	grep -q 'pod "p2" deleted' "$TMP/delete-$v.out" || fail "$v delete output: $(cat "$TMP/delete-$v.out")"

	cat >"$TMP/event-$v.yaml" <<EOE
apiVersion: v1
kind: Event
metadata: {name: p2.abc, namespace: $ns}
involvedObject: {kind: Pod, name: p2, namespace: $ns}
reason: Scheduled
message: Successfully assigned $ns/p2 to $node
type: Normal
source: {component: default-scheduler}
count: 1
EOE
	expect "$v create event" "event/p2.abc created" "$K" create -f "$TMP/event-$v.yaml"
	expect "$v get events" "Normal +Scheduled +pod/p2 +Successfully assigned" "$K" get events -n "$ns"

	expect "$v create service" "service/web created" "$K" create service clusterip web --tcp=80:8080 -n "$ns"
	expect "$v expose" "service/dpy-nginx exposed" "$K" expose deployment dpy-nginx --port=80 -n "$ns"
	expect "$v services" "^web +ClusterIP +10\.96\.0\.([2-9]|1[0-4]) +<none> +80/TCP +[0-9]+s +app=web$" "$K" get svc -o wide -n "$ns"
	expect "$v service defaults" "^8080 TCP None Cluster$" "$K" get svc web -n "$ns" \
		-o 'jsonpath={.spec.ports[0].targetPort} {.spec.ports[0].protocol} {.spec.sessionAffinity} {.spec.internalTrafficPolicy}'
	expect "$v delete service" 'service "web" deleted' "$K" delete svc web -n "$ns"
	expect "$v delete deployment" 'deployment.apps "dpy-nginx" deleted' "$K" delete deployment dpy-nginx -n "$ns"
	expect "$v delete node" "node \"$node-b\" deleted" "$K" delete node "$node-b"
done

# ---- the API's own answers ----
api() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }
# check NAME CODE JQ-EXPR-ish: code and a substring of the body.
check() {
	local name=$1 want=$2 got=$3 pat=$4
	[ "$got" = "$want" ] || fail "$name: HTTP $got, want $want: $(cat "$TMP/body")"
	grep -qE -- "$pat" "$TMP/body" || fail "$name: expected /$pat/ in $(cat "$TMP/body")"
}
J='Content-Type: application/json'
check "404 object" 404 "$(api "$S/api/v1/namespaces/default/pods/nope")" \
	'^\{"kind":"Status","apiVersion":"v1","metadata":\{\},"status":"Failure","message":"pods \\"nope\\" not found","reason":"NotFound","details":\{"name":"nope","kind":"pods"\},"code":404\}$'
check "404 group" 404 "$(api "$S/apis/apps/v1/namespaces/default/deployments/nope")" \
	'"message":"deployments.apps \\"nope\\" not found".*"details":\{"name":"nope","group":"apps","kind":"deployments"\}'
check "404 path" 404 "$(api "$S/api/v1/frobs")" '"reason":"NotFound"'
check "404 namespace" 404 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/nons/pods" \
	-d '{"metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"i"}]}}')" 'namespaces \\"nons\\" not found'
POD='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"api1"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}'
check "201 create" 201 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/pods" -d "$POD")" '"uid":"[0-9a-f-]{36}".*"phase":"Pending"'
RV=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["resourceVersion"])' "$TMP/body")
check "409 exists" 409 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/pods" -d "$POD")" \
	'"message":"pods \\"api1\\" already exists","reason":"AlreadyExists"'
check "200 labels" 200 "$(api -XPATCH -H 'Content-Type: application/merge-patch+json' \
	"$S/api/v1/namespaces/default/pods/api1" -d '{"metadata":{"labels":{"a":"b"}}}')" '"labels":\{"a":"b"\}'
check "409 stale update" 409 "$(api -XPUT -H "$J" "$S/api/v1/namespaces/default/pods/api1" \
	-d "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"api1\",\"resourceVersion\":\"$RV\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}")" \
	'"reason":"Conflict".*"code":409'
check "status untouched by main" 200 "$(api -XPATCH -H 'Content-Type: application/merge-patch+json' \
	"$S/api/v1/namespaces/default/pods/api1" -d '{"status":{"phase":"Running"}}')" '"phase":"Pending"'
check "status subresource" 200 "$(api -XPATCH -H 'Content-Type: application/merge-patch+json' \
	"$S/api/v1/namespaces/default/pods/api1/status" -d '{"status":{"phase":"Running"},"spec":{"nodeName":"x"}}')" '"phase":"Running"'
grep -q '"nodeName"' "$TMP/body" && fail "status write changed spec"
check "json patch" 200 "$(api -XPATCH -H 'Content-Type: application/json-patch+json' \
	"$S/api/v1/namespaces/default/pods/api1" -d '[{"op":"add","path":"/metadata/labels/c","value":"d"}]')" '"c":"d"'
check "strategic patch" 200 "$(api -XPATCH -H 'Content-Type: application/strategic-merge-patch+json' \
	"$S/api/v1/namespaces/default/pods/api1" -d '{"spec":{"containers":[{"name":"c","image":"busybox:2"}]}}')" \
	'"containers":\[\{"name":"c","image":"busybox:2","imagePullPolicy":"Always"'
check "pod spec immutable" 422 "$(api -XPATCH -H 'Content-Type: application/merge-patch+json' \
	"$S/api/v1/namespaces/default/pods/api1" -d '{"spec":{"restartPolicy":"Never"}}')" \
	'"message":"Pod \\"api1\\" is invalid: spec: Forbidden: pod updates may not change fields other than'
check "422 name" 422 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/pods" \
	-d '{"metadata":{"name":"Bad_Name"},"spec":{"containers":[{"name":"c"}]}}')" \
	'"reason":"Invalid".*"causes":\[\{"reason":"FieldValueInvalid","message":"Invalid value: \\"Bad_Name\\": a lowercase RFC 1123 subdomain.*"field":"metadata.name"\},\{"reason":"FieldValueRequired","message":"Required value","field":"spec.containers\[0\].image"\}'
check "422 selector" 422 "$(api -XPOST -H "$J" "$S/apis/apps/v1/namespaces/default/deployments" \
	-d '{"metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"c"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}')" \
	'selector` does not match template `labels'
python3 -c 'print("{\"metadata\":{\"name\":\"big\",\"annotations\":{\"a\":\"" + "x" * 270000 + "\"}}}")' >"$TMP/big.json"
check "422 annotations" 422 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/configmaps" --data-binary @"$TMP/big.json")" \
	'metadata.annotations: Too long: must have at most 262144 bytes'
check "400 body" 400 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/pods" -d '{"metadata":')" '"reason":"BadRequest"'
check "400 pb" 400 "$(api -XPOST -H 'Content-Type: application/vnd.kubernetes.protobuf' "$S/api/v1/namespaces/default/pods" -d 'k8s')" '"reason":"BadRequest"'
check "405" 405 "$(api -XPUT -H "$J" "$S/api/v1/namespaces/default/pods" -d '{}')" '"reason":"MethodNotAllowed"'
check "406" 406 "$(api -H 'Accept: application/vnd.kubernetes.protobuf' "$S/api/v1/namespaces/default/pods")" '"reason":"NotAcceptable"'
check "415" 415 "$(api -XPATCH -H 'Content-Type: text/plain' "$S/api/v1/namespaces/default/pods/api1" -d 'x')" '"reason":"UnsupportedMediaType"'
check "400 selector" 400 "$(api "$S/api/v1/pods?labelSelector=a%20in%20(")" '"reason":"BadRequest"'
check "400 field" 400 "$(api "$S/api/v1/pods?fieldSelector=spec.bogus%3Dx")" 'field label not supported: spec.bogus'
check "table" 200 "$(api -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io' "$S/api/v1/namespaces/default/pods")" \
	'"kind":"Table".*"columnDefinitions":\[\{"name":"Name".*"rows":\[\{"cells":\["api1","0/1","Running","0",'
check "discovery" 200 "$(api "$S/api/v1")" '"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":\["create","delete","deletecollection","get","list","patch","update","watch"\],"shortNames":\["po"\],"categories":\["all"\]'
check "discovery apps" 200 "$(api "$S/apis/apps/v1")" '"name":"deployments/scale","singularName":"","namespaced":true,"group":"autoscaling","version":"v1","kind":"Scale"'
code=$(curl -s -o "$TMP/body" -w '%{http_code} %{content_type}' -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json' "$S/apis")
[ "$code" = "200 application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" ] || fail "aggregated discovery: $code"
check "aggregated v2" 200 200 '"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/v2".*"resource":"deployments","responseKind":\{"group":"apps","version":"v1","kind":"Deployment"\},"scope":"Namespaced".*"subresource":"scale","responseKind":\{"group":"autoscaling","version":"v1","kind":"Scale"\}'
check "aggregated v2beta1" 200 "$(api -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json' "$S/api")" \
	'"apiVersion":"apidiscovery.k8s.io/v2beta1","metadata":\{\},"items":\[\{"metadata":\{"name":""\},"versions":\[\{"version":"v1".*"resource":"pods".*"subresource":"binding"'
check "legacy /api" 200 "$(api "$S/api")" '^\{"kind":"APIVersions","versions":\["v1"\]'
check "version" 200 "$(api "$S/version")" '"major":"1","minor":"32"'
# /version tells the build: the commit built (this checkout's), its state and the platform.
if commit=$(git -C "${CKUBE_SOURCE_DIR:?}" rev-parse HEAD 2>/dev/null); then
	check "version commit" 200 "$(api "$S/version")" \
		"\"gitCommit\":\"$commit\",\"gitTreeState\":\"(clean|dirty)\",\"buildDate\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z\".*\"platform\":\"linux/[a-z0-9]+\""
fi
check "scale create" 201 "$(api -XPOST -H "$J" "$S/apis/apps/v1/namespaces/default/deployments" \
	-d '{"metadata":{"name":"sc"},"spec":{"replicas":2,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}')" '"replicas":2'
check "scale" 200 "$(api "$S/apis/apps/v1/namespaces/default/deployments/sc/scale")" \
	'"kind":"Scale","apiVersion":"autoscaling/v1".*"spec":\{"replicas":2\},"status":\{"replicas":0,"selector":"a=b"\}'

# events.k8s.io/v1 Events are the core/v1 Events under other names.
check "events.k8s.io create" 201 "$(api -XPOST -H "$J" "$S/apis/events.k8s.io/v1/namespaces/default/events" \
	-d '{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"ev2"},"regarding":{"kind":"Pod","name":"api1"},"note":"hi there","reason":"R","type":"Normal","reportingController":"c","reportingInstance":"i","action":"A","eventTime":"2026-01-01T00:00:00.000000Z"}')" \
	'"apiVersion":"events.k8s.io/v1".*"note":"hi there"'
check "events.k8s.io as core" 200 "$(api "$S/api/v1/namespaces/default/events/ev2")" \
	'"apiVersion":"v1".*"involvedObject":\{"kind":"Pod","name":"api1"\},"message":"hi there"'
check "events.k8s.io selector" 200 "$(api "$S/apis/events.k8s.io/v1/events?fieldSelector=regarding.name%3Dapi1")" '"name":"ev2"'

# Cluster IPs are unique across apiservers and come back when a service goes; the first
# address is the "kubernetes" service's.
check "kubernetes service" 200 "$(api "$S/api/v1/namespaces/default/services/kubernetes")" \
	'"clusterIP":"10.96.0.1".*"ports":\[\{"name":"https","port":443,"protocol":"TCP","targetPort":6443\}\]'
check "taken cluster IP" 422 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/services" \
	-d '{"metadata":{"name":"fixed2"},"spec":{"clusterIP":"10.96.0.1","ports":[{"port":443}]}}')" \
	'spec.clusterIP: Invalid value: \\"10.96.0.1\\": provided IP is already allocated'
check "out of range IP" 422 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/services" \
	-d '{"metadata":{"name":"fixed3"},"spec":{"clusterIP":"10.1.0.1","ports":[{"port":443}]}}')" \
	'The range of valid IPs is 10.96.0.0/28'
check "dynamic cluster IP" 201 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/services" \
	-d '{"metadata":{"name":"dyn"},"spec":{"ports":[{"port":443}]}}')" '"clusterIP":"10.96.0.([2-9]|1[0-4])"'
IP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["spec"]["clusterIP"])' "$TMP/body")
check "cluster IP immutable" 200 "$(api -XPATCH -H 'Content-Type: application/merge-patch+json' \
	"$S/api/v1/namespaces/default/services/dyn" -d '{"spec":{"clusterIP":"10.96.0.15"}}')" "\"clusterIP\":\"$IP\""
check "delete service" 200 "$(api -XDELETE "$S/api/v1/namespaces/default/services/dyn")" '"name":"dyn"'
check "IP given back" 201 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/services" \
	-d "{\"metadata\":{\"name\":\"again\"},\"spec\":{\"clusterIP\":\"$IP\",\"ports\":[{\"port\":80}]}}")" "\"clusterIP\":\"$IP\""
# A deleted namespace takes its objects along and gives its services' IPs back.
check "ns create" 201 "$(api -XPOST -H "$J" "$S/api/v1/namespaces" -d '{"metadata":{"name":"gone"}}')" '"phase":"Active"'
check "svc in ns" 201 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/gone/services" \
	-d '{"metadata":{"name":"s"},"spec":{"ports":[{"port":80}]}}')" '"clusterIP"'
IP2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["spec"]["clusterIP"])' "$TMP/body")
check "ns dry-run delete" 200 "$(api -XDELETE "$S/api/v1/namespaces/gone?dryRun=All")" '"name":"gone"'
check "ns kept" 200 "$(api "$S/api/v1/namespaces/gone/services/s")" '"name":"s"'
check "ns delete" 200 "$(api -XDELETE "$S/api/v1/namespaces/gone")" '"name":"gone"'
eventually "ns content gone" '"items":\[\]' curl -s "$S/api/v1/namespaces/gone/services"
eventually "ns IP given back" '"clusterIP":"'"$IP2"'"' curl -s -XPOST -H "$J" "$S/api/v1/namespaces/default/services" \
	-d "{\"metadata\":{\"name\":\"reuse\"},\"spec\":{\"clusterIP\":\"$IP2\",\"ports\":[{\"port\":80}]}}"
check "system ns kept" 403 "$(api -XDELETE "$S/api/v1/namespaces/kube-system")" 'this namespace may not be deleted'
for i in $(seq 11); do
	api -XPOST -H "$J" "$S/api/v1/namespaces/default/services" \
		-d "{\"metadata\":{\"name\":\"fill$i\"},\"spec\":{\"ports\":[{\"port\":80}]}}" >/dev/null
done
check "range full" 500 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/services" \
	-d '{"metadata":{"name":"one-too-many"},"spec":{"ports":[{"port":80}]}}')" 'failed to allocate spec.clusterIP: range is full'

# Node ports: one per port of NodePort services, unique, given back with the service.
check "node ports" 201 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/services" \
	-d '{"metadata":{"name":"np"},"spec":{"type":"NodePort","clusterIP":"None","ports":[{"name":"a","port":80,"nodePort":30080},{"name":"b","port":81}]}}')" \
	'"nodePort":30080.*"nodePort":(3[0-2][0-9]{3})'
check "node port taken" 422 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/services" \
	-d '{"metadata":{"name":"np2"},"spec":{"type":"NodePort","clusterIP":"None","ports":[{"port":80,"nodePort":30080}]}}')" \
	'spec.ports\[0\].nodePort: Invalid value: \\"30080\\": provided port is already allocated'
check "node port range" 422 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/services" \
	-d '{"metadata":{"name":"np3"},"spec":{"type":"NodePort","clusterIP":"None","ports":[{"port":80,"nodePort":80}]}}')" \
	'The range of valid ports is 30000-32767'
check "node port service gone" 200 "$(api -XDELETE "$S/api/v1/namespaces/default/services/np")" '"name":"np"'
eventually "node port given back" '"nodePort":30080' curl -s -XPOST -H "$J" "$S/api/v1/namespaces/default/services" \
	-d '{"metadata":{"name":"np4"},"spec":{"type":"NodePort","clusterIP":"None","ports":[{"port":80,"nodePort":30080}]}}'
check "node port column" 200 "$(api -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io' "$S/api/v1/namespaces/default/services/np4")" \
	'"cells":\["np4","NodePort","None","<none>","80:30080/TCP"'

# dryRun answers as the write would, and stores nothing.
check "dry-run patch" 200 "$(api -XPATCH -H 'Content-Type: application/merge-patch+json' \
	"$S/api/v1/namespaces/default/pods/api1?dryRun=All" -d '{"metadata":{"labels":{"dry":"run"}}}')" '"dry":"run"'
check "dry-run delete" 200 "$(api -XDELETE "$S/api/v1/namespaces/default/pods/api1?dryRun=All")" '"name":"api1"'
check "dry-run create" 201 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/configmaps?dryRun=All" \
	-d '{"metadata":{"name":"dry"}}')" '"name":"dry"'
check "dry-run stored nothing" 200 "$(api "$S/api/v1/namespaces/default/pods/api1")" '"name":"api1"'
grep -q '"dry"' "$TMP/body" && fail "dry-run patch was stored"
check "dry-run created nothing" 404 "$(api "$S/api/v1/namespaces/default/configmaps/dry")" 'not found'

check "delete precondition" 409 "$(api -XDELETE -H "$J" "$S/api/v1/namespaces/default/pods/api1" \
	-d '{"preconditions":{"uid":"not-this-one"}}')" \
	'Precondition failed: UID in precondition: not-this-one, UID in object meta: [0-9a-f-]{36}'

# Finalizers hold a delete until they are removed.
check "finalizer create" 201 "$(api -XPOST -H "$J" "$S/api/v1/namespaces/default/configmaps" \
	-d '{"metadata":{"name":"fin","finalizers":["x/y"]}}')" '"finalizers"'
check "finalizer delete" 200 "$(api -XDELETE "$S/api/v1/namespaces/default/configmaps/fin")" '"deletionTimestamp"'
check "finalizer kept" 200 "$(api "$S/api/v1/namespaces/default/configmaps/fin")" '"deletionTimestamp"'
check "finalizer removed" 200 "$(api -XPATCH -H 'Content-Type: application/merge-patch+json' \
	"$S/api/v1/namespaces/default/configmaps/fin" -d '{"metadata":{"finalizers":null}}')" '"name":"fin"'
check "finalizer gone" 404 "$(api "$S/api/v1/namespaces/default/configmaps/fin")" 'not found'

# A list at resourceVersion=0 comes from the watch cache: the same objects.
check "list rv=0" 200 "$(api "$S/api/v1/namespaces/default/pods?resourceVersion=0&labelSelector=a%3Db")" \
	'^\{"kind":"PodList","apiVersion":"v1","metadata":\{"resourceVersion":"[0-9]+"\},"items":\[\{"kind":"Pod".*"name":"api1"'
check "list rv=0 table" 200 "$(api -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io' "$S/api/v1/nodes?resourceVersion=0")" \
	'"rows":\[\{"cells":\["node-1-27","Ready","worker"'

# Watch: from a list's resourceVersion, with timeoutSeconds ending the stream.
api "$S/api/v1/namespaces/default/pods" >/dev/null
LRV=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["resourceVersion"])' "$TMP/body")
api -XPATCH -H 'Content-Type: application/merge-patch+json' "$S/api/v1/namespaces/default/pods/api1" \
	-d '{"metadata":{"labels":{"w":"1"}}}' >/dev/null
check "watch from rv" 200 "$(api --max-time 20 "$S/api/v1/namespaces/default/pods?watch=1&resourceVersion=$LRV&timeoutSeconds=1")" \
	'^\{"type":"MODIFIED","object":\{"kind":"Pod".*"w":"1"'
check "watch one object" 200 "$(api --max-time 20 "$S/api/v1/watch/namespaces/default/pods/api1?timeoutSeconds=1")" \
	'^\{"type":"ADDED","object":\{"kind":"Pod","apiVersion":"v1","metadata":\{"name":"api1"'
code=$(api --max-time 20 "$S/api/v1/pods?watch=true&labelSelector=w%3D2&resourceVersion=$LRV&timeoutSeconds=1")
[ "$code" = 200 ] && [ ! -s "$TMP/body" ] || fail "watch selector: HTTP $code: $(cat "$TMP/body")"

# A second apiserver on the same etcd serves the same objects; its watch cache starts now,
# so an old resourceVersion is answered 410 Gone as an ERROR event.
AP2=$(free_port)
start_apiserver "$AP2" "$TMP/apiserver2.log"
check "second apiserver" 200 "$(api "http://127.0.0.1:$AP2/api/v1/namespaces/default/pods/api1")" '"name":"api1"'
check "410" 200 "$(api --max-time 20 "http://127.0.0.1:$AP2/api/v1/pods?watch=1&resourceVersion=2&timeoutSeconds=5")" \
	'^\{"type":"ERROR","object":\{"kind":"Status","apiVersion":"v1","metadata":\{\},"status":"Failure","message":"too old resource version: 2 \([0-9]+\)","reason":"Expired","code":410\}\}$'

# ---- TLS: client certificates to the apiserver, and the apiserver's to a kubelet ----
pki() { # pki NAME SUBJECT [SAN]: a key and a certificate signed by the test CA
	openssl req -newkey rsa:2048 -nodes -keyout "$TMP/$1.key" -out "$TMP/$1.csr" -subj "$2" 2>/dev/null
	if [ -n "${3:-}" ]; then printf 'subjectAltName=%s' "$3" >"$TMP/$1.ext"; else : >"$TMP/$1.ext"; fi
	openssl x509 -req -in "$TMP/$1.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" -CAcreateserial \
		-out "$TMP/$1.crt" -days 1 -extfile "$TMP/$1.ext" 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/ca.key" -out "$TMP/ca.crt" -days 1 -subj /CN=ca 2>/dev/null
pki apiserver /CN=kube-apiserver IP:127.0.0.1
pki admin "/O=system:masters/CN=admin"
pki kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
pki kubelet /CN=tls-node IP:127.0.0.1
TP=$(free_port)
cat >"$TMP/tls_kubelet.py" <<EOP
import http.server, os, ssl
os.chdir("$TMP/kubelet")
srv = http.server.HTTPServer(("127.0.0.1", $TP), http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("$TMP/kubelet.crt", "$TMP/kubelet.key")
ctx.load_verify_locations("$TMP/ca.crt")
ctx.verify_mode = ssl.CERT_REQUIRED
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
EOP
python3 "$TMP/tls_kubelet.py" >"$TMP/tls_kubelet.log" 2>&1 &
PIDS+=($!)
curl -s --retry 100 --retry-connrefused --retry-delay 1 --max-time 60 --cacert "$TMP/ca.crt" \
	--cert "$TMP/kubelet-client.crt" --key "$TMP/kubelet-client.key" -o /dev/null \
	"https://127.0.0.1:$TP/" || fail "stand-in TLS kubelet did not start"
SP=$(free_port)
"$BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$EP" --bind-address=127.0.0.1 --secure-port="$SP" \
	--tls-cert-file="$TMP/apiserver.crt" --tls-private-key-file="$TMP/apiserver.key" \
	--client-ca-file="$TMP/ca.crt" --kubelet-client-certificate="$TMP/kubelet-client.crt" \
	--kubelet-client-key="$TMP/kubelet-client.key" --kubelet-certificate-authority="$TMP/ca.crt" \
	--service-cluster-ip-range=10.96.0.0/28 >"$TMP/apiserver-tls.log" 2>&1 &
PIDS+=($!)
curl -sf --retry 100 --retry-connrefused --retry-delay 1 --max-time 60 --cacert "$TMP/ca.crt" \
	-o /dev/null "https://127.0.0.1:$SP/readyz" || fail "TLS apiserver did not start"
cat >"$TMP/kubeconfig-tls" <<EOK
apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://127.0.0.1:$SP", certificate-authority: "$TMP/ca.crt"}
  name: tls
contexts:
- context: {cluster: tls, user: admin}
  name: tls
current-context: tls
users:
- name: admin
  user: {client-certificate: "$TMP/admin.crt", client-key: "$TMP/admin.key"}
EOK
export KUBECONFIG=$TMP/kubeconfig-tls
expect "tls get ns" "^default +Active" kubectl get ns
cat >"$TMP/tls-node.yaml" <<EON
apiVersion: v1
kind: Node
metadata: {name: tls-node}
status:
  addresses: [{type: InternalIP, address: 127.0.0.1}]
  daemonEndpoints: {kubeletEndpoint: {Port: $TP}}
EON
expect "tls node" "node/tls-node created" kubectl apply -f "$TMP/tls-node.yaml"
expect "tls run" "pod/tlspod created" kubectl run tlspod --image=busybox
curl -sf --cacert "$TMP/ca.crt" --cert "$TMP/admin.crt" --key "$TMP/admin.key" -XPOST -H "$J" \
	"https://127.0.0.1:$SP/api/v1/namespaces/default/pods/tlspod/binding" \
	-d '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"tlspod"},"target":{"kind":"Node","name":"tls-node"}}' \
	>/dev/null || fail "tls binding"
mkdir -p "$TMP/kubelet/containerLogs/default/tlspod"
echo "over tls" >"$TMP/kubelet/containerLogs/default/tlspod/tlspod"
expect "logs through a TLS kubelet" "^over tls$" kubectl logs tlspod

echo "PASS"
