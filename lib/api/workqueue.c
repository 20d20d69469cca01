/* workqueue: see workqueue.h.
 *
 * Each key has one item in a map. An item is in at most one list: ready (FIFO) or delayed
 * (sorted by due time); `processing` is a flag beside that, and `dirty` records an add
 * that arrived while processing. Two timers: `kick` (0 ms) runs ready keys from the loop,
 * `delay` fires at the earliest due time. */
#include "api/workqueue.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/map.h"

/* Keys processed per kick before letting the loop poll I/O. */
#define WQ_BATCH 64

enum where { W_NONE, W_READY, W_DELAYED };

typedef struct item {
	char *key;
	struct item *prev, *next;
	enum where where;
	uint64_t due;
	bool processing, dirty;
	int failures;
} item;

typedef struct list {
	item *head, *tail;
	size_t len;
} list;

struct wq {
	uv_loop_t *loop;
	wq_opts o;
	char *name;
	wq_sync_fn sync;
	void *data;
	ck_map *items;
	list ready, delayed;
	size_t processing;
	uv_timer_t kick, delay;
	int open_handles;
	bool freeing;
};

static void list_remove(list *l, item *it)
{
	if (it->prev)
		it->prev->next = it->next;
	else
		l->head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		l->tail = it->prev;
	it->prev = it->next = NULL;
	l->len--;
}

static void list_insert_before(list *l, item *pos, item *it)
{
	it->next = pos;
	if (pos) {
		it->prev = pos->prev;
		if (pos->prev)
			pos->prev->next = it;
		else
			l->head = it;
		pos->prev = it;
	} else {
		it->prev = l->tail;
		if (l->tail)
			l->tail->next = it;
		else
			l->head = it;
		l->tail = it;
	}
	l->len++;
}

static void item_free(void *p)
{
	item *it = p;
	free(it->key);
	free(it);
}

static item *get_item(wq *q, const char *key)
{
	item *it = ck_map_get(q->items, key);
	if (!it) {
		it = ck_calloc(1, sizeof(*it));
		it->key = ck_strdup(key);
		ck_map_set(q->items, key, it);
	}
	return it;
}

/* Drops an item that holds no state any more. */
static void maybe_drop(wq *q, item *it)
{
	if (it->where == W_NONE && !it->processing && !it->failures)
		ck_map_remove(q->items, it->key);
}

static void unqueue(wq *q, item *it)
{
	if (it->where == W_READY)
		list_remove(&q->ready, it);
	else if (it->where == W_DELAYED)
		list_remove(&q->delayed, it);
	it->where = W_NONE;
}

static void on_kick(uv_timer_t *t);
static void on_delay(uv_timer_t *t);

static void schedule_kick(wq *q)
{
	if (q->freeing || !q->ready.len || q->processing >= (size_t)q->o.workers)
		return;
	if (!uv_is_active((uv_handle_t *)&q->kick))
		uv_timer_start(&q->kick, on_kick, 0, 0);
}

static void schedule_delay(wq *q)
{
	if (q->freeing)
		return;
	if (!q->delayed.head) {
		uv_timer_stop(&q->delay);
		return;
	}
	uint64_t now = uv_now(q->loop);
	uint64_t due = q->delayed.head->due;
	uv_timer_start(&q->delay, on_delay, due > now ? due - now : 0, 0);
}

static void make_ready(wq *q, item *it)
{
	if (it->processing) {
		/* Processed again once the current sync finishes. */
		if (it->where == W_DELAYED) {
			unqueue(q, it);
			schedule_delay(q);
		}
		it->dirty = true;
		return;
	}
	if (it->where == W_READY)
		return;
	if (it->where == W_DELAYED) {
		unqueue(q, it);
		schedule_delay(q);
	}
	list_insert_before(&q->ready, NULL, it);
	it->where = W_READY;
	schedule_kick(q);
}

void wq_add(wq *q, const char *key)
{
	if (!q || q->freeing)
		return;
	make_ready(q, get_item(q, key));
}

void wq_add_after(wq *q, const char *key, uint64_t delay_ms)
{
	if (!q || q->freeing)
		return;
	if (delay_ms == 0) {
		wq_add(q, key);
		return;
	}
	item *it = get_item(q, key);
	if (it->where == W_READY)
		return;
	uint64_t due = uv_now(q->loop) + delay_ms;
	if (it->where == W_DELAYED) {
		if (it->due <= due)
			return;
		unqueue(q, it);
	}
	it->due = due;
	item *pos = q->delayed.head;
	while (pos && pos->due <= due)
		pos = pos->next;
	list_insert_before(&q->delayed, pos, it);
	it->where = W_DELAYED;
	schedule_delay(q);
}

