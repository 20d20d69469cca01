/* verb_read: get and list. */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "filter.h"
#include "scale.h"
#include "status.h"
#include "storage.h"
#include "table.h"
#include "watch_cache.h"

static void got(api_req *r, const cJSON *obj)
{
	_cleanup_json_ cJSON *view = obj ? scale_view(&r->rt, obj) : NULL;
	if (!obj)
		status_not_found(r->x, r->rt.kind, r->rt.name);
	else
		api_respond_object(r, 200, view ? view : obj);
	api_req_free(r);
}

void verb_get(api_req *r)
{
	_cleanup_free_ char *key = storage_key(r->srv, r->rt.kind, r->rt.ns, r->rt.name);
	storage_get(r, key, got);
}

/* A paged list reads etcd this many keys at a time at most; every read of one list (and
 * of the pages after it) is at the first read's revision, the snapshot. */
#define LIST_CHUNK_MAX 10000

/* A list answer in the making: items matching the filter, as JSON text or Table rows. */
typedef struct list_state {
	api_filter filter;
	cJSON *table; /* Table output, else NULL */
	enum table_include include;
	ck_buf items;
	size_t n;
	/* Reading etcd: the list's prefix, the key to read from next (it may hold a NUL
	 * byte: key_len), the revision of the snapshot (0: the first read decides) and the
	 * objects still wanted (limit; 0: all). */
	char *prefix;
	char *key;
	size_t key_len;
	int64_t revision;
	int64_t limit;
	bool from_token;   /* the revision came from a continue token */
	int64_t remaining; /* remainingItemCount, -1 when unknown */
	char *cont;        /* the continue token of the answer, or NULL */
} list_state;

static void list_state_free(void *p)
{
	list_state *ls = p;
	api_filter_clear(&ls->filter);
	cJSON_Delete(ls->table);
	ck_buf_free(&ls->items);
	free(ls->prefix);
	free(ls->key);
	free(ls->cont);
	free(ls);
}

/* Adds obj when it matches; json is its serialization when known (else printed here). */
static void list_add(const cJSON *obj, const char *json, void *data)
{
	api_req *r = data;
	list_state *ls = r->verb_data;
	if (!api_filter_match(&ls->filter, obj))
		return;
	if (ls->table) {
		table_add_row(ls->table, r->rt.kind, obj, ls->include);
		ls->n++;
		return;
	}
	if (ls->n++)
		ck_buf_putc(&ls->items, ',');
	if (json)
		ck_buf_puts(&ls->items, json);
	else
		ck_json_print_buf(&ls->items, obj);
}

/* Room left before the items for the List's head, written once the continue token is
 * known: the answer then leaves from one buffer, without copying the items. */
#define LIST_HEAD_ROOM 1024

/* Starts the answer of a list: room for the head. */
static void list_begin(api_req *r)
{
	list_state *ls = r->verb_data;
	if (!ls->table)
		ck_buf_printf(&ls->items, "%*s", LIST_HEAD_ROOM, "");
}

/* Ends the answer at revision with the list metadata, and sends it. */
static void list_respond(api_req *r, int64_t revision)
{
	list_state *ls = r->verb_data;
	char rv[32], av[64];
	snprintf(rv, sizeof(rv), "%lld", (long long)revision);
	_cleanup_json_ cJSON *meta = cJSON_CreateObject();
	cJSON_AddStringToObject(meta, "resourceVersion", rv);
	if (ls->cont) {
		cJSON_AddStringToObject(meta, "continue", ls->cont);
		if (ls->remaining >= 0)
			cJSON_AddNumberToObject(meta, "remainingItemCount", (double)ls->remaining);
	}
	if (ls->table) {
		cJSON_ReplaceItemInObject(ls->table, "metadata", cJSON_Duplicate(meta, true));
		_cleanup_free_ char *body = ck_json_print(ls->table);
		api_respond_json(r->x, 200, body);
		api_req_free(r);
		return;
	}
	_cleanup_free_ char *m = ck_json_print(meta);
	_cleanup_free_ char *head =
	    ck_asprintf("{\"kind\":\"%sList\",\"apiVersion\":\"%s\",\"metadata\":%s,\"items\":[",
	                r->rt.kind->kind, kind_api_version(r->rt.kind, av, sizeof(av)), m);
	size_t hl = strlen(head);
	ck_buf_puts(&ls->items, "]}");
	if (hl <= LIST_HEAD_ROOM) {
		char *body = ls->items.s + LIST_HEAD_ROOM - hl;
		memcpy(body, head, hl);
		http_respond(r->x, 200, "application/json", body,
		             ls->items.len - (LIST_HEAD_ROOM - hl));
	} else {
		_cleanup_buf_ ck_buf b = {0};
		ck_buf_puts(&b, head);
		ck_buf_puts(&b, ls->items.s + LIST_HEAD_ROOM);
		http_respond(r->x, 200, "application/json", b.s, b.len);
	}
	api_req_free(r);
}

