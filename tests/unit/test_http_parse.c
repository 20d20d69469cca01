/* http_parse_for_test: the request parser and its limits, without sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/http_server.h"

static int parse(const char *s, size_t max_header, size_t max_body, int *n)
{
	return http_parse_for_test(s, strlen(s), max_header, max_body, n);
}

static void test_simple_get(void **state)
{
	int n = -1;
	assert_int_equal(parse("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, &n), 0);
	assert_int_equal(n, 1);
}

static void test_pipelined(void **state)
{
	int n = -1;
	const char *req =
	    "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	    "POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
	    "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
	assert_int_equal(parse(req, 0, 0, &n), 0);
	assert_int_equal(n, 3);
}

static void test_partial_is_not_a_request(void **state)
{
	int n = -1;
	assert_int_equal(parse("GET /a HTTP/1.1\r\nHost: x\r\n", 0, 0, &n), 0);
	assert_int_equal(n, 0);
}

static void test_malformed(void **state)
{
	int n = -1;
	assert_int_equal(parse("GET /a HTTP/1.1\r\nHost x\r\n\r\n", 0, 0, &n), 400);
	assert_int_equal(n, 0);
	assert_int_equal(parse("\x01\x02garbage\r\n\r\n", 0, 0, &n), 400);
	/* a good request, then garbage: one served, then 400 */
	assert_int_equal(parse("GET / HTTP/1.1\r\n\r\nBLAH BLAH\r\n\r\n", 0, 0, &n), 400);
	assert_int_equal(n, 1);
}

static void test_body_limit(void **state)
{
	int n = -1;
	assert_int_equal(
	    parse("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n0123456789a", 0, 10, &n), 413);
	assert_int_equal(n, 0);
	assert_int_equal(
	    parse("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 0, 10, &n), 0);
	assert_int_equal(n, 1);
	/* chunked: the limit applies to the decoded body as it arrives */
	assert_int_equal(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	                       "6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n",
	                       0, 10, &n),
	                 413);
	assert_int_equal(n, 0);
}

static void test_header_limit(void **state)
{
	int n = -1;
	char *big = malloc(3000);
	memset(big, 'a', 2999);
	big[2999] = '\0';
	char *req = malloc(4000);
	strcpy(req, "GET / HTTP/1.1\r\nX-Big: ");
	strcat(req, big);
	strcat(req, "\r\n\r\n");
	assert_int_equal(parse(req, 1024, 0, &n), 431);
	assert_int_equal(n, 0);
	assert_int_equal(parse(req, 4096, 0, &n), 0);
	assert_int_equal(n, 1);
	free(big);
	free(req);
}

static void test_connection_close_stops(void **state)
{
	int n = -1;
	assert_int_equal(
	    parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n", 0, 0, &n),
	    0);
	assert_int_equal(n, 1);
	/* HTTP/1.0 without keep-alive: one request */
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n", 0, 0, &n), 0);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simple_get),
	    cmocka_unit_test(test_pipelined),
	    cmocka_unit_test(test_partial_is_not_a_request),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_body_limit),
	    cmocka_unit_test(test_header_limit),
	    cmocka_unit_test(test_connection_close_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
