/* grpc: interface landed first; implementation follows. */
#include "net/grpc.h"

int ckgrpc_status_to_rc(int s)
{
	return s == 0 ? 0 : -ENOSYS;
}
const char *ckgrpc_status_name(int s)
{
	return "UNKNOWN_CODE";
}
int ckgrpc_channel_new(const char *target, const ckgrpc_channel_opts *opts, ckgrpc_channel **out,
                       ck_err **err)
{
	return ck_err_set(err, -ENOSYS, "ckgrpc: not implemented yet");
}
ckgrpc_channel *ckgrpc_channel_free(ckgrpc_channel *ch)
{
	return NULL;
}
const char *ckgrpc_channel_target(const ckgrpc_channel *ch)
{
	return "";
}
bool ckgrpc_channel_failed(ckgrpc_channel *ch, bool try_connect)
{
	return true;
}
int ckgrpc_loop_new(uv_loop_t *loop, ckgrpc_loop **out, ck_err **err)
{
	return ck_err_set(err, -ENOSYS, "ckgrpc: not implemented yet");
}
ckgrpc_loop *ckgrpc_loop_free(ckgrpc_loop *l)
{
	return NULL;
}
uv_loop_t *ckgrpc_loop_uv(const ckgrpc_loop *l)
{
	return NULL;
}
int ckgrpc_unary(ckgrpc_loop *l, ckgrpc_channel *ch, const char *method,
                 const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                 int timeout_ms, ckgrpc_unary_cb cb, void *data, ckgrpc_call **out, ck_err **err)
{
	return ck_err_set(err, -ENOSYS, "ckgrpc: not implemented yet");
}
void ckgrpc_call_cancel(ckgrpc_call *call)
{
}
ProtobufCMessage *ckgrpc_call_take_response(ckgrpc_call *call)
{
	return NULL;
}
ckgrpc_call *ckgrpc_current_call(void)
{
	return NULL;
}
int ckgrpc_unary_sync(ckgrpc_channel *ch, const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                      ProtobufCMessage **out, ck_err **err)
{
	return ck_err_set(err, -ENOSYS, "ckgrpc: not implemented yet");
}
int ckgrpc_stream_open(ckgrpc_loop *l, ckgrpc_channel *ch, const char *method, int timeout_ms,
                       const ckgrpc_stream_ops *ops, void *data, ckgrpc_stream **out, ck_err **err)
{
	return ck_err_set(err, -ENOSYS, "ckgrpc: not implemented yet");
}
int ckgrpc_stream_send(ckgrpc_stream *s, const ProtobufCMessage *msg)
{
	return -EPIPE;
}
void ckgrpc_stream_close_send(ckgrpc_stream *s)
{
}
void ckgrpc_stream_cancel(ckgrpc_stream *s)
{
}
