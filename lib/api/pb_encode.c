/* pb_encode: JSON -> Kubernetes protobuf bodies, the inverse of pb_decode.c: the JSON is
 * walked along the protobuf-c descriptors into a message, packed, and wrapped in a
 * runtime.Unknown after the "k8s\0" magic. The tables it consults are in pb.c. */
#include "base/base64.h"
#include "api/pb.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "k8s/intstr.pb-c.h"
#include "k8s/meta.pb-c.h"
#include "k8s/resource.pb-c.h"
#include "k8s/runtime.pb-c.h"

#include "api/pb_internal.h"

static int pb_message_from_json(const ProtobufCMessageDescriptor *md, const cJSON *j, int depth,
                                ProtobufCMessage **out, ck_err **err);

/* Stores one JSON value of type f->type at p. Strings are malloc'd copies. */
static int pb_value_from_json(const ProtobufCFieldDescriptor *f, const cJSON *j, void *p, int depth,
                              ck_err **err)
{
	double d;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		if (!cJSON_IsString(j))
			return ck_err_set(err, -EINVAL, "field %s: want a string", f->name);
		*(char **)p = ck_strdup(j->valuestring);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		if (!cJSON_IsBool(j))
			return ck_err_set(err, -EINVAL, "field %s: want a boolean", f->name);
		*(protobuf_c_boolean *)p = cJSON_IsTrue(j);
		return 0;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;
		uint8_t *data;
		size_t len;
		if (!cJSON_IsString(j) ||
		    ck_base64_decode(j->valuestring, CK_BASE64_STRICT, &data, &len) < 0)
			return ck_err_set(err, -EINVAL, "field %s: want base64", f->name);
		b->data = data;
		b->len = len;
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return pb_message_from_json(f->descriptor, j, depth + 1, (ProtobufCMessage **)p,
		                            err);
	default:
		break;
	}
	if (!cJSON_IsNumber(j))
		return ck_err_set(err, -EINVAL, "field %s: want a number", f->name);
	d = j->valuedouble;
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (d != (double)(int32_t)d || d < INT32_MIN || d > INT32_MAX)
			break;
		*(int32_t *)p = (int32_t)d;
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (d < 0 || d > UINT32_MAX || d != (double)(uint32_t)d)
			break;
		*(uint32_t *)p = (uint32_t)d;
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) ||
		    d != (double)(int64_t)d)
			break;
		*(int64_t *)p = (int64_t)d;
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (!(d >= 0 && d < 18446744073709551616.0) || d != (double)(uint64_t)d)
			break;
		*(uint64_t *)p = (uint64_t)d;
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
		*(float *)p = (float)d;
		return 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		*(double *)p = d;
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		if (d != (double)(int)d)
			break;
		*(int *)p = (int)d;
		return 0;
	default:
		break;
	}
	return ck_err_set(err, -EINVAL, "field %s: number out of range", f->name);
}

/* Types whose empty message reads as JSON null. */
static bool pb_null_is_empty(const ProtobufCMessageDescriptor *md)
{
	return md == &k8s__io__apimachinery__pkg__apis__meta__v1__time__descriptor ||
	       md == &k8s__io__apimachinery__pkg__apis__meta__v1__micro_time__descriptor ||
	       md == &k8s__io__apimachinery__pkg__runtime__raw_extension__descriptor ||
	       md == &k8s__io__apimachinery__pkg__apis__meta__v1__fields_v1__descriptor;
}

