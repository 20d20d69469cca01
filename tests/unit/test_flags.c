#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/flags.h"
#include "base/log.h"
#include "base/strbuf.h"

struct opts {
	bool verbose;
	bool dry;
	int port;
	int64_t big;
	char *ns;
	char *out;
	char **admission;
	char **literal;
	int64_t timeout;
};

static struct opts o;

static const ck_flag test_flags[] = {
    {"verbose-mode", 'x', CK_FLAG_BOOL, &o.verbose, "be verbose"},
    {"dry-run", 0, CK_FLAG_BOOL, &o.dry, "only print"},
    {"secure-port", 'p', CK_FLAG_INT, &o.port, "The port"},
    {"big", 0, CK_FLAG_INT64, &o.big, "a big number"},
    {"namespace", 'n', CK_FLAG_STRING, &o.ns, "namespace"},
    {"output", 'o', CK_FLAG_STRING, &o.out, "output format"},
    {"enable-admission-plugins", 0, CK_FLAG_STRV, &o.admission, "plugins"},
    {"from-literal", 0, CK_FLAG_STRARRAY, &o.literal, "literal"},
    {"timeout", 't', CK_FLAG_DURATION, &o.timeout, "timeout"},
    {0},
};

static char *default_plugins[] = {"NamespaceLifecycle", "ServiceAccount", NULL};

static void reset(ck_flags *fs)
{
	memset(&o, 0, sizeof(o));
	o.port = 6443;
	o.ns = "default";
	o.admission = default_plugins;
	o.timeout = 30000;
	memset(fs, 0, sizeof(*fs));
	fs->program = "kube-test";
	fs->summary = "A test program.";
	fs->flags = test_flags;
	ck_log_set_verbosity(0);
}

#define ARGV(...)           ((char *[]){"prog", __VA_ARGS__, NULL})
#define ARGC(...)           ((int)(sizeof((char *[]){"prog", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(fs, err, ...) ck_flags_parse(fs, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), err)

static void test_defaults_kept(void **state)
{
	ck_flags fs;
	reset(&fs);
	char *argv[] = {"prog", NULL};
	assert_int_equal(ck_flags_parse(&fs, 1, argv, NULL), 0);
	assert_int_equal(o.port, 6443);
	assert_string_equal(o.ns, "default");
	assert_ptr_equal(o.admission, default_plugins);
	assert_int_equal(fs.argc, 0);
	assert_null(fs.argv[0]);
	assert_int_equal(fs.argc_at_dash, -1);
	assert_false(ck_flags_changed(&fs, "secure-port"));
	ck_flags_free(&fs);
	/* free leaves literal defaults alone */
	assert_string_equal(o.ns, "default");
}

static void test_long_forms(void **state)
{
	ck_flags fs;
	reset(&fs);
	_cleanup_err_ ck_err *err = NULL;
	assert_int_equal(PARSE(&fs, &err, "--secure-port=8443", "--namespace", "kube-system",
	                       "--verbose-mode", "--dry-run=false", "--big", "-9000000000",
	                       "--timeout=1m30s"),
	                 0);
	assert_int_equal(o.port, 8443);
	assert_string_equal(o.ns, "kube-system");
	assert_true(o.verbose);
	assert_false(o.dry);
	assert_int_equal(o.big, -9000000000LL);
	assert_int_equal(o.timeout, 90000);
	assert_true(ck_flags_changed(&fs, "dry-run"));
	assert_true(ck_flags_changed(&fs, "secure-port"));
	assert_false(ck_flags_changed(&fs, "output"));
	ck_flags_free(&fs);
	assert_null(o.ns);
}

