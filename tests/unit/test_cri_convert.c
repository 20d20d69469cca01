/* lib/net/cri_convert: results read from the runtime's protobuf-c messages into owned
 * cri_sandbox / cri_container structs, from a list item and from a status, with the
 * fields each leaves empty and what each defaults. Each result is checked whole, as one
 * line of text. The messages are built with designated initializers: the conversions
 * read only their fields, never base. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "net/cri_internal.h"

static Runtime__V1__PodSandboxMetadata sandbox_meta = {
    .name = "web", .uid = "u1", .namespace_ = "default", .attempt = 2};
static Runtime__V1__ContainerMetadata container_meta = {.name = "main", .attempt = 3};
static Runtime__V1__ImageSpec image = {.image = "nginx:1"};
/* One label app=web; every map entry type has this layout. */
static Runtime__V1__PodSandbox__LabelsEntry app_web = {.key = "app", .value = "web"};
static void *labels[] = {&app_web};
/* The labels fields of a message whose map entries are of type entry. */
#define LABELS(entry) .n_labels = 1, .labels = (entry **)labels

static const char *str(const char *s)
{
	return s ? s : "NULL";
}

/* " name=a,b" ("NULL" for a NULL vector). */
static void put_strv(ck_buf *b, const char *name, char *const *v)
{
	ck_buf_printf(b, " %s=%s", name, v ? "" : "NULL");
	for (size_t i = 0; v && v[i]; i++)
		ck_buf_printf(b, "%s%s", i ? "," : "", v[i]);
}

/* Checks every field of *s against want, then clears it. */
static void expect_sandbox(cri_sandbox *s, const char *want)
{
	_cleanup_buf_ ck_buf b = {0};
	ck_buf_printf(&b, "%s %s/%s uid=%s attempt=%u state=%d created=%lld ip=%s netns=%d",
	              str(s->id), str(s->namespace), str(s->name), str(s->uid), s->attempt,
	              s->state, (long long)s->created_at, str(s->ip), s->network_mode);
	put_strv(&b, "ips", s->additional_ips);
	put_strv(&b, "labels", s->labels);
	put_strv(&b, "annotations", s->annotations);
	assert_string_equal(ck_buf_str(&b), want);
	cri_sandbox_clear(s);
}

/* Checks every field of *c against want, then clears it. */
static void expect_container(cri_container *c, const char *want)
{
	_cleanup_buf_ ck_buf b = {0};
	ck_buf_printf(&b,
	              "%s sandbox=%s %s attempt=%u image=%s ref=%s state=%d created=%lld "
	              "started=%lld finished=%lld exit=%d reason=%s message=%s log=%s",
	              str(c->id), str(c->sandbox_id), str(c->name), c->attempt, str(c->image),
	              str(c->image_ref), c->state, (long long)c->created_at,
	              (long long)c->started_at, (long long)c->finished_at, c->exit_code,
	              str(c->reason), str(c->message), str(c->log_path));
	put_strv(&b, "labels", c->labels);
	put_strv(&b, "annotations", c->annotations);
	assert_string_equal(ck_buf_str(&b), want);
	cri_container_clear(c);
	assert_null(c->id);
}

