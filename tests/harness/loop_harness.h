/* loop_harness: waiting on a libuv loop in cmocka tests.
 *
 *   HARNESS_RUN_UNTIL(&loop, informer_synced(inf), 10000, "");
 *
 * runs the loop one iteration at a time until cond holds, and fails the test after
 * timeout_ms naming cond and what (a string with context, e.g. the log to read; "" for
 * none). Include <cmocka.h> before this header. */
#ifndef CK_TESTS_LOOP_HARNESS_H
#define CK_TESTS_LOOP_HARNESS_H

#include <stdint.h>

#include <uv.h>

#define HARNESS_RUN_UNTIL(loop, cond, timeout_ms, what)                                            \
	do {                                                                                       \
		uint64_t t0_ = uv_now(loop);                                                       \
		while (!(cond)) {                                                                  \
			if (uv_now(loop) - t0_ > (uint64_t)(timeout_ms))                           \
				fail_msg("timed out waiting for %s %s", #cond, what);              \
			uv_run(loop, UV_RUN_ONCE);                                                 \
		}                                                                                  \
	} while (0)

#endif
