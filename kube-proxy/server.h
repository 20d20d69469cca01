/* server: kube-proxy's /healthz and /metrics over plain HTTP (both answer on each
 * listening address, as upstream's metrics server also answers /healthz). */
#ifndef CK_PROXY_SERVER_H
#define CK_PROXY_SERVER_H

#include <uv.h>

#include "base/error.h"
#include "proxier.h"

typedef struct proxy_server proxy_server;

/* Listens on bind ("IP:PORT"). Returns 0 and *out, or a negative code with err. */
int proxy_server_new(uv_loop_t *loop, const char *bind, proxier *p, proxy_server **out,
                     ck_err **err);
/* Closes and frees s (accepts NULL). */
void proxy_server_free(proxy_server *s);

#endif