static void test_short_forms(void **state)
{
	ck_flags fs;
	reset(&fs);
	assert_int_equal(PARSE(&fs, NULL, "-n", "ns1", "-owide", "-p=10", "-x"), 0);
	assert_string_equal(o.ns, "ns1");
	assert_string_equal(o.out, "wide");
	assert_int_equal(o.port, 10);
	assert_true(o.verbose);
	ck_flags_free(&fs);

	/* combined: bool then value-taking shorthand */
	reset(&fs);
	assert_int_equal(PARSE(&fs, NULL, "-xn", "ns2", "-o", "json"), 0);
	assert_true(o.verbose);
	assert_string_equal(o.ns, "ns2");
	assert_string_equal(o.out, "json");
	ck_flags_free(&fs);

	reset(&fs);
	assert_int_equal(PARSE(&fs, NULL, "-xnfoo"), 0);
	assert_string_equal(o.ns, "foo");
	ck_flags_free(&fs);

	reset(&fs);
	assert_int_equal(PARSE(&fs, NULL, "-x=false"), 0);
	assert_false(o.verbose);
	ck_flags_free(&fs);
}

static void test_repeated_string_replaces(void **state)
{
	ck_flags fs;
	reset(&fs);
	assert_int_equal(PARSE(&fs, NULL, "-n", "a", "--namespace=b", "-n", "c"), 0);
	assert_string_equal(o.ns, "c");
	ck_flags_free(&fs);
}

static void test_strv(void **state)
{
	ck_flags fs;
	reset(&fs);
	assert_int_equal(PARSE(&fs, NULL, "--enable-admission-plugins=A,B",
	                       "--enable-admission-plugins", "C", "--from-literal=k=a,b",
	                       "--from-literal", "x=y"),
	                 0);
	assert_int_equal(ck_strv_len(o.admission), 3);
	assert_string_equal(o.admission[0], "A");
	assert_string_equal(o.admission[1], "B");
	assert_string_equal(o.admission[2], "C");
	assert_int_equal(ck_strv_len(o.literal), 2);
	assert_string_equal(o.literal[0], "k=a,b");
	assert_string_equal(o.literal[1], "x=y");
	ck_flags_free(&fs);
	assert_null(o.admission);
	assert_null(o.literal);

	reset(&fs);
	assert_int_equal(PARSE(&fs, NULL, "--enable-admission-plugins="), 0);
	assert_non_null(o.admission);
	assert_int_equal(ck_strv_len(o.admission), 0);
	ck_flags_free(&fs);
}

static void test_positionals_and_dash(void **state)
{
	ck_flags fs;
	reset(&fs);
	assert_int_equal(
	    PARSE(&fs, NULL, "get", "-n", "x", "pods", "-", "--", "--secure-port=1", "sh"), 0);
	assert_int_equal(fs.argc, 5);
	assert_string_equal(fs.argv[0], "get");
	assert_string_equal(fs.argv[1], "pods");
	assert_string_equal(fs.argv[2], "-");
	assert_string_equal(fs.argv[3], "--secure-port=1");
	assert_string_equal(fs.argv[4], "sh");
	assert_null(fs.argv[5]);
	assert_int_equal(fs.argc_at_dash, 3);
	assert_int_equal(o.port, 6443);
	assert_string_equal(o.ns, "x");
	ck_flags_free(&fs);
}

static void test_stop_at_positional(void **state)
{
	ck_flags fs;
	reset(&fs);
	fs.stop_at_positional = true;
	assert_int_equal(PARSE(&fs, NULL, "-n", "a", "get", "-n", "b", "--bogus"), 0);
	assert_string_equal(o.ns, "a");
	assert_int_equal(fs.argc, 4);
	assert_string_equal(fs.argv[0], "get");
	assert_string_equal(fs.argv[3], "--bogus");
	ck_flags_free(&fs);
}

