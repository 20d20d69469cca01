/* workqueue: dedupe, no concurrent processing of a key, backoff, delays, async syncs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/workqueue.h"
#include "base/strbuf.h"

typedef struct rec {
	wq *q;
	ck_buf log;         /* "key," per sync */
	int fail_left;      /* syncs of "f" failing before success */
	uint64_t times[16]; /* uv_now at each sync of "f" */
	int n_times;
	int async; /* return WQ_ASYNC */
	int in_flight, max_in_flight;
	int requeue_ms;
	uv_loop_t *loop;
} rec;

static int sync_fn(const char *key, void *data)
{
	rec *r = data;
	ck_buf_printf(&r->log, "%s,", key);
	if (!strcmp(key, "f")) {
		r->times[r->n_times++] = uv_now(r->loop);
		if (r->fail_left-- > 0)
			return -EIO;
		return 0;
	}
	if (!strcmp(key, "again") && r->requeue_ms) {
		int ms = r->requeue_ms;
		r->requeue_ms = 0;
		return ms;
	}
	if (r->async) {
		r->in_flight++;
		if (r->in_flight > r->max_in_flight)
			r->max_in_flight = r->in_flight;
		return WQ_ASYNC;
	}
	return 0;
}

static void run_until_idle(uv_loop_t *loop, wq *q)
{
	while (wq_len(q) || wq_delayed(q) || wq_processing(q))
		uv_run(loop, UV_RUN_ONCE);
}

static void test_backoff_values(void **state)
{
	assert_int_equal(wq_backoff_ms(5, 1000000, 0), 5);
	assert_int_equal(wq_backoff_ms(5, 1000000, 1), 10);
	assert_int_equal(wq_backoff_ms(5, 1000000, 10), 5120);
	assert_int_equal(wq_backoff_ms(5, 1000000, 40), 1000000);
	assert_int_equal(wq_backoff_ms(5, 1000000, 1000), 1000000);
}

static void test_dedupe(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	rec r = {.loop = &loop};
	wq *q;
	assert_int_equal(wq_new(&loop, NULL, sync_fn, &r, &q), 0);
	wq_add(q, "a");
	wq_add(q, "b");
	wq_add(q, "a");
	assert_int_equal(wq_len(q), 2);
	run_until_idle(&loop, q);
	assert_string_equal(ck_buf_str(&r.log), "a,b,");
	/* add_after: a later immediate add wins; an earlier delay replaces a later one. */
	ck_buf_clear(&r.log);
	wq_add_after(q, "c", 10000);
	wq_add_after(q, "c", 20);
	assert_int_equal(wq_delayed(q), 1);
	uint64_t t0 = uv_now(&loop);
	run_until_idle(&loop, q);
	assert_true(uv_now(&loop) - t0 >= 19);
	assert_true(uv_now(&loop) - t0 < 5000);
	assert_string_equal(ck_buf_str(&r.log), "c,");
	/* A positive result requeues after that many ms. */
	ck_buf_clear(&r.log);
	r.requeue_ms = 30;
	t0 = uv_now(&loop);
	wq_add(q, "again");
	run_until_idle(&loop, q);
	assert_string_equal(ck_buf_str(&r.log), "again,again,");
	assert_true(uv_now(&loop) - t0 >= 29);
	wq_free(q);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	ck_buf_free(&r.log);
}

static void test_rate_limited(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	rec r = {.loop = &loop, .fail_left = 4};
	wq *q;
	wq_opts o = {.name = "t", .base_delay_ms = 10, .max_delay_ms = 40};
	assert_int_equal(wq_new(&loop, &o, sync_fn, &r, &q), 0);
	wq_add(q, "f");
	run_until_idle(&loop, q);
	assert_int_equal(r.n_times, 5);
	/* Backoff 10, 20, 40, 40 (capped). */
	uint64_t want[] = {10, 20, 40, 40};
	for (int i = 0; i < 4; i++) {
		uint64_t d = r.times[i + 1] - r.times[i];
		if (d + 1 < want[i] || d > want[i] + 500)
			fail_msg("delay %d was %llu, want %llu", i, (unsigned long long)d,
			         (unsigned long long)want[i]);
	}
	/* Success forgot the failures. */
	assert_int_equal(wq_num_requeues(q, "f"), 0);
	wq_add_rate_limited(q, "x");
	wq_add_rate_limited(q, "x");
	assert_int_equal(wq_num_requeues(q, "x"), 2);
	wq_forget(q, "x");
	assert_int_equal(wq_num_requeues(q, "x"), 0);
	wq_free(q);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	ck_buf_free(&r.log);
}

static void test_async_not_concurrent(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	rec r = {.loop = &loop, .async = 1};
	wq *q;
	wq_opts o = {.workers = 2};
	assert_int_equal(wq_new(&loop, &o, sync_fn, &r, &q), 0);
	wq_add(q, "a");
	wq_add(q, "b");
	wq_add(q, "c");
	for (int i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	/* Two workers: a and b run, c waits. */
	assert_string_equal(ck_buf_str(&r.log), "a,b,");
	assert_int_equal(wq_processing(q), 2);
	assert_int_equal(wq_len(q), 1);
	/* a is added while processing: not handed out again until done. */
	wq_add(q, "a");
	assert_int_equal(wq_len(q), 1);
	r.in_flight--;
	wq_done(q, "b", 0);
	for (int i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	assert_string_equal(ck_buf_str(&r.log), "a,b,c,");
	r.in_flight--;
	wq_done(q, "a", 0);
	for (int i = 0; i < 5; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	assert_string_equal(ck_buf_str(&r.log), "a,b,c,a,");
	r.in_flight -= 2;
	wq_done(q, "c", 0);
	wq_done(q, "a", 0);
	run_until_idle(&loop, q);
	assert_int_equal(r.max_in_flight, 2);
	wq_free(q);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	ck_buf_free(&r.log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_values),
	    cmocka_unit_test(test_dedupe),
	    cmocka_unit_test(test_rate_limited),
	    cmocka_unit_test(test_async_not_concurrent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
