/* status: metav1.Status bodies. */
#include "status.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"
#include "base/log.h"

static cJSON *status_vnew(int code, const char *reason, cJSON *details, const char *fmt, va_list ap)
{
	_cleanup_free_ char *msg = ck_vasprintf(fmt, ap);
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "kind", "Status");
	cJSON_AddStringToObject(s, "apiVersion", "v1");
	cJSON_AddObjectToObject(s, "metadata");
	cJSON_AddStringToObject(s, "status", code < 300 ? "Success" : "Failure");
	if (*msg)
		cJSON_AddStringToObject(s, "message", msg);
	if (reason && *reason)
		cJSON_AddStringToObject(s, "reason", reason);
	if (details)
		cJSON_AddItemToObject(s, "details", details);
	cJSON_AddNumberToObject(s, "code", code);
	return s;
}

cJSON *status_new(int code, const char *reason, cJSON *details, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cJSON *s = status_vnew(code, reason, details, fmt, ap);
	va_end(ap);
	return s;
}

cJSON *status_details(const kind_desc *k, const char *name)
{
	cJSON *d = cJSON_CreateObject();
	if (name && *name)
		cJSON_AddStringToObject(d, "name", name);
	if (k && k->group[0])
		cJSON_AddStringToObject(d, "group", k->group);
	if (k)
		cJSON_AddStringToObject(d, "kind", k->plural);
	return d;
}

void status_send(http_exchange *x, cJSON *s)
{
	if (!x) {
		/* An internal request: its driver learns the outcome when the request ends. */
		CK_V(2, "internal request: %d %s", (int)ck_json_get_int(s, "code", 500),
		     ck_json_get_str(s, "message", ""));
		cJSON_Delete(s);
		return;
	}
	int code = (int)ck_json_get_int(s, "code", 500);
	_cleanup_free_ char *body = ck_json_print(s);
	cJSON_Delete(s);
	http_respond(x, code, "application/json", body, strlen(body));
}

static char *resource_name(const kind_desc *k)
{
	/* Upstream names the resource "pods" for the core group, "deployments.apps" otherwise. */
	return k->group[0] ? ck_asprintf("%s.%s", k->plural, k->group) : ck_strdup(k->plural);
}

cJSON *status_not_found_new(const kind_desc *k, const char *name)
{
	_cleanup_free_ char *res = resource_name(k);
	return status_new(404, "NotFound", status_details(k, name), "%s \"%s\" not found", res,
	                  name);
}

void status_not_found(http_exchange *x, const kind_desc *k, const char *name)
{
	status_send(x, status_not_found_new(k, name));
}

void status_namespace_not_found(http_exchange *x, const char *ns)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "name", ns);
	cJSON_AddStringToObject(d, "kind", "namespaces");
	status_send(x, status_new(404, "NotFound", d, "namespaces \"%s\" not found", ns));
}

cJSON *status_already_exists_new(const kind_desc *k, const char *name)
{
	_cleanup_free_ char *res = resource_name(k);
	return status_new(409, "AlreadyExists", status_details(k, name), "%s \"%s\" already exists",
	                  res, name);
}

void status_already_exists(http_exchange *x, const kind_desc *k, const char *name)
{
	status_send(x, status_already_exists_new(k, name));
}

cJSON *status_conflict_new(const kind_desc *k, const char *name, const char *why)
{
	_cleanup_free_ char *res = resource_name(k);
	return status_new(409, "Conflict", status_details(k, name),
	                  "Operation cannot be fulfilled on %s \"%s\": %s", res, name,
	                  why ? why
	                      : "the object has been modified; please apply your changes to "
	                        "the latest version and try again");
}

void status_conflict(http_exchange *x, const kind_desc *k, const char *name, const char *why)
{
	status_send(x, status_conflict_new(k, name, why));
}

cJSON *status_invalid_new(const kind_desc *k, const char *name, cJSON *causes)
{
	/* Message: `Kind "name" is invalid: field: msg` or `... invalid: [a: x, b: y]`. */
	int n = cJSON_GetArraySize(causes);
	char *list = ck_strdup("");
	const cJSON *c;
	cJSON_ArrayForEach(c, causes)
	{
		char *next =
		    ck_asprintf("%s%s%s: %s", list, *list ? ", " : "",
		                ck_json_get_str(c, "field", ""), ck_json_get_str(c, "message", ""));
		free(list);
		list = next;
	}
	cJSON *d = cJSON_CreateObject();
	if (name && *name)
		cJSON_AddStringToObject(d, "name", name);
	if (k->group[0])
		cJSON_AddStringToObject(d, "group", k->group);
	cJSON_AddStringToObject(d, "kind", k->kind);
	cJSON_AddItemToObject(d, "causes", causes);
	cJSON *s = status_new(422, "Invalid", d,
	                      n > 1 ? "%s \"%s\" is invalid: [%s]" : "%s \"%s\" is invalid: %s",
	                      k->kind, name ? name : "", list);
	free(list);
	return s;
}

void status_invalid(http_exchange *x, const kind_desc *k, const char *name, cJSON *causes)
{
	status_send(x, status_invalid_new(k, name, causes));
}

cJSON *status_bad_request_new(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cJSON *s = status_vnew(400, "BadRequest", NULL, fmt, ap);
	va_end(ap);
	return s;
}

void status_bad_request(http_exchange *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cJSON *s = status_vnew(400, "BadRequest", NULL, fmt, ap);
	va_end(ap);
	status_send(x, s);
}

void status_internal(http_exchange *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cJSON *s = status_vnew(500, "InternalError", NULL, fmt, ap);
	va_end(ap);
	status_send(x, s);
}

void status_path_not_found(http_exchange *x)
{
	status_send(x, status_new(404, "NotFound", cJSON_CreateObject(),
	                          "the server could not find the requested resource"));
}

void status_method_not_allowed(http_exchange *x)
{
	status_send(x,
	            status_new(405, "MethodNotAllowed", cJSON_CreateObject(),
	                       "the server does not allow this method on the requested resource"));
}

void status_storage_error(http_exchange *x, int rc, const char *msg)
{
	if (rc == -ETIMEDOUT)
		status_send(x, status_new(504, "Timeout", NULL,
		                          "The request did not complete in time: %s", msg));
	else
		status_internal(x, "storage: %s", msg ? msg : ck_strerror(rc));
}
