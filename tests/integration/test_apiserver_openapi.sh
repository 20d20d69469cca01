#!/usr/bin/env bash
# /openapi/v2 and /openapi/v3 built from the schema, read by the upstream kubectl: explain prints the
# fields of pods.spec.containers (1.32, and 1.27/1.33), manifests with fields ckube's
# messages leave out still reach the server (kubectl leaves validation to a server
# whose PATCH paths take fieldValidation), and strategic merge patches follow the
# schema's merge keys (containers by name, container ports by containerPort, service
# ports by port, tolerations replaced).
source "$(dirname "$0")/../harness/cluster.sh"

SDK=/usr/lib/google-cloud-sdk/bin
h_start_etcd
h_start_apiserver
k() { /usr/bin/kubectl --server="$H_API" "$@"; }

# The documents: v2 in both forms, v3's index and a group-version document.
h_expect "v2 json" '"io.k8s.api.core.v1.Pod":\{' curl -sf "$H_API/openapi/v2"
h_expect "v3 index" '"apis/apps/v1":\{"serverRelativeURL":"/openapi/v3/apis/apps/v1\?hash=' \
	curl -sf "$H_API/openapi/v3"
h_expect "v3 apps" '"io.k8s.api.apps.v1.Deployment":\{' curl -sf "$H_API/openapi/v3/apis/apps/v1"
h_expect "v3 unknown" '^404$' curl -s -o /dev/null -w '%{http_code}' "$H_API/openapi/v3/apis/nope/v1"
h_expect "v2 protobuf" 'io\.k8s\.api\.apps\.v1\.Deployment' bash -c \
	"curl -sf -H 'Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf' '$H_API/openapi/v2' | tr -c '[:print:]' '\n'"

# explain, with 1.32 (from /openapi/v3, and from v2 with its plaintext-openapiv2 output)
# and the other minor versions at both ends.
explain() {
	local out want
	out=$(k explain "$@" 2>&1) || h_fail "explain $*: $out"
	for want in 'KIND: +Pod' 'One container of a pod' $'image\t<string>' 'The image to run' \
		$'env\t<\[\]' $'resources\t<'; do
		grep -qE -- "$want" <<<"$out" || h_fail "explain $*: expected /$want/ in: $out"
	done
	h_expect "explain $* ports" $'ports\t<\[\]' k explain "$@"
}
explain pods.spec.containers
h_expect "explain v3 types" $'ports\t<\[\]ContainerPort>' k explain pods.spec.containers
explain pods.spec.containers --output=plaintext-openapiv2
h_expect "explain v2" 'RESOURCE: +containers <\[\]Object>' k explain pods.spec.containers \
	--output=plaintext-openapiv2
h_expect "explain ports" $'containerPort\t<integer>' k explain pods.spec.containers.ports
h_expect "explain deployment" $'replicas\t<integer>' k explain deployments.spec
h_expect "explain time" 'creationTimestamp.*<string>' k explain pods.metadata
h_expect "explain lease" $'holderIdentity\t<string>' k explain leases.spec
for v in 27 33; do
	h_expect "explain 1.$v" $'image\t<string>' "$SDK/kubectl.1.$v" --server="$H_API" \
		explain pods.spec.containers
done
# Every kind ckube serves has its definition.
while read -r plural gv kind; do
	h_expect "explain $plural $gv" "KIND: +$kind" k explain "$plural" --api-version="$gv"
done < <(k api-resources --no-headers |
	awk '{for (i = 1; i <= NF; i++) if ($i == "true" || $i == "false") print $1, $(i-1), $(i+1)}')
h_expect "explain events.k8s.io" 'GROUP: +events.k8s.io' k explain events --api-version=events.k8s.io/v1
h_expect_fail "explain unknown" 'does not exist|not found' k explain pods.spec.nosuchfield

# A field ckube's messages leave out (spec.os) is not refused by kubectl.
cat >"$H_TMP/d.yaml" <<'EOF2'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      os: {name: linux}
      tolerations: [{key: a, operator: Exists}]
      containers:
      - name: a
        image: nginx
        ports: [{containerPort: 80, name: http}]
        env: [{name: A, value: "1"}]
      - name: b
        image: busybox
EOF2
h_expect "create with an unknown field" 'deployment.apps/web created' k create -f "$H_TMP/d.yaml"

# Strategic merge on the server: matched by the schema's merge keys.
k patch deployment web --type=strategic -p '{"spec":{"template":{"spec":{
	"tolerations":[{"key":"b","operator":"Exists"}],
	"containers":[{"name":"a","image":"nginx:2","ports":[{"containerPort":81}],
	"env":[{"name":"B","value":"2"}]}]}}}}' >/dev/null || h_fail "strategic patch"
jp() { k get deployment web -o jsonpath="$1"; }
h_expect "containers by name" '^a=nginx:2 b=busybox $' jp '{range .spec.template.spec.containers[*]}{.name}={.image} {end}'
h_expect "ports by containerPort" '^80/http 81/ $' jp '{range .spec.template.spec.containers[0].ports[*]}{.containerPort}/{.name} {end}'
h_expect "env by name" '^A B $' jp '{range .spec.template.spec.containers[0].env[*]}{.name} {end}'
h_expect "tolerations replaced" '^b $' jp '{range .spec.template.spec.tolerations[*]}{.key} {end}'

# Client-side apply computes its patch from the document's merge keys.
k apply -f "$H_TMP/d.yaml" >/dev/null 2>&1 || h_fail "first apply"
sed -i 's/ports: \[{containerPort: 80, name: http}\]/ports: [{containerPort: 80, name: http}, {containerPort: 90, name: alt}]/' "$H_TMP/d.yaml"
h_expect "apply" 'configured' k apply -f "$H_TMP/d.yaml"
h_expect "apply merged ports" '(^| )90/alt' jp '{range .spec.template.spec.containers[0].ports[*]}{.containerPort}/{.name} {end}'

# Service ports merge on port (not containerPort).
k create service clusterip s --tcp=80:8080 --tcp=443:8443 >/dev/null || h_fail "create service"
k patch service s --type=strategic -p '{"spec":{"ports":[{"port":80,"targetPort":9090}]}}' \
	>/dev/null || h_fail "service patch"
h_expect "service ports by port" '^80:9090 443:8443 $' k get service s \
	-o jsonpath='{range .spec.ports[*]}{.port}:{.targetPort} {end}'
echo PASS
