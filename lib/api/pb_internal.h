/* pb_internal: what pb.c, pb_decode.c and pb_encode.c share (not a public header). */
#ifndef CK_API_PB_INTERNAL_H
#define CK_API_PB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <protobuf-c/protobuf-c.h>

#include "base/error.h"

/* Nesting bound for RawExtensions holding further protobuf bodies. The schema
 * itself has no recursive messages. */
#define PB_MAX_DEPTH 64

/* ---- pb.c: tables ---- */

/* The message of (apiVersion, kind), or NULL when the kind is not supported. */
const ProtobufCMessageDescriptor *pb_kind_lookup(const char *api_version, const char *kind);
/* Does JSON keep field f of md when it is zero (a Go pointer or non-omitempty number)? */
bool pb_keeps_zero(const ProtobufCMessageDescriptor *md, const ProtobufCFieldDescriptor *f);
/* Is field f of md an embedded Go struct, whose fields sit in the enclosing JSON object? */
bool pb_is_inline(const ProtobufCMessageDescriptor *md, const ProtobufCFieldDescriptor *f);
/* Is f a protobuf map (a repeated "XEntry" {key = 1; value = 2})? */
bool pb_is_map(const ProtobufCFieldDescriptor *f);
/* Is md an ExtraValue message (one repeated string; a []string in JSON)? */
bool pb_is_extra_value(const ProtobufCMessageDescriptor *md);

/* ---- pb.c: helpers ---- */

/* Accepts well-formed UTF-8 only. */
bool pb_utf8_valid(const char *s);
/* The size of one value of type t in a protobuf-c message or repeated array. */
size_t pb_type_size(ProtobufCType t);
/* A new message of type md, initialised (ck_calloc: never NULL). */
ProtobufCMessage *pb_message_new(const ProtobufCMessageDescriptor *md);
/* Cleanup function: frees *m (protobuf-c's free of an unpacked message) when set. */
void pb_message_freep(ProtobufCMessage **m);

/* metav1.Time (RFC 3339, seconds) or MicroTime (6 fraction digits); -EINVAL when out of
 * the years 0001..9999. */
int pb_format_time(int64_t sec, int32_t nanos, bool micro, char *buf, size_t size);
/* Go's time.Duration.String(); buf holds 40 bytes. */
void pb_format_duration(int64_t d, char *buf, size_t size);
/* RFC 3339 with an optional fraction and Z or an offset: 0, or -EINVAL. */
int pb_parse_rfc3339(const char *s, int64_t *sec, int32_t *nanos);
/* Go's duration syntax: 0, -EINVAL or -ERANGE. */
int pb_parse_duration(const char *s, int64_t *out);

/* ---- pb_decode.c ---- */

/* The JSON form of m (its own form for special types, an object otherwise). */
int pb_message_to_json(const ProtobufCMessage *m, int depth, cJSON **out, ck_err **err);
/* Embedded JSON (RawExtension, FieldsV1): null when empty; a nested "k8s\0" body is
 * decoded as such. */
int pb_embedded_json(const ProtobufCBinaryData *raw, bool has, int depth, cJSON **out,
                     ck_err **err);

#endif
