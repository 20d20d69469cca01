#!/usr/bin/env python3
"""analyze.py WATCH_LOG CONTAINERD_LOG [KUBELET_LOG]: the pod path, per pod and stage.
(--pool FILE: the overheads of several runs; --etcd-fsync BEFORE AFTER: etcd's log syncs
between two dumps of its /metrics.)

WATCH_LOG lines: "EPOCH_MS|name|nodeName|phase|podIP" (one per watch event, stamped on
arrival). CONTAINERD_LOG: the node's containerd log (info level), whose CRI lines carry
nanosecond times. Prints per pod the time of each stage after the pod's creation:
  sched    PodScheduled (spec.nodeName first seen on the watch)
  sbx>     the kubelet calls RunPodSandbox
  sbx      the sandbox is running (RunPodSandbox returned)
  start    the container started (StartContainer returned)
  running  phase Running reported through the API
and the path overhead = running - the raw CRI time of the pod (RunPodSandbox + PullImage +
CreateContainer + StartContainer), in two readings:
  - the target's: the calls as the kubelet, their client, timed them (its log at -v=4:
    "pod K: sync" then "CRI M duration=" on the same thread), as upstream's
    kubelet_runtime_operations_duration_seconds and critest's benchmarks time a CRI call;
  - containerd's stamps: from the log line containerd writes when it takes a call to the
    one it writes when the call is done (PullImage: the kubelet's Pulled event). This reading
    also charges the path with containerd's delay in taking each call and in answering it:
    on 2 cores, under the burst's load, up to 40 ms per call.
Without the kubelet's timings only the second reading is printed.
"""
import os
import re
import statistics
import sys
from datetime import datetime, timezone


def ts(s):
    # 2026-11-24T03:07:35.838441819Z -> epoch ms (float)
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", s)
    base = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    frac = float("0." + (m.group(2) or "0"))
    return (base.timestamp() + frac) * 1000.0


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def report(target, ctrd, from_kubelet):
    """Prints the overhead lines: the target's reading (the kubelet's timings, else
    containerd's) and containerd's."""
    if target:
        print()
        print("path overhead above raw CRI: p50 %.0f ms, p99 %.0f ms per pod (target < 50 ms p99)%s" % (
            statistics.median(target), pct(target, 99),
            "" if pct(target, 99) < 50 else "  ** over target **"))
        if from_kubelet:
            print("  (the CRI calls as the kubelet, their client, timed them)")
        else:
            print("  (the kubelet's CRI timings are not in its log, -v=4: this is the reading of")
            print("   containerd's stamps below)")
    if ctrd:
        print("  above containerd's own stamps of the calls: p50 %.0f ms, p99 %.0f ms per pod" % (
            statistics.median(ctrd), pct(ctrd, 99)))
        print("  (also counts containerd's delay in taking each call and in answering it)")


def pool(path):
    """--pool FILE: the overheads of every pod of several runs (lines "KUBELET CTRD", "-"
    when a reading is missing), reported over all of them."""
    kl, ctrd = [], []
    for line in open(path):
        k, c = line.split()
        if k != "-":
            kl.append(float(k))
        if c != "-":
            ctrd.append(float(c))
    print()
    print("== over all runs: %d pods" % max(len(kl), len(ctrd)))
    report(kl if kl else ctrd, ctrd, bool(kl))


def fsync_buckets(path):
    """The cumulative counts of etcd's WAL fsync histogram in a /metrics dump: {le: n}."""
    b = {}
    try:
        for line in open(path):
            m = re.match(r'etcd_disk_wal_fsync_duration_seconds_bucket\{le="([^"]+)"\} (\d+)', line)
            if m:
                b[float(m.group(1))] = int(m.group(2))
    except OSError:
        pass
    return b


def etcd_fsync(before, after):
    """--etcd-fsync BEFORE AFTER: etcd's WAL fsyncs between two /metrics dumps, with the
    histogram bucket that holds their p50 and p99."""
    b, a = fsync_buckets(before), fsync_buckets(after)
    print()
    if not a:
        print("etcd WAL fsyncs: no metrics from etcd")
        return
    delta = sorted((le, n - b.get(le, 0)) for le, n in a.items())
    total = delta[-1][1]
    if total == 0:
        print("etcd WAL fsyncs during the burst: none")
        return

    def bound(p):
        le = next(le for le, n in delta if n >= p / 100.0 * total)
        if le == float("inf"):
            return "> %g ms" % (delta[-2][0] * 1000)
        return "<= %g ms" % (le * 1000)
    print("etcd WAL fsyncs during the burst: %d, p50 %s, p99 %s" % (total, bound(50), bound(99)))
    print("  (one per batch of writes; a write that comes during a sync waits for its end:")
    print("   each pod's binding and its Running status may wait for one)")


