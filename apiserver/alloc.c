/* alloc: service cluster IPs as etcd keys. */
#include "alloc.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/json.h"
#include "status.h"
#include "storage.h"

#define ALLOC_MAX_ATTEMPTS 8

int alloc_parse_range(const char *cidr, uint32_t *base, uint32_t *size, ck_err **err)
{
	const char *slash = cidr ? strchr(cidr, '/') : NULL;
	if (!slash)
		return ck_err_set(err, -EINVAL, "invalid CIDR \"%s\"", cidr ? cidr : "");
	_cleanup_free_ char *addr = ck_strndup(cidr, (size_t)(slash - cidr));
	char *end;
	errno = 0;
	long bits = strtol(slash + 1, &end, 10);
	struct in_addr in;
	if (errno || *end || bits < 8 || bits > 30 || inet_pton(AF_INET, addr, &in) != 1)
		return ck_err_set(err, -EINVAL, "invalid IPv4 CIDR \"%s\" (prefix 8..30)", cidr);
	*size = 1u << (32 - bits);
	*base = ntohl(in.s_addr) & ~(*size - 1);
	return 0;
}

static char *ip_text(uint32_t ip)
{
	struct in_addr in = {.s_addr = htonl(ip)};
	char buf[INET_ADDRSTRLEN];
	return ck_strdup(inet_ntop(AF_INET, &in, buf, sizeof(buf)));
}

static char *ip_key(const apiserver *s, const char *ip)
{
	return ck_asprintf("%s/ckube/serviceips/%s", s->prefix, ip);
}

typedef struct alloc_op {
	api_req *r;
	alloc_done_fn done;
	char *want; /* NULL: any */
	char *ip;   /* being reserved */
	int attempts;
} alloc_op;

static void op_finish(alloc_op *op, bool ok)
{
	api_req *r = op->r;
	alloc_done_fn done = op->done;
	char *ip = ok ? CK_TAKE_PTR(op->ip) : NULL;
	free(op->ip);
	free(op->want);
	free(op);
	done(r, ip);
}

static void invalid_ip(alloc_op *op, const char *why)
{
	cJSON *causes = cJSON_CreateArray();
	kind_causes c = {causes};
	kind_cause_invalid(&c, "spec.clusterIP", op->want, why);
	status_invalid(op->r->x, op->r->rt.kind, ck_json_get_str(op->r->body, "metadata.name", ""),
	               causes);
	op_finish(op, false);
}

static void scan_used(alloc_op *op);

static void reserved(int rc, const etcd_write_result *res, const ck_err *err, void *data)
{
	alloc_op *op = data;
	if (rc == CK_ECONFLICT && op->want) {
		invalid_ip(op, "provided IP is already allocated");
		return;
	}
	if (rc == CK_ECONFLICT && ++op->attempts < ALLOC_MAX_ATTEMPTS) {
		/* Another apiserver took it in between: look again. */
		free(op->ip);
		op->ip = NULL;
		scan_used(op);
		return;
	}
	if (rc < 0) {
		status_internal(op->r->x, "failed to allocate a service IP: %s",
		                err ? err->msg : ck_strerror(rc));
		op_finish(op, false);
		return;
	}
	op_finish(op, true);
}

static void reserve(alloc_op *op)
{
	_cleanup_free_ char *key = ip_key(op->r->srv, op->ip);
	_cleanup_free_ char *owner =
	    ck_asprintf("%s/%s", op->r->rt.ns, ck_json_get_str(op->r->body, "metadata.name", ""));
	etcd_put_if(op->r->srv->etcd, key, strlen(key), 0, owner, strlen(owner), 0, reserved, op);
}

static void used_listed(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	alloc_op *op = data;
	const apiserver *s = op->r->srv;
	if (rc < 0) {
		status_internal(op->r->x, "failed to allocate a service IP: %s",
		                err ? err->msg : ck_strerror(rc));
		op_finish(op, false);
		return;
	}
	/* Offsets 0 (network), 1 (the kubernetes service) and size-1 (broadcast) are not
	 * handed out. */
	uint8_t *used = ck_calloc(s->svc_size, 1);
	_cleanup_free_ char *prefix = ip_key(s, "");
	for (size_t i = 0; i < res->n_kvs; i++) {
		_cleanup_free_ char *ip = ck_strndup((const char *)res->kvs[i].key + strlen(prefix),
		                                     res->kvs[i].key_len - strlen(prefix));
		struct in_addr in;
		if (inet_pton(AF_INET, ip, &in) != 1)
			continue;
		uint32_t off = ntohl(in.s_addr) - s->svc_base;
		if (off < s->svc_size)
			used[off] = 1;
	}
	uint32_t start;
	if (getrandom(&start, sizeof(start), 0) != sizeof(start))
		start = 0;
	uint32_t usable = s->svc_size - 3;
	for (uint32_t i = 0; i < usable; i++) {
		uint32_t off = 2 + (start + i) % usable;
		if (!used[off]) {
			free(used);
			op->ip = ip_text(s->svc_base + off);
			reserve(op);
			return;
		}
	}
	free(used);
	status_internal(op->r->x, "failed to allocate a service IP: range is full");
	op_finish(op, false);
}

static void scan_used(alloc_op *op)
{
	_cleanup_free_ char *prefix = ip_key(op->r->srv, "");
	etcd_range(op->r->srv->etcd,
	           &(etcd_range_req){.key = prefix, .prefix = true, .keys_only = true}, used_listed,
	           op);
}

void alloc_service_ip(api_req *r, const char *want, alloc_done_fn done)
{
	alloc_op *op = ck_calloc(1, sizeof(*op));
	op->r = r;
	op->done = done;
	if (!want) {
		scan_used(op);
		return;
	}
	op->want = ck_strdup(want);
	struct in_addr in;
	const apiserver *s = r->srv;
	uint32_t off =
	    inet_pton(AF_INET, want, &in) == 1 ? ntohl(in.s_addr) - s->svc_base : UINT32_MAX;
	if (off == 0 || off >= s->svc_size - 1) {
		_cleanup_free_ char *net = ip_text(s->svc_base);
		int bits = 32;
		for (uint32_t n = s->svc_size; n > 1; n >>= 1)
			bits--;
		_cleanup_free_ char *why = ck_asprintf(
		    "provided IP is not in the valid range. The range of valid IPs is %s/%d", net,
		    bits);
		invalid_ip(op, why);
		return;
	}
	op->ip = ck_strdup(want);
	reserve(op);
}

void alloc_release_service_ip(apiserver *s, const char *ip)
{
	if (!ip || !*ip || !strcmp(ip, "None"))
		return;
	_cleanup_free_ char *key = ip_key(s, ip);
	etcd_delete(s->etcd, key, strlen(key), false, storage_ignore_write, NULL);
}
