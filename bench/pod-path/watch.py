#!/usr/bin/env python3
"""watch.py KUBECONFIG SELECTOR N: stamps the pod watch events of the bench, cheaply.

Lists the pods of namespace default matching SELECTOR, then watches them from that
resourceVersion and prints one line per event, stamped on arrival:
    EPOCH_MS|name|nodeName|phase|podIP
The first line, "# watching", says that the watch is open. Exits 0 once N distinct pods were seen Running with a pod IP. One process with one
connection: the bench must not load the machine it measures (a kubectl per poll did).
Reads the server and the inline credentials of the kubeconfig's first cluster and user
(the lab's admin.conf), without a YAML library.
"""
import base64
import http.client
import json
import re
import ssl
import sys
import tempfile
import time
import urllib.parse


def field(text, name):
    m = re.search(r"^\s*%s:\s*(\S+)\s*$" % re.escape(name), text, re.M)
    if not m:
        sys.exit("watch.py: no %s in the kubeconfig" % name)
    return m.group(1)


def tls_context(conf):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False  # the lab's serving certificate names the node IP
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as ca, \
            tempfile.NamedTemporaryFile("w", suffix=".pem") as cert, \
            tempfile.NamedTemporaryFile("w", suffix=".pem") as key:
        for f, name in ((ca, "certificate-authority-data"), (cert, "client-certificate-data"),
                        (key, "client-key-data")):
            f.write(base64.b64decode(field(conf, name)).decode())
            f.flush()
        ctx.load_verify_locations(ca.name)
        ctx.load_cert_chain(cert.name, key.name)
    return ctx


def main():
    conf = open(sys.argv[1]).read()
    selector, want = sys.argv[2], int(sys.argv[3])
    url = urllib.parse.urlparse(field(conf, "server"))
    conn = http.client.HTTPSConnection(url.hostname, url.port or 443, context=tls_context(conf))
    base = "/api/v1/namespaces/default/pods?labelSelector=" + urllib.parse.quote(selector)
    conn.request("GET", base)
    listed = json.loads(conn.getresponse().read())
    rv = listed["metadata"]["resourceVersion"]
    conn.request("GET", base + "&watch=1&resourceVersion=" + rv)
    resp = conn.getresponse()
    if resp.status != 200:
        sys.exit("watch.py: watch answered %d" % resp.status)
    running = set()
    out = sys.stdout
    out.write("# watching\n")
    out.flush()
    while len(running) < want:
        line = resp.readline()
        if not line:
            sys.exit("watch.py: the watch ended")
        now = time.time() * 1000.0
        ev = json.loads(line)
        pod = ev.get("object", {})
        name = pod.get("metadata", {}).get("name", "")
        node = pod.get("spec", {}).get("nodeName", "")
        status = pod.get("status", {})
        phase, ip = status.get("phase", ""), status.get("podIP", "")
        out.write("%.0f|%s|%s|%s|%s\n" % (now, name, node, phase, ip))
        out.flush()
        if ev.get("type") != "DELETED" and phase == "Running" and ip:
            running.add(name)


if __name__ == "__main__":
    main()
