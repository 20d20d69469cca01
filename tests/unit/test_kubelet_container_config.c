/* A container's CRI config (kubelet/container_config.c, pure, from kubelet_core) for
 * several pods: labels, annotations and log path; the environment from envFrom, key
 * references, field references and $(VAR) expansion, also in command and args; the
 * errors of missing configMaps, secrets and keys; cgroup resources and the security
 * context; volume mounts with subPath and readOnly and the termination message file;
 * and the configMaps and secrets a pod references (kl_pod_refs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "kubelet.h"

static cJSON *parse(const char *text)
{
	cJSON *o = ck_json_parse(text, strlen(text), NULL);
	assert_non_null(o);
	return o;
}

/* The sync's data as the I/O side would have left it: fetched objects, the pod's IP,
 * its volumes. */
typedef struct fixture {
	kl_config cfg;
	kl_sync x;
	cJSON *pod;
} fixture;

static void fixture_init(fixture *f, const char *pod_json)
{
	memset(f, 0, sizeof(*f));
	f->cfg.root_dir = "/var/lib/kubelet";
	f->pod = parse(pod_json);
	f->x.cfg = &f->cfg;
	f->x.pod = f->pod;
	f->x.ns = ck_json_get_str(f->pod, "metadata.namespace", "default");
	f->x.name = ck_json_get_str(f->pod, "metadata.name", "");
	f->x.uid = ck_json_get_str(f->pod, "metadata.uid", "");
	f->x.node_ip = "192.168.1.10";
	f->x.pod_ip = ck_strdup("10.88.0.7");
}

static void fixture_obj(fixture *f, bool secret, const char *name, const char *json,
                        const char *error)
{
	kl_sync *x = &f->x;
	x->objs = ck_realloc(x->objs, (x->n_objs + 1) * sizeof(*x->objs));
	x->objs[x->n_objs++] = (kl_obj){.secret = secret,
	                                .name = ck_strdup(name),
	                                .obj = json ? parse(json) : NULL,
	                                .error = ck_strdup_or_null(error)};
}

static void fixture_volume(fixture *f, const char *name, const char *path)
{
	kl_volumes *v = &f->x.vols;
	v->v = ck_realloc(v->v, (v->n + 1) * sizeof(*v->v));
	v->v[v->n].name = ck_strdup(name);
	v->v[v->n].path = ck_strdup(path);
	v->n++;
}

static void fixture_clear(fixture *f)
{
	for (size_t i = 0; i < f->x.n_objs; i++) {
		free(f->x.objs[i].name);
		cJSON_Delete(f->x.objs[i].obj);
		free(f->x.objs[i].error);
	}
	free(f->x.objs);
	volumes_clear(&f->x.vols);
	free(f->x.pod_ip);
	cJSON_Delete(f->pod);
}

static const cJSON *container(const fixture *f, int i)
{
	return cJSON_GetArrayItem(ck_json_get(f->pod, "spec.containers"), i);
}

/* "k1=v1 k2=v2" of a key/value vector, in order. */
static char *kv_text(const char *const *kv)
{
	ck_buf b = {0};
	ck_buf_puts(&b, "");
	for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2)
		ck_buf_printf(&b, "%s%s=%s", i ? " " : "", kv[i], kv[i + 1]);
	return ck_buf_steal(&b);
}

static char *strv_text(const char *const *v)
{
	return ck_strv_join((char *const *)v, " ");
}

#define BASIC_POD                                                                                  \
	"{\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\",\"uid\":\"u-1\"},"                 \
	"\"spec\":{\"terminationGracePeriodSeconds\":7,\"containers\":[{\"name\":\"main\","        \
	"\"image\":\"nginx:1\",\"workingDir\":\"/srv\",\"tty\":true}]}}"

