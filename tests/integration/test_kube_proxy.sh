#!/usr/bin/env bash
# kube-proxy in iptables mode against a real apiserver and etcd, all inside a network
# namespace the test makes (nothing touches the host's network): the chains for a Service
# and its EndpointSlice, real traffic from that namespace through the ClusterIP to an HTTP
# server in a second namespace (the "pod", on a veth pair), a NodePort, REJECT at once for
# a Service with no endpoints, rules removed with their Service, stale chains removed by a
# restarted kube-proxy, and a rule of the test's own that survives every sync.
source "$(dirname "$0")/../harness/cluster.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 0; }
NS=ckproxy$$
POD=ckpod$$
VN=kpn$$
VP=kpp$$
proxy_cleanup() {
	h_cleanup
	ip netns del "$NS" 2>/dev/null || true
	ip netns del "$POD" 2>/dev/null || true
}
trap proxy_cleanup EXIT

ip netns add "$NS"
ip netns add "$POD"
ip -n "$NS" link set lo up
ip -n "$POD" link set lo up
ip -n "$NS" link add "$VN" type veth peer name "$VP" netns "$POD"
ip -n "$NS" addr add 10.244.0.1/24 dev "$VN"
ip -n "$POD" addr add 10.244.0.2/24 dev "$VP"
ip -n "$NS" link set "$VN" up
ip -n "$POD" link set "$VP" up
# The Service range is routed to the veth (no default route anywhere): a connection to a
# ClusterIP needs a route before the nat OUTPUT chain rewrites its destination.
ip -n "$NS" route add 10.96.0.0/12 dev "$VN"