static int pb_field_from_json(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                              const cJSON *obj, int depth, ck_err **err)
{
	char *base = (char *)m;
	void *p = base + f->offset;
	const cJSON *j;
	int r;

	if (pb_is_inline(m->descriptor, f))
		return pb_message_from_json(f->descriptor, obj, depth + 1, (ProtobufCMessage **)p,
		                            err);
	j = cJSON_GetObjectItemCaseSensitive(obj, f->name);
	if (j && cJSON_IsNull(j) && f->label != PROTOBUF_C_LABEL_REPEATED &&
	    pb_null_is_empty(f->descriptor)) {
		/* A null time is an empty message, as gogo writes a zero metav1.Time;
		 * a null RawExtension or FieldsV1 is one without raw bytes. */
		*(ProtobufCMessage **)p = pb_message_new(f->descriptor);
		return 0;
	}
	if (!j || cJSON_IsNull(j))
		return 0;

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t *n = (size_t *)(base + f->quantifier_offset);
		size_t sz = pb_type_size(f->type), cap = (size_t)cJSON_GetArraySize(j);
		char *arr;
		const cJSON *el;

		if (pb_is_map(f)) {
			const ProtobufCMessageDescriptor *ed = f->descriptor;
			const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
			if (!cJSON_IsObject(j))
				return ck_err_set(err, -EINVAL, "field %s: want an object",
				                  f->name);
			arr = ck_calloc(cap ? cap : 1, sz);
			*(char **)p = arr;
			cJSON_ArrayForEach(el, j)
			{
				ProtobufCMessage *e = pb_message_new(ed);
				char *eb = (char *)e;
				((ProtobufCMessage **)arr)[(*n)++] = e;
				*(char **)(eb + kf->offset) = ck_strdup(el->string);
				r = pb_value_from_json(vf, el, eb + vf->offset, depth + 1, err);
				if (r < 0)
					return ck_err_wrap(err, r, "%s[%s]", f->name, el->string);
				if (vf->type == PROTOBUF_C_TYPE_BYTES)
					*(protobuf_c_boolean *)(eb + vf->quantifier_offset) = 1;
			}
			return 0;
		}
		if (!cJSON_IsArray(j))
			return ck_err_set(err, -EINVAL, "field %s: want an array", f->name);
		arr = ck_calloc(cap ? cap : 1, sz);
		*(char **)p = arr;
		cJSON_ArrayForEach(el, j)
		{
			r = pb_value_from_json(f, el, arr + *n * sz, depth, err);
			if (r < 0)
				return ck_err_wrap(err, r, "%s[%zu]", f->name, *n);
			(*n)++;
		}
		return 0;
	}

	r = pb_value_from_json(f, j, p, depth, err);
	if (r < 0)
		return r;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
	    f->type != PROTOBUF_C_TYPE_MESSAGE)
		*(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
	return 0;
}

/* Fills a special type from its JSON form. Returns 1 when md is special. */
static int pb_special_from_json(ProtobufCMessage *m, const cJSON *j, ck_err **err)
{
	const ProtobufCMessageDescriptor *md = m->descriptor;

	if (md == &k8s__io__apimachinery__pkg__apis__meta__v1__time__descriptor ||
	    md == &k8s__io__apimachinery__pkg__apis__meta__v1__micro_time__descriptor) {
		K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__Time *t = (void *)m;
		if (cJSON_IsNull(j))
			return 1;
		if (!cJSON_IsString(j) ||
		    pb_parse_rfc3339(j->valuestring, &t->seconds, &t->nanos) < 0)
			return ck_err_set(err, -EINVAL, "want an RFC 3339 time");
		if (md == &k8s__io__apimachinery__pkg__apis__meta__v1__time__descriptor)
			t->nanos = 0;
		t->has_seconds = t->has_nanos = 1;
		return 1;
	}
	if (md == &k8s__io__apimachinery__pkg__apis__meta__v1__duration__descriptor) {
		K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__Duration *d = (void *)m;
		if (!cJSON_IsString(j) || pb_parse_duration(j->valuestring, &d->duration) < 0)
			return ck_err_set(err, -EINVAL, "want a duration");
		d->has_duration = 1;
		return 1;
	}
	if (md == &k8s__io__apimachinery__pkg__api__resource__quantity__descriptor) {
		K8s__Io__Apimachinery__Pkg__Api__Resource__Quantity *q = (void *)m;
		if (cJSON_IsString(j))
			q->string = ck_strdup(j->valuestring);
		else if (cJSON_IsNumber(j))
			q->string = ck_asprintf("%.17g", j->valuedouble);
		else
			return ck_err_set(err, -EINVAL, "want a quantity");
		return 1;
	}
	if (md == &k8s__io__apimachinery__pkg__util__intstr__int_or_string__descriptor) {
		K8s__Io__Apimachinery__Pkg__Util__Intstr__IntOrString *v = (void *)m;
		v->has_type = 1;
		if (cJSON_IsString(j)) {
			v->type = 1;
			v->strval = ck_strdup(j->valuestring);
		} else if (cJSON_IsNumber(j) && j->valuedouble == (double)(int32_t)j->valuedouble) {
			v->type = 0;
			v->intval = (int32_t)j->valuedouble;
			v->has_intval = 1;
		} else {
			return ck_err_set(err, -EINVAL, "want an int or a string");
		}
		return 1;
	}
	if (pb_is_extra_value(md)) {
		const ProtobufCFieldDescriptor *f = &md->fields[0];
		size_t *n = (size_t *)((char *)m + f->quantifier_offset);
		char **items;
		const cJSON *el;
		if (!cJSON_IsArray(j))
			return ck_err_set(err, -EINVAL, "want an array of strings");
		items = ck_calloc((size_t)cJSON_GetArraySize(j) + 1, sizeof(char *));
		*(char ***)((char *)m + f->offset) = items;
		cJSON_ArrayForEach(el, j)
		{
			if (!cJSON_IsString(el))
				return ck_err_set(err, -EINVAL, "want an array of strings");
			items[(*n)++] = ck_strdup(el->valuestring);
		}
		return 1;
	}
	if (md == &k8s__io__apimachinery__pkg__runtime__raw_extension__descriptor ||
	    md == &k8s__io__apimachinery__pkg__apis__meta__v1__fields_v1__descriptor) {
		/* Both are one bytes field: raw JSON. */
		K8s__Io__Apimachinery__Pkg__Runtime__RawExtension *x = (void *)m;
		char *s = cJSON_PrintUnformatted(j);
		if (!s)
			return ck_err_set(err, -ENOMEM, "printing embedded JSON");
		x->raw.data = (uint8_t *)s;
		x->raw.len = strlen(s);
		x->has_raw = 1;
		return 1;
	}
	return 0;
}

