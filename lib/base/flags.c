#include "base/flags.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"

/* Built-in flags, used only when the program does not declare the same name. */
static const ck_flag builtin_flags[] = {
    {"help", 'h', CK_FLAG_BOOL, NULL, "help for this command"},
    {"version", 0, CK_FLAG_BOOL, NULL, "Print version information and quit"},
    {"v", 'v', CK_FLAG_INT, NULL, "number for the log level verbosity"},
    {NULL, 0, 0, NULL, NULL},
};

/* Per-parse state: which flags were set (and so own their string values). */
typedef struct flags_state {
	const ck_flag **changed; /* NULL-terminated */
	size_t n_changed;
} flags_state;

static flags_state *flags_priv(ck_flags *fs)
{
	if (!fs->priv)
		fs->priv = ck_calloc(1, sizeof(flags_state));
	return fs->priv;
}

static bool flags_is_changed(const ck_flags *fs, const ck_flag *f)
{
	const flags_state *st = fs->priv;
	for (size_t i = 0; st && i < st->n_changed; i++)
		if (st->changed[i] == f)
			return true;
	return false;
}

static void flags_mark_changed(ck_flags *fs, const ck_flag *f)
{
	if (flags_is_changed(fs, f))
		return;
	flags_state *st = flags_priv(fs);
	st->changed = ck_realloc(st->changed, (st->n_changed + 1) * sizeof(*st->changed));
	st->changed[st->n_changed++] = f;
}

static const ck_flag *find_in(const ck_flag *list, const char *name, size_t name_len,
                              char shorthand)
{
	for (size_t i = 0; list && list[i].name; i++) {
		if (shorthand ? list[i].shorthand == shorthand
		              : strlen(list[i].name) == name_len &&
		                    memcmp(list[i].name, name, name_len) == 0)
			return &list[i];
	}
	return NULL;
}

static const ck_flag *flags_find(const ck_flags *fs, const char *name, size_t name_len,
                                 char shorthand)
{
	const ck_flag *f = find_in(fs->flags, name, name_len, shorthand);
	if (!f)
		f = find_in(fs->global_flags, name, name_len, shorthand);
	if (!f)
		f = find_in(builtin_flags, name, name_len, shorthand);
	return f;
}

const ck_flag *ck_flags_lookup(const ck_flags *fs, const char *name)
{
	const ck_flag *f = find_in(fs->flags, name, strlen(name), 0);
	return f ? f : find_in(fs->global_flags, name, strlen(name), 0);
}