in_ns() { ip netns exec "$NS" "$@"; }
k() { in_ns /usr/bin/kubectl --server=http://127.0.0.1:8080 "$@"; }
nat() { in_ns iptables-save -t nat; }
filter() { in_ns iptables-save -t filter; }

h_start etcd ip netns exec "$NS" etcd --data-dir "$H_TMP/etcd" \
	--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
	--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
	--initial-cluster default=http://127.0.0.1:2380
h_eventually 60 "etcd up" "health" in_ns curl -sf http://127.0.0.1:2379/health
h_start apiserver ip netns exec "$NS" "$H_BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
	--secure-port=0 --insecure-port=8080 --service-cluster-ip-range=10.96.0.0/12
h_eventually 60 "apiserver up" "ok" in_ns curl -sf http://127.0.0.1:8080/readyz

h_start pod ip netns exec "$POD" python3 -m http.server --bind 10.244.0.2 8080 --directory "$H_TMP"
echo "hello from the pod" >"$H_TMP/index.html"
h_eventually 20 "pod server up" "hello from the pod" in_ns curl -sf --max-time 2 http://10.244.0.2:8080/

start_proxy() {
	h_start "proxy$1" ip netns exec "$NS" "$H_BIN/kube-proxy" --master=http://127.0.0.1:8080 \
		--hostname-override=node-1 --cluster-cidr=10.244.0.0/16 --iptables-min-sync-period=0 \
		--healthz-bind-address=127.0.0.1:10256 --metrics-bind-address=127.0.0.1:10249 -v=2
	PROXY_PID=$H_LAST_PID
}

# A rule of the test's own, in a chain of its own and in a built-in chain.
in_ns iptables -t nat -N TEST-OWN
in_ns iptables -t nat -A TEST-OWN -d 192.0.2.1/32 -j RETURN
in_ns iptables -t nat -A PREROUTING -j TEST-OWN
own_rules() {
	nat | grep -c -e '^-A TEST-OWN -d 192.0.2.1/32 -j RETURN$' -e '^-A PREROUTING -j TEST-OWN$'
}

start_proxy 1
h_eventually 20 "healthz after the first sync" "lastUpdated" in_ns curl -sf http://127.0.0.1:10256/healthz
h_expect "base chains" "^:KUBE-SERVICES" nat
h_expect "jump from PREROUTING" '^-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES$' nat
h_expect "masquerade" '^-A KUBE-POSTROUTING .*-j MASQUERADE --random-fully$' nat
h_expect "mark masq" '^-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000$' nat
h_expect "filter forward" '^:KUBE-FORWARD' filter

k create -f - >/dev/null <<'EOF2'
{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
 "spec":{"type":"NodePort","clusterIP":"10.96.0.50","selector":{"app":"web"},
  "ports":[{"name":"http","port":80,"targetPort":"web","nodePort":30080,"protocol":"TCP"}]}}
EOF2
k create -f - >/dev/null <<'EOF2'
{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
 "metadata":{"name":"web-abc","namespace":"default","labels":{"kubernetes.io/service-name":"web"}},
 "addressType":"IPv4","ports":[{"name":"http","port":8080,"protocol":"TCP"}],
 "endpoints":[{"addresses":["10.244.0.2"],"conditions":{"ready":true},"nodeName":"node-1"}]}
EOF2
h_expect "kubectl lists the slice" "web-abc +IPv4 +8080 +10.244.0.2" k get endpointslices
h_eventually 20 "cluster IP rule" '^-A KUBE-SERVICES -d 10.96.0.50/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-' nat
h_expect "DNAT to the endpoint" "-j DNAT --to-destination 10.244.0.2:8080" nat
h_expect "hairpin masquerade" '^-A KUBE-SEP-[A-Z2-7]{16} -s 10.244.0.2/32 -m comment --comment "?default/web:http"? -j KUBE-MARK-MASQ$' nat
h_expect "node port" '^-A KUBE-NODEPORTS -p tcp -m comment --comment "?default/web:http"? -m tcp --dport 30080 -j KUBE-EXT-' nat
h_expect "traffic through the cluster IP" "hello from the pod" in_ns curl -sf --max-time 5 http://10.96.0.50/
h_expect "traffic through the node port" "hello from the pod" in_ns curl -sf --max-time 5 http://10.244.0.1:30080/

# No endpoints: REJECT in filter, so a client fails at once rather than timing out.
k create -f - >/dev/null <<'EOF2'
{"apiVersion":"v1","kind":"Service","metadata":{"name":"empty","namespace":"default"},
 "spec":{"clusterIP":"10.96.0.60","selector":{"app":"none"},"ports":[{"port":80,"targetPort":8080}]}}
EOF2
h_eventually 20 "reject rule" '^-A KUBE-SERVICES -d 10.96.0.60/32 -p tcp -m comment --comment "default/empty has no endpoints" -m tcp --dport 80 -j REJECT' filter
start=$SECONDS
h_expect_fail "no endpoints: refused" "Connection refused|Couldn't connect" in_ns curl -sS --max-time 20 http://10.96.0.60/
[ $((SECONDS - start)) -lt 10 ] || h_fail "no endpoints: the connection was not rejected at once"

# Deleting the Service removes its rules.
k delete service web >/dev/null
h_eventually 20 "web rules gone" "^0$" sh -c "ip netns exec $NS iptables-save -t nat | grep -c 'default/web' || true"
h_expect "no KUBE-SEP chains left" "^0$" sh -c "ip netns exec $NS iptables-save -t nat | grep -c '^:KUBE-SEP-' || true"

# A Service deleted while kube-proxy is down: its chains go at the restart's full sync.
k create -f - >/dev/null <<'EOF2'
{"apiVersion":"v1","kind":"Service","metadata":{"name":"gone","namespace":"default"},
 "spec":{"clusterIP":"10.96.0.70","ports":[{"port":81,"targetPort":8080}]}}
EOF2
k create -f - >/dev/null <<'EOF2'
{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
 "metadata":{"name":"gone-1","namespace":"default","labels":{"kubernetes.io/service-name":"gone"}},
 "addressType":"IPv4","ports":[{"port":8080,"protocol":"TCP"}],
 "endpoints":[{"addresses":["10.244.0.2"]}]}
EOF2
h_eventually 20 "gone rules" "default/gone cluster IP" nat
h_expect "traffic to gone" "hello from the pod" in_ns curl -sf --max-time 5 http://10.96.0.70:81/
kill "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null || true
k delete service gone >/dev/null
h_expect "stale chains still there while down" "default/gone" nat
start_proxy 2
h_eventually 20 "stale chains removed at restart" "^0$" sh -c "ip netns exec $NS iptables-save -t nat | grep -c -e 'default/gone' -e '^:KUBE-SEP-' -e '^:KUBE-SVC-' || true"
h_expect "empty still rejected after restart" "default/empty has no endpoints" filter
h_expect "one jump from PREROUTING after restart" "^1$" sh -c "ip netns exec $NS iptables-save -t nat | grep -c -- '-A PREROUTING -m comment --comment \"kubernetes service portals\"'"
h_expect "own rules survive every sync" "^2$" own_rules
h_expect "metrics" 'kubeproxy_sync_proxy_rules_iptables_total\{table="nat"\} [0-9]+' in_ns curl -sf http://127.0.0.1:10249/metrics
echo "PASS"
