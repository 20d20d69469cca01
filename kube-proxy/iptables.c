/* iptables: upstream's rule layout as iptables-restore text; the iptables runner. */
#include "iptables.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/sha.h>

/* The fixed chains, in the order they are declared. */
enum { NAT_SERVICES, NAT_NODEPORTS, NAT_POSTROUTING, NAT_MARK_MASQ, NAT_FIXED };
enum {
	FILTER_SERVICES,
	FILTER_EXTERNAL,
	FILTER_FORWARD,
	FILTER_NODEPORTS,
	FILTER_FIREWALL,
	FILTER_FIXED
};
static const char *const nat_fixed[NAT_FIXED] = {"KUBE-SERVICES", "KUBE-NODEPORTS",
                                                 "KUBE-POSTROUTING", "KUBE-MARK-MASQ"};
static const char *const filter_fixed[FILTER_FIXED] = {"KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES",
                                                       "KUBE-FORWARD", "KUBE-NODEPORTS",
                                                       "KUBE-PROXY-FIREWALL"};
static const char *const our_prefixes[] = {"KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-FW-",
                                           "KUBE-SEP-"};

/* The jumps from the built-in chains into ours, as iptables-save prints them. */
static const struct {
	const char *table, *chain, *rule;
} jumps[] = {
    {"nat", "PREROUTING", "-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"},
    {"nat", "OUTPUT", "-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"},
    {"nat", "POSTROUTING",
     "-m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING"},
    {"filter", "INPUT",
     "-m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" "
     "-j KUBE-PROXY-FIREWALL"},
    {"filter", "INPUT",
     "-m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS"},
    {"filter", "INPUT",
     "-m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible "
     "service portals\" -j KUBE-EXTERNAL-SERVICES"},
    {"filter", "FORWARD",
     "-m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" "
     "-j KUBE-PROXY-FIREWALL"},
    {"filter", "FORWARD", "-m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD"},
    {"filter", "FORWARD",
     "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j "
     "KUBE-SERVICES"},
    {"filter", "FORWARD",
     "-m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible "
     "service portals\" -j KUBE-EXTERNAL-SERVICES"},
    {"filter", "OUTPUT",
     "-m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" "
     "-j KUBE-PROXY-FIREWALL"},
    {"filter", "OUTPUT",
     "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j "
     "KUBE-SERVICES"},
};

/* base32 (RFC 4648 alphabet) of the first 10 bytes of sha256(s): 16 characters. */
static void hash16(const char *s, char out[17])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char h[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)s, strlen(s), h);
	for (int i = 0; i < 16; i++) {
		int bit = i * 5, byte = bit / 8, off = bit % 8;
		unsigned v = (unsigned)h[byte] << 8 | h[byte + 1];
		out[i] = alphabet[(v >> (11 - off)) & 31];
	}
	out[16] = 0;
}

/* Upstream lowercases the protocol in the hashed text. */
static char *hashed_name(const char *prefix, const char *a, const char *protocol, const char *b)
{
	_cleanup_free_ char *lower = ck_strdup(protocol);
	for (char *c = lower; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	_cleanup_free_ char *text = ck_asprintf("%s%s%s", a, lower, b);
	char h[17];
	hash16(text, h);
	return ck_asprintf("%s%s", prefix, h);
}

char *proxy_chain_name(const char *prefix, const char *port_name, const char *protocol)
{
	return hashed_name(prefix, port_name, protocol, "");
}

char *proxy_sep_chain_name(const char *port_name, const char *protocol, const char *ip, int port)
{
	_cleanup_free_ char *ep = ck_asprintf("%s:%d", ip, port);
	return hashed_name("KUBE-SEP-", port_name, protocol, ep);
}

const char *proxy_probability(size_t n, char *buf, size_t len)
{
	/* libxt_statistic keeps lround(p * 2^31) and prints value / 2^31 with "%.11f". */
	double fixed = (double)lround(2147483648.0 / (double)n);
	snprintf(buf, len, "%.11f", fixed / 2147483648.0);
	return buf;
}

bool proxy_chain_is_ours(const char *name)
{
	for (size_t i = 0; i < NAT_FIXED; i++)
		if (!strcmp(name, nat_fixed[i]))
			return true;
	for (size_t i = 0; i < FILTER_FIXED; i++)
		if (!strcmp(name, filter_fixed[i]))
			return true;
	for (size_t i = 0; i < CK_ARRAY_SIZE(our_prefixes); i++)
		if (ck_str_has_prefix(name, our_prefixes[i]))
			return true;
	return false;
}

static size_t table_add(proxy_table *t, const char *name)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->chains = ck_realloc(t->chains, t->cap * sizeof(*t->chains));
	}
	t->chains[t->n] = (proxy_chain){.name = ck_strdup(name)};
	return t->n++;
}

