/* White-box tests of api/pb's helpers (time and duration forms, base64, UTF-8,
 * embedded JSON). Includes pb.c itself so that its static functions are reachable;
 * the library's copy of pb.o is then not linked into this executable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../lib/api/pb.c"

#include "base/json.h"

static void expect_duration(int64_t d, const char *want)
{
	char buf[40];
	int64_t back;

	pb_format_duration(d, buf, sizeof(buf));
	assert_string_equal(buf, want);
	assert_int_equal(pb_parse_duration(buf, &back), 0);
	assert_true(back == d);
}

/* Expected strings are Go's time.Duration.String(). */
static void test_duration(void **state)
{
	expect_duration(0, "0s");
	expect_duration(1, "1ns");
	expect_duration(-1, "-1ns");
	expect_duration(1100, "1.1\xc2\xb5s");
	expect_duration(2200000, "2.2ms");
	expect_duration(3300000000LL, "3.3s");
	expect_duration(245000000000LL, "4m5s");
	expect_duration(245001000000LL, "4m5.001s");
	expect_duration(18367001000000LL, "5h6m7.001s");
	expect_duration(480000000001LL, "8m0.000000001s");
	expect_duration(3600000000000LL, "1h0m0s");
	expect_duration(INT64_MAX, "2562047h47m16.854775807s");
	expect_duration(-INT64_MAX, "-2562047h47m16.854775807s");

	char buf[40];
	pb_format_duration(INT64_MIN, buf, sizeof(buf));
	assert_string_equal(buf, "-2562047h47m16.854775808s");

	int64_t d;
	assert_int_equal(pb_parse_duration("1.5h", &d), 0);
	assert_true(d == 5400000000000LL);
	assert_int_equal(pb_parse_duration("-300ms", &d), 0);
	assert_true(d == -300000000LL);
	assert_int_equal(pb_parse_duration("1us", &d), 0);
	assert_true(d == 1000);
	assert_int_equal(pb_parse_duration(".5s", &d), 0);
	assert_true(d == 500000000LL);
	assert_int_equal(pb_parse_duration("", &d), -EINVAL);
	assert_int_equal(pb_parse_duration("1", &d), -EINVAL);
	assert_int_equal(pb_parse_duration("1x", &d), -EINVAL);
	assert_int_equal(pb_parse_duration("s", &d), -EINVAL);
	assert_int_equal(pb_parse_duration("1mm", &d), -EINVAL);
	assert_int_equal(pb_parse_duration("3000000h", &d), -ERANGE);
	assert_int_equal(pb_parse_duration("99999999999999999999s", &d), -ERANGE);
}

