# shellcheck shell=bash
# deploy/lab.d/net.sh: the lab bridge, the namespaces of the control plane and the
# workers, routes and the iptables guard. Sourced by deploy/lab.
#
# The NETWORK RULE: no lab address reaches beyond the machine. The bridge has no
# uplink, no namespace has a default route, the host does not NAT for the lab, and
# FORWARD rules drop anything between the bridge and any other interface in case
# forwarding is (or gets) enabled on the host.

# Bridge traffic that would leave the lab through the host's routing.
ipt_rules=(
	"FORWARD -i $BR ! -o $BR -m comment --comment $IPT_COMMENT -j DROP"
	"FORWARD ! -i $BR -o $BR -m comment --comment $IPT_COMMENT -j DROP"
)

net_bridge_up() {
	if ! ip link show "$BR" >/dev/null 2>&1; then
		ip link add "$BR" type bridge
	fi
	ip addr replace "$HOST_IP/24" dev "$BR"
	ip link set "$BR" up
	local r
	for r in "${ipt_rules[@]}"; do
		# shellcheck disable=SC2086 # the rule is a list of words
		if ! iptables -w -C $r 2>/dev/null; then
			iptables -w -I $r
		fi
	done
}

# net_ns_up NS VETH_HOST ADDR: a namespace on the bridge with ADDR/24 on eth0,
# lo up and no default route.
net_ns_up() {
	local ns=$1 vh=$2 addr=$3
	if [[ ! -e /run/netns/$ns ]]; then
		ip netns add "$ns"
	fi
	if ! ip link show "$vh" >/dev/null 2>&1; then
		ip link add "$vh" type veth peer name "$vh-n"
		ip link set "$vh-n" netns "$ns"
		ip -n "$ns" link set "$vh-n" name eth0
	fi
	ip link set "$vh" master "$BR"
	ip link set "$vh" up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr replace "$addr/24" dev eth0
	ip -n "$ns" link set eth0 up
}

# net_routes N: routes to each worker's pod CIDR via its lab address, on the host,
# in the control-plane namespace and in every other worker.
net_routes() {
	local n=$1 i j
	for ((i = 1; i <= n; i++)); do
		ip route replace "$(node_cidr "$i")" via "$(node_ip "$i")" dev "$BR"
		ip -n "$MASTER_NS" route replace "$(node_cidr "$i")" via "$(node_ip "$i")" dev eth0
		for ((j = 1; j <= n; j++)); do
			[[ $i -ne $j ]] || continue
			ip -n "$(node_ns "$j")" route replace "$(node_cidr "$i")" via "$(node_ip "$i")" dev eth0
		done
	done
}

net_up() {
	local n=$1 i
	net_bridge_up
	net_ns_up "$MASTER_NS" ckv-m "$MASTER_IP"
	for ((i = 1; i <= n; i++)); do
		net_ns_up "$(node_ns "$i")" "ckv-w$i" "$(node_ip "$i")"
		# the node routes between its pods' bridge and the lab (its own namespace only)
		ip netns exec "$(node_ns "$i")" sysctl -qw net.ipv4.ip_forward=1
	done
	net_routes "$n"
}

net_down() {
	local ns r
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $ns in
		ckube-m-k8s | ckube-w*-k8s) ip netns del "$ns" ;;
		esac
	done
	local l
	for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'); do
		case $l in
		ckv-m | ckv-w*) ip link del "$l" 2>/dev/null || true ;;
		esac
	done
	if ip link show "$BR" >/dev/null 2>&1; then
		# routes via the bridge go with it
		ip link del "$BR"
	fi
	for r in "${ipt_rules[@]}"; do
		# shellcheck disable=SC2086 # the rule is a list of words
		while iptables -w -C $r 2>/dev/null; do
			iptables -w -D $r
		done
	done
}
