/* etcd_client_harness: what lib/net/etcd's calls gave, kept for a test to assert on.
 *
 *   ech_result r = {0};
 *   etcd_put(c, "/k", 0, "v", 1, 0, ech_on_write, &r);
 *   ... run the loop until r.done ...
 *   if (r.rc != 0) fail_msg("put: %s", r.err);
 *
 *   ech_watch w = {.want = 1};
 *   etcd_watch_start(c, &(etcd_watch_opts){.key = "/k"}, ech_on_watch, &w, &wh);
 *   ... run the loop until w.reached (or w.ended) ...
 *
 * Results are copied into fixed buffers (values cut to their size): nothing to free. */
#ifndef CK_TESTS_ETCD_CLIENT_HARNESS_H
#define CK_TESTS_ETCD_CLIENT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/etcd.h"

/* One call's outcome. Zero it before the call. */
typedef struct ech_result {
	bool done; /* the callback ran */
	int rc;
	char err[512];     /* the error's message, "" without one */
	int64_t revision;  /* the write's, the read's, or the member's (status) */
	size_t n_kvs;      /* read: keys found */
	char value[64];    /* read: the first key's value */
	char endpoint[64]; /* status: the member that answered */
} ech_result;

void ech_on_write(int rc, const etcd_write_result *res, const ck_err *err, void *data);
void ech_on_range(int rc, const etcd_range_result *res, const ck_err *err, void *data);
void ech_on_status(int rc, const etcd_status_result *st, const ck_err *err, void *data);

/* A watch's events, in order (the first ECH_WATCH_MAX), and its end. */
#define ECH_WATCH_MAX 32
typedef struct ech_watch {
	char values[ECH_WATCH_MAX][16];
	int64_t revs[ECH_WATCH_MAX]; /* mod_revision of each */
	size_t n;
	size_t want; /* reached is set once n >= want (0: never) */
	bool reached;
	bool ended; /* the callback ran with rc != 0: end_rc, end_err */
	int end_rc;
	char end_err[256];
} ech_watch;

void ech_on_watch(int rc, int64_t revision, const etcd_event *ev, size_t n, const ck_err *err,
                  void *data);

/* Frees c, runs loop until what c had on it is closed, and closes loop. Returns
 * uv_loop_close's result: 0 when nothing was left on the loop. */
int ech_client_close(uv_loop_t *loop, etcd_client *c);

#endif
