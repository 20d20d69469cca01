/* leader: leader election over a coordination.k8s.io/v1 Lease, as upstream's
 * client-go leaderelection, for every component that runs replicated (kube-scheduler,
 * kube-controller-manager).
 *
 * Every retry period the candidate reads the lease; it takes it when it is free or when
 * the holder has not renewed it for leaseDurationSeconds (measured on the local clock from
 * when this candidate last saw the record change, so that clock skew does not matter),
 * and the holder renews it. A holder that cannot renew within the renew deadline has lost
 * the lease. Writes carry the resourceVersion read, so two candidates never both win.
 * Everything runs on the client's loop. */
#ifndef CK_API_LEADER_H
#define CK_API_LEADER_H

#include <stdbool.h>

#include "api/client.h"

typedef struct leader leader;

typedef struct leader_opts {
	const char *namespace_; /* the Lease's namespace; NULL: kube-system */
	const char *name;       /* the Lease: "kube-scheduler", "kube-controller-manager" */
	const char *identity;   /* NULL: <hostname>_<unique> */
	int lease_duration_ms;  /* 0: 15 s */
	int renew_deadline_ms;  /* 0: 10 s */
	int retry_period_ms;    /* 0: 2 s */
	/* Called on the loop when this candidate becomes the holder, and when it stops being
	 * it (another holder seen, or no renewal within the renew deadline). Either may be
	 * NULL. */
	void (*on_started_leading)(void *data);
	void (*on_stopped_leading)(void *data);
	void *data;
} leader_opts;

/* Starts campaigning at once (timers on the client's loop). o's strings are copied; c must
 * outlive the elector. Returns 0 and *out. */
int leader_new(kc_client *c, const leader_opts *o, leader **out);
/* This candidate's identity (the holderIdentity it writes). Owned by l. */
const char *leader_identity(const leader *l);
/* True while this candidate holds the lease. */
bool leader_leading(const leader *l);
/* Stops campaigning; when leading, hands the lease back (no holder, a one-second lease) so
 * that another candidate takes over at once. done (may be NULL) runs when finished, from
 * the loop or from within this call. on_stopped_leading is not called. */
void leader_release(leader *l, void (*done)(void *data), void *data);
/* Stops and frees (once its timer closed: run the loop afterwards). Accepts NULL. */
void leader_free(leader *l);

#endif
