/* version: what this build is, as /version and --version report it. */
#ifndef CK_BASE_VERSION_H
#define CK_BASE_VERSION_H

typedef struct ck_version {
	const char *git_version;    /* "v1.32.0-ckube.0.1.0": the Kubernetes minor ckube speaks */
	const char *major, *minor;  /* "1", "32" */
	const char *git_commit;     /* the commit built, "" outside a git checkout */
	const char *git_tree_state; /* "clean", "dirty", "" */
	const char *build_date;     /* the commit's date, RFC 3339 UTC */
	const char *compiler;       /* "GNU 12.2.0" */
	const char *platform;       /* "linux/amd64" */
} ck_version;

/* This build's version. Static storage. */
const ck_version *ck_version_get(void);

#endif