static void test_sandbox(void **state)
{
	(void)state;
	cri_sandbox s = {0};
	Runtime__V1__PodSandbox item = {.id = "sb1",
	                                .metadata = &sandbox_meta,
	                                .state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY,
	                                .created_at = 1234,
	                                LABELS(Runtime__V1__PodSandbox__LabelsEntry)};
	cri__sandbox_from_list(&s, &item);
	expect_sandbox(&s, "sb1 default/web uid=u1 attempt=2 state=0 created=1234 ip=NULL "
	                   "netns=0 ips= labels=app,web annotations=");
	assert_null(s.id);

	Runtime__V1__PodIP extra = {.ip = "fd00::2"};
	Runtime__V1__PodIP *extras[] = {&extra};
	Runtime__V1__PodSandboxNetworkStatus net = {
	    .ip = "10.244.1.2", .n_additional_ips = 1, .additional_ips = extras};
	Runtime__V1__NamespaceOption opts = {.network = RUNTIME__V1__NAMESPACE_MODE__NODE};
	Runtime__V1__Namespace ns = {.options = &opts};
	Runtime__V1__LinuxPodSandboxStatus lx = {.namespaces = &ns};
	Runtime__V1__PodSandboxStatus st = {.id = "sb1",
	                                    .metadata = &sandbox_meta,
	                                    .state =
	                                        RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY,
	                                    .created_at = 1234,
	                                    .network = &net,
	                                    .linux = &lx,
	                                    LABELS(Runtime__V1__PodSandboxStatus__LabelsEntry)};
	cri__sandbox_from_status(&s, &st);
	expect_sandbox(&s, "sb1 default/web uid=u1 attempt=2 state=1 created=1234 "
	                   "ip=10.244.1.2 netns=2 ips=fd00::2 labels=app,web annotations=");

	/* no metadata, no namespaces: names stay NULL; an empty IP is none */
	st.metadata = NULL;
	st.linux = NULL;
	net.ip = "";
	net.n_additional_ips = 0;
	cri__sandbox_from_status(&s, &st);
	expect_sandbox(&s, "sb1 NULL/NULL uid=NULL attempt=0 state=1 created=1234 ip=NULL "
	                   "netns=0 ips= labels=app,web annotations=");
	/* no network status at all */
	st.network = NULL;
	cri__sandbox_from_status(&s, &st);
	expect_sandbox(&s, "sb1 NULL/NULL uid=NULL attempt=0 state=1 created=1234 ip=NULL "
	                   "netns=0 ips= labels=app,web annotations=");
}

static void test_container(void **state)
{
	(void)state;
	cri_container c = {0};
	Runtime__V1__Container item = {.id = "c1",
	                               .pod_sandbox_id = "sb1",
	                               .metadata = &container_meta,
	                               .image = &image,
	                               .image_ref = "sha256:abc",
	                               .state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING,
	                               .created_at = 1234,
	                               LABELS(Runtime__V1__Container__LabelsEntry)};
	cri__container_from_list(&c, &item);
	expect_container(&c, "c1 sandbox=sb1 main attempt=3 image=nginx:1 ref=sha256:abc "
	                     "state=1 created=1234 started=0 finished=0 exit=0 reason=NULL "
	                     "message=NULL log=NULL labels=app,web annotations=");
	/* no metadata, no image: "" rather than NULL (a status reads them alike) */
	item.metadata = NULL;
	item.image = NULL;
	cri__container_from_list(&c, &item);
	expect_container(&c, "c1 sandbox=sb1  attempt=0 image= ref=sha256:abc state=1 "
	                     "created=1234 started=0 finished=0 exit=0 reason=NULL message=NULL "
	                     "log=NULL labels=app,web annotations=");

	Runtime__V1__ContainerStatus st = {.id = "c1",
	                                   .metadata = &container_meta,
	                                   .state = RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED,
	                                   .created_at = 1234,
	                                   .started_at = 1300,
	                                   .finished_at = 1400,
	                                   .exit_code = 137,
	                                   .image = &image,
	                                   .image_ref = "sha256:abc",
	                                   .reason = "OOMKilled",
	                                   .message = "",
	                                   .log_path = "main/3.log",
	                                   LABELS(Runtime__V1__ContainerStatus__LabelsEntry)};
	cri__container_from_status(&c, &st);
	expect_container(&c, "c1 sandbox=NULL main attempt=3 image=nginx:1 ref=sha256:abc "
	                     "state=2 created=1234 started=1300 finished=1400 exit=137 "
	                     "reason=OOMKilled message=NULL log=main/3.log labels=app,web "
	                     "annotations=");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sandbox),
	    cmocka_unit_test(test_container),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
