/* The etcd test harness itself: a member that serves, cleanup on stop, kill/restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "etcd/rpc.pb-c.h"
#include "etcd_harness.h"
#include "net/grpc.h"

static int put_sync(const char *target, const char *key, const char *val, ck_err **err)
{
	ckgrpc_channel *ch = NULL;
	int r = ckgrpc_channel_new(target, NULL, &ch, err);
	if (r < 0)
		return r;
	Etcdserverpb__PutRequest req = ETCDSERVERPB__PUT_REQUEST__INIT;
	req.key = (ProtobufCBinaryData){strlen(key), (uint8_t *)key};
	req.value = (ProtobufCBinaryData){strlen(val), (uint8_t *)val};
	ProtobufCMessage *resp = NULL;
	r = ckgrpc_unary_sync(ch, "/etcdserverpb.KV/Put", &req.base,
	                      &etcdserverpb__put_response__descriptor, 5000, &resp, err);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	ckgrpc_channel_free(ch);
	return r;
}

static void test_single_member(void **state)
{
	etcd_harness *h = NULL;
	_cleanup_err_ ck_err *err = NULL;
	int r = etcd_harness_start(&h, &err);
	if (r < 0)
		fail_msg("start: %s", err->msg);
	assert_int_equal(etcd_harness_size(h), 1);
	assert_non_null(strstr(etcd_harness_endpoints(h), "http://127.0.0.1:"));
	assert_string_equal(etcd_harness_endpoints(h), etcd_harness_endpoint(h, 0));
	pid_t pid = etcd_harness_pid(h, 0);
	assert_true(pid > 0);
	char *dir = ck_strdup(etcd_harness_dir(h));
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	r = put_sync(etcd_harness_target(h, 0), "/harness/a", "1", &err);
	if (r < 0)
		fail_msg("put: %s", err->msg);
	etcd_harness_stop(h);
	/* The process is gone and reaped, the dir removed. */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(stat(dir, &st), -1);
	free(dir);
}

static void test_two_at_once_differ(void **state)
{
	etcd_harness *a = NULL, *b = NULL;
	_cleanup_err_ ck_err *err = NULL;
	if (etcd_harness_start(&a, &err) < 0 || etcd_harness_start(&b, &err) < 0)
		fail_msg("start: %s", err->msg);
	assert_string_not_equal(etcd_harness_endpoints(a), etcd_harness_endpoints(b));
	assert_string_not_equal(etcd_harness_dir(a), etcd_harness_dir(b));
	etcd_harness_stop(b);
	etcd_harness_stop(a);
}

static void test_cluster_kill_restart(void **state)
{
	etcd_harness *h = NULL;
	_cleanup_err_ ck_err *err = NULL;
	if (etcd_harness_start_cluster(3, &h, &err) < 0)
		fail_msg("start cluster: %s", err->msg);
	assert_int_equal(etcd_harness_size(h), 3);
	int leader = etcd_harness_leader(h, &err);
	if (leader < 0)
		fail_msg("leader: %s", err->msg);
	/* A follower goes: the leader stays, so writes never wait for an election. */
	int victim = (leader + 1) % 3, other = (leader + 2) % 3;
	assert_int_equal(etcd_harness_kill(h, victim), 0);
	assert_int_equal(etcd_harness_pid(h, victim), -1);
	assert_int_equal(etcd_harness_kill(h, victim), -ESRCH);
	assert_int_equal(etcd_harness_leader(h, NULL), leader);
	/* Two of three still make a quorum. */
	if (put_sync(etcd_harness_target(h, other), "/harness/b", "2", &err) < 0)
		fail_msg("put with a member down: %s", err->msg);
	if (etcd_harness_restart(h, victim, &err) < 0)
		fail_msg("restart: %s", err->msg);
	assert_true(etcd_harness_pid(h, victim) > 0);
	if (put_sync(etcd_harness_target(h, victim), "/harness/c", "3", &err) < 0)
		fail_msg("put on the restarted member: %s", err->msg);
	etcd_harness_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_member),
	    cmocka_unit_test(test_two_at_once_differ),
	    cmocka_unit_test(test_cluster_kill_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