/* Appends "-A CHAIN <rule>" to chain i of t. */
static void rule(proxy_table *t, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void rule(proxy_table *t, size_t i, const char *fmt, ...)
{
	proxy_chain *c = &t->chains[i];
	ck_buf_printf(&c->rules, "-A %s ", c->name);
	va_list ap;
	va_start(ap, fmt);
	ck_buf_vprintf(&c->rules, fmt, ap);
	va_end(ap);
	ck_buf_putc(&c->rules, '\n');
	c->n_rules++;
}

/* A "-m comment --comment X" argument as iptables-save prints it (quoted with spaces). */
static char *comment(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *comment(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *text = NULL;
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	return strchr(text, ' ') ? ck_asprintf("-m comment --comment \"%s\"", text)
	                         : ck_asprintf("-m comment --comment %s", text);
}

/* "-p tcp -m tcp" for the port's protocol, in iptables-save's order. */
static char *proto_match(const proxy_port *p)
{
	_cleanup_free_ char *lower = ck_strdup(p->protocol);
	for (char *c = lower; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return ck_asprintf("-p %s -m %s", lower, lower);
}

static void fixed_rules(proxy_rules *r)
{
	proxy_table *nat = &r->nat, *filter = &r->filter;
	rule(nat, NAT_POSTROUTING, "-m mark ! --mark 0x4000/0x4000 -j RETURN");
	rule(nat, NAT_POSTROUTING, "-j MARK --set-xmark 0x4000/0x0");
	rule(nat, NAT_POSTROUTING,
	     "-m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE "
	     "--random-fully");
	rule(nat, NAT_MARK_MASQ, "-j MARK --set-xmark 0x4000/0x4000");
	rule(filter, FILTER_FORWARD, "-m conntrack --ctstate INVALID -j DROP");
	rule(filter, FILTER_FORWARD,
	     "-m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j "
	     "ACCEPT");
	rule(filter, FILTER_FORWARD,
	     "-m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate "
	     "RELATED,ESTABLISHED -j ACCEPT");
}

/* The rules sending chain's traffic to the endpoints: the affinity checks first, then a
 * random choice with probability 1/(remaining) and the last one unconditional. */
static void endpoint_jumps(proxy_table *nat, size_t chain, const proxy_port *p,
                           const proxy_endpoint *const *eps, size_t n)
{
	for (int pass = p->affinity_seconds ? 0 : 1; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *sep =
			    proxy_sep_chain_name(p->name, p->protocol, eps[i]->ip, eps[i]->port);
			_cleanup_free_ char *c =
			    comment("%s -> %s:%d", p->name, eps[i]->ip, eps[i]->port);
			char prob[32];
			if (pass == 0)
				rule(nat, chain,
				     "%s -m recent --rcheck --seconds %d --reap --name %s --mask "
				     "255.255.255.255 --rsource -j %s",
				     c, p->affinity_seconds, sep, sep);
			else if (i + 1 < n)
				rule(nat, chain,
				     "%s -m statistic --mode random --probability %s -j %s", c,
				     proxy_probability(n - i, prob, sizeof(prob)), sep);
			else
				rule(nat, chain, "%s -j %s", c, sep);
		}
	}
}

static bool contains(const proxy_endpoint *const *eps, size_t n, const proxy_endpoint *e)
{
	for (size_t i = 0; i < n; i++)
		if (eps[i] == e)
			return true;
	return false;
}

static void port_rules(proxy_rules *r, const proxy_port *p, const proxy_rules_opts *o)
{
	proxy_table *nat = &r->nat, *filter = &r->filter;
	_cleanup_free_ const proxy_endpoint **cluster = ck_calloc(p->n_eps + 1, sizeof(*cluster));
	_cleanup_free_ const proxy_endpoint **local = ck_calloc(p->n_eps + 1, sizeof(*local));
	size_t n_cluster = proxy_cluster_endpoints(p, cluster);
	size_t n_local = proxy_local_endpoints(p, local);
	bool external = p->node_port || p->external_ips;
	bool has_eps = n_cluster || n_local;
	bool uses_svc = n_cluster && (!p->int_local || (external && !p->ext_local));
	bool uses_svl = n_local && (p->int_local || p->ext_local);
	bool uses_ext = has_eps && external;
	size_t n_internal = p->int_local ? n_local : n_cluster;
	size_t n_external = p->ext_local ? n_local : n_cluster;
	bool cidr = o->cluster_cidr && *o->cluster_cidr;

	_cleanup_free_ char *svc = proxy_chain_name("KUBE-SVC-", p->name, p->protocol);
	_cleanup_free_ char *svl = proxy_chain_name("KUBE-SVL-", p->name, p->protocol);
	_cleanup_free_ char *ext = proxy_chain_name("KUBE-EXT-", p->name, p->protocol);
	_cleanup_free_ char *proto = proto_match(p);
	const char *internal_chain = p->int_local ? svl : svc;
	const char *no_eps = has_eps ? "has no local endpoints" : "has no endpoints";
	const char *no_eps_target = has_eps ? "DROP" : "REJECT";

	if (p->cluster_ip) {
		_cleanup_free_ char *c = comment("%s cluster IP", p->name);
		_cleanup_free_ char *fc = comment("%s %s", p->name, no_eps);
		if (n_internal)
			rule(nat, NAT_SERVICES, "-d %s/32 %s %s --dport %d -j %s", p->cluster_ip, c,
			     proto, p->port, internal_chain);
		else
			rule(filter, FILTER_SERVICES, "-d %s/32 %s %s --dport %d -j %s",
			     p->cluster_ip, fc, proto, p->port, no_eps_target);
	}
	for (char **ip = p->external_ips; ip && *ip; ip++) {
		_cleanup_free_ char *c = comment("%s external IP", p->name);
		_cleanup_free_ char *fc = comment("%s %s", p->name, no_eps);
		if (n_external)
			rule(nat, NAT_SERVICES, "-d %s/32 %s %s --dport %d -j %s", *ip, c, proto,
			     p->port, ext);
		else
			rule(filter, FILTER_EXTERNAL, "-d %s/32 %s %s --dport %d -j %s", *ip, fc,
			     proto, p->port, no_eps_target);
	}
	if (p->node_port) {
		_cleanup_free_ char *c = comment("%s", p->name);
		_cleanup_free_ char *fc = comment("%s %s", p->name, no_eps);
		if (n_external)
			rule(nat, NAT_NODEPORTS, "%s %s --dport %d -j %s", c, proto, p->node_port,
			     ext);
		else
			rule(filter, FILTER_EXTERNAL,
			     "%s -m addrtype --dst-type LOCAL %s --dport %d -j %s", fc, proto,
			     p->node_port, no_eps_target);
	}

	if (uses_svc) {
		size_t i = table_add(nat, svc);
		if (p->cluster_ip && (o->masquerade_all || cidr)) {
			_cleanup_free_ char *c = comment("%s cluster IP", p->name);
			if (o->masquerade_all)
				rule(nat, i, "-d %s/32 %s %s --dport %d -j KUBE-MARK-MASQ",
				     p->cluster_ip, c, proto, p->port);
			else
				rule(nat, i, "! -s %s -d %s/32 %s %s --dport %d -j KUBE-MARK-MASQ",
				     o->cluster_cidr, p->cluster_ip, c, proto, p->port);
		}
		endpoint_jumps(nat, i, p, cluster, n_cluster);
	}
	if (uses_ext) {
		size_t i = table_add(nat, ext);
		if (p->ext_local) {
			if (cidr && uses_svc) {
				_cleanup_free_ char *c =
				    comment("pod traffic for %s external destinations", p->name);
				rule(nat, i, "-s %s %s -j %s", o->cluster_cidr, c, svc);
			}
			_cleanup_free_ char *m = comment(
			    "masquerade LOCAL traffic for %s external destinations", p->name);
			rule(nat, i, "%s -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ", m);
			if (uses_svc) {
				_cleanup_free_ char *rc = comment(
				    "route LOCAL traffic for %s external destinations", p->name);
				rule(nat, i, "%s -m addrtype --src-type LOCAL -j %s", rc, svc);
			}
			if (uses_svl)
				rule(nat, i, "-j %s", svl);
		} else if (uses_svc) {
			_cleanup_free_ char *m =
			    comment("masquerade traffic for %s external destinations", p->name);
			rule(nat, i, "%s -j KUBE-MARK-MASQ", m);
			rule(nat, i, "-j %s", svc);
		}
	}
	if (uses_svl)
		endpoint_jumps(nat, table_add(nat, svl), p, local, n_local);

	/* One chain per endpoint any of the above may choose. */
	for (size_t e = 0; e < p->n_eps; e++) {
		const proxy_endpoint *ep = &p->eps[e];
		if (!(uses_svc && contains(cluster, n_cluster, ep)) &&
		    !(uses_svl && contains(local, n_local, ep)))
			continue;
		_cleanup_free_ char *sep =
		    proxy_sep_chain_name(p->name, p->protocol, ep->ip, ep->port);
		_cleanup_free_ char *c = comment("%s", p->name);
		size_t i = table_add(nat, sep);
		rule(nat, i, "-s %s/32 %s -j KUBE-MARK-MASQ", ep->ip, c);
		if (p->affinity_seconds)
			rule(nat, i,
			     "%s %s -m recent --set --name %s --mask 255.255.255.255 --rsource -j "
			     "DNAT "
			     "--to-destination %s:%d",
			     c, proto, sep, ep->ip, ep->port);
		else
			rule(nat, i, "%s %s -j DNAT --to-destination %s:%d", c, proto, ep->ip,
			     ep->port);
	}
}

void proxy_rules_build(const proxy_port *ports, size_t n, const proxy_rules_opts *o,
                       proxy_rules *out)
{
	*out = (proxy_rules){.nat = {.name = "nat"}, .filter = {.name = "filter"}};
	for (size_t i = 0; i < NAT_FIXED; i++)
		table_add(&out->nat, nat_fixed[i]);
	for (size_t i = 0; i < FILTER_FIXED; i++)
		table_add(&out->filter, filter_fixed[i]);
	fixed_rules(out);
	for (size_t i = 0; i < n; i++)
		port_rules(out, &ports[i], o);
	static const char nodeports[] =
	    "-m comment --comment \"kubernetes service nodeports; NOTE: this must be the last "
	    "rule in this chain\"";
	if (!o->nodeport_ips)
		rule(&out->nat, NAT_SERVICES, "%s -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS",
		     nodeports);
	for (char *const *ip = o->nodeport_ips; ip && *ip; ip++)
		rule(&out->nat, NAT_SERVICES, "-d %s/32 %s -j KUBE-NODEPORTS", *ip, nodeports);
}

static void table_free(proxy_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->chains[i].name);
		ck_buf_free(&t->chains[i].rules);
	}
	free(t->chains);
}

