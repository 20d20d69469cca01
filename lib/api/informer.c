/* STUB: to be implemented. */
#include "api/informer.h"
#include <errno.h>
#include <stdlib.h>

int informer_new(kc_client *c, const informer_opts *opts, informer **out, ck_err **err)
{
	return -ENOSYS;
}

int informer_add_handlers(informer *inf, const informer_handlers *h)
{
	return -ENOSYS;
}

int informer_add_index(informer *inf, const char *name, informer_index_fn fn, void *data)
{
	return -ENOSYS;
}

int informer_start(informer *inf)
{
	return -ENOSYS;
}

void informer_free(informer *inf)
{
}

bool informer_synced(const informer *inf)
{
	return false;
}

void informer_on_synced(informer *inf, void (*cb)(void *data), void *data)
{
}

const cJSON *informer_get(const informer *inf, const char *key)
{
	return NULL;
}

const cJSON *informer_get_ns(const informer *inf, const char *ns, const char *name)
{
	return NULL;
}

const cJSON **informer_list(const informer *inf, size_t *n)
{
	return NULL;
}

const cJSON **informer_by_index(const informer *inf, const char *index, const char *value,
                                size_t *n)
{
	return NULL;
}

size_t informer_len(const informer *inf)
{
	return 0;
}

const char *informer_resource_version(const informer *inf)
{
	return NULL;
}

char *informer_key(const cJSON *obj)
{
	return NULL;
}

int informer_split_key(const char *key, char **ns, char **name)
{
	return -ENOSYS;
}

char **informer_index_node_name(const cJSON *obj, void *data)
{
	return NULL;
}

char **informer_index_owner_uid(const cJSON *obj, void *data)
{
	return NULL;
}