static void expect_error(const char *msg, int argc, char **argv)
{
	ck_flags fs;
	reset(&fs);
	_cleanup_err_ ck_err *err = NULL;
	assert_int_equal(ck_flags_parse(&fs, argc, argv, &err), -EINVAL);
	assert_non_null(err);
	assert_int_equal(err->code, -EINVAL);
	assert_null(strchr(err->msg, '\n'));
	if (strcmp(err->msg, msg) != 0)
		fail_msg("got \"%s\", want \"%s\"", err->msg, msg);
	ck_flags_free(&fs);
}
#define EXPECT_ERROR(msg, ...) expect_error(msg, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void test_errors(void **state)
{
	EXPECT_ERROR("unknown flag: --bogus", "--bogus");
	EXPECT_ERROR("unknown flag: --bogus", "--bogus=1");
	EXPECT_ERROR("unknown shorthand flag: 'q' in -q", "-q");
	EXPECT_ERROR("unknown shorthand flag: 'q' in -xq", "-xq");
	EXPECT_ERROR("flag needs an argument: --secure-port", "--secure-port");
	EXPECT_ERROR("flag needs an argument: 'n' in -n", "-n");
	EXPECT_ERROR("invalid argument \"abc\" for \"-p, --secure-port\" flag: invalid syntax",
	             "--secure-port=abc");
	EXPECT_ERROR("invalid argument \"99999999999\" for \"-p, --secure-port\" flag: value out "
	             "of range",
	             "-p", "99999999999");
	EXPECT_ERROR("invalid argument \"maybe\" for \"--dry-run\" flag: not a boolean",
	             "--dry-run=maybe");
	EXPECT_ERROR("invalid argument \"10\" for \"-t, --timeout\" flag: invalid duration (e.g. "
	             "10s, 1m30s, 250ms)",
	             "--timeout=10");
	EXPECT_ERROR("bad flag syntax: ---x", "---x");
	EXPECT_ERROR("invalid argument \"\" for \"-p, --secure-port\" flag: invalid syntax",
	             "--secure-port=");
}

static void test_builtins(void **state)
{
	ck_flags fs;
	reset(&fs);
	assert_int_equal(PARSE(&fs, NULL, "-v=4"), 0);
	assert_int_equal(ck_log_verbosity(), 4);
	ck_flags_free(&fs);
	reset(&fs);
	assert_int_equal(PARSE(&fs, NULL, "--v", "3", "--help"), 0);
	assert_int_equal(ck_log_verbosity(), 3);
	assert_true(fs.help);
	assert_false(fs.version);
	ck_flags_free(&fs);
	reset(&fs);
	assert_int_equal(PARSE(&fs, NULL, "-v5", "-h", "--version"), 0);
	assert_int_equal(ck_log_verbosity(), 5);
	assert_true(fs.help);
	assert_true(fs.version);
	ck_flags_free(&fs);
	reset(&fs);
	assert_int_equal(PARSE(&fs, NULL, "-v", "x"), -EINVAL);
	ck_flags_free(&fs);
	ck_log_set_verbosity(0);
}

static void test_global_flags(void **state)
{
	ck_flags fs;
	reset(&fs);
	bool all = false;
	const ck_flag local[] = {{"all-namespaces", 'A', CK_FLAG_BOOL, &all, "all"}, {0}};
	fs.flags = local;
	fs.global_flags = test_flags;
	assert_int_equal(PARSE(&fs, NULL, "-A", "-n", "q"), 0);
	assert_true(all);
	assert_string_equal(o.ns, "q");
	assert_ptr_equal(ck_flags_lookup(&fs, "namespace"), &test_flags[4]);
	assert_null(ck_flags_lookup(&fs, "nope"));
	_cleanup_free_ char *u = ck_flags_usage_string(&fs);
	char *g = strstr(u, "Global Flags:");
	assert_non_null(g);
	assert_true(strstr(u, "--all-namespaces") < g);
	assert_true(strstr(u, "--namespace") > g);
	ck_flags_free(&fs);
}

