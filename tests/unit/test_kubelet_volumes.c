/* configMap, secret and downwardAPI volumes on disk (kubelet/volumes.c, from
 * kubelet_core), with the objects a sync fetched: the files are written as upstream's
 * AtomicWriter does (a timestamped directory, the "..data" symlink, one symlink per
 * top-level name), nothing is rewritten while the content stays, an update swaps the
 * whole set, and a removed key or item disappears. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "kubelet.h"

#define POD                                                                                        \
	"{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"u-1\","                 \
	"\"labels\":{\"tier\":\"db\"}},\"spec\":{\"volumes\":["                                    \
	"{\"name\":\"c\",\"configMap\":{\"name\":\"cfg\"}},"                                       \
	"{\"name\":\"s\",\"secret\":{\"secretName\":\"sec\",\"defaultMode\":256,\"items\":["       \
	"{\"key\":\"password\",\"path\":\"db/pw\"}]}},"                                            \
	"{\"name\":\"d\",\"downwardAPI\":{\"items\":[{\"path\":\"labels\",\"fieldRef\":"           \
	"{\"fieldPath\":\"metadata.labels\"}}]}},"                                                 \
	"{\"name\":\"e\",\"emptyDir\":{}}]}}"

typedef struct fixture {
	char *root;
	kl_config cfg;
	pod_sync_out out;
	kl_sync x;
	cJSON *pod;
} fixture;

static int setup(void **state)
{
	fixture *f = ck_calloc(1, sizeof(*f));
	f->root = ck_strdup("/tmp/ckube-test-volumes.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	f->cfg.root_dir = f->root;
	f->cfg.pod_log_dir = f->root;
	f->pod = ck_json_parse(POD, strlen(POD), NULL);
	assert_non_null(f->pod);
	f->x = (kl_sync){.cfg = &f->cfg,
	                 .pod = f->pod,
	                 .ns = "default",
	                 .name = "p",
	                 .uid = "u-1",
	                 .out = &f->out};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	volumes_remove(&f->cfg, "default", "p", "u-1");
	_cleanup_free_ char *pods = ck_asprintf("%s/pods", f->root);
	rmdir(pods);
	assert_int_equal(rmdir(f->root), 0);
	kl_objs_clear(&f->x);
	volumes_clear(&f->x.vols);
	cJSON_Delete(f->pod);
	free(f->root);
	free(f);
	return 0;
}

/* What this sync "fetched": the configMap cfg with data (JSON object text) and the
 * secret sec. Replaces the earlier fetch, as the next sync would. */
static void fetched(fixture *f, const char *cfg_data)
{
	kl_objs_clear(&f->x);
	_cleanup_free_ char *cm = ck_asprintf("{\"data\":%s}", cfg_data);
	const char *sec = "{\"data\":{\"password\":\"czNjcmV0\",\"other\":\"eA==\"}}";
	f->x.objs = ck_calloc(2, sizeof(kl_obj));
	f->x.objs[0] =
	    (kl_obj){.name = ck_strdup("cfg"), .obj = ck_json_parse(cm, strlen(cm), NULL)};
	f->x.objs[1] = (kl_obj){
	    .secret = true, .name = ck_strdup("sec"), .obj = ck_json_parse(sec, strlen(sec), NULL)};
	f->x.n_objs = 2;
}

static void setup_ok(fixture *f)
{
	char *error = NULL;
	int r = volumes_setup(&f->x, &error);
	if (r < 0)
		fail_msg("volumes_setup: %s", error);
	assert_int_equal(f->x.vols.n, 4);
}

static char *vpath(const fixture *f, const char *plugin, const char *rel)
{
	return ck_asprintf("%s/pods/u-1/volumes/kubernetes.io~%s/%s", f->root, plugin, rel);
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "re");
	if (!fp)
		return NULL;
	char buf[256];
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = 0;
	return ck_strdup(buf);
}

static void assert_file(const fixture *f, const char *plugin, const char *rel, const char *want)
{
	_cleanup_free_ char *p = vpath(f, plugin, rel);
	_cleanup_free_ char *got = slurp(p);
	if (!got)
		fail_msg("%s: missing", p);
	assert_string_equal(got, want);
}

static bool exists(const fixture *f, const char *plugin, const char *rel)
{
	_cleanup_free_ char *p = vpath(f, plugin, rel);
	struct stat st;
	return lstat(p, &st) == 0;
}

