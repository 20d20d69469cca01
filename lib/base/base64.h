/* base64: RFC 4648 base64, as Kubernetes writes bytes in JSON (Secret data, kubeconfig
 * *-data fields). */
#ifndef CK_BASE_BASE64_H
#define CK_BASE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Standard alphabet with padding, as Go's encoding/json writes []byte. malloc'd. */
char *ck_base64_encode(const void *p, size_t n);

enum ck_base64_mode {
	/* Standard alphabet, padding required, nothing else allowed (Go's StdEncoding). */
	CK_BASE64_STRICT,
	/* Standard or URL-safe alphabet, padding optional, whitespace ignored: for text
	 * people paste into files (kubeconfig certificate data). */
	CK_BASE64_LENIENT,
};

/* Decodes s. Returns 0 with *out (malloc'd, always followed by a NUL byte that *len does
 * not count, so text can be used as a C string) or -EINVAL when malformed. */
int ck_base64_decode(const char *s, enum ck_base64_mode mode, uint8_t **out, size_t *len);

#endif
