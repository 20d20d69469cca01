/* libFuzzer target: arbitrary bytes as an HTTP response through the HTTP client's
 * connection code (httpc_parse_for_test). The first byte chooses a HEAD request (bit 0) and
 * where the rest is split into two reads. Checks: a failure is CK_EPROTO or -ECONNRESET
 * with a message; a complete response has a status from 100 to 999 and a body no longer
 * than the input; nothing depends on where the reads are split; a streamed 2xx body
 * (on_chunk) is the body that would have been accumulated. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const httpc_response *a, const httpc_response *b)
{
	return a->rc == b->rc && a->status == b->status && a->body_len == b->body_len &&
	       !memcmp(a->body, b->body, a->body_len) && !a->content_type == !b->content_type &&
	       (!a->content_type || !strcmp(a->content_type, b->content_type));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool head = data[0] & 1;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	size_t cut = (size_t)(data[0] >> 1) * n / 128;
	httpc_response whole, split, streamed;
	bool keep_whole, keep_split, keep_streamed;
	int rc = httpc_parse_for_test(p, n, n, head, false, &whole, &keep_whole);
	if (rc != 0 && rc != CK_EPROTO && rc != -ECONNRESET)
		abort();
	if (rc != 0 && (!whole.error || !*whole.error || keep_whole))
		abort();
	if (rc == 0 && (whole.status < 100 || whole.status > 999 || whole.body_len > n))
		abort();
	httpc_parse_for_test(p, n, cut, head, false, &split, &keep_split);
	httpc_parse_for_test(p, n, cut, head, true, &streamed, &keep_streamed);
	if (!same(&whole, &split) || keep_split != keep_whole || !same(&whole, &streamed) ||
	    keep_streamed != keep_whole)
		abort();
	httpc_response_clear(&whole);
	httpc_response_clear(&split);
	httpc_response_clear(&streamed);
	return 0;
}
