/* Fuzzes pb_decode_k8s, the decoder of Kubernetes protobuf request bodies: any bytes
 * either decode or fail with -EINVAL / -EPROTONOSUPPORT and a message; what decodes
 * encodes again (pb_encode_k8s) and decodes to an equal object.
 * Seeds: fuzz/corpus/pb, the distinct real kubectl bodies of tests/data/pb/ *.bin, e.g.
 *   mkdir -p /tmp/corpus-pb && cp fuzz/corpus/pb/ * /tmp/corpus-pb/   (no spaces)
 *   build-fuzz/fuzz/fuzz_pb -max_total_time=60 /tmp/corpus-pb */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/pb.h"
#include "base/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_err_ ck_err *err = NULL;
	_cleanup_json_ cJSON *j = NULL;
	int r = pb_decode_k8s(data, size, &j, &err);

	if (r < 0) {
		if ((r != -EINVAL && r != -EPROTONOSUPPORT) || !err || err->code != r || j)
			abort();
		return 0;
	}
	if (!j || err)
		abort();

	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_err_ ck_err *err2 = NULL;
	size_t len = 0;
	if (pb_encode_k8s(j, &buf, &len, &err2) < 0)
		abort();
	_cleanup_json_ cJSON *back = NULL;
	if (pb_decode_k8s(buf, len, &back, NULL) < 0 || !ck_json_equal(j, back))
		abort();
	return 0;
}
