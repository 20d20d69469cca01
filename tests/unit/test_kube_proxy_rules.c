/* kube-proxy's rule building (kube-proxy/iptables.c, endpoints.c): upstream's chain
 * names, the probability chain over ready endpoints, session affinity, NodePort and
 * external IPs, REJECT in filter for a Service without endpoints, Local traffic policies,
 * terminating endpoints as fallback, and the restore text of full and partial syncs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "endpoints.h"
#include "iptables.h"

/* The ports of one service JSON with one slice JSON. */
static proxy_port *ports_of(const char *svc_json, const char *slice_json, size_t *n)
{
	_cleanup_json_ cJSON *svc = ck_json_parse(svc_json, strlen(svc_json), NULL);
	_cleanup_json_ cJSON *slice =
	    slice_json ? ck_json_parse(slice_json, strlen(slice_json), NULL) : NULL;
	assert_non_null(svc);
	const cJSON *slices[] = {slice};
	proxy_port *ports = NULL;
	*n = 0;
	proxy_ports_add(svc, slices, slice ? 1 : 0, "node-1", &ports, n);
	return ports;
}

/* Builds the rules of one service; returns nat and filter text joined ("nat"/"filter"
 * headings) for matching. */
static char *rules_of(const char *svc, const char *slice, const proxy_rules_opts *o)
{
	size_t n;
	proxy_port *ports = ports_of(svc, slice, &n);
	proxy_rules r;
	proxy_rules_build(ports, n, o, &r);
	ck_buf b = {0};
	const proxy_table *tables[] = {&r.nat, &r.filter};
	for (int t = 0; t < 2; t++) {
		ck_buf_printf(&b, "*%s\n", tables[t]->name);
		for (size_t i = 0; i < tables[t]->n; i++)
			ck_buf_puts(&b, ck_buf_str(&tables[t]->chains[i].rules));
	}
	proxy_rules_free(&r);
	proxy_ports_free(ports, n);
	free(ports);
	return ck_buf_steal(&b);
}

static void assert_has(const char *text, const char *line)
{
	if (!strstr(text, line))
		fail_msg("missing line:\n%s\nin:\n%s", line, text);
}

static void assert_lacks(const char *text, const char *what)
{
	if (strstr(text, what))
		fail_msg("unexpected %s in:\n%s", what, text);
}

static const proxy_rules_opts opts = {.cluster_cidr = "10.244.0.0/16"};

#define SVC1                                                                                       \
	"{\"metadata\":{\"name\":\"svc1\",\"namespace\":\"ns1\"},\"spec\":{\"clusterIP\":"         \
	"\"172.30.0.41\",\"ports\":[{\"name\":\"p80\",\"port\":80,\"targetPort\":\"http\"}]%s}}"
#define SLICE1(eps)                                                                                \
	"{\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"p80\",\"port\":80,\"protocol\":"         \
	"\"TCP\"}],\"endpoints\":[" eps "]}"
#define EP(ip, extra) "{\"addresses\":[\"" ip "\"]" extra "}"

static char *svc1(const char *spec_extra)
{
	return ck_asprintf(SVC1, spec_extra);
}

static void test_chain_names(void **state)
{
	(void)state;
	/* Upstream's own test values for ns1/svc1:p80 and its endpoint 10.180.0.1:80. */
	char *svc = proxy_chain_name("KUBE-SVC-", "ns1/svc1:p80", "TCP");
	char *sep = proxy_sep_chain_name("ns1/svc1:p80", "TCP", "10.180.0.1", 80);
	assert_string_equal(svc, "KUBE-SVC-XPGD46QRK7WJZT7O");
	assert_string_equal(sep, "KUBE-SEP-SXIVWICOYRO3J4NJ");
	char *ext = proxy_chain_name("KUBE-EXT-", "ns1/svc1:p80", "tcp");
	assert_string_equal(ext, "KUBE-EXT-XPGD46QRK7WJZT7O");
	char *udp = proxy_chain_name("KUBE-SVC-", "ns1/svc1:p80", "UDP");
	assert_string_not_equal(udp, svc);
	free(svc);
	free(sep);
	free(ext);
	free(udp);
	assert_true(proxy_chain_is_ours("KUBE-SEP-SXIVWICOYRO3J4NJ"));
	assert_true(proxy_chain_is_ours("KUBE-MARK-MASQ"));
	assert_false(proxy_chain_is_ours("KUBE-OTHER"));
	assert_false(proxy_chain_is_ours("TEST-OWN"));
}

