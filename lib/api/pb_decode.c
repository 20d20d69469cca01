/* pb_decode: Kubernetes protobuf bodies -> JSON. protobuf-c unpacks the envelope and the
 * object's message; a walker over the protobuf-c descriptors writes the JSON, with the
 * special types (Time, Duration, Quantity, IntOrString, RawExtension, ...) in their own
 * forms. The tables it consults are in pb.c. */
#include "base/base64.h"
#include "api/pb.h"

#include "base/log.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "k8s/intstr.pb-c.h"
#include "k8s/meta.pb-c.h"
#include "k8s/resource.pb-c.h"
#include "k8s/runtime.pb-c.h"

#include "api/pb_internal.h"

/* ---- helpers ---- */

static int pb_json_string(const char *s, const char *field, cJSON **out, ck_err **err)
{
	if (!s)
		s = "";
	if (!pb_utf8_valid(s))
		return ck_err_set(err, -EINVAL, "field %s: invalid UTF-8", field);
	*out = cJSON_CreateString(s);
	return 0;
}

/* Adds or replaces key in obj (a protobuf map may repeat a key: the last wins). */
static void pb_json_put(cJSON *obj, const char *key, cJSON *val)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, val);
	else
		cJSON_AddItemToObject(obj, key, val);
}

/* ---- special types ---- */

static int pb_decode_body(const uint8_t *buf, size_t len, int depth, cJSON **out, ck_err **err);

/* cJSON reads 1e999 as infinity, which no JSON printer can write back. */
static bool pb_json_finite(const cJSON *j)
{
	if (cJSON_IsNumber(j))
		return isfinite(j->valuedouble);
	for (const cJSON *c = j->child; c; c = c->next)
		if (!pb_json_finite(c))
			return false;
	return true;
}

/* Embedded JSON (RawExtension, FieldsV1): empty is null; a nested "k8s\0" body is
 * decoded as such. */
int pb_embedded_json(const ProtobufCBinaryData *raw, bool has, int depth, cJSON **out, ck_err **err)
{
	cJSON *j;

	if (!has || raw->len == 0 || !raw->data) {
		*out = cJSON_CreateNull();
		return 0;
	}
	if (raw->len >= PB_K8S_MAGIC_LEN && memcmp(raw->data, PB_K8S_MAGIC, PB_K8S_MAGIC_LEN) == 0)
		return pb_decode_body(raw->data, raw->len, depth + 1, out, err);
	j = cJSON_ParseWithLength((const char *)raw->data, raw->len);
	if (!j)
		return ck_err_set(err, -EINVAL, "embedded object is neither JSON nor protobuf");
	if (!pb_json_finite(j)) {
		cJSON_Delete(j);
		return ck_err_set(err, -EINVAL, "embedded JSON holds a number out of range");
	}
	*out = j;
	return 0;
}

