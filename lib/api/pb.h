/* pb: Kubernetes protobuf request bodies -> JSON.
 *
 * kubectl 1.32+ sends typed creates as `application/vnd.kubernetes.protobuf`: the
 * 4-byte magic "k8s\0" followed by a runtime.Unknown message whose typeMeta names
 * apiVersion/kind and whose raw field holds the object's own message. The message
 * definitions are ours, under proto/k8s/, with upstream's names and field numbers
 * and the JSON names as field names; a descriptor-driven walker turns them into the
 * JSON the rest of ckube works with.
 *
 * The JSON is what kubectl 1.31 sends as JSON for the same command (checked against
 * real captures in tests/data/pb): zero values of non-pointer fields are left out,
 * pointer fields keep their zeros ("replicas": 0), a zero metav1.Time is null, empty
 * structs stay ({} for "resources", "status"), byte maps are base64, Quantity and
 * IntOrString are strings or numbers. Fields our definitions leave out are dropped.
 * The supported kinds are the table pb_kinds in pb.c (core, apps, batch, rbac,
 * policy, scheduling, networking, autoscaling, coordination, certificates,
 * authentication and authorization reviews, DeleteOptions).
 */
#ifndef CK_API_PB_H
#define CK_API_PB_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/error.h"

/* The 4-byte prefix of every Kubernetes protobuf body. */
#define PB_K8S_MAGIC     "k8s\0"
#define PB_K8S_MAGIC_LEN 4

/* Decodes a Kubernetes protobuf body (magic "k8s\0", then a runtime.Unknown whose
 * typeMeta gives apiVersion/kind and whose raw holds the object's message) into a
 * new JSON object with "apiVersion" and "kind" set and fields named as in JSON.
 * On success returns 0 and stores the object (caller owns it) in *out.
 * Returns -EINVAL (malformed, truncated, wrong magic) or -EPROTONOSUPPORT (kind not
 * supported), with *err set; *out is untouched then. Never crashes on any input. */
int pb_decode_k8s(const uint8_t *buf, size_t len, cJSON **out, ck_err **err);

/* Encodes a JSON object (with apiVersion and kind of a supported kind) as a Kubernetes
 * protobuf body, the inverse of pb_decode_k8s: fields the protobuf definitions do not
 * know are dropped. On success returns 0 and a malloc'd buffer (caller frees) in *out
 * and its length in *out_len. Returns -EINVAL (missing apiVersion/kind, a value of the
 * wrong type or range) or -EPROTONOSUPPORT (kind not supported), with *err set. */
int pb_encode_k8s(const cJSON *obj, uint8_t **out, size_t *out_len, ck_err **err);

#endif