void proxy_rules_free(proxy_rules *r)
{
	table_free(&r->nat);
	table_free(&r->filter);
}

size_t proxy_table_rule_count(const proxy_table *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++)
		n += t->chains[i].n_rules;
	return n;
}

/* The chains of ours that save (iptables-save text of one table) declares. */
static char **saved_chains(const char *save)
{
	char **names = NULL;
	for (const char *l = save; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		if (*l == ':') {
			const char *sp = memchr(l, ' ', len);
			_cleanup_free_ char *name =
			    strndup(l + 1, (sp ? (size_t)(sp - l) : len) - 1);
			if (proxy_chain_is_ours(name))
				ck_strv_add(&names, name);
		}
		l = end ? end + 1 : l + len;
	}
	return names;
}

static bool saved_has_line(const char *save, const char *line)
{
	size_t len = strlen(line);
	for (const char *p = save; p && (p = strstr(p, line)); p += len)
		if ((p == save || p[-1] == '\n') && (p[len] == '\n' || !p[len]))
			return true;
	return false;
}

size_t proxy_restore_text(const proxy_table *t, const ck_map *prev, const char *save, ck_buf *out)
{
	_cleanup_map_ ck_map *wanted = ck_map_new(NULL);
	for (size_t i = 0; i < t->n; i++)
		ck_map_set(wanted, t->chains[i].name, &t->chains[i]);
	char **gone = NULL;
	if (prev) {
		ck_map_iter it = CK_MAP_ITER_INIT;
		const char *name;
		while (ck_map_next(prev, &it, &name, NULL))
			if (!ck_map_contains(wanted, name))
				ck_strv_add(&gone, name);
	} else {
		char **saved = saved_chains(save);
		for (char **s = saved; s && *s; s++)
			if (!ck_map_contains(wanted, *s))
				ck_strv_add(&gone, *s);
		ck_strv_free(saved);
	}
	bool *write = ck_calloc(t->n + 1, sizeof(*write));
	size_t changed = ck_strv_len(gone);
	for (size_t i = 0; i < t->n; i++) {
		const char *before = prev ? ck_map_get(prev, t->chains[i].name) : NULL;
		write[i] = !before || strcmp(before, ck_buf_str(&t->chains[i].rules));
		changed += write[i];
	}
	ck_buf_printf(out, "*%s\n", t->name);
	for (size_t i = 0; i < t->n; i++)
		if (write[i])
			ck_buf_printf(out, ":%s - [0:0]\n", t->chains[i].name);
	for (char **g = gone; g && *g; g++)
		ck_buf_printf(out, ":%s - [0:0]\n", *g);
	for (size_t i = 0; i < t->n; i++)
		if (write[i])
			ck_buf_puts(out, ck_buf_str(&t->chains[i].rules));
	for (char **g = gone; g && *g; g++)
		ck_buf_printf(out, "-X %s\n", *g);
	/* Prepending in reverse keeps each built-in chain's jumps in the listed order. */
	for (size_t j = CK_ARRAY_SIZE(jumps); !prev && j-- > 0;) {
		if (strcmp(jumps[j].table, t->name))
			continue;
		_cleanup_free_ char *line = ck_asprintf("-A %s %s", jumps[j].chain, jumps[j].rule);
		if (!saved_has_line(save, line)) {
			ck_buf_printf(out, "-I %s 1 %s\n", jumps[j].chain, jumps[j].rule);
			changed++;
		}
	}
	ck_buf_puts(out, "COMMIT\n");
	free(write);
	ck_strv_free(gone);
	return changed;
}