/* The continue token, as upstream's: base64 of
 * {"v":"meta.k8s.io/v1","rv":N,"start":"<key after the prefix>\u0000"}; rv -1 asks for
 * the latest revision (the token of an expired one). */
static char *continue_encode(int64_t rv, const char *start)
{
	_cleanup_json_ cJSON *s = cJSON_CreateString(start);
	_cleanup_free_ char *quoted = ck_json_print(s);
	quoted[strlen(quoted) - 1] = '\0';
	_cleanup_free_ char *json = ck_asprintf(
	    "{\"v\":\"meta.k8s.io/v1\",\"rv\":%lld,\"start\":%s\\u0000\"}", (long long)rv, quoted);
	return ck_base64_encode(json, strlen(json));
}

/* Reads a token of continue_encode: 0 with *rv and *start (malloc'd, without the NUL),
 * or -EINVAL. */
static int continue_decode(const char *tok, int64_t *rv, char **start)
{
	_cleanup_free_ uint8_t *raw = NULL;
	size_t len;
	if (ck_base64_decode(tok, CK_BASE64_LENIENT, &raw, &len) < 0)
		return -EINVAL;
	_cleanup_json_ cJSON *j = ck_json_parse((const char *)raw, len, NULL);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "rv");
	const char *key = ck_json_get_str(j, "start", "");
	if (strcmp(ck_json_get_str(j, "v", ""), "meta.k8s.io/v1") || !cJSON_IsNumber(v) || !*key ||
	    strstr(key, "..") || *key == '/')
		return -EINVAL;
	*rv = (int64_t)v->valuedouble;
	*start = ck_strdup(key);
	return 0;
}

static void list_read(api_req *r);

static void listed(int rc, const etcd_range_result *res, const ck_err *err, void *data)
{
	api_req *r = data;
	list_state *ls = r->verb_data;
	if (rc == CK_ECOMPACTED && ls->from_token) {
		_cleanup_free_ char *tok = continue_encode(-1, ls->key + strlen(ls->prefix));
		cJSON *st = status_new(
		    410, "Expired", NULL,
		    "The provided continue parameter is too old to display a consistent list "
		    "result. You can start a new list without the continue parameter, or use the "
		    "continue token in this response to retrieve the remainder of the results. "
		    "Continuing with the provided token results in an inconsistent list - objects "
		    "that were created, modified, or deleted between the time the first chunk was "
		    "returned and now may show up in the list.");
		ck_json_set_str(st, "metadata.continue", tok);
		status_send(r->x, st);
		api_req_free(r);
		return;
	}
	if (rc == CK_ECOMPACTED) {
		status_send(r->x, status_new(410, "Expired", NULL, "too old resource version: %lld",
		                             (long long)ls->revision));
		api_req_free(r);
		return;
	}
	if (rc < 0) {
		status_storage_error(r->x, rc, err ? err->msg : ck_strerror(rc));
		api_req_free(r);
		return;
	}
	if (!ls->revision)
		ls->revision = res->revision;
	size_t i = 0;
	for (; i < res->n_kvs && (!ls->limit || (int64_t)ls->n < ls->limit); i++) {
		const etcd_kv *kv = &res->kvs[i];
		_cleanup_json_ cJSON *obj =
		    storage_decode(r->rt.kind, kv->value, kv->value_len, kv->mod_revision);
		if (obj)
			list_add(obj, NULL, r);
	}
	bool more = i < res->n_kvs || res->more;
	if (ls->limit && more && i > 0) {
		/* The next read starts right after the last key read. */
		const etcd_kv *kv = &res->kvs[i - 1];
		free(ls->key);
		ls->key_len = kv->key_len + 1;
		ls->key = ck_malloc(ls->key_len + 1);
		memcpy(ls->key, kv->key, kv->key_len);
		ls->key[kv->key_len] = ls->key[kv->key_len + 1] = '\0';
		if ((int64_t)ls->n < ls->limit) {
			list_read(r);
			return;
		}
		free(ls->cont);
		ls->cont = continue_encode(ls->revision, ls->key + strlen(ls->prefix));
		bool selects = ls->filter.labels->n_reqs || ls->filter.fields->n_reqs;
		ls->remaining = selects ? -1 : res->count - (int64_t)i;
	}
	list_respond(r, ls->revision);
}

