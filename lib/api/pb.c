/* pb: Kubernetes protobuf -> JSON. Stub until the walker lands. */
#include "api/pb.h"

int pb_decode_k8s(const uint8_t *buf, size_t len, cJSON **out, ck_err **err)
{
	return ck_err_set(err, -ENOSYS, "protobuf decoding not implemented yet");
}
