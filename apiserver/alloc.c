/* alloc: unique values as etcd keys. */
#include "alloc.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/json.h"
#include "server.h"
#include "status.h"
#include "storage.h"

#define ALLOC_MAX_ATTEMPTS 8

int alloc_ip_pool(const char *cidr, alloc_pool *out, ck_err **err)
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
	uint32_t size = 1u << (32 - bits);
	*out = (alloc_pool){.name = "serviceips",
	                    .first = ntohl(in.s_addr) & ~(size - 1),
	                    .size = size,
	                    .lo = 2,
	                    .hi = size - 1,
	                    .ip = true,
	                    .range = cidr};
	return 0;
}

void alloc_node_port_pool(alloc_pool *out)
{
	*out = (alloc_pool){.name = "servicenodeports",
	                    .first = 30000,
	                    .size = 2768,
	                    .lo = 0,
	                    .hi = 2768,
	                    .range = "30000-32767"};
}

char *alloc_value_text(const alloc_pool *p, uint32_t off)
{
	uint32_t v = p->first + off;
	if (!p->ip)
		return ck_asprintf("%u", v);
	struct in_addr in = {.s_addr = htonl(v)};
	char buf[INET_ADDRSTRLEN];
	return ck_strdup(inet_ntop(AF_INET, &in, buf, sizeof(buf)));
}

/* The offset of text in p, or UINT32_MAX when it is not a value of p. */
static uint32_t value_offset(const alloc_pool *p, const char *text)
{
	uint32_t v;
	if (p->ip) {
		struct in_addr in;
		if (inet_pton(AF_INET, text, &in) != 1)
			return UINT32_MAX;
		v = ntohl(in.s_addr);
	} else {
		char *end;
		errno = 0;
		unsigned long n = strtoul(text, &end, 10);
		if (errno || *end || !*text || n > UINT32_MAX)
			return UINT32_MAX;
		v = (uint32_t)n;
	}
	uint32_t off = v - p->first;
	return off < p->size ? off : UINT32_MAX;
}

char *alloc_value_key(const apiserver *s, const alloc_pool *p, const char *value)
{
	return ck_asprintf("%s/ckube/%s/%s", s->prefix, p->name, value);
}

typedef struct alloc_op {
	apiserver *srv;
	const alloc_pool *pool;
	alloc_done_fn done;
	void *data;
	const kind_desc *kind; /* of the owner, for the 422 */
	char *owner;           /* "<ns>/<name>" */
	char *field;
	char *want;  /* NULL: any */
	char *value; /* being reserved */
	int attempts;
} alloc_op;

/* Reports the value (ok) or the Status s (taken) and frees op. */
static void op_finish(alloc_op *op, bool ok, cJSON *s)
{
	alloc_done_fn done = op->done;
	void *data = op->data;
	char *value = ok ? CK_TAKE_PTR(op->value) : NULL;
	free(op->value);
	free(op->want);
	free(op->field);
	free(op->owner);
	free(op);
	done(value, s, data);
}

static void invalid_value(alloc_op *op, const char *why)
{
	cJSON *causes = cJSON_CreateArray();
	kind_causes c = {causes};
	kind_cause_invalid(&c, op->field, op->want, why);
	const char *slash = strchr(op->owner, '/');
	op_finish(op, false, status_invalid_new(op->kind, slash ? slash + 1 : op->owner, causes));
}

static void failed(alloc_op *op, const char *why)
{
	op_finish(
	    op, false,
	    status_new(500, "InternalError", NULL, "failed to allocate %s: %s", op->field, why));
}

static void scan_used(alloc_op *op);

static void reserved(int rc, const etcd_write_result *res, const ck_err *err, void *data)
{
	alloc_op *op = data;
	if (rc == CK_ECONFLICT && op->want) {
		invalid_value(op, op->pool->ip ? "provided IP is already allocated"
		                               : "provided port is already allocated");
		return;
	}
	if (rc == CK_ECONFLICT && ++op->attempts < ALLOC_MAX_ATTEMPTS) {
		/* Another apiserver took it in between: look again. */
		free(op->value);
		op->value = NULL;
		scan_used(op);
		return;
	}
	if (rc < 0) {
		failed(op, err ? err->msg : ck_strerror(rc));
		return;
	}
	op_finish(op, true, NULL);
}

static void reserve(alloc_op *op)
{
	_cleanup_free_ char *key = alloc_value_key(op->srv, op->pool, op->value);
	etcd_put_if(op->srv->etcd, key, strlen(key), 0, op->owner, strlen(op->owner), 0, reserved,
	            op);
}

static void used_listed(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	alloc_op *op = data;
	const alloc_pool *p = op->pool;
	if (rc < 0) {
		failed(op, err ? err->msg : ck_strerror(rc));
		return;
	}
	uint8_t *used = ck_calloc(p->size, 1);
	_cleanup_free_ char *prefix = alloc_value_key(op->srv, p, "");
	size_t plen = strlen(prefix);
	for (size_t i = 0; i < res->n_kvs; i++) {
		if (res->kvs[i].key_len <= plen)
			continue;
		_cleanup_free_ char *v =
		    ck_strndup((const char *)res->kvs[i].key + plen, res->kvs[i].key_len - plen);
		uint32_t off = value_offset(p, v);
		if (off != UINT32_MAX)
			used[off] = 1;
	}
	uint32_t start;
	if (getrandom(&start, sizeof(start), 0) != sizeof(start))
		start = 0;
	uint32_t n = p->hi - p->lo;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t off = p->lo + (start + i) % n;
		if (!used[off]) {
			free(used);
			op->value = alloc_value_text(p, off);
			reserve(op);
			return;
		}
	}
	free(used);
	failed(op, "range is full");
}

static void scan_used(alloc_op *op)
{
	_cleanup_free_ char *prefix = alloc_value_key(op->srv, op->pool, "");
	etcd_range(op->srv->etcd,
	           &(etcd_range_req){.key = prefix, .prefix = true, .keys_only = true}, used_listed,
	           op);
}

void alloc_reserve(apiserver *s, const alloc_pool *p, const alloc_owner *owner, const char *want,
                   const char *field, alloc_done_fn done, void *data)
{
	alloc_op *op = ck_calloc(1, sizeof(*op));
	op->srv = s;
	op->pool = p;
	op->done = done;
	op->data = data;
	op->kind = owner->kind;
	op->owner = ck_asprintf("%s/%s", owner->ns, owner->name);
	op->field = ck_strdup(field);
	if (!want) {
		scan_used(op);
		return;
	}
	op->want = ck_strdup(want);
	uint32_t off = value_offset(p, want);
	/* Network and broadcast addresses are never anybody's. */
	if (off == UINT32_MAX || (p->ip && (off == 0 || off == p->size - 1))) {
		_cleanup_free_ char *why = ck_asprintf(
		    "provided %s is not in the valid range. The range of valid %ss is %s",
		    p->ip ? "IP" : "port", p->ip ? "IP" : "port", p->range);
		invalid_value(op, why);
		return;
	}
	op->value = ck_strdup(want);
	reserve(op);
}

void alloc_release(apiserver *s, const alloc_pool *p, const char *value)
{
	if (!value || !*value || !strcmp(value, "None"))
		return;
	_cleanup_free_ char *key = alloc_value_key(s, p, value);
	etcd_delete(s->etcd, key, strlen(key), false, storage_ignore_write, NULL);
}
