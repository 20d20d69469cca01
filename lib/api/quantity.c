/* quantity: see quantity.h. Exact integer arithmetic on a decimal mantissa. */
#include "api/quantity.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

#define MAX_DIGITS 18 /* 10^n fits in int64 for n <= 18 */

static bool mul_i64(int64_t a, int64_t b, int64_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

/* 10^n for n in [0, 18]. */
static int64_t pow10_i64(int n)
{
	int64_t v = 1;
	while (n-- > 0)
		v *= 10;
	return v;
}

/* mant * 10^exp10 * 2^exp2, rounded up (toward +inf). Returns 0 or -ERANGE. */
static int scale(int64_t mant, bool sticky, int exp10, int exp2, int64_t *out)
{
	int64_t v = mant;
	for (; exp2 > 0; exp2--)
		if (!mul_i64(v, 2, &v))
			return -ERANGE;
	for (; exp10 > 0; exp10--)
		if (!mul_i64(v, 10, &v))
			return -ERANGE;
	if (exp10 < 0) {
		if (-exp10 > MAX_DIGITS) {
			*out = (v > 0 || (v == 0 && sticky)) ? 1 : 0;
			return 0;
		}
		int64_t d = pow10_i64(-exp10);
		int64_t q = v / d;
		if ((v % d > 0) || (v % d == 0 && sticky && v >= 0))
			q++;
		v = q;
	}
	*out = v;
	return 0;
}

int quantity_parse(const char *s, quantity *out)
{
	if (!s || !*s)
		return -EINVAL;
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	int64_t mant = 0;
	int digits = 0, frac = 0, int_extra = 0;
	bool any = false, sticky = false, dot = false;
	for (;; p++) {
		if (*p == '.' && !dot) {
			dot = true;
			continue;
		}
		if (*p < '0' || *p > '9')
			break;
		any = true;
		int d = *p - '0';
		if (digits == 0 && d == 0) {
			if (dot)
				frac++;
			continue;
		}
		if (mant <= (INT64_MAX - d) / 10) {
			mant = mant * 10 + d;
			digits++;
			if (dot)
				frac++;
		} else {
			if (!dot)
				int_extra++;
			if (d)
				sticky = true;
		}
	}
	if (!any)
		return -EINVAL;
	int exp10 = int_extra - frac, exp2 = 0;
	enum quantity_format fmt = QUANTITY_DECIMAL_SI;
	/* "1E" is exa; an exponent needs digits after the e. */
	if ((*p == 'e' || *p == 'E') && p[1] && p[1] != 'i') {
		const char *e = p + 1;
		bool eneg = false;
		if (*e == '+' || *e == '-')
			eneg = *e++ == '-';
		if (*e < '0' || *e > '9')
			return -EINVAL;
		int ev = 0;
		for (; *e >= '0' && *e <= '9'; e++) {
			if (ev > 1000)
				return -ERANGE;
			ev = ev * 10 + (*e - '0');
		}
		if (*e)
			return -EINVAL;
		exp10 += eneg ? -ev : ev;
		fmt = QUANTITY_DECIMAL_EXP;
	} else if (p[0] && p[1] == 'i' && !p[2]) {
		static const char bin[] = "KMGTPE";
		const char *b = strchr(bin, p[0]);
		if (!b || !p[0])
			return -EINVAL;
		exp2 = 10 * (int)(b - bin + 1);
		fmt = QUANTITY_BINARY_SI;
	} else if (*p) {
		if (p[1])
			return -EINVAL;
		switch (*p) {
		case 'm':
			exp10 -= 3;
			break;
		case 'k':
			exp10 += 3;
			break;
		case 'M':
			exp10 += 6;
			break;
		case 'G':
			exp10 += 9;
			break;
		case 'T':
			exp10 += 12;
			break;
		case 'P':
			exp10 += 15;
			break;
		case 'E':
			exp10 += 18;
			break;
		default:
			return -EINVAL;
		}
	}
	/* To milli-units. */
	exp10 += 3;
	if (mant == 0) {
		out->milli = 0;
		out->format = fmt;
		return 0;
	}
	if (exp10 > 40)
		return -ERANGE;
	int64_t v;
	/* Apply the binary factor before dividing so that 0.5Ki is exact. */
	int rc = scale(mant, sticky, exp10, exp2, &v);
	if (rc < 0)
		return rc;
	out->milli = neg ? -v : v;
	out->format = fmt;
	return 0;
}

int quantity_from_json(const cJSON *j, quantity *out)
{
	if (cJSON_IsString(j))
		return quantity_parse(j->valuestring, out);
	if (cJSON_IsNumber(j)) {
		char buf[64];
		double d = j->valuedouble;
		if (d == (double)(int64_t)d)
			snprintf(buf, sizeof(buf), "%lld", (long long)d);
		else
			snprintf(buf, sizeof(buf), "%.17g", d);
		return quantity_parse(buf, out);
	}
	return -EINVAL;
}

int64_t quantity_milli(const char *s, int64_t def)
{
	quantity q;
	return s && quantity_parse(s, &q) == 0 ? q.milli : def;
}

int64_t quantity_value(const quantity *q)
{
	int64_t v = q->milli / 1000;
	if (q->milli % 1000 > 0)
		v++;
	return v;
}

char *quantity_format(const quantity *q)
{
	int64_t m = q->milli;
	if (m % 1000 != 0) {
		if (q->format == QUANTITY_DECIMAL_EXP)
			return ck_asprintf("%llde-3", (long long)m);
		return ck_asprintf("%lldm", (long long)m);
	}
	int64_t v = m / 1000;
	if (v == 0)
		return ck_strdup("0");
	if (q->format == QUANTITY_BINARY_SI && (v >= 1024 || v <= -1024)) {
		static const char *const suf[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
		int k = 0;
		while (k < 6 && v % 1024 == 0) {
			v /= 1024;
			k++;
		}
		return ck_asprintf("%lld%s", (long long)v, suf[k]);
	}
	int k = 0;
	while (k < 6 && v % 1000 == 0) {
		v /= 1000;
		k++;
	}
	if (q->format == QUANTITY_DECIMAL_EXP)
		return k ? ck_asprintf("%llde%d", (long long)v, 3 * k)
		         : ck_asprintf("%lld", (long long)v);
	static const char *const dsuf[] = {"", "k", "M", "G", "T", "P", "E"};
	return ck_asprintf("%lld%s", (long long)v, dsuf[k]);
}