uint64_t wq_backoff_ms(uint64_t base_ms, uint64_t max_ms, int n)
{
	uint64_t d = base_ms;
	for (int i = 0; i < n; i++) {
		if (d >= max_ms)
			return max_ms;
		d *= 2;
	}
	return d < max_ms ? d : max_ms;
}

void wq_add_rate_limited(wq *q, const char *key)
{
	if (!q || q->freeing)
		return;
	item *it = get_item(q, key);
	uint64_t d = wq_backoff_ms(q->o.base_delay_ms, q->o.max_delay_ms, it->failures);
	it->failures++;
	wq_add_after(q, key, d);
}

void wq_forget(wq *q, const char *key)
{
	item *it = q ? ck_map_get(q->items, key) : NULL;
	if (!it)
		return;
	it->failures = 0;
	maybe_drop(q, it);
}

int wq_num_requeues(const wq *q, const char *key)
{
	item *it = ck_map_get(q->items, key);
	return it ? it->failures : 0;
}

static void finish(wq *q, item *it, int result)
{
	it->processing = false;
	q->processing--;
	bool dirty = it->dirty;
	it->dirty = false;
	_cleanup_free_ char *key = ck_strdup(it->key);
	if (result < 0) {
		CK_V(4, "workqueue %s: %s failed (%s), requeued with backoff", q->name, key,
		     ck_strerror(result));
		wq_add_rate_limited(q, key);
	} else if (result > 0) {
		it->failures = 0;
		wq_add_after(q, key, (uint64_t)result);
	} else {
		it->failures = 0;
	}
	/* it may be gone from here on. */
	it = ck_map_get(q->items, key);
	if (it && dirty)
		make_ready(q, it);
	else if (it)
		maybe_drop(q, it);
	schedule_kick(q);
}

void wq_done(wq *q, const char *key, int result)
{
	item *it = q ? ck_map_get(q->items, key) : NULL;
	if (!it || !it->processing || q->freeing)
		return;
	finish(q, it, result == WQ_ASYNC ? 0 : result);
}

static void on_kick(uv_timer_t *t)
{
	wq *q = t->data;
	for (int n = 0; n < WQ_BATCH && q->ready.head && q->processing < (size_t)q->o.workers;
	     n++) {
		item *it = q->ready.head;
		unqueue(q, it);
		it->processing = true;
		q->processing++;
		_cleanup_free_ char *key = ck_strdup(it->key);
		int rc = q->sync(key, q->data);
		if (q->freeing)
			return;
		if (rc == WQ_ASYNC)
			continue;
		it = ck_map_get(q->items, key);
		if (it && it->processing)
			finish(q, it, rc);
	}
	schedule_kick(q);
}

static void on_delay(uv_timer_t *t)
{
	wq *q = t->data;
	uint64_t now = uv_now(q->loop);
	while (q->delayed.head && q->delayed.head->due <= now && !q->freeing)
		make_ready(q, q->delayed.head);
	schedule_delay(q);
}

int wq_new(uv_loop_t *loop, const wq_opts *opts, wq_sync_fn sync, void *data, wq **out)
{
	wq *q = ck_calloc(1, sizeof(*q));
	q->loop = loop;
	if (opts)
		q->o = *opts;
	q->name = ck_strdup(q->o.name ? q->o.name : "queue");
	q->o.name = q->name;
	if (q->o.workers <= 0)
		q->o.workers = 1;
	if (!q->o.base_delay_ms)
		q->o.base_delay_ms = 5;
	if (!q->o.max_delay_ms)
		q->o.max_delay_ms = 1000 * 1000;
	q->sync = sync;
	q->data = data;
	q->items = ck_map_new(item_free);
	uv_timer_init(loop, &q->kick);
	uv_timer_init(loop, &q->delay);
	q->kick.data = q;
	q->delay.data = q;
	q->open_handles = 2;
	*out = q;
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	wq *q = h->data;
	if (--q->open_handles == 0) {
		ck_map_free(q->items);
		free(q->name);
		free(q);
	}
}

void wq_free(wq *q)
{
	if (!q || q->freeing)
		return;
	q->freeing = true;
	uv_close((uv_handle_t *)&q->kick, on_closed);
	uv_close((uv_handle_t *)&q->delay, on_closed);
}

size_t wq_len(const wq *q)
{
	return q->ready.len;
}

size_t wq_delayed(const wq *q)
{
	return q->delayed.len;
}

size_t wq_processing(const wq *q)
{
	return q->processing;
}
