/* kubeadm: answers --help and --version until its issue lands. */
#include <stdio.h>

#include "base/flags.h"

static const ck_flag FLAGS[] = {{0}};

int main(int argc, char **argv)
{
	ck_flags fs = {.program = "kubeadm", .summary = "kubeadm: easily bootstrap a secure Kubernetes cluster (not implemented yet in ckube).", .flags = FLAGS};
	ck_flags_parse_or_exit(&fs, argc, argv);
	fprintf(stderr, "kubeadm: not implemented yet in this version of ckube\n");
	ck_flags_free(&fs);
	return 1;
}
