/* kind: lookups over the per-group tables and helpers the kind files share. */
#include "api/kind.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"

/* The built-in kinds, collected by the build from lib/api/kind_*.c (kind_builtin.c). */
extern const kind_desc *const kind_builtin[];
extern const size_t kind_builtin_n;

static struct {
	const kind_desc **v;
	size_t n, cap;
} reg;

static void reg_add(const kind_desc *k)
{
	if (reg.n == reg.cap) {
		reg.cap = reg.cap ? 2 * reg.cap : 32;
		reg.v = ck_realloc(reg.v, reg.cap * sizeof(*reg.v));
	}
	reg.v[reg.n++] = k;
}

static void reg_seed(void)
{
	/* Core group first, as upstream's discovery lists it. */
	for (int core = 1; core >= 0; core--)
		for (size_t i = 0; i < kind_builtin_n; i++)
			if ((kind_builtin[i]->group[0] == '\0') == core)
				reg_add(kind_builtin[i]);
}

static const kind_desc *const *all_kinds(size_t *n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, reg_seed);
	*n = reg.n;
	return reg.v;
}

const kind_desc *const *kind_all(size_t *n)
{
	return all_kinds(n);
}

int kind_register(const kind_desc *k, ck_err **err)
{
	size_t n;
	const kind_desc *const *all = all_kinds(&n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(all[i]->group, k->group) || strcmp(all[i]->version, k->version))
			continue;
		if (!strcmp(all[i]->plural, k->plural) || !strcmp(all[i]->kind, k->kind))
			return ck_err_set(err, -EEXIST, "%s/%s already serves %s (%s)", k->group,
			                  k->version, all[i]->plural, all[i]->kind);
	}
	reg_add(k);
	return 0;
}

int kind_unregister(const kind_desc *k)
{
	size_t n;
	all_kinds(&n);
	for (size_t i = 0; i < n; i++) {
		if (reg.v[i] != k)
			continue;
		memmove(&reg.v[i], &reg.v[i + 1], (n - i - 1) * sizeof(*reg.v));
		reg.n--;
		return 0;
	}
	return -ENOENT;
}

const kind_desc *kind_by_resource(const char *group, const char *version, const char *plural)
{
	size_t n;
	const kind_desc *const *all = all_kinds(&n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(all[i]->group, group) && !strcmp(all[i]->version, version) &&
		    !strcmp(all[i]->plural, plural))
			return all[i];
	return NULL;
}

const kind_desc *kind_by_kind(const char *group, const char *version, const char *kind)
{
	size_t n;
	const kind_desc *const *all = all_kinds(&n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(all[i]->group, group) && !strcmp(all[i]->version, version) &&
		    !strcmp(all[i]->kind, kind))
			return all[i];
	return NULL;
}

const char *kind_api_version(const kind_desc *k, char *buf, size_t n)
{
	if (k->group[0])
		snprintf(buf, n, "%s/%s", k->group, k->version);
	else
		snprintf(buf, n, "%s", k->version);
	return buf;
}

bool kind_field_supported(const kind_desc *k, const char *label)
{
	if (!strcmp(label, "metadata.name") || !strcmp(label, "metadata.namespace"))
		return true;
	for (const char *const *f = k->field_labels; f && *f; f++)
		if (!strcmp(*f, label))
			return true;
	return false;
}

char *kind_field_value(const cJSON *obj, const char *label)
{
	const cJSON *v = ck_json_get(obj, label);
	if (cJSON_IsString(v))
		return ck_strdup(v->valuestring);
	if (cJSON_IsBool(v))
		return ck_strdup(cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsNumber(v))
		return ck_asprintf("%lld", (long long)v->valuedouble);
	return ck_strdup("");
}

void kind_cause_add(kind_causes *c, const char *reason, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = ck_vasprintf(fmt, ap);
	va_end(ap);
	if (!c->list)
		c->list = cJSON_CreateArray();
	cJSON *cause = cJSON_CreateObject();
	cJSON_AddStringToObject(cause, "reason", reason);
	cJSON_AddStringToObject(cause, "message", msg);
	cJSON_AddStringToObject(cause, "field", field);
	cJSON_AddItemToArray(c->list, cause);
}

void kind_cause_required(kind_causes *c, const char *field)
{
	kind_cause_add(c, "FieldValueRequired", field, "Required value");
}

void kind_cause_invalid(kind_causes *c, const char *field, const char *value, const char *detail)
{
	kind_cause_add(c, "FieldValueInvalid", field, "Invalid value: \"%s\": %s", value, detail);
}

