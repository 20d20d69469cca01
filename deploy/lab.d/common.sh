# shellcheck shell=bash
# deploy/lab.d/common.sh: settings and small helpers shared by deploy/lab's commands.
# Sourced, never run. Everything here is bash with `set -euo pipefail` in force.

# shellcheck disable=SC2034 # used by the other lab.d files
# The lab network (the addresses of the usual Vagrant lab): a bridge with no uplink,
# the host side takes .1, the control-plane namespace m-k8s .10, worker N .10N.
BR=ckube-br0
LAB_SUBNET=192.168.56.0/24
HOST_IP=192.168.56.1
MASTER=m-k8s
MASTER_IP=192.168.56.10
MASTER_NS=ckube-m-k8s
CLUSTER_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/12
SERVICE_IP=10.96.0.1
REGISTRY=$HOST_IP:5000
PAUSE_IMAGE=registry.k8s.io/pause:3.9
CGROUP_TOP=ckube-lab
IPT_COMMENT=ckube-lab
# The one lab running on this machine (the bridge and subnet are fixed).
ACTIVE=/run/ckube-lab/current
DEFAULT_DIR=/var/lib/ckube-lab

node_name() { echo "w$1-k8s"; }
node_ip() { echo "192.168.56.$((100 + $1))"; }
node_ns() { echo "ckube-w$1-k8s"; }
node_cidr() { echo "10.244.$1.0/24"; }
node_dir() { echo "$DIR/nodes/w$1-k8s"; }
node_mntns() { echo "$DIR/ns/w$1-k8s.mnt"; }

log() { printf 'lab: %s\n' "$*" >&2; }
die() {
	printf 'lab: error: %s\n' "$*" >&2
	exit 1
}

# now_ms: wall clock in milliseconds.
now_ms() { date +%s%3N; }

# proc_start PID: the process's start time in clock ticks since boot (empty if gone).
proc_start() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	# shellcheck disable=SC2086 # split the fields on purpose
	set -- $s
	# a zombie has exited (PID 1 here may be slow to reap, or never reap)
	[[ $1 != Z && $1 != X ]] || return 0
	echo "${20}"
}

# pidfile NAME: where NAME's "PID STARTTIME" is kept.
pidfile() { echo "$DIR/run/$1.pid"; }

# proc_pid NAME: the PID of the lab component NAME if it is alive (else nothing, rc 1).
proc_pid() {
	local f pid start
	f=$(pidfile "$1")
	[[ -f $f ]] || return 1
	read -r pid start _ <"$f" || return 1
	[[ -n $pid && -d /proc/$pid ]] || return 1
	[[ $(proc_start "$pid") == "$start" ]] || return 1
	echo "$pid"
}

# proc_binary_changed NAME BIN: true when BIN is newer than the process NAME runs.
proc_binary_changed() {
	local f mtime
	f=$(pidfile "$1")
	read -r _ _ mtime <"$f" 2>/dev/null || return 0
	[[ $(stat -c %Y "$2" 2>/dev/null || echo 0) != "${mtime:-0}" ]]
}

# start_proc NAME BIN CMD...: start CMD (which runs BIN, possibly through nsenter)
# in the background, detached, its output appended to logs/NAME.log, and keep its
# PID. nsenter and setsid exec (no fork), so $! is the component's own PID.
start_proc() {
	local name=$1 bin=$2
	shift 2
	local logf=$DIR/logs/$name.log
	mkdir -p "$DIR/logs" "$DIR/run"
	printf '=== %s: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$logf"
	setsid "$@" </dev/null >>"$logf" 2>&1 &
	local pid=$!
	local start=
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		start=$(proc_start "$pid")
		[[ -z $start ]] || break
		sleep 0.01
	done
	echo "$pid ${start:-0} $(stat -c %Y "$bin" 2>/dev/null || echo 0)" >"$(pidfile "$name")"
}

# stop_proc NAME [GRACE_SECONDS]: TERM, then KILL after the grace period.
stop_proc() {
	local name=$1 grace=${2:-5} pid
	if pid=$(proc_pid "$name"); then
		kill -TERM "$pid" 2>/dev/null || true
		local i
		for ((i = 0; i < grace * 20; i++)); do
			[[ -n $(proc_start "$pid") ]] || break
			# a zombie child of ours would stay: reap it
			wait "$pid" 2>/dev/null || true
			sleep 0.05
		done
		if [[ -n $(proc_start "$pid") ]]; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$(pidfile "$name")"
}

# died NAME: print why NAME is not running, with the end of its log (once).
declare -A DIED_REPORTED=()
died() {
	local name=$1 logf=$DIR/logs/$1.log
	[[ -z ${DIED_REPORTED[$name]:-} ]] || return 0
	DIED_REPORTED[$name]=1
	printf 'lab: error: %s is not running; its log is %s\n' "$name" "$logf" >&2
	if [[ -f $logf ]]; then
		tail -n 15 "$logf" | sed 's/^/    | /' >&2
	fi
}

# has_flag BIN FLAG: true when BIN's --help mentions FLAG (help text cached per run;
# not a pipe into grep -q, whose early exit would fail the pipeline under pipefail).
declare -A HELP_TEXT=()
has_flag() {
	if [[ -z ${HELP_TEXT[$1]:-} ]]; then
		HELP_TEXT[$1]="$("$1" --help 2>&1 || true) "
	fi
	grep -q -- "$2\b" <<<"${HELP_TEXT[$1]}"
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.1 s.
wait_for() {
	local secs=$1 what=$2
	shift 2
	local deadline=$(($(now_ms) + secs * 1000))
	while ! "$@" >/dev/null 2>&1; do
		if (($(now_ms) > deadline)); then
			log "timed out after ${secs}s waiting for $what"
			return 1
		fi
		sleep 0.1
	done
}

# in_node I CMD...: run CMD inside worker I's network and mount namespaces.
in_node() {
	local i=$1
	shift
	nsenter --net="/run/netns/$(node_ns "$i")" --mount="$(node_mntns "$i")" --wd=/ -- \
		env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		CONTAINERD_ADDRESS="$(node_dir "$i")/containerd.sock" CONTAINERD_NAMESPACE=k8s.io \
		"$@"
}

# in_master CMD...: run CMD in the control plane's network namespace.
in_master() {
	nsenter --net="/run/netns/$MASTER_NS" -- "$@"
}

# subst TEMPLATE OUT KEY=VALUE...: replace @KEY@ in TEMPLATE, write OUT.
subst() {
	local tpl=$1 out=$2 kv key val
	shift 2
	local text
	text=$(cat "$tpl")
	for kv in "$@"; do
		key=${kv%%=*}
		val=${kv#*=}
		text=${text//@$key@/$val}
	done
	printf '%s\n' "$text" >"$out.tmp"
	mv "$out.tmp" "$out"
}
