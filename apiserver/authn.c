/* authn: the authenticators, in order. None yet but the anonymous fallback: the security
 * work adds client certificates and tokens here. */
#include "admission.h"

#include <stddef.h>

static const char *const anonymous_groups[] = {"system:unauthenticated", NULL};
static const char *const internal_groups[] = {"system:masters", NULL};

static const authn_plugin *const authenticators[] = {NULL};

void authn_user(const http_request *hr, auth_user *out)
{
	if (!hr) {
		/* The apiserver's own requests (deletecollection's, the namespace purge). */
		*out = (auth_user){"system:apiserver", internal_groups};
		return;
	}
	for (const authn_plugin *const *p = authenticators; *p; p++)
		if ((*p)->authenticate(hr, out))
			return;
	*out = (auth_user){"system:anonymous", anonymous_groups};
}
