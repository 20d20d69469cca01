/* flags: command-line flags in upstream (pflag/klog) style.
 *   --name=value, --name value, -n value (short aliases), booleans as --flag,
 *   --flag=true|false, repeated flags (CK_FLAG_STRV: each use appends, and a
 *   comma-separated value is split), `--` ends flags, positional arguments kept.
 * Every flag set gets -h/--help (generated usage) and -v/--v=N (log verbosity).
 * An unknown or malformed flag is an error whose message is one line, e.g.
 *   "unknown flag: --bogus"  /  "invalid argument \"x\" for \"--port\" flag: ..."
 * and callers exit with code 2 (ck_flags_parse_or_exit does it for main()). */
#ifndef CK_BASE_FLAGS_H
#define CK_BASE_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

enum ck_flag_type {
	CK_FLAG_BOOL,     /* bool * */
	CK_FLAG_INT,      /* int * */
	CK_FLAG_INT64,    /* int64_t * */
	CK_FLAG_STRING,   /* char ** (owned by the flag set after parse; initial value may be a
	                     literal) */
	CK_FLAG_STRV,     /* char *** NULL-terminated, owned */
	CK_FLAG_DURATION, /* int64_t * in milliseconds; accepts Go durations "10s", "1m30s", "250ms"
	                   */
	CK_FLAG_STRARRAY, /* char *** like CK_FLAG_STRV but never comma-split (pflag StringArray:
	                     kubectl --from-literal, --env) */
};

typedef struct ck_flag {
	const char *name; /* long name without dashes: "secure-port" */
	char shorthand;   /* 0 or a letter: 'n' for -n */
	enum ck_flag_type type;
	void *value; /* where the parsed value is stored; its initial content is the default */
	const char *usage; /* one line for --help */
	/* Optional (may be left out of initializers): */
	/* Value used when a non-bool flag is given without "=value" (pflag NoOptDefVal):
	 * then the next argument is not consumed. kubectl --validate (strict), --cascade. */
	const char *no_opt_default;
	/* Non-NULL: the flag still works but is hidden from --help and using it adds
	 * "Flag --name has been deprecated, <text>" to ck_flags.warnings. */
	const char *deprecated;
	bool hidden; /* works, but not listed in --help */
} ck_flag;

typedef struct ck_flags {
	const char *program;  /* "kube-apiserver" */
	const char *summary;  /* first line of --help */
	const ck_flag *flags; /* array terminated by an entry with name == NULL */
	/* Optional second array (same termination), e.g. kubectl's global flags shared by
	 * every subcommand; listed under "Global Flags:" in --help. */
	const ck_flag *global_flags;
	/* Optional text for the "Usage:" line after the program name; default "[flags]". */
	const char *usage_args;
	/* When true, parsing stops at the first positional argument: it and everything
	 * after it are positionals (pflag's SetInterspersed(false); for subcommands). */
	bool stop_at_positional;
	/* When true, unknown flags are skipped with a warning instead of failing the parse
	 * (pflag's ParseErrorsWhitelist.UnknownFlags): "--x=v" is dropped whole; "--x v" and
	 * "-x v" also drop v unless v starts with '-'. For upstream manifests full of flags
	 * ckube does not implement. */
	bool ignore_unknown;
	/* Filled by ck_flags_parse: positional arguments, NULL-terminated. The array is
	 * owned by the flag set (freed by ck_flags_free); its strings point into argv. */
	int argc;
	char **argv;
	/* Index in argv (the positionals above) of the first argument after `--`,
	 * or -1 when there was no `--` (cobra's ArgsLenAtDash). */
	int argc_at_dash;
	bool help;    /* -h/--help was given */
	bool version; /* --version was given */
	/* Warnings for the user (deprecated flags used), NULL-terminated, owned by the flag
	 * set; ck_flags_parse_or_exit prints them on stderr. */
	char **warnings;
	void *priv; /* private to flags.c */
} ck_flags;

/* Parses argv[1..argc-1], storing values through each flag's value pointer.
 * -v/--v=N is applied to the log verbosity at once (ck_log_set_verbosity), unless the
 * program declares its own "v" flag. May be called once per flag set (ck_flags_free
 * before reuse). Returns 0, or -EINVAL with a one-line message in *err. */
int ck_flags_parse(ck_flags *fs, int argc, char **argv, ck_err **err);

/* The flag named name (long name) in fs->flags or fs->global_flags, or NULL. */
const ck_flag *ck_flags_lookup(const ck_flags *fs, const char *name);
/* True when the flag called name was given on the command line of the last parse. */
bool ck_flags_changed(const ck_flags *fs, const char *name);

/* Go duration syntax ("300ms", "1.5h", "2h45m", "-1m", "0"; units ns us µs ms s m h)
 * into milliseconds (truncated toward zero). Returns 0 or -EINVAL / -ERANGE. */
int ck_duration_parse(const char *s, int64_t *ms);
/* The same in nanoseconds, as Go's time.ParseDuration. Returns 0 or -EINVAL / -ERANGE. */
int ck_duration_parse_ns(const char *s, int64_t *ns);
/* Go's Duration.String() of ms: "0s", "250ms", "1.5s", "1m30s", "1h0m0s". Malloc'd. */
char *ck_duration_format(int64_t ms);

/* Writes the generated usage text to stdout. */
void ck_flags_usage(const ck_flags *fs);
/* The generated usage text, malloc'd (what ck_flags_usage prints). */
char *ck_flags_usage_string(const ck_flags *fs);

/* For main(): parses; on error prints "<program>: <message>" on stderr and exits 2;
 * on --help prints usage and exits 0; on --version prints "<program> <version>" and exits 0.
 * Also applies -v to the log verbosity. */
void ck_flags_parse_or_exit(ck_flags *fs, int argc, char **argv);

/* Frees strings and string vectors the parse allocated (the variables they were
 * stored in are set back to NULL) and the positional array. Accepts NULL. */
void ck_flags_free(ck_flags *fs);

#endif
