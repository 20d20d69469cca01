#!/bin/bash
# The kubelet API over HTTPS with client certificates (--tls-cert-file,
# --tls-private-key-file, --client-ca-file): /healthz needs no certificate; /pods needs
# one signed by the client CA (401 without, TLS failure with a foreign one). The kubelet
# runs without an apiserver or runtime behind it (it keeps retrying those) and is stopped
# by PID; everything lives in a temp dir on 127.0.0.1.
set -euo pipefail

BIN=${CKUBE_BINARY_DIR:?CKUBE_BINARY_DIR must name the build dir}
TMP=$(mktemp -d /tmp/ckube-kubelet-tls.XXXXXX)
PID=

cleanup() {
	if [[ -n $PID ]]; then
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	tail -n 20 "$TMP/kubelet.log" >&2 || true
	exit 1
}

cd "$TMP"
# A CA for the kubelet's serving certificate and clients, and a foreign one.
ca() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$1" \
		-keyout "$1.key" -out "$1.crt" 2>/dev/null
}
cert() { # name cn ca [ext]
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
	printf '%s\n' "${4:-extendedKeyUsage=clientAuth}" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 1 \
		-extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
ca ca
ca other
cert serving node-1 ca "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
cert client system:apiserver ca
cert stranger intruder other

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >kubeconfig <<KC
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: http://127.0.0.1:1
users:
- name: u
  user: {}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
KC
"$BIN/kubelet" --kubeconfig=kubeconfig --hostname-override=node-1 --node-ip=127.0.0.1 \
	--container-runtime-endpoint="unix://$TMP/none.sock" --root-dir="$TMP/root" \
	--pod-log-dir="$TMP/logs" --address=127.0.0.1 --port="$PORT" \
	--tls-cert-file=serving.crt --tls-private-key-file=serving.key --client-ca-file=ca.crt \
	>kubelet.log 2>&1 &
PID=$!

URL=https://127.0.0.1:$PORT
curl -sf --retry 50 --retry-connrefused --retry-delay 0 --max-time 20 --cacert ca.crt \
	"$URL/healthz" >healthz.out || fail "no /healthz over HTTPS"
[[ $(cat healthz.out) == ok ]] || fail "/healthz said: $(cat healthz.out)"

code=$(curl -s -o /dev/null -w '%{http_code}' --cacert ca.crt "$URL/pods")
[[ $code == 401 ]] || fail "/pods without a client certificate: HTTP $code, want 401"

out=$(curl -sf --cacert ca.crt --cert client.crt --key client.key "$URL/pods") ||
	fail "/pods with a client certificate failed"
grep -q '"kind":"PodList"' <<<"$out" || fail "/pods answered: $out"

code=$(curl -s -o /dev/null -w '%{http_code}' --cacert ca.crt --cert stranger.crt \
	--key stranger.key "$URL/pods" || true)
[[ $code == 401 || $code == 000 ]] || fail "/pods with a foreign certificate: HTTP $code"

# Plain HTTP to the HTTPS port gets nothing useful.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/healthz" || true)
[[ $code != 200 ]] || fail "plain HTTP answered 200 on the HTTPS port"

kill "$PID"
wait "$PID" || fail "kubelet exited with $? on SIGTERM"
PID=
echo "1 passed, 0 failed"
