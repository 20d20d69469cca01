/* kubeadm: placeholder until its issue lands; answers --help and --version. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--version")) {
			printf("kubeadm %s\n", CKUBE_VERSION);
			return 0;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("kubeadm (ckube)\n\nUsage:\n  kubeadm [flags]\n");
			return 0;
		}
		fprintf(stderr, "kubeadm: unknown flag: %s\n", argv[i]);
		return 2;
	}
	return 0;
}
