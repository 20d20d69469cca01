/* pb: Kubernetes protobuf bodies -> JSON (and back, for tests and our own clients).
 *
 * The messages are described once, in proto/k8s/, with upstream's names and
 * field numbers and the JSON names as field names. protobuf-c unpacks the bytes; a
 * walker over the protobuf-c descriptors then writes JSON. What the descriptors do
 * not say is kept in three small tables below:
 *   - which (apiVersion, kind) is which message;
 *   - which fields are Go pointers or non-omitempty (upstream's gogo encoder writes
 *     every non-pointer field, zero or not, so the wire cannot tell "unset" from
 *     "zero"; JSON omits zero values except for these fields);
 *   - which fields are embedded Go structs, inlined in JSON (volumeSource, handler,
 *     localObjectReference, ingressRuleValue).
 * Fields the definitions leave out are dropped (logged at -v=2 when not zero).
 * A few message types have their own JSON form: Time, MicroTime, Duration,
 * FieldsV1, Quantity, IntOrString, RawExtension, ExtraValue.
 */
#include "api/pb.h"

#include "base/log.h"

#include <inttypes.h>
#include <math.h>
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

/* Nesting bound for RawExtensions holding further protobuf bodies. The schema
 * itself has no recursive messages. */
#define PB_MAX_DEPTH 64

/* ---- kinds ---- */

struct pb_kind {
	const char *api_version;
	const char *kind;
	const ProtobufCMessageDescriptor *desc;
};

