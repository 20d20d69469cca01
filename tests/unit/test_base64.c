/* Unit tests for base/base64: round trips, Go's strict form and the lenient form of
 * kubeconfig data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base64.h"
#include "base/error.h"

static void test_round_trip(void **state)
{
	static const uint8_t data[] = {0x00, 0xff, 0x10, 0x80, 'a', 'b', 'c', 0x7f, 0x01, 0xfe};
	for (size_t n = 0; n <= sizeof(data); n++) {
		_cleanup_free_ char *s = ck_base64_encode(data, n);
		_cleanup_free_ uint8_t *back = NULL;
		size_t len;
		assert_int_equal(strlen(s), (n + 2) / 3 * 4);
		assert_int_equal(ck_base64_decode(s, CK_BASE64_STRICT, &back, &len), 0);
		assert_int_equal(len, n);
		assert_int_equal(back[len], 0);
		if (n)
			assert_memory_equal(back, data, n);
	}
	_cleanup_free_ char *b = ck_base64_encode("b", 1);
	assert_string_equal(b, "Yg==");
}

static void test_strict_rejects(void **state)
{
	static const char *const bad[] = {"A",    "AB",      "ABC", "A===",  "AB=A", "AB==AAAA",
	                                  "!!!!", "AAA\x80", "Yg",  "Y g==", "-_-_"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(bad); i++) {
		uint8_t *out = NULL;
		size_t len;
		assert_int_equal(ck_base64_decode(bad[i], CK_BASE64_STRICT, &out, &len), -EINVAL);
		assert_null(out);
	}
}

static void test_lenient(void **state)
{
	struct {
		const char *in, *want;
	} ok[] = {
	    {"aGVsbG8=", "hello"},
	    {"aGVsbG8", "hello"},      /* no padding */
	    {"aGVs\nbG8=\n", "hello"}, /* wrapped, as PEM tools write it */
	    {"-_8=", "\xfb\xff"},      /* URL-safe alphabet */
	};
	for (size_t i = 0; i < CK_ARRAY_SIZE(ok); i++) {
		_cleanup_free_ uint8_t *out = NULL;
		size_t len;
		assert_int_equal(ck_base64_decode(ok[i].in, CK_BASE64_LENIENT, &out, &len), 0);
		assert_int_equal(len, strlen(ok[i].want));
		assert_string_equal((const char *)out, ok[i].want);
	}
	static const char *const bad[] = {"a", "aGVs!bG8=", "aG==Vs", "a==="};
	for (size_t i = 0; i < CK_ARRAY_SIZE(bad); i++) {
		uint8_t *out = NULL;
		size_t len;
		assert_int_equal(ck_base64_decode(bad[i], CK_BASE64_LENIENT, &out, &len), -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_strict_rejects),
	    cmocka_unit_test(test_lenient),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
