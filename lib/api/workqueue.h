/* workqueue (wq_): the rate-limited work queue of controllers, on a libuv loop.
 *
 * Keys (strings, usually "ns/name") are deduplicated while waiting. A key being processed
 * is never handed out again until its sync finishes; if it is added meanwhile it is
 * processed once more afterwards. Keys are processed from loop callbacks, at most
 * opts.workers at a time (sync functions may finish asynchronously: see WQ_ASYNC).
 *
 * sync(key) returns
 *   0          done: the key's backoff is forgotten;
 *   < 0        failed: re-added with add_rate_limited (per-key exponential backoff
 *              base_delay * 2^failures, capped at max_delay: 5 ms -> 1000 s by default);
 *   > 0        re-added after that many milliseconds (backoff forgotten), up to WQ_ASYNC - 1;
 *   WQ_ASYNC   still running: the caller calls wq_done(q, key, result) later. */
#ifndef CK_API_WORKQUEUE_H
#define CK_API_WORKQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/error.h"

typedef struct wq wq;

typedef int (*wq_sync_fn)(const char *key, void *data);

#define WQ_ASYNC 0x7fffffff

typedef struct wq_opts {
	const char *name;       /* for logs */
	int workers;            /* concurrent syncs; 0: 1 */
	uint64_t base_delay_ms; /* 0: 5 */
	uint64_t max_delay_ms;  /* 0: 1000 s */
} wq_opts;

/* Creates a queue on loop; sync is called with data for each key. Returns 0 and *out. */
int wq_new(uv_loop_t *loop, const wq_opts *opts, wq_sync_fn sync, void *data, wq **out);
/* Stops processing, drops all keys and frees the queue (once its loop handles closed).
 * Accepts NULL. Not from within a sync; syncs still running (WQ_ASYNC) must be cancelled
 * first: wq_done must not be called after wq_free. */
void wq_free(wq *q);

/* Adds key now (no-op when already waiting). key is copied. */
void wq_add(wq *q, const char *key);
/* Adds key after delay_ms (an earlier pending add wins). */
void wq_add_after(wq *q, const char *key, uint64_t delay_ms);
/* Adds key after its next backoff delay and counts a failure. */
void wq_add_rate_limited(wq *q, const char *key);
/* Forgets key's failures (its backoff starts over). */
void wq_forget(wq *q, const char *key);
/* Failures counted for key since the last forget. */
int wq_num_requeues(const wq *q, const char *key);
/* Completes a sync that returned WQ_ASYNC, with the result it would have returned. */
void wq_done(wq *q, const char *key, int result);

/* Keys waiting now (not delayed, not processing). */
size_t wq_len(const wq *q);
/* Keys delayed (add_after / rate limited) and not yet due. */
size_t wq_delayed(const wq *q);
/* Keys being processed. */
size_t wq_processing(const wq *q);

/* The backoff for the n-th failure (n from 0): base * 2^n capped at max. */
uint64_t wq_backoff_ms(uint64_t base_ms, uint64_t max_ms, int n);

#endif