static const struct pb_kind pb_kinds[] = {
    {"v1", "Pod", &k8s__io__api__core__v1__pod__descriptor},
    {"v1", "PodTemplate", &k8s__io__api__core__v1__pod_template__descriptor},
    {"v1", "Namespace", &k8s__io__api__core__v1__namespace__descriptor},
    {"v1", "ConfigMap", &k8s__io__api__core__v1__config_map__descriptor},
    {"v1", "Secret", &k8s__io__api__core__v1__secret__descriptor},
    {"v1", "Service", &k8s__io__api__core__v1__service__descriptor},
    {"v1", "ServiceAccount", &k8s__io__api__core__v1__service_account__descriptor},
    {"v1", "Node", &k8s__io__api__core__v1__node__descriptor},
    {"v1", "Endpoints", &k8s__io__api__core__v1__endpoints__descriptor},
    {"v1", "Event", &k8s__io__api__core__v1__event__descriptor},
    {"v1", "Binding", &k8s__io__api__core__v1__binding__descriptor},
    {"v1", "ResourceQuota", &k8s__io__api__core__v1__resource_quota__descriptor},
    {"v1", "LimitRange", &k8s__io__api__core__v1__limit_range__descriptor},
    {"v1", "PersistentVolumeClaim", &k8s__io__api__core__v1__persistent_volume_claim__descriptor},
    {"apps/v1", "Deployment", &k8s__io__api__apps__v1__deployment__descriptor},
    {"apps/v1", "ReplicaSet", &k8s__io__api__apps__v1__replica_set__descriptor},
    {"apps/v1", "DaemonSet", &k8s__io__api__apps__v1__daemon_set__descriptor},
    {"apps/v1", "StatefulSet", &k8s__io__api__apps__v1__stateful_set__descriptor},
    {"batch/v1", "Job", &k8s__io__api__batch__v1__job__descriptor},
    {"batch/v1", "CronJob", &k8s__io__api__batch__v1__cron_job__descriptor},
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
    {"coordination.k8s.io/v1", "Lease", &k8s__io__api__coordination__v1__lease__descriptor},
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

static const ProtobufCMessageDescriptor *pb_kind_lookup(const char *api_version, const char *kind)
{
	for (size_t i = 0; i < CK_ARRAY_SIZE(pb_kinds); i++)
		if (strcmp(pb_kinds[i].api_version, api_version) == 0 &&
		    strcmp(pb_kinds[i].kind, kind) == 0)
			return pb_kinds[i].desc;
	return NULL;
}

/* ---- fields JSON keeps when zero: Go pointers and non-omitempty numbers ---- */

struct pb_field_ref {
	const char *msg; /* short message name; packages do not overlap here */
	const char *field;
};

static const struct pb_field_ref pb_keep_zero[] = {
    /* meta/v1 */
    {"ObjectMeta", "deletionGracePeriodSeconds"},
    {"OwnerReference", "controller"},
    {"OwnerReference", "blockOwnerDeletion"},
    {"Condition", "observedGeneration"},
    {"DeleteOptions", "gracePeriodSeconds"},
    {"DeleteOptions", "orphanDependents"},
    {"DeleteOptions", "propagationPolicy"},
    {"DeleteOptions", "ignoreStoreReadErrorWithClusterBreakingPotential"},
    {"Preconditions", "uid"},
    {"Preconditions", "resourceVersion"},
    /* core/v1 */
    {"ConfigMap", "immutable"},
    {"Secret", "immutable"},
    {"ServiceAccount", "automountServiceAccountToken"},
    {"PodSpec", "terminationGracePeriodSeconds"},
    {"PodSpec", "activeDeadlineSeconds"},
    {"PodSpec", "automountServiceAccountToken"},
    {"PodSpec", "shareProcessNamespace"},
    {"PodSpec", "priority"},
    {"PodSpec", "runtimeClassName"},
    {"PodSpec", "enableServiceLinks"},
    {"PodSpec", "preemptionPolicy"},
    {"PodSpec", "setHostnameAsFQDN"},
    {"PodSpec", "hostUsers"},
    {"PodSecurityContext", "runAsUser"},
    {"PodSecurityContext", "runAsGroup"},
    {"PodSecurityContext", "runAsNonRoot"},
    {"PodSecurityContext", "fsGroup"},
    {"PodSecurityContext", "fsGroupChangePolicy"},
    {"PodSecurityContext", "supplementalGroupsPolicy"},
    {"PodSecurityContext", "seLinuxChangePolicy"},
    {"SecurityContext", "privileged"},
    {"SecurityContext", "runAsUser"},
    {"SecurityContext", "runAsGroup"},
    {"SecurityContext", "runAsNonRoot"},
    {"SecurityContext", "readOnlyRootFilesystem"},
    {"SecurityContext", "allowPrivilegeEscalation"},
    {"SecurityContext", "procMount"},
    {"SeccompProfile", "localhostProfile"},
    {"AppArmorProfile", "localhostProfile"},
    {"Toleration", "tolerationSeconds"},
    {"TopologySpreadConstraint", "maxSkew"},
    {"TopologySpreadConstraint", "minDomains"},
    {"TopologySpreadConstraint", "nodeAffinityPolicy"},
    {"TopologySpreadConstraint", "nodeTaintsPolicy"},
    {"PreferredSchedulingTerm", "weight"},
    {"WeightedPodAffinityTerm", "weight"},
    {"Container", "restartPolicy"},
    {"ContainerPort", "containerPort"},
    {"VolumeMount", "recursiveReadOnly"},
    {"VolumeMount", "mountPropagation"},
    {"Probe", "terminationGracePeriodSeconds"},
    {"GRPCAction", "port"},
    {"GRPCAction", "service"},
    {"SleepAction", "seconds"},
    {"ContainerStatus", "ready"},
    {"ContainerStatus", "restartCount"},
    {"ContainerStatus", "started"},
    {"ContainerStateTerminated", "exitCode"},
    {"ConfigMapEnvSource", "optional"},
    {"SecretEnvSource", "optional"},
    {"ConfigMapKeySelector", "optional"},
    {"SecretKeySelector", "optional"},
    {"HostPathVolumeSource", "type"},
    {"SecretVolumeSource", "defaultMode"},
    {"SecretVolumeSource", "optional"},
    {"ConfigMapVolumeSource", "defaultMode"},
    {"ConfigMapVolumeSource", "optional"},
    {"KeyToPath", "mode"},
    {"DownwardAPIVolumeSource", "defaultMode"},
    {"DownwardAPIVolumeFile", "mode"},
    {"ProjectedVolumeSource", "defaultMode"},
    {"SecretProjection", "optional"},
    {"ConfigMapProjection", "optional"},
    {"ServiceAccountTokenProjection", "expirationSeconds"},
    {"CSIVolumeSource", "readOnly"},
    {"CSIVolumeSource", "fsType"},
    {"PersistentVolumeClaimSpec", "storageClassName"},
    {"PersistentVolumeClaimSpec", "volumeMode"},
    {"PersistentVolumeClaimSpec", "volumeAttributesClassName"},
    {"TypedLocalObjectReference", "apiGroup"},
    {"TypedObjectReference", "apiGroup"},
    {"TypedObjectReference", "namespace"},
    {"ServicePort", "port"},
    {"ServicePort", "appProtocol"},
    {"ServiceSpec", "ipFamilyPolicy"},
    {"ServiceSpec", "allocateLoadBalancerNodePorts"},
    {"ServiceSpec", "loadBalancerClass"},
    {"ServiceSpec", "internalTrafficPolicy"},
    {"ServiceSpec", "trafficDistribution"},
    {"ClientIPConfig", "timeoutSeconds"},
    {"LoadBalancerIngress", "ipMode"},
    {"PortStatus", "port"},
    {"PortStatus", "error"},
    {"EndpointAddress", "nodeName"},
    {"EndpointPort", "port"},
    {"EndpointPort", "appProtocol"},
    {"DaemonEndpoint", "Port"},
    /* apps/v1 */
    {"DeploymentSpec", "replicas"},
    {"DeploymentSpec", "revisionHistoryLimit"},
    {"DeploymentSpec", "progressDeadlineSeconds"},
    {"ReplicaSetSpec", "replicas"},
    {"ReplicaSetStatus", "replicas"},
    {"DaemonSetSpec", "revisionHistoryLimit"},
    {"DaemonSetStatus", "currentNumberScheduled"},
    {"DaemonSetStatus", "numberMisscheduled"},
    {"DaemonSetStatus", "desiredNumberScheduled"},
    {"DaemonSetStatus", "numberReady"},
    {"DaemonSetStatus", "collisionCount"},
    {"DeploymentStatus", "collisionCount"},
    {"StatefulSetSpec", "replicas"},
    {"StatefulSetSpec", "revisionHistoryLimit"},
    {"StatefulSetStatus", "replicas"},
    {"StatefulSetStatus", "collisionCount"},
    {"RollingUpdateStatefulSetStrategy", "partition"},
    /* batch/v1 */
    {"JobSpec", "parallelism"},
    {"JobSpec", "completions"},
    {"JobSpec", "activeDeadlineSeconds"},
    {"JobSpec", "backoffLimit"},
    {"JobSpec", "backoffLimitPerIndex"},
    {"JobSpec", "maxFailedIndexes"},
    {"JobSpec", "manualSelector"},
    {"JobSpec", "ttlSecondsAfterFinished"},
    {"JobSpec", "completionMode"},
    {"JobSpec", "suspend"},
    {"JobSpec", "podReplacementPolicy"},
    {"JobSpec", "managedBy"},
    {"JobStatus", "terminating"},
    {"JobStatus", "failedIndexes"},
    {"JobStatus", "ready"},
    {"SuccessPolicyRule", "succeededIndexes"},
    {"SuccessPolicyRule", "succeededCount"},
    {"PodFailurePolicyOnExitCodesRequirement", "containerName"},
    {"CronJobSpec", "timeZone"},
    {"CronJobSpec", "startingDeadlineSeconds"},
    {"CronJobSpec", "suspend"},
    {"CronJobSpec", "successfulJobsHistoryLimit"},
    {"CronJobSpec", "failedJobsHistoryLimit"},
    /* policy/v1 */
    {"PodDisruptionBudgetSpec", "unhealthyPodEvictionPolicy"},
    {"PodDisruptionBudgetStatus", "disruptionsAllowed"},
    {"PodDisruptionBudgetStatus", "currentHealthy"},
    {"PodDisruptionBudgetStatus", "desiredHealthy"},
    {"PodDisruptionBudgetStatus", "expectedPods"},
    /* scheduling/v1 */
    {"PriorityClass", "value"},
    {"PriorityClass", "preemptionPolicy"},
    /* networking/v1 */
    {"IngressSpec", "ingressClassName"},
    {"IngressPortStatus", "port"},
    {"IngressPortStatus", "error"},
    {"IngressClassParametersReference", "apiGroup"},
    {"IngressClassParametersReference", "scope"},
    {"IngressClassParametersReference", "namespace"},
    {"NetworkPolicyPort", "protocol"},
    {"NetworkPolicyPort", "endPort"},
    /* authentication/v1 */
    {"TokenRequestSpec", "expirationSeconds"},
    {"TokenRequestStatus", "token"},
    {"TokenReviewStatus", "authenticated"},
    /* authorization/v1 */
    {"SubjectAccessReviewStatus", "allowed"},
    /* certificates/v1 */
    {"CertificateSigningRequestSpec", "expirationSeconds"},
    {"CertificateSigningRequestSpec", "request"},
    /* coordination/v1 */
    {"LeaseSpec", "holderIdentity"},
    {"LeaseSpec", "leaseDurationSeconds"},
    {"LeaseSpec", "leaseTransitions"},
    {"LeaseSpec", "strategy"},
    {"LeaseSpec", "preferredHolder"},
    /* autoscaling/v1 */
    {"HorizontalPodAutoscalerSpec", "minReplicas"},
    {"HorizontalPodAutoscalerSpec", "maxReplicas"},
    {"HorizontalPodAutoscalerSpec", "targetCPUUtilizationPercentage"},
    {"HorizontalPodAutoscalerStatus", "observedGeneration"},
    {"HorizontalPodAutoscalerStatus", "currentReplicas"},
    {"HorizontalPodAutoscalerStatus", "desiredReplicas"},
    {"HorizontalPodAutoscalerStatus", "currentCPUUtilizationPercentage"},
    {"ScaleStatus", "replicas"},
};

static bool pb_keeps_zero(const ProtobufCMessageDescriptor *md, const ProtobufCFieldDescriptor *f)
{
	for (size_t i = 0; i < CK_ARRAY_SIZE(pb_keep_zero); i++)
		if (strcmp(pb_keep_zero[i].field, f->name) == 0 &&
		    strcmp(pb_keep_zero[i].msg, md->short_name) == 0)
			return true;
	return false;
}

/* Embedded Go structs: their fields sit in the enclosing JSON object. Upstream
 * names such a protobuf field after the embedded type. */
static bool pb_is_inline(const ProtobufCFieldDescriptor *f)
{
	static const char *const names[] = {"volumeSource", "handler", "localObjectReference",
	                                    "ingressRuleValue"};

	if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED)
		return false;
	for (size_t i = 0; i < CK_ARRAY_SIZE(names); i++)
		if (strcmp(f->name, names[i]) == 0)
			return true;
	return false;
}