/* Returns 1 and *out when md has its own JSON form, 0 when it is an ordinary message. */
static int pb_special_to_json(const ProtobufCMessage *m, int depth, cJSON **out, ck_err **err)
{
	const ProtobufCMessageDescriptor *md = m->descriptor;
	char buf[64];
	int r;

	if (md == &k8s__io__apimachinery__pkg__apis__meta__v1__time__descriptor ||
	    md == &k8s__io__apimachinery__pkg__apis__meta__v1__micro_time__descriptor) {
		/* Time and MicroTime share their layout. */
		const K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__Time *t = (const void *)m;
		bool micro =
		    md == &k8s__io__apimachinery__pkg__apis__meta__v1__micro_time__descriptor;
		if (!t->has_seconds && !t->has_nanos) {
			*out = cJSON_CreateNull();
			return 1;
		}
		r = pb_format_time(t->seconds, t->nanos, micro, buf, sizeof(buf));
		if (r < 0)
			return ck_err_set(err, r, "time out of range: %" PRId64 "s", t->seconds);
		*out = cJSON_CreateString(buf);
		return 1;
	}
	if (md == &k8s__io__apimachinery__pkg__apis__meta__v1__duration__descriptor) {
		const K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__Duration *d = (const void *)m;
		pb_format_duration(d->duration, buf, sizeof(buf));
		*out = cJSON_CreateString(buf);
		return 1;
	}
	if (md == &k8s__io__apimachinery__pkg__api__resource__quantity__descriptor) {
		const K8s__Io__Apimachinery__Pkg__Api__Resource__Quantity *q = (const void *)m;
		r = pb_json_string(q->string && *q->string ? q->string : "0", "Quantity", out, err);
		return r < 0 ? r : 1;
	}
	if (md == &k8s__io__apimachinery__pkg__util__intstr__int_or_string__descriptor) {
		const K8s__Io__Apimachinery__Pkg__Util__Intstr__IntOrString *v = (const void *)m;
		if (v->type == 0) {
			*out = cJSON_CreateNumber(v->intval);
			return 1;
		}
		if (v->type == 1) {
			r = pb_json_string(v->strval, "IntOrString", out, err);
			return r < 0 ? r : 1;
		}
		return ck_err_set(err, -EINVAL, "IntOrString of type %" PRId64, v->type);
	}
	if (pb_is_extra_value(md)) {
		/* ExtraValue is a Go []string: its JSON form is the array itself. */
		const ProtobufCFieldDescriptor *f = &md->fields[0];
		size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
		char *const *items = *(char *const *const *)((const char *)m + f->offset);
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; i < n; i++) {
			cJSON *s = NULL;
			r = pb_json_string(items[i], f->name, &s, err);
			if (r < 0) {
				cJSON_Delete(arr);
				return r;
			}
			cJSON_AddItemToArray(arr, s);
		}
		*out = arr;
		return 1;
	}
	if (md == &k8s__io__apimachinery__pkg__runtime__raw_extension__descriptor) {
		const K8s__Io__Apimachinery__Pkg__Runtime__RawExtension *x = (const void *)m;
		r = pb_embedded_json(&x->raw, x->has_raw, depth, out, err);
		return r < 0 ? r : 1;
	}
	if (md == &k8s__io__apimachinery__pkg__apis__meta__v1__fields_v1__descriptor) {
		const K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__FieldsV1 *x = (const void *)m;
		r = pb_embedded_json(&x->raw, x->has_raw, depth, out, err);
		return r < 0 ? r : 1;
	}
	return 0;
}

/* ---- the walker ---- */

static int pb_message_fill(const ProtobufCMessage *m, cJSON *obj, int depth, ck_err **err);

int pb_message_to_json(const ProtobufCMessage *m, int depth, cJSON **out, ck_err **err)
{
	cJSON *obj;
	int r;

	if (depth > PB_MAX_DEPTH)
		return ck_err_set(err, -EINVAL, "protobuf nested too deeply");
	r = pb_special_to_json(m, depth, out, err);
	if (r != 0)
		return r < 0 ? r : 0;
	obj = cJSON_CreateObject();
	r = pb_message_fill(m, obj, depth, err);
	if (r < 0) {
		cJSON_Delete(obj);
		return r;
	}
	*out = obj;
	return 0;
}

/* One value of type f->type at p (an element, or a singular member). */
static int pb_value_to_json(const ProtobufCFieldDescriptor *f, const void *p, int depth,
                            cJSON **out, ck_err **err)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		*out = cJSON_CreateNumber(*(const int32_t *)p);
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		*out = cJSON_CreateNumber(*(const uint32_t *)p);
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		*out = cJSON_CreateNumber((double)*(const int64_t *)p);
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*out = cJSON_CreateNumber((double)*(const uint64_t *)p);
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
		*out = cJSON_CreateNumber(*(const float *)p);
		return 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		*out = cJSON_CreateNumber(*(const double *)p);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		*out = cJSON_CreateBool(*(const protobuf_c_boolean *)p);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		*out = cJSON_CreateNumber(*(const int *)p);
		return 0;
	case PROTOBUF_C_TYPE_STRING:
		return pb_json_string(*(char *const *)p, f->name, out, err);
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		_cleanup_free_ char *s = ck_base64_encode(b->data, b->len);
		*out = cJSON_CreateString(s);
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
		if (!sub) {
			*out = cJSON_CreateNull();
			return 0;
		}
		return pb_message_to_json(sub, depth + 1, out, err);
	}
	}
	return ck_err_set(err, -EINVAL, "field %s: unsupported protobuf type", f->name);
}

/* Is the singular value at p the zero value of its type? */
static bool pb_is_zero(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return !s || !*s;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *)p == NULL;
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)p == 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)p == 0;
	default: {
		static const uint8_t zeros[8];
		return memcmp(p, zeros, pb_type_size(f->type)) == 0;
	}
	}
}