static int pb_message_from_json(const ProtobufCMessageDescriptor *md, const cJSON *j, int depth,
                                ProtobufCMessage **out, ck_err **err)
{
	_cleanup_(pb_message_freep) ProtobufCMessage *m = NULL;
	int r;

	if (depth > PB_MAX_DEPTH)
		return ck_err_set(err, -EINVAL, "JSON nested too deeply");
	m = pb_message_new(md);
	r = pb_special_from_json(m, j, err);
	if (r < 0)
		return r;
	if (r == 0) {
		if (!cJSON_IsObject(j))
			return ck_err_set(err, -EINVAL, "%s: want an object", md->short_name);
		for (unsigned i = 0; i < md->n_fields; i++) {
			r = pb_field_from_json(m, &md->fields[i], j, depth, err);
			if (r < 0)
				return r;
		}
	}
	*out = CK_TAKE_PTR(m);
	return 0;
}

int pb_encode_k8s(const cJSON *obj, uint8_t **out, size_t *out_len, ck_err **err)
{
	_cleanup_(pb_message_freep) ProtobufCMessage *m = NULL;
	_cleanup_free_ uint8_t *raw = NULL;
	K8s__Io__Apimachinery__Pkg__Runtime__TypeMeta tm =
	    K8S__IO__APIMACHINERY__PKG__RUNTIME__TYPE_META__INIT;
	K8s__Io__Apimachinery__Pkg__Runtime__Unknown u =
	    K8S__IO__APIMACHINERY__PKG__RUNTIME__UNKNOWN__INIT;
	const ProtobufCMessageDescriptor *desc;
	const char *api_version = NULL, *kind = NULL;
	const cJSON *j;
	uint8_t *buf;
	size_t n;
	int r;

	j = cJSON_GetObjectItemCaseSensitive(obj, "apiVersion");
	if (cJSON_IsString(j))
		api_version = j->valuestring;
	j = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	if (cJSON_IsString(j))
		kind = j->valuestring;
	if (!api_version || !kind)
		return ck_err_set(err, -EINVAL, "object without apiVersion and kind");
	desc = pb_kind_lookup(api_version, kind);
	if (!desc)
		return ck_err_set(err, -EPROTONOSUPPORT,
		                  "protobuf encoding of %s, Kind=%s is not supported", api_version,
		                  kind);
	r = pb_message_from_json(desc, obj, 0, &m, err);
	if (r < 0)
		return ck_err_wrap(err, r, "encoding %s as protobuf", kind);

	n = protobuf_c_message_get_packed_size(m);
	raw = ck_malloc(n ? n : 1);
	protobuf_c_message_pack(m, raw);
	tm.apiversion = (char *)api_version;
	tm.kind = (char *)kind;
	u.typemeta = &tm;
	u.raw.data = raw;
	u.raw.len = n;
	u.has_raw = 1;
	n = k8s__io__apimachinery__pkg__runtime__unknown__get_packed_size(&u);
	buf = ck_malloc(PB_K8S_MAGIC_LEN + n);
	memcpy(buf, PB_K8S_MAGIC, PB_K8S_MAGIC_LEN);
	k8s__io__apimachinery__pkg__runtime__unknown__pack(&u, buf + PB_K8S_MAGIC_LEN);
	*out = buf;
	*out_len = PB_K8S_MAGIC_LEN + n;
	return 0;
}