/* A protobuf map<K, V> is a repeated nested message "XEntry" {key = 1; value = 2}. */
static bool pb_is_map(const ProtobufCFieldDescriptor *f)
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

static const char pb_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 with padding, as Go's encoding/json writes []byte. */
static char *pb_base64(const uint8_t *p, size_t n)
{
	char *out = ck_malloc((n + 2) / 3 * 4 + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = pb_b64_alphabet[(v >> 18) & 63];
		out[o++] = pb_b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < n ? pb_b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? pb_b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static int pb_b64_value(char c)
{
	const char *p = c ? strchr(pb_b64_alphabet, c) : NULL;
	return p ? (int)(p - pb_b64_alphabet) : -1;
}

/* Decodes standard base64 (padding required, as Go's StdEncoding). Returns 0 and a
 * malloc'd buffer, or -EINVAL. */
static int pb_unbase64(const char *s, uint8_t **out, size_t *out_len)
{
	size_t n = strlen(s), o = 0;
	_cleanup_free_ uint8_t *buf = NULL;

	if (n % 4 != 0)
		return -EINVAL;
	buf = ck_malloc(n / 4 * 3 + 1);
	for (size_t i = 0; i < n; i += 4) {
		int a = pb_b64_value(s[i]), b = pb_b64_value(s[i + 1]);
		int c = s[i + 2] == '=' ? -2 : pb_b64_value(s[i + 2]);
		int d = s[i + 3] == '=' ? -2 : pb_b64_value(s[i + 3]);
		bool last = i + 4 == n;

		if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2) ||
		    ((c == -2 || d == -2) && !last))
			return -EINVAL;
		buf[o++] = (uint8_t)(a << 2 | b >> 4);
		if (c >= 0)
			buf[o++] = (uint8_t)((b & 15) << 4 | c >> 2);
		if (d >= 0)
			buf[o++] = (uint8_t)((c & 3) << 6 | d);
	}
	*out = CK_TAKE_PTR(buf);
	*out_len = o;
	return 0;
}

