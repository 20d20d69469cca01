/* quoted: the exact bytes of double-quoted strings as the JSON and YAML printers write
 * them (both through ck_buf_put_quoted), for every control byte, DEL, quote, backslash
 * and UTF-8, and that both read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "base/yaml.h"

/* 0x01..0x1f, DEL, '"', '\\', a plain letter, "é" (UTF-8, passed through). */
static const char every_special[] = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
                                    "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e"
                                    "\x1f\x7f\"\\a\xc3\xa9";

/* Prints the string s with print, checks the bytes against want and that parse reads
 * them back as s. */
static void assert_string_prints(char *(*print)(const cJSON *),
                                 cJSON *(*parse)(const char *, size_t, ck_err **), const char *s,
                                 const char *want)
{
	_cleanup_json_ cJSON *j = cJSON_CreateString(s);
	_cleanup_free_ char *got = print(j);
	assert_string_equal(got, want);
	_cleanup_json_ cJSON *back = parse(got, strlen(got), NULL);
	assert_true(cJSON_IsString(back));
	assert_string_equal(back->valuestring, s);
}

static void test_json_string(void **state)
{
	(void)state;
	assert_string_prints(ck_json_print, ck_json_parse, every_special,
	                     "\"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n"
	                     "\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014"
	                     "\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d"
	                     "\\u001e\\u001f\x7f\\\"\\\\a\xc3\xa9\"");
	assert_string_prints(ck_json_print, ck_json_parse, "", "\"\"");
	/* keys go through the same quoting */
	_cleanup_json_ cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "k\"\n", "v\t");
	_cleanup_free_ char *obj = ck_json_print(o);
	assert_string_equal(obj, "{\"k\\\"\\n\":\"v\\t\"}");
}

static void test_yaml_string(void **state)
{
	(void)state;
	assert_string_prints(ck_yaml_print, ck_yaml_parse, every_special,
	                     "\"\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r"
	                     "\\x0e\\x0f\\x10\\x11\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19"
	                     "\\x1a\\x1b\\x1c\\x1d\\x1e\\x1f\\x7f\\\"\\\\a\xc3\xa9\"\n");
	/* quoted for another reason than its bytes: nothing escaped */
	assert_string_prints(ck_yaml_print, ck_yaml_parse, "1.5 é", "\"1.5 é\"\n");
	/* DEL alone is enough to quote */
	assert_string_prints(ck_yaml_print, ck_yaml_parse, "a\x7f", "\"a\\x7f\"\n");
}

static void test_put_quoted(void **state)
{
	(void)state;
	_cleanup_buf_ ck_buf b = {0};
	ck_buf_put_quoted(&b, NULL, CK_QUOTE_JSON);
	ck_buf_put_quoted(&b, NULL, CK_QUOTE_YAML);
	ck_buf_put_quoted(&b, "", CK_QUOTE_YAML);
	assert_string_equal(ck_buf_str(&b), "\"\"\"\"\"\"");
	ck_buf_clear(&b);
	/* appends: what is already in the buffer stays */
	ck_buf_puts(&b, "k=");
	ck_buf_put_quoted(&b, "a\bb\x7f", CK_QUOTE_JSON);
	ck_buf_put_quoted(&b, "a\bb\x7f", CK_QUOTE_YAML);
	assert_string_equal(ck_buf_str(&b), "k=\"a\\bb\x7f\"\"a\\x08b\\x7f\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_string),
	    cmocka_unit_test(test_yaml_string),
	    cmocka_unit_test(test_put_quoted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