static void test_basic(void **state)
{
	fixture f;
	fixture_init(&f, BASIC_POD);
	kl_container_config cc;
	char *error = NULL;
	assert_int_equal(container_config_build(&f.x, container(&f, 0), 2,
	                                        "/var/lib/kubelet/pods/u-1/containers/main/2", &cc,
	                                        &error),
	                 0);
	assert_null(error);
	assert_string_equal(cc.c.name, "main");
	assert_int_equal(cc.c.attempt, 2);
	assert_string_equal(cc.c.image, "nginx:1");
	assert_string_equal(cc.c.working_dir, "/srv");
	assert_true(cc.c.tty);
	assert_false(cc.c.stdin_open);
	assert_null(cc.c.command);
	assert_null(cc.c.args);
	assert_string_equal(cc.c.log_path, "main/2.log");
	char *t = kv_text(cc.c.labels);
	assert_string_equal(t, "io.kubernetes.pod.name=web io.kubernetes.pod.namespace=shop "
	                       "io.kubernetes.pod.uid=u-1 io.kubernetes.container.name=main");
	free(t);
	t = kv_text(cc.c.annotations);
	assert_string_equal(t,
	                    "io.kubernetes.container.restartCount=2 "
	                    "io.kubernetes.container.terminationMessagePath=/dev/termination-log "
	                    "io.kubernetes.pod.terminationGracePeriod=7");
	free(t);
	/* No requests: the minimum shares, no quota, no memory limit, the image's user. */
	assert_int_equal(cc.c.cpu_shares, 2);
	assert_int_equal(cc.c.cpu_quota, 0);
	assert_int_equal(cc.c.memory_limit, 0);
	assert_int_equal(cc.c.run_as_user, -1);
	assert_false(cc.c.privileged);
	assert_false(cc.c.host_network);
	/* Only the termination message file is mounted. */
	assert_int_equal(cc.c.n_mounts, 1);
	assert_string_equal(cc.c.mounts[0].container_path, "/dev/termination-log");
	assert_string_equal(cc.c.mounts[0].host_path,
	                    "/var/lib/kubelet/pods/u-1/containers/main/2");
	assert_false(cc.c.mounts[0].readonly);
	container_config_clear(&cc);
	/* Without a termination file nothing is mounted. */
	assert_int_equal(container_config_build(&f.x, container(&f, 0), 0, NULL, &cc, &error), 0);
	assert_int_equal(cc.c.n_mounts, 0);
	container_config_clear(&cc);
	fixture_clear(&f);
}

#define ENV_POD                                                                                    \
	"{\"metadata\":{\"name\":\"envs\",\"namespace\":\"default\",\"uid\":\"u-2\","              \
	"\"labels\":{\"app\":\"shop\"}},\"spec\":{\"nodeName\":\"node-1\",\"containers\":[{"       \
	"\"name\":\"main\",\"image\":\"busybox\","                                                 \
	"\"envFrom\":[{\"prefix\":\"CFG_\",\"configMapRef\":{\"name\":\"cfg\"}},"                  \
	"{\"secretRef\":{\"name\":\"sec\"}},"                                                      \
	"{\"configMapRef\":{\"name\":\"maybe\",\"optional\":true}}],"                              \
	"\"env\":[{\"name\":\"PASS\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"sec\","           \
	"\"key\":\"password\"}}},"                                                                 \
	"{\"name\":\"APP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.labels['app']\"}" \
	"}},"                                                                                      \
	"{\"name\":\"IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}},"         \
	"{\"name\":\"HOST\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.hostIP\"}}},"      \
	"{\"name\":\"NODE\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"spec.nodeName\"}}},"      \
	"{\"name\":\"COLOR\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cfg\","                \
	"\"key\":\"color\"}}},"                                                                    \
	"{\"name\":\"NOKEY\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cfg\","                \
	"\"key\":\"absent\",\"optional\":true}}},"                                                 \
	"{\"name\":\"CFG_greeting\",\"value\":\"hi\"},"                                            \
	"{\"name\":\"COMBO\",\"value\":\"$(CFG_greeting)-$(APP)-$$(APP)-$(UNKNOWN)\"}],"           \
	"\"command\":[\"sh\",\"-c\",\"echo $(COMBO)\"],\"args\":[\"$(IP)\"]}]}}"

static void test_env(void **state)
{
	fixture f;
	fixture_init(&f, ENV_POD);
	fixture_obj(&f, false, "cfg", "{\"data\":{\"greeting\":\"hello\",\"color\":\"blue\"}}",
	            NULL);
	/* "s3cret" and "admin", base64. */
	fixture_obj(&f, true, "sec", "{\"data\":{\"password\":\"czNjcmV0\",\"user\":\"YWRtaW4=\"}}",
	            NULL);
	fixture_obj(&f, false, "maybe", NULL, NULL);
	kl_container_config cc;
	char *error = NULL;
	assert_int_equal(container_config_build(&f.x, container(&f, 0), 0, NULL, &cc, &error), 0);
	char *t = kv_text(cc.c.envs);
	/* envFrom first; a later env entry replaces an earlier definition in place. */
	assert_string_equal(t, "CFG_greeting=hi CFG_color=blue password=s3cret user=admin "
	                       "PASS=s3cret APP=shop IP=10.88.0.7 HOST=192.168.1.10 NODE=node-1 "
	                       "COLOR=blue COMBO=hi-shop-$(APP)-$(UNKNOWN)");
	free(t);
	t = strv_text(cc.c.command);
	assert_string_equal(t, "sh -c echo hi-shop-$(APP)-$(UNKNOWN)");
	free(t);
	t = strv_text(cc.c.args);
	assert_string_equal(t, "10.88.0.7");
	free(t);
	container_config_clear(&cc);
	fixture_clear(&f);
}