/* Accepts well-formed UTF-8 only (no overlongs, surrogates or values > U+10FFFF). */
static bool pb_utf8_valid(const char *s)
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

#define PB_MIN_SECONDS (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define PB_MAX_SECONDS 253402300799LL   /* 9999-12-31T23:59:59Z */

/* Formats seconds+nanos as Go's metav1.Time (RFC 3339, seconds) or MicroTime
 * (RFC 3339 with 6 fraction digits). Nanos are normalised as time.Unix does. */
static int pb_format_time(int64_t sec, int32_t nanos, bool micro, char *buf, size_t size)
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
static void pb_format_duration(int64_t d, char *buf, size_t size)
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
static int pb_embedded_json(const ProtobufCBinaryData *raw, bool has, int depth, cJSON **out,
                            ck_err **err)
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

/* The ExtraValue messages (authentication, authorization, certificates): one
 * repeated string named items. */
static bool pb_is_extra_value(const ProtobufCMessageDescriptor *md)
{
	return strcmp(md->short_name, "ExtraValue") == 0 && md->n_fields == 1 &&
	       md->fields[0].type == PROTOBUF_C_TYPE_STRING &&
	       md->fields[0].label == PROTOBUF_C_LABEL_REPEATED;
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

static void pb_message_freep(ProtobufCMessage **m);
static ProtobufCMessage *pb_message_new(const ProtobufCMessageDescriptor *md);

static int pb_message_fill(const ProtobufCMessage *m, cJSON *obj, int depth, ck_err **err);

static int pb_message_to_json(const ProtobufCMessage *m, int depth, cJSON **out, ck_err **err)
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
		_cleanup_free_ char *s = pb_base64(b->data, b->len);
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

static size_t pb_type_size(ProtobufCType t)
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
	if (f->type == PROTOBUF_C_TYPE_MESSAGE && pb_is_inline(f)) {
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

static void pb_message_freep(ProtobufCMessage **m)
{
	if (*m)
		protobuf_c_message_free_unpacked(*m, NULL);
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

/* ---- JSON -> protobuf ---- */

/* Parses RFC 3339 ("2026-11-22T17:33:27Z", fraction optional, Z or +hh:mm). */
static int pb_parse_rfc3339(const char *s, int64_t *sec, int32_t *nanos)
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
static int pb_parse_duration(const char *s, int64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {
	    {"ns", 1},       {"us", 1000},         {"\xc2\xb5s", 1000},   {"\xce\xbcs", 1000},
	    {"ms", 1000000}, {"s", 1000000000ULL}, {"m", 60000000000ULL}, {"h", 3600000000000ULL}};
	bool neg = false;
	uint64_t total = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		uint64_t v = 0, frac = 0, scale = 1, unit = 0, add;
		bool digits = false;
		size_t ulen = 0;

		for (; *s >= '0' && *s <= '9'; s++, digits = true) {
			if (v > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			v = v * 10 + (uint64_t)(*s - '0');
		}
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++, digits = true)
				if (scale < 1000000000000000000ULL) {
					frac = frac * 10 + (uint64_t)(*s - '0');
					scale *= 10;
				}
		if (!digits)
			return -EINVAL;
		for (size_t i = 0; i < CK_ARRAY_SIZE(units); i++) {
			size_t n = strlen(units[i].unit);
			if (strncmp(s, units[i].unit, n) == 0 && n > ulen &&
			    !(s[n] >= 'a' && s[n] <= 'z')) {
				unit = units[i].ns;
				ulen = n;
			}
		}
		if (!unit)
			return -EINVAL;
		s += ulen;
		if (v > (uint64_t)INT64_MAX / unit)
			return -ERANGE;
		add = v * unit +
		      (uint64_t)((long double)frac * (long double)unit / (long double)scale);
		if (add > (uint64_t)INT64_MAX - total)
			return -ERANGE;
		total += add;
	}
	*out = neg ? -(int64_t)total : (int64_t)total;
	return 0;
}

static void pb_message_freep(ProtobufCMessage **m);

static int pb_message_from_json(const ProtobufCMessageDescriptor *md, const cJSON *j, int depth,
                                ProtobufCMessage **out, ck_err **err);

static ProtobufCMessage *pb_message_new(const ProtobufCMessageDescriptor *md)
{
	ProtobufCMessage *m = ck_calloc(1, md->sizeof_message);
	md->message_init(m);
	return m;
}

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
		if (!cJSON_IsString(j) || pb_unbase64(j->valuestring, &data, &len) < 0)
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

	if (f->type == PROTOBUF_C_TYPE_MESSAGE && pb_is_inline(f))
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
