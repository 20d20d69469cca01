/* STUB: to be implemented. */
#include "api/workqueue.h"
#include <errno.h>
#include <stdlib.h>

int wq_new(uv_loop_t *loop, const wq_opts *opts, wq_sync_fn sync, void *data, wq **out)
{
	return -ENOSYS;
}

void wq_free(wq *q)
{
}

void wq_add(wq *q, const char *key)
{
}

void wq_add_after(wq *q, const char *key, uint64_t delay_ms)
{
}

void wq_add_rate_limited(wq *q, const char *key)
{
}

void wq_forget(wq *q, const char *key)
{
}

int wq_num_requeues(const wq *q, const char *key)
{
	return -ENOSYS;
}

void wq_done(wq *q, const char *key, int result)
{
}

size_t wq_len(const wq *q)
{
	return 0;
}

size_t wq_delayed(const wq *q)
{
	return 0;
}

size_t wq_processing(const wq *q)
{
	return 0;
}

uint64_t wq_backoff_ms(uint64_t base_ms, uint64_t max_ms, int n)
{
	return 0;
}
