#!/usr/bin/env bash
# kube-scheduler over HTTPS as deployed: a kubeconfig with certificate-authority-data,
# client-certificate-data and client-key-data (as kubeadm and deploy/lab write them), an
# apiserver with --client-ca-file. A pod gets bound.
source "$(dirname "$0")/../harness/cluster.sh"

p=$H_TMP/pki
mkdir -p "$p"
K="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
(
	cd "$p"
	openssl req -x509 $K -keyout ca.key -out ca.crt -subj /CN=kubernetes -days 2
	openssl req $K -keyout apiserver.key -out apiserver.csr -subj /CN=kube-apiserver
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost' >san.ext
	openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 2 -extfile san.ext
	openssl req $K -keyout scheduler.key -out scheduler.csr -subj /CN=system:kube-scheduler
	openssl x509 -req -in scheduler.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out scheduler.crt -days 2
) >"$H_TMP/openssl.log" 2>&1 || h_fail "openssl"

h_start_etcd
SECURE=$(h_free_port)
h_start_apiserver --secure-port="$SECURE" --bind-address=127.0.0.1 \
	--tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" --client-ca-file="$p/ca.crt"
k() { /usr/bin/kubectl --server="$H_API" "$@"; }

cat >"$H_TMP/scheduler.conf" <<EOF
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: $(base64 -w0 <"$p/ca.crt")
    server: https://127.0.0.1:$SECURE
  name: lab
contexts:
- context:
    cluster: lab
    user: system:kube-scheduler
  name: system:kube-scheduler@lab
current-context: system:kube-scheduler@lab
users:
- name: system:kube-scheduler
  user:
    client-certificate-data: $(base64 -w0 <"$p/scheduler.crt")
    client-key-data: $(base64 -w0 <"$p/scheduler.key")
EOF

k create -f - >/dev/null <<EOF
{"apiVersion":"v1","kind":"Node","metadata":{"name":"tls-node"}}
EOF
k patch node tls-node --subresource=status --type=merge -p '{"status":{"allocatable":{"cpu":"2","memory":"2Gi","pods":"10"},"conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null
k create -f - >/dev/null <<EOF
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default"},"spec":{"containers":[{"name":"c","image":"pause"}]}}
EOF

h_start scheduler "$H_BIN/kube-scheduler" --kubeconfig="$H_TMP/scheduler.conf" -v=2
h_eventually 20 "pod bound over TLS" "^tls-node$" k get pod p -o jsonpath='{.spec.nodeName}'
h_eventually 20 "event from the scheduler" "Successfully assigned default/p to tls-node" \
	k get events --field-selector involvedObject.name=p -o jsonpath='{.items[*].message}'
echo PASS