static void expect_time(int64_t sec, int32_t nanos, bool micro, const char *want)
{
	char buf[64];
	int64_t s2;
	int32_t n2;

	assert_int_equal(pb_format_time(sec, nanos, micro, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
	assert_int_equal(pb_parse_rfc3339(buf, &s2, &n2), 0);
	if (!micro)
		assert_true(s2 == sec || (nanos < 0 && s2 == sec - 1));
}

static void test_time(void **state)
{
	char buf[64];
	int64_t s;
	int32_t n;

	expect_time(0, 0, false, "1970-01-01T00:00:00Z");
	expect_time(1763832807, 627123999, false, "2025-11-22T17:33:27Z");
	expect_time(1763832807, 627123999, true, "2025-11-22T17:33:27.627123Z");
	expect_time(10, -1, true, "1970-01-01T00:00:09.999999Z");
	expect_time(-1, 0, false, "1969-12-31T23:59:59Z");
	expect_time(PB_MIN_SECONDS, 0, false, "0001-01-01T00:00:00Z");
	expect_time(PB_MAX_SECONDS, 999999999, true, "9999-12-31T23:59:59.999999Z");
	assert_int_equal(pb_format_time(PB_MAX_SECONDS + 1, 0, false, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(pb_format_time(PB_MIN_SECONDS - 1, 0, false, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(pb_format_time(INT64_MAX, INT32_MAX, false, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(pb_format_time(INT64_MIN, INT32_MIN, false, buf, sizeof(buf)), -EINVAL);

	assert_int_equal(pb_parse_rfc3339("2026-11-22T19:33:27.5+02:00", &s, &n), 0);
	assert_true(s == 1795368807LL);
	assert_int_equal(n, 500000000);
	assert_int_equal(pb_parse_rfc3339("2026-11-22t17:33:27z", &s, &n), 0);
	assert_int_equal(pb_parse_rfc3339("2026-11-22T17:33:27.1234567891Z", &s, &n), 0);
	assert_int_equal(n, 123456789);
	assert_int_equal(pb_parse_rfc3339("2026-11-22T17:33:27", &s, &n), -EINVAL);
	assert_int_equal(pb_parse_rfc3339("2026-13-22T17:33:27Z", &s, &n), -EINVAL);
	assert_int_equal(pb_parse_rfc3339("2026-11-22 17:33:27Z", &s, &n), -EINVAL);
	assert_int_equal(pb_parse_rfc3339("2026-11-22T17:33:27.Z", &s, &n), -EINVAL);
	assert_int_equal(pb_parse_rfc3339("2026-11-22T17:33:27Zx", &s, &n), -EINVAL);
	assert_int_equal(pb_parse_rfc3339("", &s, &n), -EINVAL);
}

static void test_utf8(void **state)
{
	assert_true(pb_utf8_valid(""));
	assert_true(pb_utf8_valid("plain"));
	assert_true(pb_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
	assert_false(pb_utf8_valid("\xc3"));
	assert_false(pb_utf8_valid("\xc3\x28"));
	assert_false(pb_utf8_valid("\xc0\xaf"));         /* overlong */
	assert_false(pb_utf8_valid("\xed\xa0\x80"));     /* surrogate */
	assert_false(pb_utf8_valid("\xf4\x90\x80\x80")); /* > U+10FFFF */
	assert_false(pb_utf8_valid("\xff"));
}

static void expect_embedded(const char *raw, size_t len, bool has, const char *want)
{
	ProtobufCBinaryData b = {len, (uint8_t *)raw};
	_cleanup_json_ cJSON *j = NULL;
	_cleanup_err_ ck_err *err = NULL;

	assert_int_equal(pb_embedded_json(&b, has, 0, &j, &err), 0);
	_cleanup_free_ char *s = ck_json_print(j);
	assert_string_equal(s, want);
}

static void test_embedded(void **state)
{
	_cleanup_err_ ck_err *err = NULL;
	cJSON *j = NULL;
	ProtobufCBinaryData garbage = {3, (uint8_t *)"{x:"};
	ProtobufCBinaryData inf = {12, (uint8_t *)"{\"a\":1e999}"};

	expect_embedded(NULL, 0, false, "null");
	expect_embedded("", 0, true, "null");
	expect_embedded("{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}", 32, true,
	                "{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}");
	expect_embedded("[1,\"a\"]", 7, true, "[1,\"a\"]");
	/* a nested protobuf body: magic, typeMeta {v1, Namespace}, raw = empty */
	expect_embedded("k8s\0\x0a\x0f\x0a\x02v1\x12\x09Namespace", 21, true,
	                "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\"}");
	assert_int_equal(pb_embedded_json(&garbage, true, 0, &j, &err), -EINVAL);
	assert_null(j);
	err = ck_err_free(err);
	assert_int_equal(pb_embedded_json(&inf, true, 0, &j, &err), -EINVAL);
	assert_null(j);
}

/* Special types read through the walker: Duration, RawExtension, empty Quantity. */
static void test_special_messages(void **state)
{
	K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__Duration d =
	    K8S__IO__APIMACHINERY__PKG__APIS__META__V1__DURATION__INIT;
	K8s__Io__Apimachinery__Pkg__Api__Resource__Quantity q =
	    K8S__IO__APIMACHINERY__PKG__API__RESOURCE__QUANTITY__INIT;
	K8s__Io__Apimachinery__Pkg__Util__Intstr__IntOrString v =
	    K8S__IO__APIMACHINERY__PKG__UTIL__INTSTR__INT_OR_STRING__INIT;
	cJSON *j = NULL;

	d.has_duration = 1;
	d.duration = 90000000000LL;
	assert_int_equal(pb_message_to_json(&d.base, 0, &j, NULL), 0);
	assert_string_equal(j->valuestring, "1m30s");
	cJSON_Delete(j);

	assert_int_equal(pb_message_to_json(&q.base, 0, &j, NULL), 0);
	assert_string_equal(j->valuestring, "0");
	cJSON_Delete(j);

	v.type = 1;
	assert_int_equal(pb_message_to_json(&v.base, 0, &j, NULL), 0);
	assert_string_equal(j->valuestring, "");
	cJSON_Delete(j);

	/* the tables name real fields: a typo there would silently change JSON */
	for (size_t i = 0; i < CK_ARRAY_SIZE(pb_kinds); i++)
		assert_non_null(pb_kinds[i].desc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_embedded),
	    cmocka_unit_test(test_special_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