static void test_probability(void **state)
{
	(void)state;
	char buf[32];
	assert_string_equal(proxy_probability(3, buf, sizeof(buf)), "0.33333333349");
	assert_string_equal(proxy_probability(2, buf, sizeof(buf)), "0.50000000000");
	assert_string_equal(proxy_probability(10, buf, sizeof(buf)), "0.10000000009");
}

static void test_cluster_ip_three_endpoints(void **state)
{
	(void)state;
	_cleanup_free_ char *svc = svc1("");
	_cleanup_free_ char *text =
	    rules_of(svc,
	             SLICE1(EP("10.180.0.3", ) "," EP("10.180.0.1", ) "," EP("10.180.0.2", ) "," EP(
	                 "10.180.0.9", ",\"conditions\":{\"ready\":false}")),
	             &opts);
	assert_has(text, "-A KUBE-SERVICES -d 172.30.0.41/32 -m comment --comment \"ns1/svc1:p80 "
	                 "cluster IP\" -p tcp -m tcp --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O\n");
	assert_has(text,
	           "-A KUBE-SVC-XPGD46QRK7WJZT7O ! -s 10.244.0.0/16 -d 172.30.0.41/32 -m "
	           "comment --comment \"ns1/svc1:p80 cluster IP\" -p tcp -m tcp --dport 80 -j "
	           "KUBE-MARK-MASQ\n");
	/* Sorted by address; 1/3, then 1/2, then the last one unconditional. */
	assert_has(text,
	           "-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> "
	           "10.180.0.1:80\" -m statistic --mode random --probability 0.33333333349 -j "
	           "KUBE-SEP-SXIVWICOYRO3J4NJ\n"
	           "-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> "
	           "10.180.0.2:80\" -m statistic --mode random --probability 0.50000000000 -j "
	           "KUBE-SEP-");
	assert_has(text, "-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> "
	                 "10.180.0.3:80\" -j KUBE-SEP-");
	/* The endpoint chain: hairpin masquerade, then DNAT. */
	assert_has(text, "-A KUBE-SEP-SXIVWICOYRO3J4NJ -s 10.180.0.1/32 -m comment --comment "
	                 "ns1/svc1:p80 -j KUBE-MARK-MASQ\n"
	                 "-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -p tcp -m "
	                 "tcp -j DNAT --to-destination 10.180.0.1:80\n");
	assert_lacks(text, "10.180.0.9");
	assert_lacks(text, "REJECT");
	assert_has(text, "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; "
	                 "NOTE: this must be the last rule in this chain\" -m addrtype --dst-type "
	                 "LOCAL -j KUBE-NODEPORTS\n");
	assert_has(text, "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic "
	                 "requiring SNAT\" -j MASQUERADE --random-fully\n");
	assert_has(text, "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n");
}

static void test_session_affinity(void **state)
{
	(void)state;
	_cleanup_free_ char *svc =
	    svc1(",\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":"
	         "{\"clientIP\":{\"timeoutSeconds\":60}}");
	_cleanup_free_ char *text =
	    rules_of(svc, SLICE1(EP("10.180.0.1", ) "," EP("10.180.0.2", )), &opts);
	/* The recent checks come before the random choice. */
	const char *check = strstr(text, "-m recent --rcheck --seconds 60 --reap --name "
	                                 "KUBE-SEP-SXIVWICOYRO3J4NJ --mask 255.255.255.255 "
	                                 "--rsource -j KUBE-SEP-SXIVWICOYRO3J4NJ\n");
	const char *random = strstr(text, "-m statistic --mode random");
	assert_non_null(check);
	assert_non_null(random);
	assert_true(check < random);
	assert_has(text, "-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -p tcp -m "
	                 "tcp -m recent --set --name KUBE-SEP-SXIVWICOYRO3J4NJ --mask "
	                 "255.255.255.255 --rsource -j DNAT --to-destination 10.180.0.1:80\n");
	_cleanup_free_ char *def = svc1(",\"sessionAffinity\":\"ClientIP\"");
	_cleanup_free_ char *deftext = rules_of(def, SLICE1(EP("10.180.0.1", )), &opts);
	assert_has(deftext, "--rcheck --seconds 10800 --reap");
}

