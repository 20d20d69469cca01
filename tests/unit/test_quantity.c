/* quantity: parsing to milli-units, rounding, ranges, canonical formatting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/quantity.h"

static void test_parse(void **state)
{
	struct {
		const char *s;
		int64_t milli;
		enum quantity_format fmt;
	} ok[] = {
	    {"100m", 100, QUANTITY_DECIMAL_SI},
	    {"1", 1000, QUANTITY_DECIMAL_SI},
	    {"1.5", 1500, QUANTITY_DECIMAL_SI},
	    {".5", 500, QUANTITY_DECIMAL_SI},
	    {"5.", 5000, QUANTITY_DECIMAL_SI},
	    {"0.05", 50, QUANTITY_DECIMAL_SI},
	    {"128Mi", 128LL * 1024 * 1024 * 1000, QUANTITY_BINARY_SI},
	    {"0.5Ki", 512000, QUANTITY_BINARY_SI},
	    {"1G", 1000000000000LL, QUANTITY_DECIMAL_SI},
	    {"1k", 1000000, QUANTITY_DECIMAL_SI},
	    {"2e3", 2000000, QUANTITY_DECIMAL_EXP},
	    {"1E", 1000000000000000000LL / 1000 * 1000,
	     QUANTITY_DECIMAL_SI}, /* overflow check below */
	    {"-1.5", -1500, QUANTITY_DECIMAL_SI},
	    {"+2", 2000, QUANTITY_DECIMAL_SI},
	    {"0", 0, QUANTITY_DECIMAL_SI},
	    {"0.1m", 1, QUANTITY_DECIMAL_SI}, /* rounded up */
	    {"1e-3", 1, QUANTITY_DECIMAL_EXP},
	    {"12e-1", 1200, QUANTITY_DECIMAL_EXP},
	    {"1.0000000000000000001", 1001, QUANTITY_DECIMAL_SI},
	    {"4Gi", 4LL * 1024 * 1024 * 1024 * 1000, QUANTITY_BINARY_SI},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		quantity q;
		int rc = quantity_parse(ok[i].s, &q);
		if (!strcmp(ok[i].s, "1E")) {
			assert_int_equal(rc, -ERANGE); /* 1e18 units is 1e21 milli */
			continue;
		}
		if (rc != 0 || q.milli != ok[i].milli || q.format != ok[i].fmt)
			fail_msg("%s: rc %d milli %lld fmt %d", ok[i].s, rc, (long long)q.milli,
			         q.format);
	}
	const char *bad[] = {"",    "m",  "1.2.3", "1x",  "1Ki2", "1 ",  " 1",
	                     "1mm", "e3", "1e",    "1e+", "--1",  "1Zi", "Ki"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		quantity q;
		if (quantity_parse(bad[i], &q) != -EINVAL)
			fail_msg("\"%s\" should not parse", bad[i]);
	}
	quantity q;
	assert_int_equal(quantity_parse("10Ei", &q), -ERANGE);
	assert_int_equal(quantity_parse("1e100", &q), -ERANGE);
	assert_int_equal(quantity_parse("8Pi", &q), 0);
	assert_int_equal(quantity_milli("250m", -1), 250);
	assert_int_equal(quantity_milli("nope", -1), -1);
	assert_int_equal(quantity_milli(NULL, 7), 7);
	quantity v = {.milli = 1500};
	assert_int_equal(quantity_value(&v), 2);
	v.milli = 2000;
	assert_int_equal(quantity_value(&v), 2);
}

static void test_json(void **state)
{
	quantity q;
	cJSON *n = cJSON_CreateNumber(2);
	assert_int_equal(quantity_from_json(n, &q), 0);
	assert_int_equal(q.milli, 2000);
	cJSON_Delete(n);
	n = cJSON_CreateNumber(0.25);
	assert_int_equal(quantity_from_json(n, &q), 0);
	assert_int_equal(q.milli, 250);
	cJSON_Delete(n);
	n = cJSON_CreateString("64Mi");
	assert_int_equal(quantity_from_json(n, &q), 0);
	assert_int_equal(q.milli, 64LL * 1024 * 1024 * 1000);
	cJSON_Delete(n);
	n = cJSON_CreateTrue();
	assert_int_equal(quantity_from_json(n, &q), -EINVAL);
	cJSON_Delete(n);
}

static void test_format(void **state)
{
	struct {
		const char *in, *out;
	} cases[] = {
	    {"100m", "100m"},   {"1", "1"},
	    {"1.5", "1500m"},   {"128Mi", "128Mi"},
	    {"1G", "1G"},       {"1000", "1k"},
	    {"2e3", "2e3"},     {"1536Mi", "1536Mi"},
	    {"1024Mi", "1Gi"},  {"0.5Ki", "512"},
	    {"1000m", "1"},     {"0", "0"},
	    {"-2k", "-2k"},     {"1500e-3", "1500e-3"},
	    {"100Ki", "100Ki"}, {"1100Ki", "1100Ki"},
	    {"12345", "12345"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		quantity q;
		assert_int_equal(quantity_parse(cases[i].in, &q), 0);
		char *s = quantity_format(&q);
		if (strcmp(s, cases[i].out))
			fail_msg("%s formatted as %s, want %s", cases[i].in, s, cases[i].out);
		/* And it reads back the same. */
		quantity back;
		assert_int_equal(quantity_parse(s, &back), 0);
		assert_int_equal(back.milli, q.milli);
		free(s);
	}
}

/* Values found by the fuzzer: format then parse gives the same milli-units. */
static void test_round_trip(void **state)
{
	const char *in[] = {"5.411Pi", "8Pi", "9223372036854775807m", "0.000000000000000000001",
	                    "7.999999Ei"};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		quantity q, back;
		if (quantity_parse(in[i], &q) != 0)
			continue;
		char *s = quantity_format(&q);
		assert_int_equal(quantity_parse(s, &back), 0);
		if (back.milli != q.milli)
			fail_msg("%s -> %s -> %lld != %lld", in[i], s, (long long)back.milli,
			         (long long)q.milli);
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
