/* kubectl: answers --help and --version until its issue lands. */
#include <stdio.h>

#include "base/flags.h"

static const ck_flag FLAGS[] = {{0}};

int main(int argc, char **argv)
{
	ck_flags fs = {.program = "kubectl", .summary = "kubectl controls the Kubernetes cluster manager (ckube's own client; not implemented yet: use the upstream kubectl).", .flags = FLAGS};
	ck_flags_parse_or_exit(&fs, argc, argv);
	fprintf(stderr, "kubectl: not implemented yet in this version of ckube\n");
	ck_flags_free(&fs);
	return 1;
}