/* The target of the configMap volume's ..data symlink. */
static char *data_target(const fixture *f)
{
	_cleanup_free_ char *p = vpath(f, "configmap", "c/..data");
	char buf[256];
	ssize_t n = readlink(p, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = 0;
	return ck_strdup(buf);
}

static void test_layout(void **state)
{
	fixture *f = *state;
	fetched(f, "{\"a\":\"1\",\"b\":\"2\"}");
	setup_ok(f);
	assert_file(f, "configmap", "c/a", "1");
	assert_file(f, "configmap", "c/b", "2");
	assert_file(f, "secret", "s/db/pw", "s3cret");
	assert_false(exists(f, "secret", "s/other"));
	assert_file(f, "downward-api", "d/labels", "tier=\"db\"\n");
	/* Each name a symlink into ..data, which points at a timestamped directory. */
	_cleanup_free_ char *a = vpath(f, "configmap", "c/a");
	char buf[64];
	ssize_t n = readlink(a, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = 0;
	assert_string_equal(buf, "..data/a");
	_cleanup_free_ char *db = vpath(f, "secret", "s/db");
	n = readlink(db, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = 0;
	assert_string_equal(buf, "..data/db");
	_cleanup_free_ char *t = data_target(f);
	assert_true(!strncmp(t, "..20", 4));
	/* The secret's mode (0400) is the file's. */
	_cleanup_free_ char *pw = vpath(f, "secret", "s/db/pw");
	struct stat st;
	assert_int_equal(stat(pw, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	assert_true(exists(f, "empty-dir", "e"));
}

static void test_unchanged_is_not_rewritten(void **state)
{
	fixture *f = *state;
	fetched(f, "{\"a\":\"1\",\"b\":\"2\"}");
	setup_ok(f);
	_cleanup_free_ char *before = data_target(f);
	fetched(f, "{\"a\":\"1\",\"b\":\"2\"}");
	setup_ok(f);
	_cleanup_free_ char *after = data_target(f);
	assert_string_equal(before, after);
}

static void test_removed_key_disappears(void **state)
{
	fixture *f = *state;
	fetched(f, "{\"a\":\"1\",\"b\":\"2\"}");
	setup_ok(f);
	_cleanup_free_ char *before = data_target(f);
	fetched(f, "{\"a\":\"one\",\"n\":\"new\"}");
	setup_ok(f);
	assert_file(f, "configmap", "c/a", "one");
	assert_file(f, "configmap", "c/n", "new");
	assert_false(exists(f, "configmap", "c/b"));
	/* The old directory is gone with it. */
	_cleanup_free_ char *old = vpath(f, "configmap", "c/");
	_cleanup_free_ char *old_dir = ck_asprintf("%s%s", old, before);
	assert_int_equal(access(old_dir, F_OK), -1);
	/* Every key removed: an empty volume. */
	fetched(f, "{}");
	setup_ok(f);
	assert_false(exists(f, "configmap", "c/a"));
	assert_false(exists(f, "configmap", "c/n"));
	assert_true(exists(f, "configmap", "c/..data"));
}

/* A file of the layout before ..data (a plain file under the key's name) is replaced. */
static void test_plain_file_replaced(void **state)
{
	fixture *f = *state;
	_cleanup_free_ char *dir = vpath(f, "configmap", "c");
	assert_int_equal(kl_mkdir_p(dir, 0755), 0);
	_cleanup_free_ char *a = vpath(f, "configmap", "c/a");
	_cleanup_free_ char *stale = vpath(f, "configmap", "c/stale");
	FILE *fp = fopen(a, "we");
	fputs("old", fp);
	fclose(fp);
	fp = fopen(stale, "we");
	fclose(fp);
	fetched(f, "{\"a\":\"1\"}");
	setup_ok(f);
	assert_file(f, "configmap", "c/a", "1");
	assert_false(exists(f, "configmap", "c/stale"));
}

static void test_missing_configmap(void **state)
{
	fixture *f = *state;
	kl_objs_clear(&f->x);
	f->x.objs = ck_calloc(1, sizeof(kl_obj));
	f->x.objs[0] = (kl_obj){.name = ck_strdup("cfg")};
	f->x.n_objs = 1;
	char *error = NULL;
	assert_true(volumes_setup(&f->x, &error) < 0);
	assert_string_equal(
	    error, "MountVolume.SetUp failed for volume \"c\" : configmap \"cfg\" not found");
	assert_int_equal(f->x.vols.n, 0);
	free(error);
}

/* A key that would be one of the writer's own names, or leave the volume, is refused. */
static void test_bad_path(void **state)
{
	fixture *f = *state;
	const char *bad[] = {"{\"..data\":\"x\"}", "{\"a/../../b\":\"x\"}"};
	const char *want[] = {
	    "MountVolume.SetUp failed for volume \"c\" : invalid path: must not start with "
	    "'..': \"..data\"",
	    "MountVolume.SetUp failed for volume \"c\" : invalid path: must not contain '..': "
	    "\"a/../../b\""};
	for (size_t i = 0; i < CK_ARRAY_SIZE(bad); i++) {
		fetched(f, bad[i]);
		char *error = NULL;
		assert_true(volumes_setup(&f->x, &error) < 0);
		assert_string_equal(error, want[i]);
		free(error);
	}
	assert_false(exists(f, "configmap", "c/..data"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unchanged_is_not_rewritten, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_removed_key_disappears, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plain_file_replaced, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_configmap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_path, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
