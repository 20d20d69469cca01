/* grpc: call plumbing over the gRPC C core (grpc/grpc.h), messages as protobuf-c.
 *
 * Three objects:
 *   ckgrpc_channel  a connection target ("unix:///run/containerd/containerd.sock",
 *                   "127.0.0.1:2379", "dns:///host:port"), insecure or TLS. Not tied to a
 *                   loop or a thread; shared by any number of calls.
 *   ckgrpc_loop     binds gRPC to one libuv loop: a completion queue drained by one
 *                   thread (grpc_completion_queue_next) that hands every completion to the
 *                   loop through a uv_async. All callbacks of calls started on a
 *                   ckgrpc_loop run on that loop's thread, never on the drain thread.
 *   calls           unary (one request, one response) and bidirectional streams.
 *
 * A method is its full path: "/runtime.v1.RuntimeService/Version",
 * "/etcdserverpb.KV/Range". Requests are any protobuf-c message; responses are unpacked
 * with the descriptor the caller names.
 *
 * gRPC status → return code (the err message keeps the status name and details):
 *   OK 0, CANCELLED -ECANCELED, UNKNOWN -EIO, INVALID_ARGUMENT -EINVAL,
 *   DEADLINE_EXCEEDED -ETIMEDOUT, NOT_FOUND -ENOENT, ALREADY_EXISTS -EEXIST,
 *   PERMISSION_DENIED -EPERM, RESOURCE_EXHAUSTED -ENOSPC, FAILED_PRECONDITION -EBUSY,
 *   ABORTED CK_ECONFLICT, OUT_OF_RANGE -ERANGE, UNIMPLEMENTED -ENOSYS, INTERNAL -EIO,
 *   UNAVAILABLE CK_EUNAVAILABLE, DATA_LOSS -EIO, UNAUTHENTICATED -EACCES.
 * A response that does not unpack gives CK_EPROTO.
 *
 * Thread rules: ckgrpc_loop_*, async calls and streams are used from the loop thread
 * only. ckgrpc_channel_* and ckgrpc_unary_sync may be used from any thread, but
 * ckgrpc_unary_sync blocks: never call it on a loop thread. */
#ifndef CK_NET_GRPC_H
#define CK_NET_GRPC_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "base/error.h"

typedef struct ckgrpc_channel ckgrpc_channel;
typedef struct ckgrpc_loop ckgrpc_loop;
typedef struct ckgrpc_call ckgrpc_call;
typedef struct ckgrpc_stream ckgrpc_stream;

/* Maps a grpc_status_code (as int) to a ckube return code (table above). */
int ckgrpc_status_to_rc(int grpc_status);
/* Upstream name of a grpc_status_code ("UNAVAILABLE"); "UNKNOWN_CODE" when out of range. */
const char *ckgrpc_status_name(int grpc_status);

/* ---- channels ---- */
typedef struct ckgrpc_channel_opts {
	/* TLS when tls or any of the files is set (PEM files). ca_file: roots to verify the
	 * server (NULL: gRPC's default roots); cert_file+key_file: client certificate. */
	bool tls;
	const char *ca_file, *cert_file, *key_file;
	/* Overrides the name checked against the server certificate and sent as :authority. */
	const char *authority;
	/* Keepalive pings every keepalive_ms (0: off); a dead peer then fails streams with
	 * UNAVAILABLE instead of hanging. */
	int keepalive_ms;
	/* Largest response accepted; 0: 256 MiB. */
	int max_recv_bytes;
} ckgrpc_channel_opts;

/* Creates a channel to target (a gRPC target string; see above). opts may be NULL
 * (insecure, defaults). Connects lazily. Returns 0 and *out (free with
 * ckgrpc_channel_free), or -EINVAL / -errno (unreadable TLS file) with err. */
int ckgrpc_channel_new(const char *target, const ckgrpc_channel_opts *opts, ckgrpc_channel **out,
                       ck_err **err);
/* Destroys the channel. Calls still running on it fail (UNAVAILABLE/CANCELLED) and
 * complete normally; accepts NULL; returns NULL. */
ckgrpc_channel *ckgrpc_channel_free(ckgrpc_channel *ch);
/* The target string the channel was created with (owned by the channel). */
const char *ckgrpc_channel_target(const ckgrpc_channel *ch);
/* True when the channel is in TRANSIENT_FAILURE or SHUTDOWN (connect to try again
 * when try_connect). Never blocks. */
bool ckgrpc_channel_failed(ckgrpc_channel *ch, bool try_connect);

/* ---- loop binding ---- */

/* Binds gRPC to loop: starts the drain thread and a uv_async on loop (the async handle
 * is unref'd: it keeps the loop alive only while calls are in flight). Returns 0 and
 * *out, or a negative code with err. Must be called on the loop's thread. */
int ckgrpc_loop_new(uv_loop_t *loop, ckgrpc_loop **out, ck_err **err);
/* Cancels every call and stream still in flight, runs their callbacks (rc -ECANCELED
 * unless they had already finished) before returning, stops the drain thread and
 * closes the uv_async (the memory goes in its close callback: run the loop once more
 * to release it). Accepts NULL; returns NULL. On the loop's thread only, and not from
 * inside one of this ckgrpc_loop's callbacks. */
