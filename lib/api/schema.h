/* schema: the types of ckube's API objects, generated at build time.
 *
 * lib/api/schemagen walks the protobuf-c descriptors of proto/k8s (field names are the
 * JSON names, upstream's message names and numbers) and reads proto/k8s/annotations.txt
 * for what a .proto cannot say: upstream's merge keys, patch strategies, list types and
 * map keys, which fields JSON keeps when zero, which are inlined embedded structs,
 * defaults, short descriptions and the types that have their own JSON form (Time,
 * Quantity, IntOrString, ...). It writes one schema_type per message, each field in
 * the order of the message's descriptor fields. Strategic merge patch, the protobuf
 * codec and the OpenAPI documents read these tables, not per-kind code. */
#ifndef CK_API_SCHEMA_H
#define CK_API_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <protobuf-c/protobuf-c.h>

struct kind_desc;

/* The JSON type of a value (for lists, of each element; for maps, of each value). */
enum schema_kind {
	SCHEMA_STRING,
	SCHEMA_BOOL,
	SCHEMA_INT32,
	SCHEMA_INT64,
	SCHEMA_NUMBER,
	SCHEMA_BYTES, /* base64 in JSON */
	SCHEMA_MESSAGE,
};

/* Message types with a JSON form of their own. */
enum schema_special {
	SCHEMA_OBJECT,        /* an ordinary message: a JSON object of its fields */
	SCHEMA_TIME,          /* RFC 3339 string (OpenAPI string/date-time) */
	SCHEMA_MICRO_TIME,    /* RFC 3339 with microseconds (string/date-time) */
	SCHEMA_DURATION,      /* Go duration string */
	SCHEMA_QUANTITY,      /* "100m", "1Gi" (string) */
	SCHEMA_INT_OR_STRING, /* a number or a string (string/int-or-string) */
	SCHEMA_RAW_EXTENSION, /* an embedded object (object) */
	SCHEMA_FIELDS_V1,     /* managed fields set (object) */
	SCHEMA_EXTRA_VALUE,   /* a list of strings */
	SCHEMA_MAP_ENTRY,     /* the key/value message of a protobuf map */
};

/* Strategic merge patch strategies (bits: upstream allows "merge,retainKeys"). */
enum schema_strategy {
	SCHEMA_PATCH_MERGE = 1 << 0,
	SCHEMA_PATCH_REPLACE = 1 << 1,
	SCHEMA_PATCH_RETAIN_KEYS = 1 << 2,
};

/* x-kubernetes-list-type. */
enum schema_list_type {
	SCHEMA_LIST_UNSET,
	SCHEMA_LIST_ATOMIC,
	SCHEMA_LIST_SET,
	SCHEMA_LIST_MAP,
};

typedef struct schema_type schema_type;

typedef struct schema_field {
	const char *name; /* the JSON name */
	uint32_t number;  /* the protobuf field number */
	enum schema_kind kind;
	bool repeated;           /* a JSON array (never set for maps) */
	bool map;                /* a JSON object with string keys */
	const schema_type *type; /* kind SCHEMA_MESSAGE: the message (element, value) */
	unsigned strategy;       /* enum schema_strategy bits; 0: upstream's default */
	const char *merge_key;   /* strategic merge key of a list, or NULL */
	enum schema_list_type list_type;
	const char *const *list_map_keys; /* NULL-terminated, or NULL */
	bool map_atomic;                  /* x-kubernetes-map-type: atomic */
	bool keep_zero;                   /* JSON keeps the field when zero */
	bool inline_;                     /* an embedded struct: fields in the parent object */
	const char *default_json;         /* upstream's OpenAPI default as JSON text, or NULL */
	const char *description;          /* or NULL */
} schema_field;

struct schema_type {
	const char *name;         /* "k8s.io.api.core.v1.Pod" */
	const char *openapi_name; /* "io.k8s.api.core.v1.Pod" */
	const ProtobufCMessageDescriptor *pb;
	enum schema_special special;
	const schema_field *fields; /* parallel to pb->fields */
	size_t n_fields;
	const char *description; /* or NULL */
};

/* Every type, sorted by name; *n receives the count. Static storage. */
const schema_type *schema_all(size_t *n);

/* The type of full protobuf name ("k8s.io.api.core.v1.PodSpec"), or NULL. */
const schema_type *schema_type_by_name(const char *name);

/* The type of message descriptor md, or NULL when md is not one of proto/k8s. */
const schema_type *schema_type_of(const ProtobufCMessageDescriptor *md);

/* The top-level message of kind k (Pod for core/v1 pods), or NULL when ckube has no
 * message for it. */
const schema_type *schema_type_of_kind(const struct kind_desc *k);

/* The schema of descriptor field f of t's message (f is one of t->pb->fields). */
const schema_field *schema_field_of(const schema_type *t, const ProtobufCFieldDescriptor *f);

/* The field a JSON object of type t holds under name, looking through inlined embedded
 * structs (a Volume's "hostPath" is its volumeSource's); NULL when t has none. */
const schema_field *schema_field_find(const schema_type *t, const char *name);

/* The OpenAPI schema of t (v2 definitions and v3 components.schemas share it): an
 * object of its properties (inlined structs' fields among them) with upstream's
 * x-kubernetes-* extensions, or the JSON form of a special type (Time is string/date-time,
 * IntOrString string/int-or-string, RawExtension an object, ...). Message-typed fields
 * are {"$ref": ref_prefix + openapi_name}. NULL for map entries. Caller owns the result. */
cJSON *schema_openapi(const schema_type *t, const char *ref_prefix);

#endif
