/* defaults: system metadata and per-kind defaults. */
#include "defaults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/error.h"
#include "base/json.h"

static void random_bytes(uint8_t *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);
		if (r > 0)
			got += (size_t)r;
		else if (errno != EINTR)
			abort();
	}
}

static char *new_uid(void)
{
	uint8_t b[16];
	random_bytes(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	return ck_asprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	                   b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
	                   b[12], b[13], b[14], b[15]);
}

/* Upstream's generateName suffix: 5 characters from an alphabet without vowels and
 * look-alikes. */
static char *generated_name(const char *base)
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	uint8_t b[5];
	random_bytes(b, sizeof(b));
	char suffix[6];
	for (size_t i = 0; i < 5; i++)
		suffix[i] = alphabet[b[i] % (sizeof(alphabet) - 1)];
	suffix[5] = '\0';
	return ck_asprintf("%s%s", base, suffix);
}

/* Sets key to s as the first member of obj (kind and apiVersion lead, as upstream prints). */
static void set_first(cJSON *obj, const char *key, const char *s)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	cJSON *v = cJSON_AddStringToObject(obj, key, s);
	cJSON_DetachItemViaPointer(obj, v);
	cJSON_InsertItemInArray(obj, 0, v);
}

void defaults_apply(const kind_desc *k, cJSON *obj)
{
	char api_version[64];
	set_first(obj, "apiVersion", kind_api_version(k, api_version, sizeof(api_version)));
	set_first(obj, "kind", k->kind);
	if (k->defaults)
		k->defaults(obj);
}

void defaults_for_create(const kind_desc *k, cJSON *obj, const char *ns)
{
	if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(obj, "metadata"))) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, "metadata");
		cJSON_AddObjectToObject(obj, "metadata");
	}
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *gen = ck_json_get_str(meta, "generateName", "");
	if (!*ck_json_get_str(meta, "name", "") && *gen) {
		_cleanup_free_ char *name = generated_name(gen);
		ck_json_set_str(meta, "name", name);
	}
	if (ns)
		ck_json_set_str(meta, "namespace", ns);
	else
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "namespace");
	_cleanup_free_ char *uid = new_uid();
	ck_json_set_str(meta, "uid", uid);
	_cleanup_free_ char *now = ck_time_now_rfc3339(false);
	ck_json_set_str(meta, "creationTimestamp", now);
	ck_json_set_int(meta, "generation", 1);
	static const char *const drop[] = {"resourceVersion", "deletionTimestamp",
	                                   "deletionGracePeriodSeconds", "selfLink"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(drop); i++)
		cJSON_DeleteItemFromObjectCaseSensitive(meta, drop[i]);
	if (k->create_status)
		k->create_status(obj);
	defaults_apply(k, obj);
}
