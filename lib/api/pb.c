/* pb: Kubernetes protobuf bodies -> JSON (and back, for tests and our own clients).
 *
 * The messages are described once, in proto/k8s/, with upstream's names and
 * field numbers and the JSON names as field names. protobuf-c unpacks the bytes; a
 * walker over the protobuf-c descriptors then writes JSON. What the descriptors do
 * not say comes from the table below and from the schema (lib/api/schema.h, generated
 * from proto/k8s/annotations.txt):
 *   - which message a body is when its type is not a registered kind (a kind's
 *     description names its own);
 *   - which fields are Go pointers or non-omitempty (upstream's gogo encoder writes
 *     every non-pointer field, zero or not, so the wire cannot tell "unset" from
 *     "zero"; JSON omits zero values except for these fields: keep-zero);
 *   - which fields are embedded Go structs, inlined in JSON (volumeSource, handler,
 *     localObjectReference, ingressRuleValue: inline).
 * Fields the definitions leave out are dropped (logged at -v=2 when not zero).
 * A few message types have their own JSON form: Time, MicroTime, Duration,
 * FieldsV1, Quantity, IntOrString, RawExtension, ExtraValue.
 *
 * This file: the tables, the small helpers (base64, UTF-8, time and duration forms) and
 * what both directions share. pb_decode.c turns messages into JSON, pb_encode.c JSON into
 * messages; pb_internal.h declares what the three share.
 */
#include "api/pb.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <protobuf-c/protobuf-c.h>

#include "k8s/apps.pb-c.h"
#include "k8s/authentication.pb-c.h"
#include "k8s/authorization.pb-c.h"
#include "k8s/autoscaling.pb-c.h"
#include "k8s/batch.pb-c.h"
#include "k8s/certificates.pb-c.h"
#include "k8s/coordination.pb-c.h"
#include "k8s/core.pb-c.h"
#include "k8s/intstr.pb-c.h"
#include "k8s/meta.pb-c.h"
#include "k8s/networking.pb-c.h"
#include "k8s/policy.pb-c.h"
#include "k8s/rbac.pb-c.h"
#include "k8s/resource.pb-c.h"
#include "k8s/runtime.pb-c.h"
#include "k8s/scheduling.pb-c.h"

#include "api/kind.h"
#include "api/pb_internal.h"
#include "api/schema.h"
#include "base/flags.h"

/* ---- kinds ---- */

/* The message of a body whose type is not a registered kind (api/kind.h gives theirs):
 * request-only types (Binding, Scale, Eviction, DeleteOptions, reviews) and kinds not
 * served yet. */
struct pb_kind {
	const char *api_version;
	const char *kind;
	const ProtobufCMessageDescriptor *desc;
};

static const struct pb_kind pb_kinds[] = {
    {"v1", "Binding", &k8s__io__api__core__v1__binding__descriptor},
    {"v1", "ResourceQuota", &k8s__io__api__core__v1__resource_quota__descriptor},
    {"v1", "PersistentVolumeClaim", &k8s__io__api__core__v1__persistent_volume_claim__descriptor},
    {"rbac.authorization.k8s.io/v1", "Role", &k8s__io__api__rbac__v1__role__descriptor},
    {"rbac.authorization.k8s.io/v1", "RoleBinding",
     &k8s__io__api__rbac__v1__role_binding__descriptor},
    {"rbac.authorization.k8s.io/v1", "ClusterRole",
     &k8s__io__api__rbac__v1__cluster_role__descriptor},
    {"rbac.authorization.k8s.io/v1", "ClusterRoleBinding",
     &k8s__io__api__rbac__v1__cluster_role_binding__descriptor},
    {"policy/v1", "PodDisruptionBudget",
     &k8s__io__api__policy__v1__pod_disruption_budget__descriptor},
    {"policy/v1", "Eviction", &k8s__io__api__policy__v1__eviction__descriptor},
    {"scheduling.k8s.io/v1", "PriorityClass",
     &k8s__io__api__scheduling__v1__priority_class__descriptor},
    {"networking.k8s.io/v1", "Ingress", &k8s__io__api__networking__v1__ingress__descriptor},
    {"networking.k8s.io/v1", "IngressClass",
     &k8s__io__api__networking__v1__ingress_class__descriptor},
    {"networking.k8s.io/v1", "NetworkPolicy",
     &k8s__io__api__networking__v1__network_policy__descriptor},
    {"authentication.k8s.io/v1", "TokenRequest",
     &k8s__io__api__authentication__v1__token_request__descriptor},
    {"autoscaling/v1", "HorizontalPodAutoscaler",
     &k8s__io__api__autoscaling__v1__horizontal_pod_autoscaler__descriptor},
    {"autoscaling/v1", "Scale", &k8s__io__api__autoscaling__v1__scale__descriptor},
    {"authentication.k8s.io/v1", "SelfSubjectReview",
     &k8s__io__api__authentication__v1__self_subject_review__descriptor},
    {"authentication.k8s.io/v1", "TokenReview",
     &k8s__io__api__authentication__v1__token_review__descriptor},
    {"authorization.k8s.io/v1", "SelfSubjectAccessReview",
     &k8s__io__api__authorization__v1__self_subject_access_review__descriptor},
    {"authorization.k8s.io/v1", "SubjectAccessReview",
     &k8s__io__api__authorization__v1__subject_access_review__descriptor},
    {"certificates.k8s.io/v1", "CertificateSigningRequest",
     &k8s__io__api__certificates__v1__certificate_signing_request__descriptor},
    {"meta.k8s.io/v1", "DeleteOptions",
     &k8s__io__apimachinery__pkg__apis__meta__v1__delete_options__descriptor},
    {"v1", "DeleteOptions",
     &k8s__io__apimachinery__pkg__apis__meta__v1__delete_options__descriptor},
};