static char *env_error(const char *env_json, const char *objs_json, const char *obj_error)
{
	_cleanup_free_ char *pod = ck_asprintf(
	    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns1\",\"uid\":\"u\"},\"spec\":{"
	    "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"env\":%s}]}}",
	    env_json);
	fixture f;
	fixture_init(&f, pod);
	if (objs_json || obj_error)
		fixture_obj(&f, false, "cfg", objs_json, obj_error);
	kl_container_config cc;
	char *error = NULL;
	assert_int_equal(container_config_build(&f.x, container(&f, 0), 0, NULL, &cc, &error),
	                 -EINVAL);
	assert_non_null(error);
	fixture_clear(&f);
	return error;
}

/* Upstream's messages, which the pod's CreateContainerConfigError shows. */
static void test_env_errors(void **state)
{
	const char *ref = "[{\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cfg\","
	                  "\"key\":\"k\"}}}]";
	char *e = env_error(ref, NULL, NULL);
	assert_string_equal(e, "configmap \"cfg\" was not fetched");
	free(e);
	e = env_error(ref, "{\"data\":{}}", NULL);
	assert_string_equal(e, "couldn't find key k in ConfigMap ns1/cfg");
	free(e);
	e = env_error(ref, NULL, "connection refused");
	assert_string_equal(e, "configmap \"cfg\": connection refused");
	free(e);

	fixture f;
	fixture_init(&f, "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns1\",\"uid\":\"u\"},"
	                 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"envFrom\":"
	                 "[{\"secretRef\":{\"name\":\"gone\"}}]}]}}");
	fixture_obj(&f, true, "gone", NULL, NULL);
	char **env = NULL;
	char *error = NULL;
	assert_int_equal(kl_env_build(&f.x, container(&f, 0), &env, &error), -EINVAL);
	assert_string_equal(error, "secret \"gone\" not found");
	assert_null(env);
	free(error);
	fixture_clear(&f);
}

static void test_resources_security(void **state)
{
	fixture f;
	fixture_init(&f, "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"u\"},"
	                 "\"spec\":{\"hostNetwork\":true,\"securityContext\":{\"runAsUser\":1000},"
	                 "\"containers\":[{\"name\":\"a\",\"image\":\"i\",\"resources\":{"
	                 "\"requests\":{\"cpu\":\"250m\"},\"limits\":{\"cpu\":\"500m\","
	                 "\"memory\":\"64Mi\"}}},"
	                 "{\"name\":\"b\",\"image\":\"i\",\"securityContext\":{\"runAsUser\":0,"
	                 "\"privileged\":true},\"resources\":{\"limits\":{\"cpu\":\"1m\"}}}]}}");
	kl_container_config cc;
	char *error = NULL;
	assert_int_equal(container_config_build(&f.x, container(&f, 0), 0, NULL, &cc, &error), 0);
	assert_int_equal(cc.c.cpu_shares, 256);
	assert_int_equal(cc.c.cpu_period, 100000);
	assert_int_equal(cc.c.cpu_quota, 50000);
	assert_int_equal(cc.c.memory_limit, 67108864);
	assert_int_equal(cc.c.run_as_user, 1000);
	assert_false(cc.c.privileged);
	assert_true(cc.c.host_network);
	container_config_clear(&cc);
	/* The limit stands in for a missing request; the quota has a floor of 1 ms. */
	assert_int_equal(container_config_build(&f.x, container(&f, 1), 0, NULL, &cc, &error), 0);
	assert_int_equal(cc.c.cpu_shares, 2);
	assert_int_equal(cc.c.cpu_quota, 1000);
	assert_int_equal(cc.c.run_as_user, 0);
	assert_true(cc.c.privileged);
	container_config_clear(&cc);
	fixture_clear(&f);
}

