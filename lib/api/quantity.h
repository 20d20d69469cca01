/* quantity: Kubernetes resource quantities ("100m", "1", "1.5", "128Mi", "1G", "2e3").
 *
 * A quantity is held as an integer number of milli-units (int64): "100m" is 100, "1" is
 * 1000, "1Ki" is 1024000. Values finer than a milli-unit are rounded up (as upstream's
 * MilliValue does); values whose milli-units do not fit in int64 (above ~9.2e15) are
 * -ERANGE. The suffix family seen at parse time is kept so that formatting can write the
 * value back in the same style. */
#ifndef CK_API_QUANTITY_H
#define CK_API_QUANTITY_H

#include <stdint.h>

#include <cjson/cJSON.h>

enum quantity_format {
	QUANTITY_DECIMAL_SI,  /* m, "", k, M, G, T, P, E */
	QUANTITY_BINARY_SI,   /* Ki, Mi, Gi, Ti, Pi, Ei */
	QUANTITY_DECIMAL_EXP, /* e3, E-2 */
};

typedef struct quantity {
	int64_t milli;
	enum quantity_format format;
} quantity;

/* Parses s (optional sign, digits with at most one '.', optional suffix, no spaces).
 * Returns 0, -EINVAL for malformed text, -ERANGE when out of range. */
int quantity_parse(const char *s, quantity *out);

/* As quantity_parse for a JSON value: a string, or a number (as upstream accepts). */
int quantity_from_json(const cJSON *j, quantity *out);

/* Milli-units of s, or def when s is NULL or does not parse. */
int64_t quantity_milli(const char *s, int64_t def);
/* Whole units (bytes, cores) rounded up: ceil(milli / 1000). */
int64_t quantity_value(const quantity *q);

/* Canonical text in q's format (upstream's CanonicalizeBytes): "100m", "1", "1500m",
 * "128Mi", "1G", "2e3"; a binary value not a multiple of 1Ki is written decimal. malloc'd. */
char *quantity_format(const quantity *q);

#endif
