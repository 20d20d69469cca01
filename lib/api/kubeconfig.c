/* STUB: to be implemented. */
#include "api/kubeconfig.h"
#include <errno.h>
#include <stdlib.h>

int kubeconfig_load(const char *path, const char *context, kubeconfig **out, ck_err **err)
{
	return -ENOSYS;
}

int kubeconfig_parse(const char *text, size_t len, const char *dir, const char *context,
                     kubeconfig **out, ck_err **err)
{
	return -ENOSYS;
}

int kubeconfig_resolve(const kubeconfig_overrides *o, kubeconfig **out, ck_err **err)
{
	return -ENOSYS;
}

void kubeconfig_httpc_opts(const kubeconfig *kc, httpc_opts *opts)
{
}

kubeconfig *kubeconfig_free(kubeconfig *kc)
{
	return NULL;
}

void kubeconfig_freep(kubeconfig **kc)
{
}
