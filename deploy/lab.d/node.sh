# shellcheck shell=bash
# deploy/lab.d/node.sh: a worker node: its mount namespace, containerd and kubelet.
# Sourced by deploy/lab. See shared notes/runtime.md ("A lab node").
#
# Each worker has a network namespace on the lab bridge and a mount namespace that
# outlives its processes: it is kept by a bind mount of the namespace on
# DIR/ns/wN-k8s.mnt (DIR/ns is bind-mounted on itself and made private, which the
# kernel requires), so a restarted containerd or kubelet rejoins the same mounts
# (shim sockets, pod network namespaces, rootfs mounts). Inside it:
#   - /sys is remounted for the node's network namespace, the cgroup tree kept;
#   - /run is a tmpfs (shim sockets under /run/containerd are a fixed path);
#   - /var/lib/cni, /var/lib/kubelet, /var/log/pods and /etc/kubernetes are the
#     node's own directories.

# Host directories the node mounts over; made (empty) if missing and removed by down.
NODE_MOUNTPOINTS=(/var/lib/cni /var/lib/kubelet /var/log/pods /etc/kubernetes)

host_mountpoints() {
	local m
	for m in "${NODE_MOUNTPOINTS[@]}"; do
		if [[ ! -d $m ]]; then
			mkdir -p "$m"
			echo "$m" >>"$DIR/host-created"
		fi
	done
}

ns_dir_up() {
	local d=$DIR/ns
	mkdir -p "$d"
	if ! mountpoint -q "$d"; then
		mount --bind "$d" "$d"
	fi
	mount --make-private "$d"
}

# node_mntns_up I: create worker I's mount namespace if it is not there yet.
node_mntns_up() {
	local i=$1 d f
	d=$(node_dir "$i")
	f=$(node_mntns "$i")
	if [[ -f $f ]] && mountpoint -q "$f"; then
		return 0
	fi
	mkdir -p "$d/cni" "$d/kubelet" "$d/log/pods" "$d/etc-kubernetes" "$d/.cgroup"
	touch "$f"
	# shellcheck disable=SC2016 # $1 expands in the inner shell
	nsenter --net="/run/netns/$(node_ns "$i")" -- \
		unshare --mount="$f" --propagation private -- /bin/sh -euc '
			d=$1
			mount --rbind /sys/fs/cgroup "$d/.cgroup"
			umount -l /sys
			mount -t sysfs sysfs /sys
			mount --move "$d/.cgroup" /sys/fs/cgroup
			mount -t tmpfs -o mode=755 tmpfs /run
			mkdir -p /run/netns
			mount --bind "$d/cni" /var/lib/cni
			mount --bind "$d/kubelet" /var/lib/kubelet
			mount --bind "$d/log/pods" /var/log/pods
			mount --bind "$d/etc-kubernetes" /etc/kubernetes
		' sh "$d"
}

