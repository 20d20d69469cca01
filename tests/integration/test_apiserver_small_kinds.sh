#!/usr/bin/env bash
# The two kinds added by their description files alone (core/v1 PodTemplate and
# LimitRange), driven by the upstream kubectl 1.32 and 1.27 against a real apiserver and
# etcd: discovery, create/get/list/patch/delete, defaults, validation, table columns and a
# protobuf body.
source "$(dirname "$0")/../harness/cluster.sh"

h_start_etcd
h_start_apiserver
SDK=/usr/lib/google-cloud-sdk/bin

for kubectl in /usr/bin/kubectl "$SDK/kubectl.1.27"; do
	k() { "$kubectl" --server="$H_API" "$@"; }
	h_expect "$kubectl api-resources" 'podtemplates +v1 +true +PodTemplate' k api-resources
	h_expect "$kubectl api-resources limits" 'limitranges +limits +v1 +true +LimitRange' \
		k api-resources

	k create -f - <<'EOF2' >/dev/null || h_fail "create podtemplate"
{"apiVersion":"v1","kind":"PodTemplate","metadata":{"name":"web","namespace":"default"},
 "template":{"metadata":{"labels":{"tier":"front","app":"web"}},
  "spec":{"containers":[{"name":"nginx","image":"nginx"},{"name":"side","image":"busybox"}]}}}
EOF2
	h_expect "$kubectl get podtemplate" \
		'^NAME +CONTAINERS +IMAGES +POD LABELS$' k get podtemplates
	h_expect "$kubectl podtemplate row" '^web +nginx,side +nginx,busybox +app=web,tier=front$' \
		k get podtemplate web
	# Defaults of the pod spec inside the template, as upstream's.
	h_expect "$kubectl podtemplate defaults" '^Always 30 ClusterFirst$' \
		k get podtemplate web -o \
		jsonpath='{.template.spec.restartPolicy} {.template.spec.terminationGracePeriodSeconds} {.template.spec.dnsPolicy}'
	h_expect "$kubectl podtemplate patch" 'patched' \
		k patch podtemplate web --type=merge -p '{"metadata":{"labels":{"x":"y"}}}'
	h_expect "$kubectl podtemplate label" '^y$' k get podtemplate web -o jsonpath='{.metadata.labels.x}'
	h_expect_fail "$kubectl podtemplate invalid" \
		'PodTemplate "bad" is invalid: template.spec.containers: Required value' \
		k create -f - <<'EOF2'
{"apiVersion":"v1","kind":"PodTemplate","metadata":{"name":"bad","namespace":"default"},
 "template":{"spec":{"containers":[]}}}
EOF2
	h_expect "$kubectl podtemplate delete" 'deleted' k delete podtemplate web
	h_expect_fail "$kubectl podtemplate gone" 'NotFound' k get podtemplate web

	k create -f - <<'EOF2' >/dev/null || h_fail "create limitrange"
apiVersion: v1
kind: LimitRange
metadata: {name: mem, namespace: default}
spec:
  limits:
  - type: Container
    max: {memory: 1Gi}
    min: {memory: 64Mi}
    default: {memory: 256Mi}
    defaultRequest: {memory: 128Mi}
EOF2
	h_expect "$kubectl get limits" '^NAME +CREATED AT$' k get limits
	h_expect "$kubectl limits row" '^mem +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' k get limitrange mem
	h_expect "$kubectl limits -o json" '^256Mi 128Mi$' k get limitrange mem -o \
		jsonpath='{.spec.limits[0].default.memory} {.spec.limits[0].defaultRequest.memory}'
	h_expect_fail "$kubectl limits invalid" \
		'spec.limits\[0\].min\[memory\]: Invalid value: "2Gi": min value 2Gi is greater than max value 1Gi' \
		k create -f - <<'EOF2'
{"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"bad","namespace":"default"},
 "spec":{"limits":[{"type":"Container","max":{"memory":"1Gi"},"min":{"memory":"2Gi"}}]}}
EOF2
	h_expect_fail "$kubectl limits pod default" \
		"spec.limits\[0\].default: Forbidden: may not be specified when .type. is 'Pod'" \
		k create -f - <<'EOF2'
{"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"bad","namespace":"default"},
 "spec":{"limits":[{"type":"Pod","default":{"cpu":"1"}}]}}
EOF2
	h_expect_fail "$kubectl limits bad left nothing" 'NotFound' k get limitrange bad
	h_expect "$kubectl limits delete" 'deleted' k delete limits mem
done

# A protobuf body (as client-go sends for typed kinds) decodes through the kind's own
# message: a LimitRange written field by field (k8s\0 + runtime.Unknown{typeMeta, raw}).
python3 - "$H_TMP/lr.pb" <<'EOF2'
import sys
def ld(field, b):
    n = len(b); v = bytearray()
    while True:
        v.append((n & 0x7f) | (0x80 if n > 0x7f else 0)); n >>= 7
        if not n: break
    return bytes([field << 3 | 2]) + bytes(v) + b
s = lambda f, t: ld(f, t.encode())
quantity = s(1, "2")
limit = s(1, "Container") + ld(2, s(1, "cpu") + ld(2, quantity))
lr = ld(1, s(1, "pb")) + ld(2, ld(1, limit))
unknown = ld(1, s(1, "v1") + s(2, "LimitRange")) + ld(2, lr)
open(sys.argv[1], "wb").write(b"k8s\0" + unknown)
EOF2
h_expect "protobuf create" '"name": *"pb"' curl -sf -X POST \
	-H 'Content-Type: application/vnd.kubernetes.protobuf' --data-binary @"$H_TMP/lr.pb" \
	"$H_API/api/v1/namespaces/default/limitranges"
h_expect "protobuf stored" '^Container 2$' /usr/bin/kubectl --server="$H_API" get limitrange pb \
	-o jsonpath='{.spec.limits[0].type} {.spec.limits[0].max.cpu}'
echo "PASS"