static void test_usage(void **state)
{
	ck_flags fs;
	reset(&fs);
	_cleanup_free_ char *u = ck_flags_usage_string(&fs);
	assert_true(
	    ck_str_has_prefix(u, "A test program.\n\nUsage:\n  kube-test [flags]\n\nFlags:\n"));
	assert_non_null(strstr(u, "  -p, --secure-port int"));
	assert_non_null(strstr(u, "The port (default 6443)\n"));
	assert_non_null(strstr(u, "namespace (default \"default\")\n"));
	assert_non_null(strstr(u, "--enable-admission-plugins strings"));
	assert_non_null(strstr(u, "plugins (default [NamespaceLifecycle,ServiceAccount])\n"));
	assert_non_null(strstr(u, "timeout (default 30s)\n"));
	assert_non_null(strstr(u, "only print\n")); /* false bool: no default shown */
	assert_non_null(strstr(u, "  -h, --help"));
	assert_non_null(strstr(u, "help for kube-test\n"));
	assert_non_null(strstr(u, "      --version"));
	assert_non_null(strstr(u, "  -v, --v int"));
	/* usage column aligned: every "   " separator at the same offset */
	const char *a = strstr(u, "  -p, --secure-port int");
	const char *b = strstr(u, "      --dry-run");
	assert_int_equal(strstr(a, "The port") - a, strstr(b, "only print") - b);
}

static void test_no_opt_default_hidden_deprecated(void **state)
{
	char *validate = "strict-default";
	char *cascade = "background";
	int old = 0, secret = 0;
	const ck_flag flags[] = {
	    {"validate", 0, CK_FLAG_STRING, &validate, "validate", .no_opt_default = "strict"},
	    {"cascade", 'c', CK_FLAG_STRING, &cascade, "cascade", .no_opt_default = "bg"},
	    {"old-port", 0, CK_FLAG_INT, &old, "old", .deprecated = "use --port instead"},
	    {"secret", 0, CK_FLAG_INT, &secret, "secret knob", .hidden = true},
	    {0},
	};
	ck_flags fs = {.program = "p", .flags = flags};
	assert_int_equal(PARSE(&fs, NULL, "--validate", "file.yaml", "--cascade=orphan",
	                       "--old-port", "5", "--old-port=6", "--secret=3"),
	                 0);
	assert_string_equal(validate, "strict");
	assert_string_equal(cascade, "orphan");
	assert_int_equal(old, 6);
	assert_int_equal(secret, 3);
	assert_int_equal(fs.argc, 1);
	assert_string_equal(fs.argv[0], "file.yaml");
	/* one warning per deprecated flag, however often it is used */
	assert_int_equal(ck_strv_len(fs.warnings), 1);
	assert_string_equal(fs.warnings[0],
	                    "Flag --old-port has been deprecated, use --port instead");
	_cleanup_free_ char *u = ck_flags_usage_string(&fs);
	assert_null(strstr(u, "old-port"));
	assert_null(strstr(u, "secret"));
	assert_non_null(strstr(u, "      --validate string[=\"strict\"]"));
	ck_flags_free(&fs);
	assert_null(fs.warnings);

	validate = "x";
	ck_flags fs2 = {.program = "p", .flags = flags};
	assert_int_equal(PARSE(&fs2, NULL, "-c", "--validate=false"), 0);
	assert_string_equal(cascade, "bg");
	assert_string_equal(validate, "false");
	assert_null(fs2.warnings);
	ck_flags_free(&fs2);
}

static void test_ignore_unknown(void **state)
{
	ck_flags fs;
	reset(&fs);
	fs.ignore_unknown = true;
	assert_int_equal(PARSE(&fs, NULL, "--allow-privileged=true", "--authorization-mode",
	                       "Node,RBAC", "--enable-bootstrap-token-auth", "--secure-port", "1",
	                       "-Q", "-n", "x", "pos"),
	                 0);
	assert_int_equal(o.port, 1);
	assert_string_equal(o.ns, "x");
	assert_int_equal(fs.argc, 1);
	assert_string_equal(fs.argv[0], "pos");
	assert_int_equal(ck_strv_len(fs.warnings), 4);
	assert_string_equal(fs.warnings[0], "unknown flag --allow-privileged=true ignored");
	assert_string_equal(fs.warnings[1], "unknown flag --authorization-mode ignored");
	ck_flags_free(&fs);
}