/* Is a singular field present on the wire? */
static bool pb_is_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;
	const void *p = base + f->offset;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return *(char *const *)p != NULL;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *)p != NULL;
	default:
		if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
			return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
		return true;
	}
}

static int pb_map_to_json(const ProtobufCFieldDescriptor *f, ProtobufCMessage *const *entries,
                          size_t n, int depth, cJSON **out, ck_err **err)
{
	const ProtobufCMessageDescriptor *ed = f->descriptor;
	const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
	cJSON *obj = cJSON_CreateObject();

	if (kf->type != PROTOBUF_C_TYPE_STRING) {
		cJSON_Delete(obj);
		return ck_err_set(err, -EINVAL, "map %s: keys must be strings", f->name);
	}
	for (size_t i = 0; i < n; i++) {
		const char *e = (const char *)entries[i];
		const char *key = *(char *const *)(e + kf->offset);
		cJSON *val = NULL;
		int r;

		if (!key)
			key = "";
		if (!pb_utf8_valid(key)) {
			cJSON_Delete(obj);
			return ck_err_set(err, -EINVAL, "map %s: key is not valid UTF-8", f->name);
		}
		if (vf->type == PROTOBUF_C_TYPE_MESSAGE &&
		    !*(ProtobufCMessage *const *)(e + vf->offset)) {
			/* An entry without a value holds the value's zero. */
			_cleanup_(pb_message_freep) ProtobufCMessage *zero =
			    pb_message_new(vf->descriptor);
			r = pb_message_to_json(zero, depth + 1, &val, err);
			if (r < 0) {
				cJSON_Delete(obj);
				return r;
			}
		} else if (vf->type == PROTOBUF_C_TYPE_BYTES &&
		           vf->label == PROTOBUF_C_LABEL_OPTIONAL &&
		           !*(const protobuf_c_boolean *)(e + vf->quantifier_offset))
			val = cJSON_CreateString("");
		else if ((r = pb_value_to_json(vf, e + vf->offset, depth, &val, err)) < 0) {
			cJSON_Delete(obj);
			return ck_err_wrap(err, r, "map %s", f->name);
		}
		pb_json_put(obj, key, val);
	}
	*out = obj;
	return 0;
}

static int pb_field_to_json(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                            cJSON *obj, int depth, ck_err **err)
{
	const char *base = (const char *)m;
	const void *p = base + f->offset;
	cJSON *val = NULL;
	int r;

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n = *(const size_t *)(base + f->quantifier_offset);
		const char *arr = *(const char *const *)p;
		size_t sz = pb_type_size(f->type);

		if (n == 0)
			return 0;
		if (pb_is_map(f)) {
			r = pb_map_to_json(f, (ProtobufCMessage *const *)arr, n, depth, &val, err);
			if (r < 0)
				return r;
		} else {
			val = cJSON_CreateArray();
			for (size_t i = 0; i < n; i++) {
				cJSON *el = NULL;
				r = pb_value_to_json(f, arr + i * sz, depth, &el, err);
				if (r < 0) {
					cJSON_Delete(val);
					return ck_err_wrap(err, r, "%s[%zu]", f->name, i);
				}
				cJSON_AddItemToArray(val, el);
			}
		}
		pb_json_put(obj, f->name, val);
		return 0;
	}

	if (!pb_is_present(m, f))
		return 0;
	if (pb_is_inline(m->descriptor, f)) {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
		r = pb_message_fill(sub, obj, depth + 1, err);
		return r < 0 ? ck_err_wrap(err, r, "%s", f->name) : 0;
	}
	if (f->type != PROTOBUF_C_TYPE_MESSAGE && pb_is_zero(f, p) &&
	    !pb_keeps_zero(m->descriptor, f))
		return 0;
	r = pb_value_to_json(f, p, depth, &val, err);
	if (r < 0)
		return ck_err_wrap(err, r, "%s", f->name);
	pb_json_put(obj, f->name, val);
	return 0;
}

/* Fields our definitions leave out are dropped. gogo writes zero values of
 * non-pointer fields, which lose nothing; anything else is worth a debug line.
 * (protobuf-c keeps a length-delimited field with its length prefix: "" is 0x00.) */
