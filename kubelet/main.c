/* kubelet: placeholder until its issue lands; answers --help and --version. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--version")) {
			printf("kubelet %s\n", CKUBE_VERSION);
			return 0;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("kubelet (ckube)\n\nUsage:\n  kubelet [flags]\n");
			return 0;
		}
		fprintf(stderr, "kubelet: unknown flag: %s\n", argv[i]);
		return 2;
	}
	return 0;
}
