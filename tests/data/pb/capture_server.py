"""Logging API server for capturing kubectl request bodies (see capture.sh).

Answers legacy discovery for the groups below and stores each request body in
OUT/<tag>.<bin|json>, where <tag> is read from the file named by $CAPTURE_TAG_FILE.
Usage: capture_server.py PORT OUT
"""
import http.server, json, sys, os, re
OUT = sys.argv[2]
TAGFILE = os.environ.get("CAPTURE_TAG_FILE", os.path.join(OUT, ".tag"))
counter = [0]
RES = {
 "/api/v1": [("namespaces","Namespace",False),("configmaps","ConfigMap",True),("secrets","Secret",True),
             ("services","Service",True),("pods","Pod",True),("nodes","Node",False),("serviceaccounts","ServiceAccount",True)],
 "/apis/apps/v1": [("deployments","Deployment",True),("replicasets","ReplicaSet",True)],
 "/apis/batch/v1": [("jobs","Job",True),("cronjobs","CronJob",True)],
 "/apis/rbac.authorization.k8s.io/v1": [("roles","Role",True),("rolebindings","RoleBinding",True),
             ("clusterroles","ClusterRole",False),("clusterrolebindings","ClusterRoleBinding",False)],
 "/apis/policy/v1": [("poddisruptionbudgets","PodDisruptionBudget",True)],
 "/apis/scheduling.k8s.io/v1": [("priorityclasses","PriorityClass",False)],
 "/apis/networking.k8s.io/v1": [("ingresses","Ingress",True)],
 "/apis/autoscaling/v1": [("horizontalpodautoscalers","HorizontalPodAutoscaler",True)],
 "/apis/certificates.k8s.io/v1": [("certificatesigningrequests","CertificateSigningRequest",False)],
}
RES["/api/v1"].append(("pods/eviction", "Eviction", True))
RES["/apis/apps/v1"].append(("deployments/scale", "Scale", True))

# Objects that commands read before they write (GET answers).
META = {"name": "dpy", "namespace": "default", "uid": "0a1b", "resourceVersion": "7",
        "creationTimestamp": "2026-11-22T17:33:27Z"}
TEMPLATE = {"metadata": {"labels": {"app": "dpy"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}
FIXTURES = {
 "/apis/apps/v1/namespaces/default/deployments/dpy": {"apiVersion": "apps/v1", "kind": "Deployment",
   "metadata": META, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "dpy"}},
   "template": TEMPLATE}},
 "/apis/apps/v1/namespaces/default/deployments/dpy/scale": {"apiVersion": "autoscaling/v1",
   "kind": "Scale", "metadata": META, "spec": {"replicas": 1},
   "status": {"replicas": 1, "selector": "app=dpy"}},
 "/apis/batch/v1/namespaces/default/cronjobs/cj": {"apiVersion": "batch/v1", "kind": "CronJob",
   "metadata": dict(META, name="cj"), "spec": {"schedule": "* * * * *",
   "jobTemplate": {"spec": {"template": dict(TEMPLATE, spec={"containers": [{"name": "c",
   "image": "busybox"}], "restartPolicy": "OnFailure"})}}}},
 "/api/v1/nodes/node1": {"apiVersion": "v1", "kind": "Node",
   "metadata": {"name": "node1", "uid": "n1", "resourceVersion": "3"},
   "spec": {"unschedulable": True}},
 "/api/v1/pods": {"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "9"},
   "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1", "namespace": "default",
   "uid": "p1", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
   "uid": "r1", "controller": True}]}, "spec": {"nodeName": "node1",
   "containers": [{"name": "c", "image": "nginx"}]}}]},
 "/apis/certificates.k8s.io/v1/certificatesigningrequests/csr1": {
   "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
   "metadata": {"name": "csr1", "uid": "c1", "resourceVersion": "5"},
   "spec": {"request": "", "signerName": "kubernetes.io/kube-apiserver-client",
   "usages": ["client auth"]}, "status": {}},
}
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def send(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type","application/json")
        self.send_header("Content-Length",str(len(b)))
        self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
    def do_GET(self):
        p = self.path.split("?")[0]
        sys.stderr.write("GET %s Accept=%s\n" % (self.path, self.headers.get("Accept")))
        if p == "/version":
            return self.send(200, {"major":"1","minor":"32","gitVersion":"v1.32.0","platform":"linux/amd64"})
        if p == "/api":
            return self.send(200, {"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]})
        if p == "/apis":
            gs = []
            for g in [k[6:-3] for k in RES if k.startswith("/apis/")]:
                gs.append({"name":g,"versions":[{"groupVersion":g+"/v1","version":"v1"}],"preferredVersion":{"groupVersion":g+"/v1","version":"v1"}})
            return self.send(200, {"kind":"APIGroupList","apiVersion":"v1","groups":gs})
        if p in FIXTURES:
            return self.send(200, FIXTURES[p])
        if p in RES:
            gv = p[6:] if p.startswith("/apis/") else "v1"
            rs = [{"name":n,"singularName":k.lower(),"namespaced":ns,"kind":k,"verbs":["create","delete","get","list","patch","update","watch"]} for n,k,ns in RES[p]]
            return self.send(200, {"kind":"APIResourceList","apiVersion":"v1","groupVersion":gv,"resources":rs})
        return self.send(404, {"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"not found"})
    def do_POST(self):
        n = int(self.headers.get("Content-Length","0"))
        body = self.rfile.read(n)
        ct = self.headers.get("Content-Type")
        counter[0]+=1
        tag = open(TAGFILE).read().strip()
        ext = "bin" if "protobuf" in (ct or "") else "json"
        fn = os.path.join(OUT, "%s.%s" % (tag, ext))
        open(fn,"wb").write(body)
        sys.stderr.write(self.command+" %s CT=%s len=%d -> %s\n" % (self.path, ct, n, fn))
        # reply with a minimal object of the kind
        if self.path.endswith("/token"):
            return self.send(201, {"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest",
                                   "metadata":{"name":"default"},"spec":{"audiences":None},
                                   "status":{"token":"t","expirationTimestamp":"2030-01-01T00:00:00Z"}})
        if self.command == "DELETE" or self.path.endswith("/eviction"):
            return self.send(201, {"apiVersion":"v1","kind":"Status","status":"Success"})
        if self.path.split("?")[0] in FIXTURES:
            return self.send(200, FIXTURES[self.path.split("?")[0]])
        m = re.match(r"^/(api/v1|apis/[^/]+/v1)/(?:namespaces/[^/]+/)?([a-z]+)", self.path)
        gv = "/" + m.group(1) if m else "/api/v1"
        res = m.group(2) if m else "x"
        kinds = {r[0]: r[1] for r in RES.get(gv, [])}
        av = "v1" if gv == "/api/v1" else gv[6:]
        return self.send(201, {"apiVersion":av,"kind":kinds.get(res,"X"),"metadata":{"name":"created","namespace":"default"}})
H.do_DELETE = H.do_POST
H.do_PATCH = H.do_POST
H.do_PUT = H.do_POST
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
