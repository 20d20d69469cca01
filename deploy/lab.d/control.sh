# shellcheck shell=bash
# deploy/lab.d/control.sh: the local registry and the control plane (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler). Sourced by deploy/lab.
#
# The control plane runs in the network namespace ckube-m-k8s (192.168.56.10, the
# Vagrant lab's master address) but shares the host's filesystem; the host and the
# workers reach the apiserver at https://192.168.56.10:6443 through the lab bridge.
# The registry runs on the host side, bound to the bridge address 192.168.56.1:5000.

registry_ready() {
	curl -sf -o /dev/null "http://$REGISTRY/v2/"
}

registry_up() {
	local r=$DIR/registry
	mkdir -p "$r/data"
	cat >"$r/config.yml.tmp" <<-EOF
		version: 0.1
		log:
		  level: warn
		  accesslog:
		    disabled: true
		storage:
		  filesystem:
		    rootdirectory: $r/data
		  delete:
		    enabled: true
		http:
		  addr: $REGISTRY
		  secret: ckube-lab-local
	EOF
	mv "$r/config.yml.tmp" "$r/config.yml"
	if ! proc_pid registry >/dev/null; then
		start_proc registry /usr/bin/docker-registry /usr/bin/docker-registry serve "$r/config.yml"
	fi
	if ! wait_for 20 "the registry" registry_ready; then
		died registry
		return 1
	fi
	# push the images once per build of them
	if [[ -f $r/.pushed && $(cat "$r/.pushed") == "$(cat "$DIR/images/.stamp")" ]]; then
		return 0
	fi
	local f ref dest
	while read -r f ref; do
		dest=${ref#docker.io/}
		dest=${dest#registry.k8s.io/}
		skopeo copy -q --dest-tls-verify=false "oci-archive:$DIR/images/$f" \
			"docker://$REGISTRY/$dest" >>"$DIR/logs/registry.push.log" 2>&1 ||
			die "pushing $f to the registry failed (see $DIR/logs/registry.push.log)"
	done <"$DIR/images/images.list"
	cp "$DIR/images/.stamp" "$r/.pushed"
}

etcd_ready() {
	in_master curl -sf -o /dev/null http://127.0.0.1:2379/health
}

etcd_up() {
	if proc_pid etcd >/dev/null; then
		return 0
	fi
	mkdir -p "$DIR/etcd"
	chmod 700 "$DIR/etcd"
	start_proc etcd /usr/bin/etcd nsenter --net="/run/netns/$MASTER_NS" -- /usr/bin/etcd \
		--name "$MASTER" --data-dir "$DIR/etcd" \
		--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster "$MASTER=http://127.0.0.1:2380" --log-level warn
	if ! wait_for 30 etcd etcd_ready; then
		died etcd
		return 1
	fi
}

# cp_start NAME ARGS...: start a control-plane binary NAME (restarted when its
# binary changed). Missing binaries are reported, not fatal.
cp_start() {
	local name=$1 bin=$BIN/$1
	shift
	if [[ ! -x $bin ]]; then
		log "warning: $bin missing"
		return 1
	fi
	if proc_pid "$name" >/dev/null; then
		if ! proc_binary_changed "$name" "$bin"; then
			return 0
		fi
		log "restarting $name (binary changed)"
		stop_proc "$name"
	fi
	start_proc "$name" "$bin" nsenter --net="/run/netns/$MASTER_NS" -- "$bin" "$@"
}

apiserver_up() {
	local bin=$BIN/kube-apiserver p=$DIR/pki
	local args=(
		--etcd-servers=http://127.0.0.1:2379
		--secure-port=6443
		--bind-address=0.0.0.0
		--advertise-address="$MASTER_IP"
		--tls-cert-file="$p/apiserver.crt"
		--tls-private-key-file="$p/apiserver.key"
		--client-ca-file="$p/ca.crt"
		--service-cluster-ip-range="$SERVICE_CIDR"
		-v="${CKUBE_LAB_V:-2}"
	)
	if [[ -x $bin ]]; then
		if has_flag "$bin" --service-account-key-file; then
			args+=(--service-account-key-file="$p/sa.pub")
		fi
		if has_flag "$bin" --service-account-signing-key-file; then
			args+=(--service-account-signing-key-file="$p/sa.key"
				--service-account-issuer=https://kubernetes.default.svc.cluster.local)
		fi
		if has_flag "$bin" --kubelet-client-certificate; then
			args+=(--kubelet-client-certificate="$p/apiserver-kubelet-client.crt"
				--kubelet-client-key="$p/apiserver-kubelet-client.key")
		fi
		if has_flag "$bin" --kubelet-certificate-authority; then
			args+=(--kubelet-certificate-authority="$p/ca.crt")
		fi
	fi
	cp_start kube-apiserver "${args[@]}"
}

controller_manager_up() {
	local bin=$BIN/kube-controller-manager p=$DIR/pki
	local args=(--kubeconfig="$DIR/controller-manager.conf" -v="${CKUBE_LAB_V:-2}")
	if [[ -x $bin ]]; then
		if has_flag "$bin" --service-account-private-key-file; then
			args+=(--service-account-private-key-file="$p/sa.key")
		fi
		if has_flag "$bin" --root-ca-file; then
			args+=(--root-ca-file="$p/ca.crt")
		fi
		if has_flag "$bin" --cluster-cidr; then
			args+=(--cluster-cidr="$CLUSTER_CIDR")
		fi
		if has_flag "$bin" --service-cluster-ip-range; then
			args+=(--service-cluster-ip-range="$SERVICE_CIDR")
		fi
	fi
	cp_start kube-controller-manager "${args[@]}"
}

scheduler_up() {
	cp_start kube-scheduler --kubeconfig="$DIR/scheduler.conf" -v="${CKUBE_LAB_V:-2}"
}

# kubectl_admin ARGS...: the upstream kubectl with the admin kubeconfig.
kubectl_admin() {
	"${KUBECTL:-/usr/bin/kubectl}" --kubeconfig="$DIR/admin.conf" --request-timeout=5s "$@"
}

apiserver_ready() {
	local p=$DIR/pki
	curl -sf -o /dev/null --max-time 2 --cacert "$p/ca.crt" --cert "$p/admin.crt" --key "$p/admin.key" \
		"https://$MASTER_IP:6443/readyz"
}

# wait_apiserver SECONDS: until /readyz answers, or the apiserver died.
wait_apiserver() {
	local deadline=$(($(now_ms) + $1 * 1000))
	while ! apiserver_ready; do
		if ! proc_pid kube-apiserver >/dev/null; then
			died kube-apiserver
			return 1
		fi
		if (($(now_ms) > deadline)); then
			log "timed out after $1 s waiting for https://$MASTER_IP:6443/readyz (log: $DIR/logs/kube-apiserver.log)"
			return 1
		fi
		sleep 0.1
	done
}
