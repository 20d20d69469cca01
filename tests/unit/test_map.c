/* map: set/get/replace/remove, growth, iteration with removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/map.h"

static int freed;
static void count_free(void *p)
{
	freed++;
	free(p);
}

static void test_map(void **state)
{
	ck_map *m = ck_map_new(count_free);
	for (int i = 0; i < 1000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		ck_map_set(m, k, ck_asprintf("v%d", i));
	}
	assert_int_equal(ck_map_len(m), 1000);
	assert_string_equal(ck_map_get(m, "k517"), "v517");
	assert_null(ck_map_get(m, "nope"));
	ck_map_set(m, "k1", ck_strdup("new"));
	assert_int_equal(freed, 1);
	assert_string_equal(ck_map_get(m, "k1"), "new");
	char *taken = ck_map_take(m, "k2");
	assert_string_equal(taken, "v2");
	free(taken);
	assert_false(ck_map_contains(m, "k2"));
	assert_true(ck_map_remove(m, "k3"));
	assert_false(ck_map_remove(m, "k3"));
	assert_int_equal(freed, 2);
	/* Iterate, removing every other entry. */
	ck_map_iter it = CK_MAP_ITER_INIT;
	const char *key;
	int seen = 0;
	while (ck_map_next(m, &it, &key, NULL)) {
		if (seen++ % 2)
			ck_map_remove(m, key);
	}
	assert_int_equal(seen, 998);
	assert_int_equal(ck_map_len(m), 499);
	ck_map_free(m);
	assert_int_equal(freed, 2 + 499 + 499);
	ck_map *e = ck_map_new(NULL);
	ck_map_iter it2 = CK_MAP_ITER_INIT;
	assert_false(ck_map_next(e, &it2, NULL, NULL));
	ck_map_set(e, "", NULL);
	assert_true(ck_map_contains(e, ""));
	ck_map_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_map)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