static void test_no_endpoints_reject(void **state)
{
	(void)state;
	_cleanup_free_ char *svc =
	    svc1(",\"type\":\"NodePort\",\"externalIPs\":[\"192.168.56.200\"]");
	/* nodePort is only read from the port. */
	char *np = strstr(svc, "\"targetPort\"");
	_cleanup_free_ char *with_np =
	    ck_asprintf("%.*s\"nodePort\":30080,%s", (int)(np - svc), svc, np);
	_cleanup_free_ char *text = rules_of(with_np, NULL, &opts);
	const char *filter = strstr(text, "*filter\n");
	assert_non_null(filter);
	assert_has(filter, "-A KUBE-SERVICES -d 172.30.0.41/32 -m comment --comment \"ns1/svc1:p80 "
	                   "has no endpoints\" -p tcp -m tcp --dport 80 -j REJECT\n");
	assert_has(filter,
	           "-A KUBE-EXTERNAL-SERVICES -d 192.168.56.200/32 -m comment --comment "
	           "\"ns1/svc1:p80 has no endpoints\" -p tcp -m tcp --dport 80 -j REJECT\n");
	assert_has(filter,
	           "-A KUBE-EXTERNAL-SERVICES -m comment --comment \"ns1/svc1:p80 has no "
	           "endpoints\" -m addrtype --dst-type LOCAL -p tcp -m tcp --dport 30080 -j "
	           "REJECT\n");
	assert_lacks(text, "KUBE-SVC-");
	assert_lacks(text, "KUBE-EXT-");
}

static void test_node_port_external_ip(void **state)
{
	(void)state;
	const char *svc = "{\"metadata\":{\"name\":\"svc1\",\"namespace\":\"ns1\"},\"spec\":{"
	                  "\"type\":\"NodePort\",\"clusterIP\":\"172.30.0.41\",\"externalIPs\":["
	                  "\"192.168.56.200\"],\"ports\":[{\"name\":\"p80\",\"port\":80,"
	                  "\"nodePort\":30080}]}}";
	char *ips[] = {"192.168.56.11", NULL};
	proxy_rules_opts o = {.cluster_cidr = "10.244.0.0/16", .nodeport_ips = ips};
	_cleanup_free_ char *text = rules_of(svc, SLICE1(EP("10.180.0.1", )), &o);
	assert_has(text,
	           "-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -p tcp -m tcp --dport "
	           "30080 -j KUBE-EXT-XPGD46QRK7WJZT7O\n");
	assert_has(text,
	           "-A KUBE-SERVICES -d 192.168.56.200/32 -m comment --comment \"ns1/svc1:p80 "
	           "external IP\" -p tcp -m tcp --dport 80 -j KUBE-EXT-XPGD46QRK7WJZT7O\n");
	assert_has(text, "-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment \"masquerade traffic "
	                 "for ns1/svc1:p80 external destinations\" -j KUBE-MARK-MASQ\n"
	                 "-A KUBE-EXT-XPGD46QRK7WJZT7O -j KUBE-SVC-XPGD46QRK7WJZT7O\n");
	/* --nodeport-addresses: one jump per node address instead of addrtype LOCAL. */
	assert_has(text, "-A KUBE-SERVICES -d 192.168.56.11/32 -m comment --comment \"kubernetes "
	                 "service nodeports; NOTE: this must be the last rule in this chain\" -j "
	                 "KUBE-NODEPORTS\n");
	assert_lacks(text, "--dst-type LOCAL -j KUBE-NODEPORTS");
}

