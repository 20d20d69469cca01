/* authz: the authorizers, in order. For now one that allows everything (upstream's
 * AlwaysAllow); the security work puts RBAC and the node authorizer before it. */
#include "admission.h"

#include <stddef.h>

#include "status.h"

static enum authz_decision always_allow(const auth_user *u, const admission_attrs *a)
{
	return AUTHZ_ALLOW;
}

static const authz_plugin allow_all = {"AlwaysAllow", always_allow};

static const authz_plugin *const authorizers[] = {&allow_all, NULL};

cJSON *authz_check(const admission_attrs *a)
{
	for (const authz_plugin *const *p = authorizers; *p; p++) {
		enum authz_decision d = (*p)->authorize(a->user, a);
		if (d == AUTHZ_ALLOW)
			return NULL;
		if (d == AUTHZ_DENY)
			break;
	}
	return status_new(403, "Forbidden", status_details(a->kind, a->name),
	                  "%s \"%s\" is forbidden: User \"%s\" cannot %s resource \"%s\"",
	                  a->kind->plural, a->name ? a->name : "", a->user->name,
	                  a->op == ADMIT_DELETE ? "delete" : "write", a->kind->plural);
}