char *kind_age(const char *rfc3339, time_t now)
{
	struct timespec ts;
	if (!rfc3339 || ck_time_parse_rfc3339(rfc3339, &ts) < 0)
		return ck_strdup("<unknown>");
	long long s = (long long)(now - ts.tv_sec);
	/* kubectl's human duration: coarser units as the age grows. */
	if (s < -1)
		return ck_strdup("<invalid>");
	if (s < 0)
		return ck_strdup("0s");
	if (s < 120)
		return ck_asprintf("%llds", s);
	long long m = s / 60, h = s / 3600, d = h / 24;
	if (m < 10)
		return s % 60 ? ck_asprintf("%lldm%llds", m, s % 60) : ck_asprintf("%lldm", m);
	if (m < 180)
		return ck_asprintf("%lldm", m);
	if (h < 8)
		return m % 60 ? ck_asprintf("%lldh%lldm", h, m % 60) : ck_asprintf("%lldh", h);
	if (h < 48)
		return ck_asprintf("%lldh", h);
	if (h < 24 * 8)
		return h % 24 ? ck_asprintf("%lldd%lldh", d, h % 24) : ck_asprintf("%lldd", d);
	if (h < 24 * 365 * 2)
		return ck_asprintf("%lldd", d);
	if (h < 24 * 365 * 8)
		return d % 365 ? ck_asprintf("%lldy%lldd", d / 365, d % 365)
		               : ck_asprintf("%lldy", d / 365);
	return ck_asprintf("%lldy", d / 365);
}

void kind_cell_str(cJSON *row, const char *s)
{
	cJSON_AddItemToArray(row, cJSON_CreateString(s ? s : ""));
}

void kind_cell_none(cJSON *row, const char *s)
{
	kind_cell_str(row, s && *s ? s : "<none>");
}

void kind_cell_int(cJSON *row, long long v)
{
	cJSON_AddItemToArray(row, cJSON_CreateNumber((double)v));
}

void kind_cell_take(cJSON *row, char *s)
{
	kind_cell_none(row, s);
	free(s);
}

void kind_buf_sep(ck_buf *b, const char *sep)
{
	if (b->len)
		ck_buf_puts(b, sep);
}

char *kind_join(const cJSON *arr, const char *path)
{
	ck_buf b = {0};
	const cJSON *e;
	cJSON_ArrayForEach(e, arr)
	{
		kind_buf_sep(&b, ",");
		ck_buf_puts(&b, kind_str(e, path));
	}
	return ck_buf_steal(&b);
}

char *kind_format_map(const cJSON *m, enum kind_map_style style)
{
	bool go = style == KIND_MAP_GO;
	if (go && !cJSON_IsObject(m))
		return ck_strdup("map[string]string(nil)");
	size_t n = 0;
	_cleanup_free_ const char **keys =
	    ck_malloc(((size_t)cJSON_GetArraySize(m) + 1) * sizeof(*keys));
	const cJSON *it;
	cJSON_ArrayForEach(it, m)
	{
		if (cJSON_IsString(it))
			keys[n++] = it->string;
	}
	qsort(keys, n, sizeof(keys[0]), kind_cmp_strp);
	ck_buf b = {0};
	if (go)
		ck_buf_puts(&b, "map[string]string{");
	for (size_t i = 0; i < n; i++) {
		const char *v =
		    ck_json_get_str(cJSON_GetObjectItemCaseSensitive(m, keys[i]), "", "");
		if (go)
			ck_buf_printf(&b, "%s\"%s\":\"%s\"", i ? ", " : "", keys[i], v);
		else
			ck_buf_printf(&b, "%s%s=%s", i ? "," : "", keys[i], v);
	}
	if (go)
		ck_buf_putc(&b, '}');
	return ck_buf_steal(&b);
}

static bool dns_label_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (c != '-' || i == 0 || i == n - 1))
			return false;
	}
	return true;
}

bool kind_dns1123_label(const char *s)
{
	return s && dns_label_ok(s, strlen(s));
}

bool kind_dns1123_subdomain(const char *s)
{
	if (!s || !*s || strlen(s) > 253)
		return false;
	for (const char *p = s;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (!dns_label_ok(p, n))
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

const char *const kind_category_all[] = {"all", NULL};

const char *kind_str(const cJSON *o, const char *path)
{
	return ck_json_get_str(o, path, "");
}

void kind_default_str(cJSON *o, const char *key, const char *val)
{
	if (!cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_AddStringToObject(o, key, val);
}

void kind_default_int(cJSON *o, const char *key, long long val)
{
	if (!cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_AddNumberToObject(o, key, (double)val);
}

cJSON *kind_child_object(cJSON *o, const char *key)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsObject(c)) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, key);
		c = cJSON_AddObjectToObject(o, key);
	}
	return c;
}

int kind_cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}