static void test_traffic_policy_local(void **state)
{
	(void)state;
	const char *svc = "{\"metadata\":{\"name\":\"svc1\",\"namespace\":\"ns1\"},\"spec\":{"
	                  "\"type\":\"NodePort\",\"clusterIP\":\"172.30.0.41\","
	                  "\"externalTrafficPolicy\":\"Local\",\"ports\":[{\"name\":\"p80\","
	                  "\"port\":80,\"nodePort\":30080}]}}";
	_cleanup_free_ char *text =
	    rules_of(svc,
	             SLICE1(EP("10.180.0.1", ",\"nodeName\":\"node-1\"") "," EP(
	                 "10.180.1.1", ",\"nodeName\":\"node-2\"")),
	             &opts);
	assert_has(text, "-A KUBE-EXT-XPGD46QRK7WJZT7O -s 10.244.0.0/16 -m comment --comment \"pod "
	                 "traffic for ns1/svc1:p80 external destinations\" -j "
	                 "KUBE-SVC-XPGD46QRK7WJZT7O\n");
	assert_has(text, "-A KUBE-EXT-XPGD46QRK7WJZT7O -j KUBE-SVL-XPGD46QRK7WJZT7O\n");
	assert_has(text, "-A KUBE-SVL-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> "
	                 "10.180.0.1:80\" -j KUBE-SEP-SXIVWICOYRO3J4NJ\n");
	assert_lacks(text, "-A KUBE-SVL-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> "
	                   "10.180.1.1");

	/* internalTrafficPolicy Local with no endpoint on this node: DROP, not REJECT. */
	_cleanup_free_ char *itp = svc1(",\"internalTrafficPolicy\":\"Local\"");
	_cleanup_free_ char *t2 =
	    rules_of(itp, SLICE1(EP("10.180.1.1", ",\"nodeName\":\"node-2\"")), &opts);
	assert_has(t2,
	           "\"ns1/svc1:p80 has no local endpoints\" -p tcp -m tcp --dport 80 -j DROP\n");
	assert_lacks(t2, "KUBE-SEP-");
}

static void test_terminating_fallback(void **state)
{
	(void)state;
	_cleanup_free_ char *svc = svc1("");
	/* No ready endpoint: the serving terminating one is used, the non-serving is not. */
	_cleanup_free_ char *text =
	    rules_of(svc,
	             SLICE1(EP("10.180.0.1",
	                       ",\"conditions\":{\"ready\":false,\"serving\":true,"
	                       "\"terminating\":true}") "," EP("10.180.0.2", ",\"conditions\":{"
	                                                                     "\"ready\":false,"
	                                                                     "\"serving\":false,"
	                                                                     "\"terminating\":"
	                                                                     "true}")),
	             &opts);
	assert_has(text, "-j DNAT --to-destination 10.180.0.1:80\n");
	assert_lacks(text, "10.180.0.2");
	/* With a ready endpoint the terminating one is left out. */
	_cleanup_free_ char *t2 =
	    rules_of(svc,
	             SLICE1(EP("10.180.0.1", ",\"conditions\":{\"ready\":false,\"serving\":true,"
	                                     "\"terminating\":true}") "," EP("10.180.0.3", )),
	             &opts);
	assert_lacks(t2, "10.180.0.1:80");
	assert_has(t2, "--to-destination 10.180.0.3:80");
}

static void test_named_port_and_other_slices(void **state)
{
	(void)state;
	/* The slice port of the same name carries the resolved target port; an IPv6 slice and
	 * a port of another name are ignored. */
	const char *svc = "{\"metadata\":{\"name\":\"svc1\",\"namespace\":\"ns1\"},\"spec\":{"
	                  "\"clusterIP\":\"172.30.0.41\",\"ports\":[{\"name\":\"p80\",\"port\":80,"
	                  "\"targetPort\":\"http\"}]}}";
	_cleanup_free_ char *text = rules_of(
	    svc,
	    "{\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"other\",\"port\":9999},{\"name\":"
	    "\"p80\",\"port\":8080}],\"endpoints\":[{\"addresses\":[\"10.180.0.1\"]}]}",
	    &opts);
	assert_has(text, "--to-destination 10.180.0.1:8080\n");
	assert_lacks(text, "9999");
}

