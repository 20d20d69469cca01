/* base64: see base64.h. */
#include "base/base64.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "base/error.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *ck_base64_encode(const void *data, size_t n)
{
	const uint8_t *p = data;
	char *out = ck_malloc((n + 2) / 3 * 4 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* The value of c, or -1. The URL-safe '-' and '_' only when lenient. */
static int value(unsigned char c, bool lenient)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || (lenient && c == '-'))
		return 62;
	if (c == '/' || (lenient && c == '_'))
		return 63;
	return -1;
}

int ck_base64_decode(const char *s, enum ck_base64_mode mode, uint8_t **out, size_t *len)
{
	bool lenient = mode == CK_BASE64_LENIENT;
	size_t n = strlen(s), o = 0, digits = 0, pad = 0;
	_cleanup_free_ uint8_t *buf = ck_malloc(n / 4 * 3 + 4);
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (lenient && (c == ' ' || c == '\n' || c == '\r' || c == '\t'))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = value(c, lenient);
		if (v < 0 || pad)
			return -EINVAL; /* a bad character, or data after padding */
		digits++;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* One digit alone cannot hold a byte; padding never exceeds two. */
	if (digits % 4 == 1 || pad > 2)
		return -EINVAL;
	/* Strict: whole groups of four; with at most two '=' that makes the padding exact. */
	if (!lenient && (digits + pad) % 4 != 0)
		return -EINVAL;
	buf[o] = '\0';
	*out = CK_TAKE_PTR(buf);
	*len = o;
	return 0;
}