# node_cgroups I: the node's cgroup root in every v1 hierarchy (cpuset needs its
# cpus and mems filled in before children can be made).
node_cgroups() {
	local i=$1 h c
	for h in /sys/fs/cgroup/*/; do
		h=${h%/}
		[[ -f $h/cgroup.procs ]] || continue
		for c in "$h/$CGROUP_TOP" "$h/$CGROUP_TOP/$(node_name "$i")"; do
			if [[ ! -d $c ]]; then
				mkdir -p "$c"
				if [[ -f $c/cpuset.cpus ]]; then
					cat "$h/cpuset.cpus" >"$c/cpuset.cpus"
					cat "$h/cpuset.mems" >"$c/cpuset.mems"
				fi
			fi
		done
	done
}

# node_files I: containerd config, CNI conflist, registry mirrors, kubeconfig.
node_files() {
	local i=$1 d name
	d=$(node_dir "$i")
	name=$(node_name "$i")
	mkdir -p "$d/containerd" "$d/net.d" "$d/runc" "$d/certs.d/docker.io" "$d/certs.d/registry.k8s.io"
	subst "$SRC/deploy/containerd/config.toml.in" "$d/containerd/config.toml" \
		"NODE_DIR=$d" "SANDBOX_IMAGE=$PAUSE_IMAGE"
	subst "$SRC/deploy/containerd/10-ckube.conflist.in" "$d/net.d/10-ckube.conflist" \
		"NODE_DIR=$d" "POD_CIDR=$(node_cidr "$i")" "CLUSTER_CIDR=$CLUSTER_CIDR" "LAB_SUBNET=$LAB_SUBNET"
	local up
	for up in docker.io registry.k8s.io "$REGISTRY"; do
		mkdir -p "$d/certs.d/$up"
		subst "$SRC/deploy/containerd/hosts.toml.in" "$d/certs.d/$up/hosts.toml" \
			"UPSTREAM=$up" "REGISTRY=$REGISTRY"
	done
	pki_node "$i"
	# the kubeadm layout inside the node: /etc/kubernetes/{kubelet.conf,pki/ca.crt}
	mkdir -p "$d/etc-kubernetes/pki"
	cp "$d/kubelet.conf" "$d/etc-kubernetes/kubelet.conf"
	cp "$DIR/pki/ca.crt" "$d/etc-kubernetes/pki/ca.crt"
}

containerd_ready() {
	ctr -a "$1/containerd.sock" version
}

# node_containerd I: start worker I's containerd unless it runs.
node_containerd() {
	local i=$1 d name
	d=$(node_dir "$i")
	name=$(node_name "$i")
	if proc_pid "$name.containerd" >/dev/null; then
		return 0
	fi
	rm -f "$d/containerd.sock" "$d/containerd.sock.ttrpc" "$d/containerd-debug.sock"
	start_proc "$name.containerd" /usr/bin/containerd \
		nsenter --net="/run/netns/$(node_ns "$i")" --mount="$(node_mntns "$i")" --wd=/ -- \
		/usr/bin/containerd --config "$d/containerd/config.toml"
	if ! wait_for 30 "$name's containerd" containerd_ready "$d"; then
		died "$name.containerd"
		return 1
	fi
}

# node_images I: import the lab's images into worker I's containerd (IfNotPresent
# works without the registry).
node_images() {
	local i=$1 d f ref
	d=$(node_dir "$i")
	while read -r f ref; do
		if ! ctr -a "$d/containerd.sock" -n k8s.io images import \
			"$DIR/images/$f" >/dev/null 2>>"$DIR/logs/$(node_name "$i").import.log"; then
			log "warning: import of $ref into $(node_name "$i") failed ($DIR/logs/$(node_name "$i").import.log)"
		fi
	done <"$DIR/images/images.list"
	# a real pull through the registry mirror (what imagePullPolicy Always does)
	if ! python3 "$SRC/deploy/lab.d/cri.py" "$d/containerd.sock" pull nginx \
		>>"$DIR/logs/$(node_name "$i").import.log" 2>&1; then
		log "warning: CRI PullImage of nginx through the lab registry failed on $(node_name "$i")" \
			"($DIR/logs/$(node_name "$i").import.log)"
	fi
}

# node_kubelet I: start worker I's kubelet unless it runs the current binary.
node_kubelet() {
	local i=$1 d name bin=$BIN/kubelet
	d=$(node_dir "$i")
	name=$(node_name "$i")
	if [[ ! -x $bin ]]; then
		log "warning: $bin missing: no kubelet on $name"
		return 1
	fi
	if proc_pid "$name.kubelet" >/dev/null; then
		if ! proc_binary_changed "$name.kubelet" "$bin"; then
			return 0
		fi
		log "restarting $name's kubelet (binary changed)"
		stop_proc "$name.kubelet"
	fi
	local args=(
		--kubeconfig="$d/kubelet.conf"
		--hostname-override="$name"
		--node-ip="$(node_ip "$i")"
		--container-runtime-endpoint="unix://$d/containerd.sock"
		--root-dir="$d/kubelet"
		--cgroup-root="/$CGROUP_TOP/$name"
		--pod-infra-container-image="$PAUSE_IMAGE"
		-v="${CKUBE_LAB_KUBELET_V:-${CKUBE_LAB_V:-2}}"
	)
	local f
	for f in --pod-logs-dir --pod-log-dir; do
		if has_flag "$bin" "$f"; then
			args+=("$f=$d/log/pods")
			break
		fi
	done
	if has_flag "$bin" --tls-cert-file; then
		args+=(--tls-cert-file="$d/pki/kubelet.crt" --tls-private-key-file="$d/pki/kubelet.key")
	fi
	if has_flag "$bin" --client-ca-file; then
		args+=(--client-ca-file="$d/pki/ca.crt")
	fi
	if has_flag "$bin" --cgroup-driver; then
		args+=(--cgroup-driver=cgroupfs)
	fi
	if has_flag "$bin" --cluster-dns; then
		args+=(--cluster-dns=10.96.0.10 --cluster-domain=cluster.local)
	fi
	start_proc "$name.kubelet" "$bin" \
		nsenter --net="/run/netns/$(node_ns "$i")" --mount="$(node_mntns "$i")" --wd=/ -- \
		"$bin" "${args[@]}"
}

# node_pids I: every process of worker I: those in its mount namespace (containerd,
# shims, kubelet, commands run with `lab ssh`) and all their descendants
# (containers, which have mount namespaces of their own).
node_pids() {
	local i=$1 want f pid ppid rest
	f=$(node_mntns "$i")
	[[ -e $f ]] || return 0
	want=$(stat -L -c %i "$f" 2>/dev/null) || return 0
	local -A in_node=() parent=()
	local ino path
	# one stat for every process's mount namespace; `read` (no fork) for the parents
	while read -r ino path; do
		[[ $ino == "$want" ]] || continue
		pid=${path#/proc/}
		in_node[${pid%%/*}]=1
	done < <(stat -L -c '%i %n' /proc/[0-9]*/ns/mnt 2>/dev/null)
	for f in /proc/[0-9]*; do
		pid=${f#/proc/}
		read -r rest 2>/dev/null <"$f/stat" || continue
		rest=${rest##*) }
		ppid=${rest#* }
		parent[$pid]=${ppid%% *}
	done
	# descendants: repeat until nothing new joins
	local changed=1
	while ((changed)); do
		changed=0
		for pid in "${!parent[@]}"; do
			[[ -z ${in_node[$pid]:-} ]] || continue
			if [[ -n ${in_node[${parent[$pid]}]:-} ]]; then
				in_node[$pid]=1
				changed=1
			fi
		done
	done
	echo "${!in_node[@]}"
}

# node_down I: stop everything of worker I and release its mount namespace.
node_down() {
	local i=$1 name pids p
	name=$(node_name "$i")
	stop_proc "$name.kubelet" 5
	stop_proc "$name.containerd" 5
	for _ in 1 2 3 4 5; do
		pids=$(node_pids "$i")
		[[ -n $pids ]] || break
		for p in $pids; do
			[[ $p != "$$" ]] || continue
			kill -KILL "$p" 2>/dev/null || true
		done
		sleep 0.2
	done
	if [[ -n $(node_pids "$i") ]]; then
		log "warning: processes of $name still alive: $(node_pids "$i")"
	fi
	local f
	f=$(node_mntns "$i")
	if mountpoint -q "$f" 2>/dev/null; then
		umount "$f" || umount -l "$f"
	fi
	rm -f "$f"
}