bool ck_flags_changed(const ck_flags *fs, const char *name)
{
	const ck_flag *f = flags_find(fs, name, strlen(name), 0);
	return f && flags_is_changed(fs, f);
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
	static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
	for (size_t i = 0; i < CK_ARRAY_SIZE(yes); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_int64(const char *s, int64_t *out)
{
	if (!*s || (*s != '-' && *s != '+' && (*s < '0' || *s > '9')))
		return -EINVAL;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

typedef struct dur_unit {
	const char *name;
	uint64_t ns;
} dur_unit;

static const dur_unit dur_units[] = {
    {"ns", 1ULL},
    {"us", 1000ULL},
    {"\xc2\xb5s", 1000ULL}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000ULL}, /* U+03BC Greek mu */
    {"ms", 1000000ULL},
    {"s", 1000000000ULL},
    {"m", 60ULL * 1000000000ULL},
    {"h", 3600ULL * 1000000000ULL},
};

int ck_duration_parse_ns(const char *s, int64_t *ns)
{
	if (!s)
		return -EINVAL;
	bool neg = false;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	uint64_t total = 0; /* nanoseconds */
	while (*s) {
		if (!(*s == '.' || (*s >= '0' && *s <= '9')))
			return -EINVAL;
		uint64_t v = 0;
		bool pre = false, post = false;
		while (*s >= '0' && *s <= '9') {
			if (v > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			v = v * 10 + (uint64_t)(*s++ - '0');
			pre = true;
		}
		double frac = 0, scale = 1;
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9') {
				if (scale < 1e18) {
					frac = frac * 10 + (*s - '0');
					scale *= 10;
				}
				s++;
				post = true;
			}
		}
		if (!pre && !post)
			return -EINVAL;
		size_t ulen = 0;
		while (s[ulen] && s[ulen] != '.' && (s[ulen] < '0' || s[ulen] > '9'))
			ulen++;
		if (ulen == 0)
			return -EINVAL; /* missing unit */
		const dur_unit *u = NULL;
		for (size_t i = 0; i < CK_ARRAY_SIZE(dur_units); i++)
			if (strlen(dur_units[i].name) == ulen &&
			    memcmp(dur_units[i].name, s, ulen) == 0)
				u = &dur_units[i];
		if (!u)
			return -EINVAL;
		s += ulen;
		if (v > (uint64_t)INT64_MAX / u->ns)
			return -ERANGE;
		v *= u->ns;
		if (post)
			v += (uint64_t)(frac * ((double)u->ns / scale));
		if (v > (uint64_t)INT64_MAX - total)
			return -ERANGE;
		total += v;
	}
	*ns = neg ? -(int64_t)total : (int64_t)total;
	return 0;
}

int ck_duration_parse(const char *s, int64_t *ms)
{
	int64_t ns;
	int r = ck_duration_parse_ns(s, &ns);
	if (r < 0)
		return r;
	*ms = ns / 1000000; /* truncated toward zero */
	return 0;
}

char *ck_duration_format(int64_t ms)
{
	uint64_t u = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
	const char *sign = ms < 0 ? "-" : "";
	if (u == 0)
		return ck_strdup("0s");
	if (u < 1000)
		return ck_asprintf("%s%" PRIu64 "ms", sign, u);
	ck_buf b = {0};
	ck_buf_puts(&b, sign);
	uint64_t mins = u / 60000, h = mins / 60, m = mins % 60;
	uint64_t sec = (u % 60000) / 1000, frac = u % 1000;
	if (h)
		ck_buf_printf(&b, "%" PRIu64 "h", h);
	if (mins)
		ck_buf_printf(&b, "%" PRIu64 "m", m);
	ck_buf_printf(&b, "%" PRIu64, sec);
	if (frac) {
		char digits[4];
		snprintf(digits, sizeof(digits), "%03u", (unsigned)frac);
		for (int i = 2; i > 0 && digits[i] == '0'; i--)
			digits[i] = '\0';
		ck_buf_printf(&b, ".%s", digits);
	}
	ck_buf_putc(&b, 's');
	return ck_buf_steal(&b);
}

static char *flag_display(const ck_flag *f)
{
	if (f->shorthand)
		return ck_asprintf("-%c, --%s", f->shorthand, f->name);
	return ck_asprintf("--%s", f->name);
}

static int flag_invalid(ck_err **err, const ck_flag *f, const char *val, const char *why)
{
	_cleanup_free_ char *disp = flag_display(f);
	return ck_err_set(err, -EINVAL, "invalid argument \"%s\" for \"%s\" flag: %s", val, disp,
	                  why);
}

static void strv_append_values(ck_flags *fs, const ck_flag *f, const char *val, bool split)
{
	char ***vp = f->value;
	/* The first use replaces the default, later uses append (pflag StringSlice). */
	if (!flags_is_changed(fs, f))
		*vp = ck_calloc(1, sizeof(char *));
	if (!split) {
		ck_strv_add(vp, val);
		return;
	}
	char **parts = ck_strv_split(val, ",");
	for (size_t i = 0; parts[i]; i++)
		ck_strv_push(vp, parts[i]);
	free(parts);
}

static int flag_set_value(ck_flags *fs, const ck_flag *f, const char *val, ck_err **err);

static int flag_set(ck_flags *fs, const ck_flag *f, const char *val, ck_err **err)
{
	if (f->deprecated && !flags_is_changed(fs, f))
		ck_strv_push(&fs->warnings, ck_asprintf("Flag --%s has been deprecated, %s",
		                                        f->name, f->deprecated));
	return flag_set_value(fs, f, val, err);
}

static int flag_set_value(ck_flags *fs, const ck_flag *f, const char *val, ck_err **err)
{
	int64_t i64 = 0;
	bool b = false;
	int r;

	if (!f->value) { /* built-in */
		if (strcmp(f->name, "v") == 0) {
			r = parse_int64(val, &i64);
			if (r < 0 || i64 < 0 || i64 > INT_MAX)
				return flag_invalid(err, f, val, "not a non-negative integer");
			ck_log_set_verbosity((int)i64);
		} else {
			if (parse_bool(val, &b) < 0)
				return flag_invalid(err, f, val, "not a boolean");
			if (strcmp(f->name, "help") == 0)
				fs->help = b;
			else
				fs->version = b;
		}
		flags_mark_changed(fs, f);
		return 0;
	}

	switch (f->type) {
	case CK_FLAG_BOOL:
		if (parse_bool(val, &b) < 0)
			return flag_invalid(err, f, val, "not a boolean");
		*(bool *)f->value = b;
		break;
	case CK_FLAG_INT:
		r = parse_int64(val, &i64);
		if (r == 0 && (i64 < INT_MIN || i64 > INT_MAX))
			r = -ERANGE;
		if (r < 0)
			return flag_invalid(err, f, val,
			                    r == -ERANGE ? "value out of range" : "invalid syntax");
		*(int *)f->value = (int)i64;
		break;
	case CK_FLAG_INT64:
		r = parse_int64(val, &i64);
		if (r < 0)
			return flag_invalid(err, f, val,
			                    r == -ERANGE ? "value out of range" : "invalid syntax");
		*(int64_t *)f->value = i64;
		break;
	case CK_FLAG_DURATION:
		r = ck_duration_parse(val, &i64);
		if (r < 0)
			return flag_invalid(err, f, val,
			                    r == -ERANGE
			                        ? "duration out of range"
			                        : "invalid duration (e.g. 10s, 1m30s, 250ms)");
		*(int64_t *)f->value = i64;
		break;
	case CK_FLAG_STRING: {
		char **sp = f->value;
		if (flags_is_changed(fs, f))
			free(*sp);
		*sp = ck_strdup(val);
		break;
	}
	case CK_FLAG_STRV:
	case CK_FLAG_STRARRAY:
		strv_append_values(fs, f, val, f->type == CK_FLAG_STRV);
		break;
	default:
		return ck_err_set(err, -EINVAL, "flag --%s has an unknown type", f->name);
	}
	flags_mark_changed(fs, f);
	return 0;
}

static void add_positional(ck_flags *fs, char *arg)
{
	fs->argv = ck_realloc(fs->argv, ((size_t)fs->argc + 2) * sizeof(char *));
	fs->argv[fs->argc++] = arg;
	fs->argv[fs->argc] = NULL;
}

/* Drops the unknown flag argv[*i] (and its value when may_take_next and the next argument
 * does not look like a flag), leaving a warning. */
static void skip_unknown(ck_flags *fs, int argc, char **argv, int *i, bool may_take_next)
{
	ck_strv_push(&fs->warnings, ck_asprintf("unknown flag %s ignored", argv[*i]));
	if (may_take_next && *i + 1 < argc && argv[*i + 1][0] != '-')
		++*i;
}

static int parse_long(ck_flags *fs, int argc, char **argv, int *i, ck_err **err)
{
	const char *arg = argv[*i];
	const char *name = arg + 2;
	if (!*name || *name == '-' || *name == '=')
		return ck_err_set(err, -EINVAL, "bad flag syntax: %s", arg);
	const char *eq = strchr(name, '=');
	size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
	const ck_flag *f = flags_find(fs, name, name_len, 0);
	if (!f && fs->ignore_unknown) {
		skip_unknown(fs, argc, argv, i, !eq);
		return 0;
	}
	if (!f)
		return ck_err_set(err, -EINVAL, "unknown flag: --%.*s", (int)name_len, name);
	if (eq)
		return flag_set(fs, f, eq + 1, err);
	if (f->type == CK_FLAG_BOOL)
		return flag_set(fs, f, "true", err);
	if (f->no_opt_default)
		return flag_set(fs, f, f->no_opt_default, err);
	if (*i + 1 >= argc)
		return ck_err_set(err, -EINVAL, "flag needs an argument: --%s", f->name);
	return flag_set(fs, f, argv[++*i], err);
}

static int parse_short(ck_flags *fs, int argc, char **argv, int *i, ck_err **err)
{
	const char *arg = argv[*i];
	for (const char *p = arg + 1; *p; p++) {
		const ck_flag *f = flags_find(fs, NULL, 0, *p);
		if (!f && fs->ignore_unknown) {
			skip_unknown(fs, argc, argv, i, p[1] == '\0');
			return 0;
		}
		if (!f)
			return ck_err_set(err, -EINVAL, "unknown shorthand flag: '%c' in %s", *p,
			                  arg);
		if (p[1] == '=')
			return flag_set(fs, f, p + 2, err);
		if (f->type == CK_FLAG_BOOL) {
			int r = flag_set(fs, f, "true", err);
			if (r < 0)
				return r;
			continue;
		}
		if (p[1])
			return flag_set(fs, f, p + 1, err);
		if (f->no_opt_default)
			return flag_set(fs, f, f->no_opt_default, err);
		if (*i + 1 >= argc)
			return ck_err_set(err, -EINVAL, "flag needs an argument: '%c' in -%c", *p,
			                  *p);
		return flag_set(fs, f, argv[++*i], err);
	}
	return 0;
}

int ck_flags_parse(ck_flags *fs, int argc, char **argv, ck_err **err)
{
	fs->argc = 0;
	fs->argv = ck_calloc(1, sizeof(char *));
	fs->argc_at_dash = -1;
	for (int i = 1; i < argc; i++) {
		char *arg = argv[i];
		if (strcmp(arg, "--") == 0) {
			fs->argc_at_dash = fs->argc;
			for (i++; i < argc; i++)
				add_positional(fs, argv[i]);
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0') {
			if (fs->stop_at_positional) {
				for (; i < argc; i++)
					add_positional(fs, argv[i]);
				break;
			}
			add_positional(fs, arg);
			continue;
		}
		int r = arg[1] == '-' ? parse_long(fs, argc, argv, &i, err)
		                      : parse_short(fs, argc, argv, &i, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *type_name(const ck_flag *f)
{
	switch (f->type) {
	case CK_FLAG_BOOL:
		return "";
	case CK_FLAG_INT:
		return "int";
	case CK_FLAG_INT64:
		return "int64";
	case CK_FLAG_STRING:
		return "string";
	case CK_FLAG_STRV:
		return "strings";
	case CK_FLAG_STRARRAY:
		return "stringArray";
	case CK_FLAG_DURATION:
		return "duration";
	}
	return "";
}

/* " (default ...)" for non-zero defaults, as pflag prints them; "" otherwise. */
static char *default_text(const ck_flag *f)
{
	if (!f->value)
		return ck_strdup("");
	switch (f->type) {
	case CK_FLAG_BOOL:
		return ck_strdup(*(bool *)f->value ? " (default true)" : "");
	case CK_FLAG_INT:
		if (*(int *)f->value)
			return ck_asprintf(" (default %d)", *(int *)f->value);
		break;
	case CK_FLAG_INT64:
		if (*(int64_t *)f->value)
			return ck_asprintf(" (default %" PRId64 ")", *(int64_t *)f->value);
		break;
	case CK_FLAG_DURATION:
		if (*(int64_t *)f->value) {
			_cleanup_free_ char *d = ck_duration_format(*(int64_t *)f->value);
			return ck_asprintf(" (default %s)", d);
		}
		break;
	case CK_FLAG_STRING: {
		const char *s = *(char **)f->value;
		if (s && *s)
			return ck_asprintf(" (default \"%s\")", s);
		break;
	}
	case CK_FLAG_STRV:
	case CK_FLAG_STRARRAY: {
		char **v = *(char ***)f->value;
		if (ck_strv_len(v)) {
			_cleanup_free_ char *j = ck_strv_join(v, ",");
			return ck_asprintf(" (default [%s])", j);
		}
		break;
	}
	}
	return ck_strdup("");
}

static char *flag_left(const ck_flag *f)
{
	const char *t = type_name(f);
	if (f->no_opt_default && f->type != CK_FLAG_BOOL) {
		_cleanup_free_ char *ft = ck_asprintf("%s[=\"%s\"]", t, f->no_opt_default);
		if (f->shorthand)
			return ck_asprintf("  -%c, --%s %s", f->shorthand, f->name, ft);
		return ck_asprintf("      --%s %s", f->name, ft);
	}
	if (f->shorthand)
		return ck_asprintf("  -%c, --%s%s%s", f->shorthand, f->name, *t ? " " : "", t);
	return ck_asprintf("      --%s%s%s", f->name, *t ? " " : "", t);
}

static size_t left_width(const ck_flag *list, size_t w)
{
	for (size_t i = 0; list && list[i].name; i++) {
		if (list[i].hidden || list[i].deprecated)
			continue;
		_cleanup_free_ char *l = flag_left(&list[i]);
		if (strlen(l) > w)
			w = strlen(l);
	}
	return w;
}

static void usage_list(ck_buf *b, const ck_flags *fs, const ck_flag *list, size_t w, bool builtins)
{
	for (size_t i = 0; list && list[i].name; i++) {
		const ck_flag *f = &list[i];
		if (builtins && flags_find(fs, f->name, strlen(f->name), 0) != f)
			continue; /* shadowed by a program flag */
		if (f->hidden || f->deprecated)
			continue;
		_cleanup_free_ char *l = flag_left(f);
		_cleanup_free_ char *d = default_text(f);
		const char *usage = f->usage ? f->usage : "";
		if (builtins && strcmp(f->name, "help") == 0)
			ck_buf_printf(b, "%-*s   help for %s\n", (int)w, l,
			              fs->program ? fs->program : "this command");
		else
			ck_buf_printf(b, "%-*s   %s%s\n", (int)w, l, usage, d);
	}
}

char *ck_flags_usage_string(const ck_flags *fs)
{
	ck_buf b = {0};
	const char *prog = fs->program ? fs->program : "program";
	if (fs->summary)
		ck_buf_printf(&b, "%s\n\n", fs->summary);
	ck_buf_printf(&b, "Usage:\n  %s %s\n\n", prog, fs->usage_args ? fs->usage_args : "[flags]");
	size_t w = left_width(fs->flags, 0);
	w = left_width(fs->global_flags, w);
	w = left_width(builtin_flags, w);
	ck_buf_puts(&b, "Flags:\n");
	usage_list(&b, fs, fs->flags, w, false);
	if (!fs->global_flags)
		usage_list(&b, fs, builtin_flags, w, true);
	if (fs->global_flags) {
		ck_buf_puts(&b, "\nGlobal Flags:\n");
		usage_list(&b, fs, fs->global_flags, w, false);
		usage_list(&b, fs, builtin_flags, w, true);
	}
	return ck_buf_steal(&b);
}

void ck_flags_usage(const ck_flags *fs)
{
	_cleanup_free_ char *s = ck_flags_usage_string(fs);
	fputs(s, stdout);
	fflush(stdout);
}

void ck_flags_parse_or_exit(ck_flags *fs, int argc, char **argv)
{
	_cleanup_err_ ck_err *err = NULL;
	int r = ck_flags_parse(fs, argc, argv, &err);
	for (size_t i = 0; fs->warnings && fs->warnings[i]; i++)
		fprintf(stderr, "%s\n", fs->warnings[i]);
	if (r < 0) {
		const char *prog = fs->program ? fs->program : (argc > 0 ? argv[0] : "program");
		fprintf(stderr, "%s: %s\n", prog, err ? err->msg : "invalid arguments");
		exit(2);
	}
	if (fs->help) {
		ck_flags_usage(fs);
		exit(0);
	}
	if (fs->version) {
		printf("%s %s\n", fs->program ? fs->program : argv[0], CKUBE_VERSION);
		fflush(stdout);
		exit(0);
	}
}

void ck_flags_free(ck_flags *fs)
{
	if (!fs)
		return;
	flags_state *st = fs->priv;
	for (size_t i = 0; st && i < st->n_changed; i++) {
		const ck_flag *f = st->changed[i];
		if (!f->value)
			continue;
		if (f->type == CK_FLAG_STRING) {
			char **sp = f->value;
			free(*sp);
			*sp = NULL;
		} else if (f->type == CK_FLAG_STRV || f->type == CK_FLAG_STRARRAY) {
			char ***vp = f->value;
			*vp = ck_strv_free(*vp);
		}
	}
	if (st)
		free(st->changed);
	free(st);
	fs->priv = NULL;
	free(fs->argv);
	fs->argv = NULL;
	fs->argc = 0;
	fs->warnings = ck_strv_free(fs->warnings);
}
