#!/usr/bin/env bash
# kube-scheduler keeps its lease under load: with a short lease (4 s, renew deadline 3 s,
# retry 1 s) and a burst of 3,000 pods on 200 nodes, the leader never loses the lease nor
# exits, and binds every pod. The elector renews over its own connections, so bindings
# filling the component's connection pool cannot delay it.
source "$(dirname "$0")/../harness/cluster.sh"

NODES=${CKUBE_TEST_NODES:-200}
PODS=${CKUBE_TEST_PODS:-3000}
h_start_etcd
h_start_apiserver
h_start sched "$H_BIN/kube-scheduler" --master="$H_API" --leader-elect=true \
	--leader-elect-lease-duration=4s --leader-elect-renew-deadline=3s \
	--leader-elect-retry-period=1s -v=1
SCHED=$H_LAST_PID
h_eventually 20 "scheduler leads" "acquired lease" cat "$H_TMP/sched.log"

# The nodes, then the pods, over 8 keep-alive connections.
python3 - "$H_API" "$NODES" "$PODS" <<'PY' || h_fail "creating nodes and pods"
import http.client, json, sys, threading, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
nodes, pods = int(sys.argv[2]), int(sys.argv[3])
def call(c, method, path, body, ctype="application/json"):
    c.request(method, path, json.dumps(body), {"Content-Type": ctype})
    r = c.getresponse()
    r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status}")
def node(c, i):
    call(c, "POST", "/api/v1/nodes", {"metadata": {"name": f"n{i}"}})
    call(c, "PATCH", f"/api/v1/nodes/n{i}/status", {"status": {
        "allocatable": {"cpu": "32", "memory": "64Gi", "pods": "16"},
        "conditions": [{"type": "Ready", "status": "True"}]}}, "application/merge-patch+json")
def pod(c, i):
    call(c, "POST", "/api/v1/namespaces/default/pods", {"metadata": {"name": f"p{i}"},
         "spec": {"containers": [{"name": "c", "image": "pause", "resources": {
             "requests": {"cpu": "100m", "memory": "100Mi"}}}]}})
def run(n, fn):
    def worker(w):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        for i in range(w, n, 8):
            fn(c, i)
    ts = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    [t.start() for t in ts]
    [t.join() for t in ts]
run(nodes, node)
run(pods, pod)
PY

unbound() {
	curl -sf "$H_API/api/v1/namespaces/default/pods" | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
print(len(items), sum(1 for p in items if not p["spec"].get("nodeName")))'
}
h_eventually 600 "every pod bound" "^$PODS 0$" unbound
kill -0 "$SCHED" 2>/dev/null || h_fail "the scheduler exited"
if grep -q "lost lease" "$H_TMP/sched.log"; then h_fail "the scheduler lost its lease"; fi
# No node holds more than its room allows (the assumed pods were counted).
most=$(curl -sf "$H_API/api/v1/namespaces/default/pods" | python3 -c '
import collections, json, sys
c = collections.Counter(p["spec"]["nodeName"] for p in json.load(sys.stdin)["items"])
print(max(c.values()))')
[ "$most" -le 16 ] || h_fail "a node got $most pods"
echo PASS