const ProtobufCMessageDescriptor *pb_kind_lookup(const char *api_version, const char *kind)
{
	size_t n;
	const kind_desc *const *all = kind_all(&n);
	char av[128];
	for (size_t i = 0; i < n; i++)
		if (all[i]->pb && !strcmp(all[i]->kind, kind) &&
		    !strcmp(kind_api_version(all[i], av, sizeof(av)), api_version))
			return all[i]->pb;
	for (size_t i = 0; i < CK_ARRAY_SIZE(pb_kinds); i++)
		if (strcmp(pb_kinds[i].api_version, api_version) == 0 &&
		    strcmp(pb_kinds[i].kind, kind) == 0)
			return pb_kinds[i].desc;
	return NULL;
}

/* ---- what the descriptors do not say: proto/k8s/annotations.txt, via the schema ---- */

bool pb_keeps_zero(const ProtobufCMessageDescriptor *md, const ProtobufCFieldDescriptor *f)
{
	const schema_type *t = schema_type_of(md);
	return t && schema_field_of(t, f)->keep_zero;
}

bool pb_is_inline(const ProtobufCMessageDescriptor *md, const ProtobufCFieldDescriptor *f)
{
	const schema_type *t;

	if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED)
		return false;
	t = schema_type_of(md);
	return t && schema_field_of(t, f)->inline_;
}

/* A protobuf map<K, V> is a repeated nested message "XEntry" {key = 1; value = 2}. */
bool pb_is_map(const ProtobufCFieldDescriptor *f)
{
	const ProtobufCMessageDescriptor *d = f->descriptor;
	size_t n;

	if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label != PROTOBUF_C_LABEL_REPEATED)
		return false;
	n = strlen(d->short_name);
	return d->n_fields == 2 && n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 &&
	       strcmp(d->fields[0].name, "key") == 0 && d->fields[0].id == 1 &&
	       strcmp(d->fields[1].name, "value") == 0 && d->fields[1].id == 2;
}

/* ---- small helpers ---- */

/* Accepts well-formed UTF-8 only (no overlongs, surrogates or values > U+10FFFF). */
bool pb_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, n;
		uint32_t cp;

		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* The ExtraValue messages (authentication, authorization, certificates): one
 * repeated string named items. */
bool pb_is_extra_value(const ProtobufCMessageDescriptor *md)
{
	return strcmp(md->short_name, "ExtraValue") == 0 && md->n_fields == 1 &&
	       md->fields[0].type == PROTOBUF_C_TYPE_STRING &&
	       md->fields[0].label == PROTOBUF_C_LABEL_REPEATED;
}

size_t pb_type_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

ProtobufCMessage *pb_message_new(const ProtobufCMessageDescriptor *md)
{
	ProtobufCMessage *m = ck_calloc(1, md->sizeof_message);
	md->message_init(m);
	return m;
}

void pb_message_freep(ProtobufCMessage **m)
{
	if (*m)
		protobuf_c_message_free_unpacked(*m, NULL);
}

/* ---- time and duration ---- */

#define PB_MIN_SECONDS (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define PB_MAX_SECONDS 253402300799LL   /* 9999-12-31T23:59:59Z */

/* Formats seconds+nanos as Go's metav1.Time (RFC 3339, seconds) or MicroTime
 * (RFC 3339 with 6 fraction digits). Nanos are normalised as time.Unix does. */