static void test_mounts(void **state)
{
	fixture f;
	fixture_init(&f, "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"u\"},"
	                 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\","
	                 "\"terminationMessagePath\":\"/tmp/end\",\"volumeMounts\":["
	                 "{\"name\":\"data\",\"mountPath\":\"/data\",\"readOnly\":true},"
	                 "{\"name\":\"data\",\"mountPath\":\"/sub\",\"subPath\":\"a/b\"},"
	                 "{\"name\":\"data\",\"mountPath\":\"/esc\",\"subPath\":\"../../etc\"},"
	                 "{\"name\":\"nope\",\"mountPath\":\"/nope\"},"
	                 "{\"name\":\"data\"}]},"
	                 "{\"name\":\"d\",\"image\":\"i\",\"terminationMessagePath\":\"rel\"}]}}");
	fixture_volume(&f, "data", "/v/data");
	kl_container_config cc;
	char *error = NULL;
	assert_int_equal(container_config_build(&f.x, container(&f, 0), 0, "/t/0", &cc, &error), 0);
	assert_int_equal(cc.c.n_mounts, 4);
	assert_string_equal(cc.c.mounts[0].container_path, "/data");
	assert_string_equal(cc.c.mounts[0].host_path, "/v/data");
	assert_true(cc.c.mounts[0].readonly);
	assert_string_equal(cc.c.mounts[1].host_path, "/v/data/a/b");
	assert_false(cc.c.mounts[1].readonly);
	/* A subPath leaving its volume mounts the volume itself. */
	assert_string_equal(cc.c.mounts[2].container_path, "/esc");
	assert_string_equal(cc.c.mounts[2].host_path, "/v/data");
	assert_string_equal(cc.c.mounts[3].container_path, "/tmp/end");
	assert_string_equal(cc.c.mounts[3].host_path, "/t/0");
	char *t = kv_text(cc.c.annotations);
	assert_non_null(strstr(t, "terminationMessagePath=/tmp/end"));
	free(t);
	container_config_clear(&cc);
	/* A relative terminationMessagePath is not mounted. */
	assert_int_equal(container_config_build(&f.x, container(&f, 1), 0, "/t/0", &cc, &error), 0);
	assert_int_equal(cc.c.n_mounts, 0);
	container_config_clear(&cc);
	char *p = kl_termination_path(&f.cfg, "u", "c", 3);
	assert_string_equal(p, "/var/lib/kubelet/pods/u/containers/c/3");
	free(p);
	fixture_clear(&f);
}

static void add_ref(bool secret, const char *name, void *data)
{
	ck_strv_push(data, ck_asprintf("%s/%s", secret ? "secret" : "configmap", name));
}

static void test_pod_refs(void **state)
{
	_cleanup_json_ cJSON *pod = parse(
	    "{\"spec\":{\"volumes\":[{\"name\":\"a\",\"configMap\":{\"name\":\"vc\"}},"
	    "{\"name\":\"b\",\"secret\":{\"secretName\":\"vs\"}},{\"name\":\"e\",\"emptyDir\":{}},"
	    "{\"name\":\"p\",\"projected\":{\"sources\":[{\"configMap\":{\"name\":\"pc\"}},"
	    "{\"secret\":{\"name\":\"ps\"}},{\"downwardAPI\":{}}]}}],"
	    "\"initContainers\":[{\"name\":\"i\",\"envFrom\":[{\"secretRef\":{\"name\":\"is\"}}]}],"
	    "\"containers\":[{\"name\":\"c\",\"envFrom\":[{\"configMapRef\":{\"name\":\"cc\"}}],"
	    "\"env\":[{\"name\":\"X\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"cs\","
	    "\"key\":\"k\"}}},{\"name\":\"Y\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"ck\","
	    "\"key\":\"k\"}}},{\"name\":\"Z\",\"value\":\"v\"}]}]}}");
	char **v = NULL;
	kl_pod_refs(pod, NULL, true, add_ref, &v);
	char *t = ck_strv_join(v, " ");
	assert_string_equal(t, "configmap/vc secret/vs configmap/pc secret/ps secret/is "
	                       "configmap/cc secret/cs configmap/ck");
	free(t);
	v = ck_strv_free(v);
	/* One container's environment only. */
	const cJSON *c = cJSON_GetArrayItem(ck_json_get(pod, "spec.containers"), 0);
	kl_pod_refs(pod, c, false, add_ref, &v);
	t = ck_strv_join(v, " ");
	assert_string_equal(t, "configmap/cc secret/cs configmap/ck");
	free(t);
	ck_strv_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),      cmocka_unit_test(test_env),
	    cmocka_unit_test(test_env_errors), cmocka_unit_test(test_resources_security),
	    cmocka_unit_test(test_mounts),     cmocka_unit_test(test_pod_refs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
