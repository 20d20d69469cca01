/* pipeline: a request's way through authentication, authorization and the admission
 * chains (admission.h), as the verbs use it. */
#ifndef CK_APISERVER_PIPELINE_H
#define CK_APISERVER_PIPELINE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "admission.h"
#include "server.h"

/* One request's pipeline state; lives in the verb's state. */
typedef struct pipeline {
	admission_attrs attrs;
	auth_user user;
	admission_run *run;
	bool stored; /* the object was written: the plugins keep what they reserved */
} pipeline;

/* The attributes of r doing op on the object name, its user authenticated into *u. */
void pipeline_attrs(api_req *r, enum admission_op op, const char *name, admission_attrs *a,
                    auth_user *u);

/* Authenticates and authorizes r doing op on the object name (NULL: from the body), and
 * prepares the admission run. Returns NULL, or the Status refusing r (caller owns). */
cJSON *pipeline_begin(pipeline *p, api_req *r, enum admission_op op, const char *name);

/* Runs chain over obj (old: what it replaces) to the end without waiting, as updates
 * need (admission.h: plugins that wait are skipped): the refusal, or NULL. */
cJSON *pipeline_admit_now(apiserver *s, const admission_attrs *a,
                          const admission_plugin *const *chain, cJSON *obj, const cJSON *old);

/* Ends the run (plugins learn whether the object was stored). */
void pipeline_end(pipeline *p);

#endif