static void test_restore_text(void **state)
{
	(void)state;
	size_t n;
	_cleanup_free_ char *svc = svc1("");
	proxy_port *ports = ports_of(svc, SLICE1(EP("10.180.0.1", )), &n);
	proxy_rules r;
	proxy_rules_build(ports, n, &opts, &r);
	/* Full: stale chains of ours are flushed and deleted, others left; missing jumps
	 * prepended. */
	const char *save = "*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]\n"
	                   ":TEST-OWN - [0:0]\n-A PREROUTING -m comment --comment \"kubernetes "
	                   "service portals\" -j KUBE-SERVICES\nCOMMIT\n";
	ck_buf b = {0};
	size_t changed = proxy_restore_text(&r.nat, NULL, save, &b);
	const char *t = ck_buf_str(&b);
	assert_true(changed > 0);
	assert_has(t, "*nat\n:KUBE-SERVICES - [0:0]\n");
	assert_has(t, ":KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]\n");
	assert_has(t, "-X KUBE-SVC-AAAAAAAAAAAAAAAA\n");
	assert_lacks(t, "TEST-OWN");
	assert_lacks(t, "-I PREROUTING");
	assert_has(t, "-I OUTPUT 1 -m comment --comment \"kubernetes service portals\" -j "
	              "KUBE-SERVICES\n");
	assert_has(t, "-I POSTROUTING 1 -m comment --comment \"kubernetes postrouting rules\" -j "
	              "KUBE-POSTROUTING\n");
	assert_true(ck_str_has_suffix(t, "COMMIT\n"));
	ck_buf_free(&b);

	/* Partial after remembering: nothing changed, nothing written. */
	ck_map *prev = ck_map_new(free);
	proxy_table_remember(&r.nat, prev);
	assert_int_equal(proxy_restore_text(&r.nat, prev, NULL, &b), 0);
	assert_string_equal(ck_buf_str(&b), "*nat\nCOMMIT\n");
	ck_buf_free(&b);
	proxy_rules_free(&r);
	proxy_ports_free(ports, n);
	free(ports);

	/* A second endpoint: only the service chain and the new endpoint chain are written
	 * (KUBE-SERVICES is unchanged). */
	ports = ports_of(svc, SLICE1(EP("10.180.0.1", ) "," EP("10.180.0.2", )), &n);
	proxy_rules_build(ports, n, &opts, &r);
	assert_int_equal(proxy_restore_text(&r.nat, prev, NULL, &b), 2);
	t = ck_buf_str(&b);
	assert_has(t, ":KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]\n");
	assert_lacks(t, ":KUBE-SERVICES");
	assert_lacks(t, ":KUBE-SEP-SXIVWICOYRO3J4NJ");
	ck_buf_free(&b);
	proxy_table_remember(&r.nat, prev);
	proxy_rules_free(&r);
	proxy_ports_free(ports, n);
	free(ports);

	/* No endpoints: the chains remembered are deleted. */
	ports = ports_of(svc, NULL, &n);
	proxy_rules_build(ports, n, &opts, &r);
	proxy_restore_text(&r.nat, prev, NULL, &b);
	t = ck_buf_str(&b);
	assert_has(t, "-X KUBE-SVC-XPGD46QRK7WJZT7O\n");
	assert_has(t, "-X KUBE-SEP-SXIVWICOYRO3J4NJ\n");
	ck_buf_free(&b);
	proxy_rules_free(&r);
	proxy_ports_free(ports, n);
	free(ports);
	ck_map_free(prev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain_names),
	    cmocka_unit_test(test_probability),
	    cmocka_unit_test(test_cluster_ip_three_endpoints),
	    cmocka_unit_test(test_session_affinity),
	    cmocka_unit_test(test_no_endpoints_reject),
	    cmocka_unit_test(test_node_port_external_ip),
	    cmocka_unit_test(test_traffic_policy_local),
	    cmocka_unit_test(test_terminating_fallback),
	    cmocka_unit_test(test_named_port_and_other_slices),
	    cmocka_unit_test(test_restore_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
