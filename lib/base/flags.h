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
	CK_FLAG_BOOL,   /* bool * */
	CK_FLAG_INT,    /* int * */
	CK_FLAG_INT64,  /* int64_t * */
	CK_FLAG_STRING, /* char ** (owned by the flag set after parse; initial value may be a literal) */
	CK_FLAG_STRV,   /* char *** NULL-terminated, owned */
	CK_FLAG_DURATION, /* int64_t * in milliseconds; accepts Go durations "10s", "1m30s", "250ms" */
};

typedef struct ck_flag {
	const char *name;  /* long name without dashes: "secure-port" */
	char shorthand;    /* 0 or a letter: 'n' for -n */
	enum ck_flag_type type;
	void *value;       /* where the parsed value is stored; its initial content is the default */
	const char *usage; /* one line for --help */
} ck_flag;

typedef struct ck_flags {
	const char *program; /* "kube-apiserver" */
	const char *summary; /* first line of --help */
	const ck_flag *flags; /* array terminated by an entry with name == NULL */
	/* Filled by ck_flags_parse: positional arguments (not owned: point into argv). */
	int argc;
	char **argv;
	bool help;    /* -h/--help was given */
	bool version; /* --version was given */
} ck_flags;

/* Parses argv[1..argc-1]. Returns 0, or -EINVAL with a one-line message in *err. */
int ck_flags_parse(ck_flags *fs, int argc, char **argv, ck_err **err);

/* Writes the generated usage text to stdout. */
void ck_flags_usage(const ck_flags *fs);

/* For main(): parses; on error prints "<program>: <message>" on stderr and exits 2;
 * on --help prints usage and exits 0; on --version prints "<program> <version>" and exits 0.
 * Also applies -v to the log verbosity. */
void ck_flags_parse_or_exit(ck_flags *fs, int argc, char **argv);

/* Frees strings and string vectors the parse allocated. */
void ck_flags_free(ck_flags *fs);

#endif