static void test_duration(void **state)
{
	struct {
		const char *in;
		int64_t ms;
	} ok[] = {
	    {"0", 0},          {"10s", 10000},    {"1m30s", 90000},   {"250ms", 250},
	    {"1.5s", 1500},    {"1h", 3600000},   {"2h45m", 9900000}, {"-1m", -60000},
	    {"+5s", 5000},     {".5s", 500},      {"1500us", 1},      {"2000000ns", 2},
	    {"1\xc2\xb5s", 0}, {"1.5h", 5400000}, {"3.s", 3000},
	};
	for (size_t i = 0; i < CK_ARRAY_SIZE(ok); i++) {
		int64_t ms = -1;
		if (ck_duration_parse(ok[i].in, &ms) != 0 || ms != ok[i].ms)
			fail_msg("%s: got %lld", ok[i].in, (long long)ms);
	}
	const char *bad[] = {"", "10", "s", "1x", "1.s.", ".s", "-", "1h 2m", "9999999999999h"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(bad); i++) {
		int64_t ms = 0;
		if (ck_duration_parse(bad[i], &ms) == 0)
			fail_msg("%s accepted", bad[i]);
	}
	struct {
		int64_t ms;
		const char *out;
	} fmt[] = {{0, "0s"},         {250, "250ms"},   {1500, "1.5s"},
	           {10000, "10s"},    {90000, "1m30s"}, {3600000, "1h0m0s"},
	           {-60000, "-1m0s"}, {1001, "1.001s"}, {3723100, "1h2m3.1s"}};
	for (size_t i = 0; i < CK_ARRAY_SIZE(fmt); i++) {
		_cleanup_free_ char *s = ck_duration_format(fmt[i].ms);
		assert_string_equal(s, fmt[i].out);
	}
}

static int run_child(const char *const *args, int nargs, char *out, size_t outsz)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		ck_flags fs;
		reset(&fs);
		char *argv[16] = {"prog"};
		for (int i = 0; i < nargs; i++)
			argv[i + 1] = (char *)args[i];
		ck_flags_parse_or_exit(&fs, nargs + 1, argv);
		_exit(42);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n < outsz - 1 && (r = read(p[0], out + n, outsz - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_parse_or_exit(void **state)
{
	char out[8192];
	const char *bogus[] = {"--bogus"};
	assert_int_equal(run_child(bogus, 1, out, sizeof(out)), 2);
	assert_string_equal(out, "kube-test: unknown flag: --bogus\n");
	const char *help[] = {"--help"};
	assert_int_equal(run_child(help, 1, out, sizeof(out)), 0);
	assert_true(ck_str_has_prefix(out, "A test program."));
	const char *version[] = {"--version"};
	assert_int_equal(run_child(version, 1, out, sizeof(out)), 0);
	assert_true(ck_str_has_prefix(out, "kube-test v"));
	const char *fine[] = {"-p", "1"};
	assert_int_equal(run_child(fine, 2, out, sizeof(out)), 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_kept),
	    cmocka_unit_test(test_long_forms),
	    cmocka_unit_test(test_short_forms),
	    cmocka_unit_test(test_repeated_string_replaces),
	    cmocka_unit_test(test_strv),
	    cmocka_unit_test(test_positionals_and_dash),
	    cmocka_unit_test(test_stop_at_positional),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_builtins),
	    cmocka_unit_test(test_global_flags),
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_no_opt_default_hidden_deprecated),
	    cmocka_unit_test(test_ignore_unknown),
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_parse_or_exit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
