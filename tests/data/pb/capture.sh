#!/bin/bash
# Regenerates the test vectors in this directory from the real kubectl binaries:
# kubectl 1.32 and 1.33 send protobuf (<name>.kubectl-1.3x.bin), 1.31 sends JSON for
# the same command (<name>.kubectl-1.31.json). tests/unit/test_pb.c decodes each .bin
# and compares it with the JSON. Run by hand; not part of the test suite.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill $srv 2>/dev/null || true; cat "$work/log" >&2; rm -rf "$work"' EXIT
port=${PORT:-18931}
export CAPTURE_TAG_FILE=$work/tag
python3 "$here/capture_server.py" "$port" "$work" 2>"$work/log" &
srv=$!
sleep 1
cat >"$work/kubeconfig" <<EOC
apiVersion: v1
kind: Config
clusters:
- cluster: {server: "http://127.0.0.1:$port"}
  name: c
contexts:
- context: {cluster: c, user: u, namespace: default}
  name: c
current-context: c
users:
- name: u
  user: {}
EOC
export KUBECONFIG=$work/kubeconfig

printf '\000\001\377' >"$work/blob"
printf 'line 1\nline 2\n' >"$work/text"

declare -A kubectl=(
	[1.31]=/usr/lib/google-cloud-sdk/bin/kubectl.1.31
	[1.32]=/usr/bin/kubectl
	[1.33]=/usr/lib/google-cloud-sdk/bin/kubectl.1.33
)
run() {
	local name=$1
	shift
	for v in 1.31 1.32 1.33; do
		echo "$name.kubectl-$v" >"$CAPTURE_TAG_FILE"
		"${kubectl[$v]}" --cache-dir="$work/cache-$v" "$@" >/dev/null 2>&1 || true
	done
}
run deployment create deployment dpy-nginx --image=nginx
run deployment-replicas create deployment web --image=nginx:1.27 --replicas=3 --port=80
run deployment-zero create deployment zero --image=nginx --replicas=0
run namespace create namespace x
run configmap create configmap c --from-literal=a=b --from-literal=empty=
run configmap-files create configmap cf --from-file=blob="$work/blob" --from-file=text="$work/text"
run secret create secret generic s --from-literal=a=b --from-literal=bin=$'\x01\xff'
run secret-docker create secret docker-registry ds --docker-username=u --docker-password=p --docker-server=s
run service create service clusterip svc --tcp=80:8080
run service-nodeport create service nodeport np --tcp=80:8080 --node-port=30080
run service-headless create service clusterip hl --clusterip=None
run service-externalname create service externalname en --external-name=a.com
run job create job j --image=busybox -- echo hi
run cronjob create cronjob cj --image=busybox --schedule="*/5 * * * *" -- date
run serviceaccount create serviceaccount sa
run quota create quota q --hard=pods=2,requests.cpu=500m,limits.memory=1Gi
run role create role r --verb=get,list --resource=pods,deployments.apps
run rolebinding create rolebinding rb --role=r --user=u --serviceaccount=default:sa
run clusterrole create clusterrole cr --verb=get,watch --resource=nodes,pods/log --resource-name=a
run clusterrolebinding create clusterrolebinding crb --clusterrole=view --group=g
run pdb create poddisruptionbudget pdb --selector=app=a --min-available=50%
run priorityclass create priorityclass pc --value=1000 --description=d --preemption-policy=Never
run ingress create ingress ing --rule="a.com/p*=svc:80,tls=sec" --class=nginx
run token create token default --duration=10m --audience=a
run pod run p --image=nginx --port=80 --env=A=B --labels=x=y
# Commands that read an object first (capture_server.py answers from its fixtures).
run autoscale autoscale deployment dpy --min=1 --max=3 --cpu-percent=50
run job-from-cronjob create job j2 --from=cronjob/cj
run certificate-approve certificate approve csr1
run drain-delete drain node1 --ignore-daemonsets --timeout=3s
run auth-can-i auth can-i get pods
run auth-whoami auth whoami
# The pod name has a random suffix: the test ignores metadata.name for this one.
run debug-node debug node/node1 --image=busybox --profile=sysadmin
for f in "$work"/*.kubectl-*; do cp "$f" "$here/"; done
