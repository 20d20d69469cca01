/* kube-apiserver: placeholder until its issue lands; answers --help and --version. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--version")) {
			printf("kube-apiserver %s\n", CKUBE_VERSION);
			return 0;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("kube-apiserver (ckube)\n\nUsage:\n  kube-apiserver [flags]\n");
			return 0;
		}
		fprintf(stderr, "kube-apiserver: unknown flag: %s\n", argv[i]);
		return 2;
	}
	return 0;
}
