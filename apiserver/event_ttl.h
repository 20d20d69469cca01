/* event_ttl: Events expire. The apiserver stores every write of an Event with an etcd lease
 * of --event-ttl (upstream's default: 1h), so that etcd does not keep every Event ever
 * recorded: when the lease ends etcd deletes the key, and watchers see the deletion.
 *
 * As upstream's lease manager, one lease serves the writes of a reuse window (5% of the
 * TTL, at most 60 s; at most 1000 writes) and is granted for the TTL plus that window: an
 * Event lives from ttl to ttl + window after its last write, and a burst of Events costs
 * one LeaseGrant. */
#ifndef CK_APISERVER_EVENT_TTL_H
#define CK_APISERVER_EVENT_TTL_H

#include <stdint.h>

#include "base/error.h"
#include "server.h"

typedef void (*event_lease_fn)(int rc, int64_t lease, const ck_err *err, void *data);

/* Calls cb with the lease for an Event written now: 0 when Events do not expire
 * (--event-ttl=0), the current lease while it serves (both at once, from inside this
 * call), else once etcd granted a new one (rc < 0 and err when it did not). */
void event_lease_get(apiserver *s, event_lease_fn cb, void *data);

/* A write with lease failed: the next write asks for a new lease, in case etcd no longer
 * has this one. */
void event_lease_forget(apiserver *s, int64_t lease);

#endif