ckgrpc_loop *ckgrpc_loop_free(ckgrpc_loop *l);
uv_loop_t *ckgrpc_loop_uv(const ckgrpc_loop *l);

/* ---- unary calls ---- */

/* rc: 0 or the mapped status. resp: the unpacked response when rc == 0, else NULL;
 * owned by the layer and freed when the callback returns (copy what you keep, or take
 * it with ckgrpc_call_take_response during the callback). err: NULL when rc == 0. */
typedef void (*ckgrpc_unary_cb)(int rc, const ProtobufCMessage *resp, const ck_err *err,
                                void *data);

/* Starts a unary call of method on ch with req (packed at once: req may be freed after
 * the return). timeout_ms > 0 sets a deadline, 0 means none. cb runs exactly once, on
 * the loop thread, never before this function returns. Returns 0 and (when out) a
 * handle valid until cb returns, usable with ckgrpc_call_cancel; or a negative code
 * with err (cb then never runs). */
int ckgrpc_unary(ckgrpc_loop *l, ckgrpc_channel *ch, const char *method,
                 const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                 int timeout_ms, ckgrpc_unary_cb cb, void *data, ckgrpc_call **out, ck_err **err);
/* As ckgrpc_unary with a request already serialized (req_len bytes, copied): for
 * callers that retry one request on several channels. */
int ckgrpc_unary_bytes(ckgrpc_loop *l, ckgrpc_channel *ch, const char *method, const void *req,
                       size_t req_len, const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                       ckgrpc_unary_cb cb, void *data, ckgrpc_call **out, ck_err **err);
/* Cancels a call still in flight: its callback runs later with -ECANCELED (or with the
 * result that already arrived). No effect once the callback ran - do not use the
 * handle after that. */
void ckgrpc_call_cancel(ckgrpc_call *call);
/* During the callback of call: hands the response to the caller (free it with
 * protobuf_c_message_free_unpacked(msg, NULL)). NULL when there is none. */
ProtobufCMessage *ckgrpc_call_take_response(ckgrpc_call *call);
/* The call whose callback is running on this thread (for take_response), or NULL. */
ckgrpc_call *ckgrpc_current_call(void);

/* Blocking unary call with its own completion queue (grpc_completion_queue_pluck), for
 * CLIs and tests. Not on a loop thread. Returns 0 and *out (free with
 * protobuf_c_message_free_unpacked(*out, NULL)), or the mapped status with err. */
int ckgrpc_unary_sync(ckgrpc_channel *ch, const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                      ProtobufCMessage **out, ck_err **err);

/* As ckgrpc_unary_sync, but "wait for ready": while the target does not accept
 * connections the call waits (up to timeout_ms) for it to come up instead of failing
 * at once with UNAVAILABLE. For waiting until a server starts (tests, kubelet → CRI). */
int ckgrpc_unary_sync_ready(ckgrpc_channel *ch, const char *method, const ProtobufCMessage *req,
                            const ProtobufCMessageDescriptor *resp_desc, int timeout_ms,
                            ProtobufCMessage **out, ck_err **err);

/* ---- bidirectional streams ---- */
typedef struct ckgrpc_stream_ops {
	const ProtobufCMessageDescriptor *resp_desc;
	/* Each response in order. msg is freed when this returns. May call
	 * ckgrpc_stream_send/cancel. */
	void (*on_message)(ckgrpc_stream *s, const ProtobufCMessage *msg, void *data);
	/* Exactly once, last: the stream ended (rc 0 when the server closed it with OK,
	 * -ECANCELED after ckgrpc_stream_cancel, the mapped status otherwise). The stream is
	 * freed when this returns. */
	void (*on_close)(ckgrpc_stream *s, int rc, const ck_err *err, void *data);
} ckgrpc_stream_ops;

/* Opens a bidirectional stream of method on ch (timeout_ms > 0: deadline for the whole
 * stream, 0: none). ops must outlive the stream. Returns 0 and *out, or a negative
 * code with err (no callback then). Callbacks never run before this returns. */
int ckgrpc_stream_open(ckgrpc_loop *l, ckgrpc_channel *ch, const char *method, int timeout_ms,
                       const ckgrpc_stream_ops *ops, void *data, ckgrpc_stream **out, ck_err **err);
/* Queues msg (packed at once) for sending; messages go out in order. Returns 0, or
 * -EPIPE after close_send/cancel or once the stream is closing. */
int ckgrpc_stream_send(ckgrpc_stream *s, const ProtobufCMessage *msg);
/* Half-closes the sending side after the queued messages. Some servers (etcd's Watch)
 * never end a stream on half-close: use ckgrpc_stream_cancel to end those. */
void ckgrpc_stream_close_send(ckgrpc_stream *s);
/* Cancels the stream: on_close runs later on the loop with -ECANCELED (no more
 * on_message after this returns). */
void ckgrpc_stream_cancel(ckgrpc_stream *s);

#endif
