/* list: CK_LIST_PREPEND and CK_LIST_REMOVE on a head pointer, from every position, a
 * second removal, an item never added, and head and item evaluated once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/list.h"

typedef struct item {
	struct item *prev, *next;
	char name;
} item;

/* The names from head to tail, checking every prev link on the way. */
static void assert_list(item *head, const char *want)
{
	char got[16];
	size_t n = 0;
	for (item *it = head, *prev = NULL; it; prev = it, it = it->next) {
		assert_ptr_equal(it->prev, prev);
		assert_true(n < sizeof(got) - 1);
		got[n++] = it->name;
	}
	got[n] = '\0';
	assert_string_equal(got, want);
}

static void test_prepend_and_remove(void **state)
{
	(void)state;
	item a = {.name = 'a'}, b = {.name = 'b'}, c = {.name = 'c'}, d = {.name = 'd'};
	item *head = NULL;
	assert_list(head, "");
	CK_LIST_PREPEND(head, &a);
	CK_LIST_PREPEND(head, &b);
	CK_LIST_PREPEND(head, &c);
	CK_LIST_PREPEND(head, &d);
	assert_list(head, "dcba");

	CK_LIST_REMOVE(head, &b); /* in the middle */
	assert_list(head, "dca");
	assert_null(b.prev);
	assert_null(b.next);
	CK_LIST_REMOVE(head, &d); /* first */
	assert_list(head, "ca");
	CK_LIST_REMOVE(head, &a); /* last */
	assert_list(head, "c");
	assert_null(a.prev);
	assert_null(a.next);

	/* removed already, or never added: nothing changes */
	CK_LIST_REMOVE(head, &a);
	item never = {.name = 'n'};
	CK_LIST_REMOVE(head, &never);
	assert_list(head, "c");

	CK_LIST_REMOVE(head, &c); /* the only one */
	assert_null(head);
	CK_LIST_PREPEND(head, &a); /* and back */
	assert_list(head, "a");
}

static void test_evaluated_once(void **state)
{
	(void)state;
	item v[3] = {{.name = 'x'}, {.name = 'y'}, {.name = 'z'}};
	item *heads[2] = {NULL, NULL};
	int h = 0, i = 0;
	CK_LIST_PREPEND(heads[h++], &v[i++]);
	CK_LIST_PREPEND(heads[--h], &v[i++]);
	assert_int_equal(h, 0);
	assert_int_equal(i, 2);
	assert_list(heads[0], "yx");
	assert_null(heads[1]);
	CK_LIST_REMOVE(heads[h++], &v[--i]);
	assert_int_equal(h, 1);
	assert_int_equal(i, 1);
	assert_list(heads[0], "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prepend_and_remove),
	    cmocka_unit_test(test_evaluated_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
