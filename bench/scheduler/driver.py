#!/usr/bin/env python3
"""bench/scheduler/driver.py API NODES PODS SCHED_PID [VARIANT [ETCD]]: the work of upstream's
scheduler_perf SchedulingBasic against a running apiserver and scheduler. Creates NODES
Node objects (no kubelet: status posted), then PODS pods over 8 keep-alive connections
while a watch records when each pod was first seen and first seen bound; prints pods
bound per second (create of the first to bind of the last), p50/p99 created->bound, and
the scheduler's CPU seconds and peak RSS. VARIANT "taints": 20 % of the nodes tainted
NoSchedule and every pod with required anti-affinity to the pods of its group of 10 by
hostname. ETCD: first measure etcd's own write ceiling (puts over its JSON gateway)."""
import base64
import http.client
import json
import sys
import threading
import time
import urllib.parse

api, n_nodes, n_pods, sched_pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
variant = sys.argv[5] if len(sys.argv) > 5 else ""
etcd = sys.argv[6] if len(sys.argv) > 6 else ""
u = urllib.parse.urlparse(api)
HDR = {"Content-Type": "application/json"}


def conn(url=u):
    return http.client.HTTPConnection(url.hostname, url.port, timeout=120)


def call(c, method, path, body=None, ctype="application/json"):
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": ctype})
    r = c.getresponse()
    data = r.read()
    if r.status >= 300 and r.status != 409:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return data


def parallel(n, fn, workers=8, conn_fn=conn):
    def run(w):
        c = conn_fn()
        for i in range(w, n, workers):
            fn(c, i)
    ts = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def make_node(c, i):
    name = f"node-{i}"
    spec = {}
    if variant == "taints" and i % 5 == 0:
        spec["taints"] = [{"key": "bench", "value": "x", "effect": "NoSchedule"}]
    call(c, "POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
         "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}, "spec": spec})
    status = {"status": {"capacity": {"cpu": "4", "memory": "32Gi", "pods": "110"},
                         "allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"},
                         "conditions": [{"type": "Ready", "status": "True"}]}}
    call(c, "PATCH", f"/api/v1/nodes/{name}/status", status, "application/merge-patch+json")


def pod_body(i):
    spec = {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                            "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]}
    labels = {"app": "bench", "group": f"g{i // 10}"}
    if variant == "taints":
        spec["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"group": labels["group"]}},
             "topologyKey": "kubernetes.io/hostname"}]}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"bench-{i}", "namespace": "default", "labels": labels},
            "spec": spec}


created, bound = {}, {}
done = threading.Event()


def watch(rv):
    c = conn()
    c.request("GET", f"/api/v1/namespaces/default/pods?watch=1&resourceVersion={rv}")
    r = c.getresponse()
    buf = b""
    while len(bound) < n_pods:
        chunk = r.read1(65536) if hasattr(r, "read1") else r.read(65536)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        now = time.monotonic()
        for line in lines:
            if not line.strip():
                continue
            obj = json.loads(line)["object"]
            name = obj["metadata"]["name"]
            created.setdefault(name, now)
            if obj.get("spec", {}).get("nodeName"):
                bound.setdefault(name, now)
    done.set()


def cpu_rss():
    with open(f"/proc/{sched_pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    tick = 100.0
    cpu = (int(parts[11]) + int(parts[12])) / tick
    rss = 0
    with open(f"/proc/{sched_pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) / 1024
    return cpu, rss


if etcd:
    eu = urllib.parse.urlparse(etcd)

    def put(c, i):
        key = base64.b64encode(f"/bench/{i}".encode()).decode()
        call(c, "POST", "/v3/kv/put", {"key": key, "value": base64.b64encode(b"x" * 1000).decode()})
    t = time.monotonic()
    n = 4000
    parallel(n, put, conn_fn=lambda: conn(eu))
    print(f"etcd alone: {n / (time.monotonic() - t):.0f} puts/s (1 kB values, 8 clients; a pod is 2 writes)")

c0 = conn()
t = time.monotonic()
parallel(n_nodes, make_node)
print(f"{n_nodes} nodes created in {time.monotonic() - t:.1f} s")
time.sleep(2)  # the scheduler's node informer catches up
rv = json.loads(call(c0, "GET", "/api/v1/namespaces/default/pods?limit=1"))["metadata"]["resourceVersion"]
w = threading.Thread(target=watch, args=(rv,), daemon=True)
w.start()
time.sleep(0.5)
cpu0, _ = cpu_rss()
t0 = time.monotonic()
parallel(n_pods, lambda c, i: call(c, "POST", "/api/v1/namespaces/default/pods", pod_body(i)))
t_created = time.monotonic() - t0
done.wait(timeout=max(120, n_pods / 20))
cpu1, rss = cpu_rss()
lat = sorted(bound[n] - created[n] for n in bound if n in created)
print(f"{n_pods} pods created in {t_created:.1f} s ({n_pods / t_created:.0f} creates/s)")
if not bound:
    print("no pod bound")
    sys.exit(0)
last = max(bound.values())
span = last - t0
print(f"bound {len(bound)}/{n_pods}: {len(bound) / span:.0f} pods/s (first create to last bind, {span:.1f} s)")
print(f"created->bound latency: p50 {lat[len(lat) // 2] * 1000:.0f} ms, p99 {lat[int(len(lat) * 0.99)] * 1000:.0f} ms")
print(f"scheduler: {cpu1 - cpu0:.1f} CPU s, peak RSS {rss:.0f} MiB")