static void pb_log_unknown(const ProtobufCMessage *m)
{
	for (unsigned i = 0; i < m->n_unknown_fields; i++) {
		const ProtobufCMessageUnknownField *u = &m->unknown_fields[i];
		bool zero = true;
		for (size_t k = 0; k < u->len && zero; k++)
			zero = u->data[k] == 0;
		if (!zero)
			CK_V(2, "protobuf %s: field %u is not known to ckube, dropped",
			     m->descriptor->name, u->tag);
	}
}

/* Adds the JSON form of every field of m to obj. */
static int pb_message_fill(const ProtobufCMessage *m, cJSON *obj, int depth, ck_err **err)
{
	const ProtobufCMessageDescriptor *md = m->descriptor;

	if (depth > PB_MAX_DEPTH)
		return ck_err_set(err, -EINVAL, "protobuf nested too deeply");
	if (m->n_unknown_fields)
		pb_log_unknown(m);
	for (unsigned i = 0; i < md->n_fields; i++) {
		int r = pb_field_to_json(m, &md->fields[i], obj, depth, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- envelope ---- */

static void pb_unknown_freep(K8s__Io__Apimachinery__Pkg__Runtime__Unknown **u)
{
	if (*u)
		protobuf_c_message_free_unpacked(&(*u)->base, NULL);
}

static int pb_decode_body(const uint8_t *buf, size_t len, int depth, cJSON **out, ck_err **err)
{
	_cleanup_(pb_unknown_freep) K8s__Io__Apimachinery__Pkg__Runtime__Unknown *u = NULL;
	_cleanup_(pb_message_freep) ProtobufCMessage *m = NULL;
	const ProtobufCMessageDescriptor *desc;
	const char *api_version, *kind;
	cJSON *obj;
	int r;

	if (depth > PB_MAX_DEPTH)
		return ck_err_set(err, -EINVAL, "protobuf nested too deeply");
	if (!buf || len < PB_K8S_MAGIC_LEN || memcmp(buf, PB_K8S_MAGIC, PB_K8S_MAGIC_LEN) != 0)
		return ck_err_set(err, -EINVAL, "not a Kubernetes protobuf body (bad magic)");
	u = k8s__io__apimachinery__pkg__runtime__unknown__unpack(NULL, len - PB_K8S_MAGIC_LEN,
	                                                         buf + PB_K8S_MAGIC_LEN);
	if (!u)
		return ck_err_set(err, -EINVAL, "malformed protobuf envelope");
	api_version = u->typemeta && u->typemeta->apiversion ? u->typemeta->apiversion : "";
	kind = u->typemeta && u->typemeta->kind ? u->typemeta->kind : "";
	if (!*api_version || !*kind)
		return ck_err_set(err, -EINVAL, "protobuf envelope without apiVersion and kind");
	if ((u->contentencoding && *u->contentencoding) ||
	    (u->contenttype && *u->contenttype &&
	     strcmp(u->contenttype, "application/vnd.kubernetes.protobuf") != 0))
		return ck_err_set(err, -EPROTONOSUPPORT,
		                  "protobuf envelope with content type \"%s\" and encoding \"%s\"",
		                  u->contenttype ? u->contenttype : "",
		                  u->contentencoding ? u->contentencoding : "");
	desc = pb_kind_lookup(api_version, kind);
	if (!desc) {
		if (!pb_utf8_valid(api_version) || !pb_utf8_valid(kind))
			return ck_err_set(err, -EINVAL, "protobuf envelope with invalid UTF-8");
		return ck_err_set(err, -EPROTONOSUPPORT,
		                  "protobuf decoding of %s, Kind=%s is not supported", api_version,
		                  kind);
	}
	m = protobuf_c_message_unpack(desc, NULL, u->has_raw ? u->raw.len : 0,
	                              u->has_raw ? u->raw.data : NULL);
	if (!m)
		return ck_err_set(err, -EINVAL, "malformed protobuf %s %s", api_version, kind);

	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "kind", kind);
	cJSON_AddStringToObject(obj, "apiVersion", api_version);
	r = pb_message_fill(m, obj, depth, err);
	if (r < 0) {
		cJSON_Delete(obj);
		return ck_err_wrap(err, r, "decoding protobuf %s", kind);
	}
	*out = obj;
	return 0;
}

int pb_decode_k8s(const uint8_t *buf, size_t len, cJSON **out, ck_err **err)
{
	return pb_decode_body(buf, len, 0, out, err);
}