int pb_format_time(int64_t sec, int32_t nanos, bool micro, char *buf, size_t size)
{
	int64_t ns = nanos;
	struct tm tm;
	time_t t;

	if (sec < PB_MIN_SECONDS - 3 || sec > PB_MAX_SECONDS + 3)
		return -EINVAL;
	sec += ns / 1000000000;
	ns %= 1000000000;
	if (ns < 0) {
		ns += 1000000000;
		sec--;
	}
	if (sec < PB_MIN_SECONDS || sec > PB_MAX_SECONDS)
		return -EINVAL;
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm))
		return -EINVAL;
	if (micro)
		snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		         (int)(ns / 1000));
	else
		snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

/* Writes digits of v right to left ending before *w. */
static void pb_fmt_int(char *buf, size_t *w, uint64_t v)
{
	if (v == 0) {
		buf[--*w] = '0';
		return;
	}
	while (v > 0) {
		buf[--*w] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Go's fmtFrac: prec fraction digits of v, trailing zeros dropped; returns v/10^prec. */
static uint64_t pb_fmt_frac(char *buf, size_t *w, uint64_t v, int prec)
{
	bool print = false;

	for (int i = 0; i < prec; i++) {
		unsigned digit = (unsigned)(v % 10);
		print = print || digit != 0;
		if (print)
			buf[--*w] = (char)('0' + digit);
		v /= 10;
	}
	if (print)
		buf[--*w] = '.';
	return v;
}

/* Go's time.Duration.String(): "1h2m3.5s", "1.5ms", "0s". buf must hold 40 bytes. */
void pb_format_duration(int64_t d, char *buf, size_t size)
{
	char tmp[40];
	size_t w = sizeof(tmp);
	uint64_t u = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;

	tmp[--w] = '\0';
	if (u < 1000000000ULL) {
		int prec;
		tmp[--w] = 's';
		if (u == 0) {
			tmp[--w] = '0';
			snprintf(buf, size, "%s", tmp + w);
			return;
		} else if (u < 1000ULL) {
			prec = 0;
			tmp[--w] = 'n';
		} else if (u < 1000000ULL) {
			prec = 3;
			tmp[--w] = (char)0xb5; /* U+00B5 MICRO SIGN in UTF-8 */
			tmp[--w] = (char)0xc2;
		} else {
			prec = 6;
			tmp[--w] = 'm';
		}
		u = pb_fmt_frac(tmp, &w, u, prec);
		pb_fmt_int(tmp, &w, u);
	} else {
		tmp[--w] = 's';
		u = pb_fmt_frac(tmp, &w, u, 9);
		pb_fmt_int(tmp, &w, u % 60);
		u /= 60;
		if (u > 0) {
			tmp[--w] = 'm';
			pb_fmt_int(tmp, &w, u % 60);
			u /= 60;
			if (u > 0) {
				tmp[--w] = 'h';
				pb_fmt_int(tmp, &w, u);
			}
		}
	}
	if (d < 0)
		tmp[--w] = '-';
	snprintf(buf, size, "%s", tmp + w);
}

/* Parses RFC 3339 ("2026-11-22T17:33:27Z", fraction optional, Z or +hh:mm). */
int pb_parse_rfc3339(const char *s, int64_t *sec, int32_t *nanos)
{
	struct tm tm = {0};
	const char *p = s;
	int v[6], ns = 0, off = 0;
	static const char seps[] = "--T::";
	time_t t;

	for (int i = 0; i < 6; i++) {
		int digits = i == 0 ? 4 : 2, n = 0;
		for (int d = 0; d < digits; d++, p++) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			n = n * 10 + (*p - '0');
		}
		v[i] = n;
		if (i < 5) {
			if (*p != seps[i] && !(i == 2 && *p == 't'))
				return -EINVAL;
			p++;
		}
	}
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 9)
				ns = ns * 10 + (*p - '0');
		if (digits == 0)
			return -EINVAL;
		for (; digits < 9; digits++)
			ns *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		if (p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' || p[3] != ':' ||
		    p[4] < '0' || p[4] > '9' || p[5] < '0' || p[5] > '9')
			return -EINVAL;
		off = sign * (((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
		              ((p[4] - '0') * 10 + (p[5] - '0')) * 60);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 ||
	    v[5] > 60)
		return -EINVAL;
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	t = timegm(&tm);
	*sec = (int64_t)t - off;
	*nanos = ns;
	return 0;
}

/* Parses Go's duration syntax ("1h2m3.5s", "300ms", "-1.5h", "0"). */
int pb_parse_duration(const char *s, int64_t *out)
{
	return ck_duration_parse_ns(s, out);
}
