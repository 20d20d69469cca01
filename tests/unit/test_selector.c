#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "api/selector.h"
#include "base/json.h"

static cJSON *labels(const char *json)
{
	return ck_json_parse(json, strlen(json), NULL);
}

static bool matches(const char *sel, const char *json)
{
	selector *s = NULL;
	ck_err *err = NULL;
	assert_int_equal(selector_parse_labels(sel, &s, &err), 0);
	cJSON *l = labels(json);
	bool ok = selector_match_labels(s, l);
	cJSON_Delete(l);
	selector_free(s);
	return ok;
}

static void test_label_operators(void **state)
{
	const char *l = "{\"app\":\"web\",\"tier\":\"front\",\"app.kubernetes.io/name\":\"x\"}";
	assert_true(matches("", l));
	assert_true(matches("app=web", l));
	assert_true(matches("app==web", l));
	assert_false(matches("app=db", l));
	assert_true(matches("app!=db", l));
	assert_true(matches("missing!=db", l));
	assert_false(matches("app!=web", l));
	assert_true(matches("tier in (front, back)", l));
	assert_false(matches("tier in (back)", l));
	assert_true(matches("tier notin (back)", l));
	assert_true(matches("missing notin (back)", l));
	assert_false(matches("tier notin (front)", l));
	assert_true(matches("app", l));
	assert_false(matches("!app", l));
	assert_true(matches("!missing", l));
	assert_false(matches("missing", l));
	assert_true(matches(" app = web , tier in (front) ,app.kubernetes.io/name=x", l));
	assert_false(matches("app=web,tier=back", l));
	assert_true(matches("empty=", "{\"empty\":\"\"}"));
	assert_false(matches("app=web", "null"));
}

static void test_label_errors(void **state)
{
	static const char *const bad[] = {
	    "app in (",    "app in ()", "app in (a b)",   "=x",      "app=web,", "app=(x)",  "!",
	    "app notin x", "a b",       "app=web tier=x", "app=v/x", "a/b/c=1",  "app=web)",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		selector *s = NULL;
		ck_err *err = NULL;
		int rc = selector_parse_labels(bad[i], &s, &err);
		if (rc != -EINVAL)
			fail_msg("\"%s\" parsed", bad[i]);
		assert_non_null(err);
		assert_null(s);
		ck_err_free(err);
	}
}

static const char *lookup(const char *key, void *data)
{
	const cJSON *o = data;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_fields(void **state)
{
	cJSON *o =
	    labels("{\"spec.nodeName\":\"n1\",\"status.phase\":\"Running\",\"a\":\"x,y=z\"}");
	selector *s = NULL;
	assert_int_equal(selector_parse_fields("spec.nodeName=n1,status.phase!=Pending", &s, NULL),
	                 0);
	assert_int_equal(s->n_reqs, 2);
	assert_int_equal(s->reqs[1].op, SELECTOR_NEQ);
	assert_true(selector_match(s, lookup, o));
	selector_free(s);
	assert_int_equal(selector_parse_fields("spec.nodeName==n2", &s, NULL), 0);
	assert_false(selector_match(s, lookup, o));
	selector_free(s);
	assert_int_equal(selector_parse_fields("a=x\\,y\\=z", &s, NULL), 0);
	assert_string_equal(s->reqs[0].values[0], "x,y=z");
	assert_true(selector_match(s, lookup, o));
	selector_free(s);
	assert_int_equal(selector_parse_fields("", &s, NULL), 0);
	assert_int_equal(s->n_reqs, 0);
	selector_free(s);
	ck_err *err = NULL;
	assert_int_equal(selector_parse_fields("novalue", &s, &err), -EINVAL);
	assert_non_null(err);
	err = ck_err_free(err);
	assert_int_equal(selector_parse_fields("a=b\\q", &s, &err), -EINVAL);
	err = ck_err_free(err);
	assert_int_equal(selector_parse_fields("=b", &s, &err), -EINVAL);
	ck_err_free(err);
	cJSON_Delete(o);
}

static void test_label_selector_object_and_format(void **state)
{
	cJSON *ls = labels("{\"matchLabels\":{\"b\":\"2\",\"a\":\"1\"},\"matchExpressions\":["
	                   "{\"key\":\"t\",\"operator\":\"In\",\"values\":[\"y\",\"x\"]},"
	                   "{\"key\":\"u\",\"operator\":\"DoesNotExist\"},"
	                   "{\"key\":\"v\",\"operator\":\"NotIn\",\"values\":[\"q\"]},"
	                   "{\"key\":\"w\",\"operator\":\"Exists\"}]}");
	selector *s = NULL;
	assert_int_equal(selector_from_label_selector(ls, &s, NULL), 0);
	char *text = selector_format(s);
	assert_string_equal(text, "a=1,b=2,t in (x,y),!u,v notin (q),w");
	/* The text form parses back to the same selector. */
	selector *again = NULL;
	assert_int_equal(selector_parse_labels(text, &again, NULL), 0);
	char *text2 = selector_format(again);
	assert_string_equal(text, text2);
	cJSON *l = labels("{\"a\":\"1\",\"b\":\"2\",\"t\":\"x\",\"w\":\"\"}");
	assert_true(selector_match_labels(s, l));
	assert_true(selector_match_labels(again, l));
	free(text);
	free(text2);
	selector_free(again);
	selector_free(s);
	cJSON_Delete(l);
	cJSON_Delete(ls);

	ls = labels("{\"matchExpressions\":[{\"key\":\"t\",\"operator\":\"Bogus\"}]}");
	ck_err *err = NULL;
	assert_int_equal(selector_from_label_selector(ls, &s, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "Bogus"));
	ck_err_free(err);
	cJSON_Delete(ls);

	assert_int_equal(selector_from_label_selector(NULL, &s, NULL), 0);
	text = selector_format(s);
	assert_string_equal(text, "");
	free(text);
	selector_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_label_operators),
	    cmocka_unit_test(test_label_errors),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_label_selector_object_and_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
