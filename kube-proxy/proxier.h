/* proxier: kube-proxy's control loop. Informers on Services and EndpointSlices mark the
 * rules dirty; a timer coalesces changes (no two syncs closer than the minimum sync
 * period) and also resyncs every sync period. A sync builds every wanted rule from the
 * caches (endpoints.c, iptables.c) and applies them with one iptables-restore --noflush:
 * the first sync (and one an hour, and the one after a failure) is full: it reads
 * iptables-save, rewrites all of kube-proxy's chains and deletes its stale ones; the
 * others write only the chains that changed. */
#ifndef CK_PROXY_PROXIER_H
#define CK_PROXY_PROXIER_H

#include <stdbool.h>

#include "api/client.h"
#include "base/error.h"
#include "base/strbuf.h"
#include "config.h"

typedef struct proxier proxier;

/* cfg must outlive the proxier. */
int proxier_new(kc_client *c, const proxy_config *cfg, proxier **out, ck_err **err);
/* Starts the informers; the first sync runs once both listed. Returns 0. */
int proxier_start(proxier *p);
void proxier_free(proxier *p);

/* Health as upstream's /healthz: true once a sync succeeded and no change has waited
 * for longer than twice the sync period; *body gets upstream's JSON
 * {"lastUpdated": ..., "currentTime": ...} (malloc'd). */
bool proxier_healthy(const proxier *p, char **body);
/* Appends the Prometheus text of the sync metrics (latency histogram, rule counts,
 * last sync time, restore failures). */
void proxier_metrics(const proxier *p, ck_buf *out);

#endif