def main():
    if sys.argv[1] == "--pool":
        pool(sys.argv[2])
        return
    if sys.argv[1] == "--etcd-fsync":
        etcd_fsync(sys.argv[2], sys.argv[3])
        return
    watch_log, ctrd_log = sys.argv[1], sys.argv[2]
    kubelet_log = sys.argv[3] if len(sys.argv) > 3 else None

    pods = {}
    for line in open(watch_log):
        parts = line.rstrip("\n").split("|")
        if len(parts) < 5 or not parts[0].isdigit():
            continue
        t, name, node, phase, ip = float(parts[0]), parts[1], parts[2], parts[3], parts[4]
        p = pods.setdefault(name, {"created": t})
        if node and "sched" not in p:
            p["sched"] = t
        if phase == "Running" and ip and "running" not in p:
            p["running"] = t

    # containerd's CRI lines
    sandbox_of = {}  # sandbox id -> pod name
    container_of = {}  # container id -> pod name
    pulls = []  # (begin, end)
    pull_begin = []
    tre = re.compile(r'time="([^"]+)".*msg="(.*)"\s*$')
    for line in open(ctrd_log, errors="replace"):
        m = tre.search(line)
        if not m:
            continue
        t, msg = ts(m.group(1)), m.group(2).replace('\\"', '"')
        m2 = re.match(r"RunPodSandbox for &PodSandboxMetadata\{Name:([^,]+),.*?\}( returns sandbox id \"(\w+)\")?", msg)
        if m2:
            name = m2.group(1)
            if name not in pods:
                continue
            if m2.group(3):
                pods[name].setdefault("sbx", t)
                sandbox_of[m2.group(3)] = name
            else:
                pods[name].setdefault("sbx_begin", t)
            continue
        m2 = re.match(r'CreateContainer within sandbox "(\w+)" for (?:container )?&ContainerMetadata\{[^}]*\}( returns container id "(\w+)")?', msg)
        if m2 and m2.group(1) in sandbox_of:
            name = sandbox_of[m2.group(1)]
            if m2.group(3):
                pods[name].setdefault("created_c", t)
                container_of[m2.group(3)] = name
            else:
                pods[name].setdefault("create_begin", t)
            continue
        m2 = re.match(r'StartContainer for "(\w+)"( returns successfully)?', msg)
        if m2 and m2.group(1) in container_of:
            name = container_of[m2.group(1)]
            if m2.group(2):
                pods[name].setdefault("start", t)
            else:
                pods[name].setdefault("start_begin", t)
            continue
        m2 = re.match(r'PullImage "([^"]+)"( returns image reference)?', msg)
        if m2:
            if m2.group(2):
                if pull_begin:
                    pulls.append((pull_begin.pop(0), t))
            else:
                pull_begin.append(t)

    # a pod's pull: as the kubelet timed it (its Pulled event: "Successfully pulled image
    # ... in 155ms"); else containerd's pull that ended last before the pod's
    # CreateContainer began and began after its sandbox was running
    if kubelet_log:
        pre = re.compile(r'event [^/\s]+/(\S+) Normal Pulled: Successfully pulled image .* in ([\d.]+)ms')
        try:
            for line in open(kubelet_log, errors="replace"):
                m = pre.search(line)
                if m and m.group(1) in pods:
                    pods[m.group(1)].setdefault("pull", float(m.group(2)))
        except OSError:
            pass
    for p in pods.values():
        if "sbx" in p and "create_begin" in p and "pull" not in p:
            cands = [(b, e) for b, e in pulls if b >= p["sbx"] - 1 and e <= p["create_begin"] + 1]
            if cands:
                b, e = max(cands, key=lambda x: x[1])
                p["pull"] = e - b

    # the kubelet's own timing of each pod's CRI calls: a sync runs on one thread, which
    # logs "pod ns/name: sync" first; the first call of each method in a pod counts
    if kubelet_log:
        sre = re.compile(r'^I\d{4} \S+\s+(\d+) \S+\] pod [^/\s]+/(\S+): sync')
        cre = re.compile(r'^I\d{4} \S+\s+(\d+) \S+\] CRI (RunPodSandbox|CreateContainer|StartContainer|PullImage) '
                         r'duration=([\d.]+)ms rc=0')
        current = {}
        try:
            for line in open(kubelet_log, errors="replace"):
                m = sre.match(line)
                if m:
                    current[m.group(1)] = m.group(2)
                    continue
                m = cre.match(line)
                if m and current.get(m.group(1)) in pods:
                    pods[current[m.group(1)]].setdefault("k_" + m.group(2), float(m.group(3)))
        except OSError:
            pass

    names = sorted(pods, key=lambda n: pods[n]["created"])
    kcalls = ("k_RunPodSandbox", "k_PullImage", "k_CreateContainer", "k_StartContainer")
    hdr = "%-28s %7s %7s %7s %7s %7s %8s %8s %8s %8s %8s" % (
        "POD (ms after created)", "sched", "sbx>", "sbx", "start", "running", "rawCRI", "overhead",
        "pull", "klCRI", "klover")
    print(hdr)
    overheads, totals, raws = [], [], []
    for n in names:
        p = pods[n]
        c = p["created"]

        def rel(k):
            return "%7.0f" % (p[k] - c) if k in p else "%7s" % "-"
        raw = None
        if all(k in p for k in ("sbx_begin", "sbx", "create_begin", "created_c", "start_begin", "start")):
            raw = (p["sbx"] - p["sbx_begin"]) + (p["created_c"] - p["create_begin"]) + \
                (p["start"] - p["start_begin"]) + p.get("pull", 0.0)
        over = None
        if raw is not None and "running" in p:
            over = (p["running"] - c) - raw
            p["over"] = over
            overheads.append(over)
            raws.append(raw)
        if "running" in p:
            totals.append(p["running"] - c)
        kraw = sum(p[k] for k in kcalls) if all(k in p for k in kcalls) else None
        if kraw is not None and "running" in p:
            p["klover"] = p["running"] - c - kraw
        print("%-28s %s %s %s %s %s %8s %8s %8s %8s %8s" % (
            n[:28], rel("sched"), rel("sbx_begin"), rel("sbx"), rel("start"), rel("running"),
            "%.0f" % raw if raw is not None else "-", "%.0f" % over if over is not None else "-",
            "%.0f" % p["pull"] if "pull" in p else "-", "%.0f" % kraw if kraw is not None else "-",
            "%.0f" % p["klover"] if "klover" in p else "-"))

    def stages(key_a, key_b):
        return [pods[n][key_b] - pods[n][key_a] for n in names if key_a in pods[n] and key_b in pods[n]]
    print()
    print("(API times are when the bench's own watch saw the change; CRI times are containerd's")
    print(" own log stamps; klCRI and klover: the CRI calls as the kubelet timed them, and the")
    print(" overhead above them, the target's reading.)")
    print("stage                          p50 ms   p99 ms")
    for label, a, b in (("created -> scheduled", "created", "sched"),
                        ("scheduled -> RunPodSandbox call", "sched", "sbx_begin"),
                        ("RunPodSandbox (containerd)", "sbx_begin", "sbx"),
                        ("sandbox -> CreateContainer call", "sbx", "create_begin"),
                        ("CreateContainer (containerd)", "create_begin", "created_c"),
                        ("created -> StartContainer call", "created_c", "start_begin"),
                        ("StartContainer (containerd)", "start_begin", "start"),
                        ("started -> Running reported", "start", "running"),
                        ("created -> Running (total)", "created", "running")):
        v = stages(a, b)
        if v:
            print("%-30s %7.0f  %7.0f" % (label, statistics.median(v), pct(v, 99)))
    gaps = [pods[n]["create_begin"] - pods[n]["sbx"] - pods[n]["pull"] for n in names
            if all(k in pods[n] for k in ("sbx", "create_begin", "pull"))]
    if gaps:
        print("%-30s %7.0f  %7.0f" % ("  of which not the pull", statistics.median(gaps), pct(gaps, 99)))
    if pulls:
        d = [e - b for b, e in pulls]
        print("%-30s %7.0f  %7.0f   (%d pulls)" % ("PullImage (containerd)", statistics.median(d), pct(d, 99), len(d)))
    k_over = [pods[n]["klover"] for n in names if "klover" in pods[n]]
    report(k_over if k_over else overheads, overheads, bool(k_over))
    pool_file = os.environ.get("CKUBE_BENCH_POOL")
    if pool_file:
        with open(pool_file, "a") as f:
            for n in names:
                p = pods[n]
                f.write("%s %s\n" % ("%.1f" % p["klover"] if "klover" in p else "-",
                                     "%.1f" % p["over"] if "over" in p else "-"))

    # the kubelet's own CRI call times, if it logs them (e.g. method="RunPodSandbox" ... duration="80ms")
    if kubelet_log:
        calls = {}
        cre = re.compile(r'(RunPodSandbox|CreateContainer|StartContainer|PullImage|StopPodSandbox|'
                         r'RemovePodSandbox|StopContainer|RemoveContainer|PodSandboxStatus|ContainerStatus|'
                         r'ListPodSandbox|ListContainers|ImageStatus)\b.*?(?:duration|took|elapsed)[=: ]+"?([\d.]+)(ms|s|µs|us)\b')
        try:
            for line in open(kubelet_log, errors="replace"):
                m = cre.search(line)
                if m:
                    v = float(m.group(2)) * {"ms": 1, "s": 1000, "µs": 0.001, "us": 0.001}[m.group(3)]
                    calls.setdefault(m.group(1), []).append(v)
        except OSError:
            pass
        print()
        if calls:
            print("kubelet's CRI calls (from its log)   n   p50 ms   p99 ms")
            for k in sorted(calls):
                print("  %-30s %5d %8.1f %8.1f" % (k, len(calls[k]), statistics.median(calls[k]), pct(calls[k], 99)))
        else:
            print("kubelet's CRI calls: not in its log (the kubelet logs them at -v=4)")


if __name__ == "__main__":
    main()