void proxy_table_remember(const proxy_table *t, ck_map *prev)
{
	ck_map_iter it = CK_MAP_ITER_INIT;
	const char *name;
	_cleanup_map_ ck_map *wanted = ck_map_new(NULL);
	for (size_t i = 0; i < t->n; i++)
		ck_map_set(wanted, t->chains[i].name, (void *)1);
	while (ck_map_next(prev, &it, &name, NULL))
		if (!ck_map_contains(wanted, name))
			ck_map_remove(prev, name);
	for (size_t i = 0; i < t->n; i++) {
		const char *before = ck_map_get(prev, t->chains[i].name);
		if (!before || strcmp(before, ck_buf_str(&t->chains[i].rules)))
			ck_map_set(prev, t->chains[i].name,
			           ck_strdup(ck_buf_str(&t->chains[i].rules)));
	}
}

/* Drains fd into b; returns false at end of file or error. */
static bool drain(int fd, ck_buf *b)
{
	char chunk[16384];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	ck_buf_append(b, chunk, (size_t)n);
	return true;
}

int proxy_exec(char *const argv[], const char *input, size_t len, char **out, ck_err **err)
{
	int in[2], o[2], e[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return ck_err_errno(err, -errno, "pipe");
	if (pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0)
		abort();
	pid_t pid = fork();
	if (pid < 0)
		return ck_err_errno(err, -errno, "fork");
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(o[1], 1);
		dup2(e[1], 2);
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	close(e[1]);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	_cleanup_buf_ ck_buf so = {0}, se = {0};
	size_t off = 0;
	int wfd = in[1];
	if (!len) {
		close(wfd);
		wfd = -1;
	}
	bool o_open = true, e_open = true;
	while (o_open || e_open || wfd >= 0) {
		struct pollfd p[3] = {{.fd = o_open ? o[0] : -1, .events = POLLIN},
		                      {.fd = e_open ? e[0] : -1, .events = POLLIN},
		                      {.fd = wfd, .events = POLLOUT}};
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			o_open = drain(o[0], &so);
		if (p[1].revents)
			e_open = drain(e[0], &se);
		if (p[2].revents) {
			ssize_t w =
			    (p[2].revents & POLLOUT) ? write(wfd, input + off, len - off) : -1;
			if (w > 0)
				off += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == len) {
				close(wfd);
				wfd = -1;
			}
		}
	}
	close(o[0]);
	close(e[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		const char *msg = ck_buf_str(&se);
		size_t n = strlen(msg);
		while (n && msg[n - 1] == '\n')
			n--;
		return ck_err_set(err, -EIO, "%s failed (status %d): %.*s", argv[0],
		                  WIFEXITED(status) ? WEXITSTATUS(status) : -1, (int)n, msg);
	}
	if (out)
		*out = ck_buf_steal(&so);
	return 0;
}