/* Reads the next chunk of [key, end of prefix) at the snapshot's revision. */
static void list_read(api_req *r)
{
	list_state *ls = r->verb_data;
	_cleanup_free_ uint8_t *end = NULL;
	size_t end_len = etcd_prefix_end(ls->prefix, strlen(ls->prefix), &end);
	etcd_range_req q = {.key = ls->key,
	                    .key_len = ls->key_len,
	                    .range_end = end,
	                    .range_end_len = end_len,
	                    .limit = ls->limit > LIST_CHUNK_MAX ? LIST_CHUNK_MAX : ls->limit,
	                    .revision = ls->revision};
	etcd_range(r->srv->etcd, &q, listed, r);
}

/* The request's resourceVersion and resourceVersionMatch, upstream's semantics: "" is the
 * latest (from etcd), "0" any (the cache as it is), N with NotOlderThan (the default) at
 * least N, with Exact N itself. *rv is -1 for "", 0 for "0". Answers 400 and returns -1
 * when they are malformed or do not go together. */
static int list_version(api_req *r, const char *cont, int64_t *rv, bool *exact)
{
	_cleanup_free_ char *v = http_request_query(r->hr, "resourceVersion");
	_cleanup_free_ char *match = http_request_query(r->hr, "resourceVersionMatch");
	*rv = -1;
	*exact = match && !strcmp(match, "Exact");
	if (match && *match && !*exact && strcmp(match, "NotOlderThan")) {
		status_bad_request(r->x,
		                   "resourceVersionMatch: Unsupported value: \"%s\": supported "
		                   "values: \"Exact\", \"NotOlderThan\"",
		                   match);
		return -1;
	}
	if (v && *v && cont && *cont) {
		status_bad_request(r->x, "specifying resource version is not allowed when using "
		                         "continue");
		return -1;
	}
	if (match && *match && (!v || !*v)) {
		status_bad_request(r->x, "resourceVersionMatch is forbidden unless resourceVersion "
		                         "is provided");
		return -1;
	}
	if (!v || !*v)
		return 0;
	char *endp;
	errno = 0;
	long long n = strtoll(v, &endp, 10);
	if (errno || *endp || n < 0) {
		status_bad_request(r->x, "invalid resource version: %s", v);
		return -1;
	}
	if (*exact && n == 0) {
		status_bad_request(r->x, "resourceVersionMatch \"Exact\" is forbidden for "
		                         "resourceVersion \"0\"");
		return -1;
	}
	*rv = n;
	return 0;
}

void verb_list(api_req *r)
{
	list_state *ls = ck_calloc(1, sizeof(*ls));
	r->verb_data = ls;
	r->verb_free = list_state_free;
	ls->remaining = -1;
	if (api_filter_init(r, &ls->filter) < 0) {
		api_req_free(r);
		return;
	}
	if (r->output == OUTPUT_TABLE) {
		_cleanup_free_ char *inc = http_request_query(r->hr, "includeObject");
		ls->include = table_include_parse(inc);
		ls->table = table_new(r->rt.kind, NULL, false);
	}
	_cleanup_free_ char *cont = http_request_query(r->hr, "continue");
	int64_t rv, limit = 0;
	bool exact;
	if (list_version(r, cont, &rv, &exact) < 0) {
		api_req_free(r);
		return;
	}
	if (api_query_int(r, "limit", &limit) < 0) {
		_cleanup_free_ char *l = http_request_query(r->hr, "limit");
		status_bad_request(r->x, "invalid limit: %s", l);
		api_req_free(r);
		return;
	}
	list_begin(r);
	/* "0", and "at least N" without a limit once the cache has N: the watch cache
	 * answers without etcd, and whole (upstream ignores the limit there too). */
	watch_cache *c = server_cache(r->srv, r->rt.kind);
	if (rv == 0 || (rv > 0 && !exact && limit <= 0 && watch_cache_synced(c) &&
	                watch_cache_revision(c) >= rv)) {
		int64_t at = watch_cache_list(c, list_add, r);
		if (at >= 0) {
			list_respond(r, at);
			return;
		}
		/* Re-listing after an etcd failure: read etcd instead. */
		ck_buf_clear(&ls->items);
		ls->n = 0;
		list_begin(r);
	}
	ls->prefix = storage_prefix(r->srv, r->rt.kind, r->rt.ns);
	ls->limit = limit > 0 ? limit : 0;
	ls->revision = exact ? rv : 0;
	if (cont && *cont) {
		_cleanup_free_ char *start = NULL;
		int64_t token_rv;
		if (continue_decode(cont, &token_rv, &start) < 0) {
			status_bad_request(r->x, "continue key is not valid: %s", cont);
			api_req_free(r);
			return;
		}
		ls->from_token = true;
		ls->revision = token_rv > 0 ? token_rv : 0;
		ls->key = ck_asprintf("%s%s", ls->prefix, start);
		ls->key_len = strlen(ls->key) + 1; /* the key after start: start and a NUL */
	} else {
		ls->key = ck_strdup(ls->prefix);
		ls->key_len = strlen(ls->key);
	}
	list_read(r);
}
