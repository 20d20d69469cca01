/* fake_client: a cm_api (controller-manager/controller.h) that records every request and
 * answers each one when the test says, for unit tests of controller syncs.
 *
 *   fake_client *api = fake_client_new();
 *   cm_ctx ctx = {.api = &FAKE_CLIENT_OPS, .api_impl = api, ...};
 *   ... a sync runs ...
 *   fake_call *c = fake_client_pending(api, CM_CREATE, "Pod");
 *   fake_client_answer(api, c, 0, NULL);   (cb runs now, with the object echoed back)
 *
 * An answer calls the request's callback synchronously; a request the callback starts is
 * recorded and waits for its own answer. */
#ifndef CK_TESTS_FAKE_CLIENT_H
#define CK_TESTS_FAKE_CLIENT_H

#include "controller.h"

typedef struct fake_call {
	enum cm_verb verb;
	const kc_resource *res;
	char *ns, *name;
	cJSON *body; /* a copy of the object or patch sent, or NULL */
	enum kc_patch_type patch_type;
	char *precondition_uid;   /* CM_DELETE */
	char *propagation_policy; /* CM_DELETE */
	bool background;
	bool answered, cancelled;
	kc_result_fn cb;
	void *user;
} fake_call;

typedef struct fake_client fake_client;

extern const cm_api_ops FAKE_CLIENT_OPS;

fake_client *fake_client_new(void);
/* Frees the records; callbacks of unanswered calls never run. Accepts NULL. */
void fake_client_free(fake_client *fc);

/* Every request recorded, in order. */
size_t fake_client_len(const fake_client *fc);
fake_call *fake_client_call(const fake_client *fc, size_t i);
/* Requests of verb on kind ("Pod"; NULL: any kind) recorded so far, answered or not. */
size_t fake_client_count(const fake_client *fc, enum cm_verb verb, const char *kind);
/* Those still waiting for an answer. */
size_t fake_client_count_pending(const fake_client *fc, enum cm_verb verb, const char *kind);
/* The first call recorded of verb on kind (NULL: any) named name (NULL: any), answered or
 * not, or NULL. */
fake_call *fake_client_find(const fake_client *fc, enum cm_verb verb, const char *kind,
                            const char *name);
/* The first one waiting for an answer, or NULL. */
fake_call *fake_client_pending(const fake_client *fc, enum cm_verb verb, const char *kind);
/* Answers call with rc and obj (taken). With rc 0 and obj NULL the answer is the request's
 * object made stored: a name for a generateName, a uid and a new resourceVersion. A
 * failure carries a Status-like message. */
void fake_client_answer(fake_client *fc, fake_call *call, int rc, cJSON *obj);
/* Answers, with rc, every call of verb on kind waiting now (not those the answers start).
 * Returns how many. */
size_t fake_client_answer_all(fake_client *fc, enum cm_verb verb, const char *kind, int rc);
/* Answers every waiting call with rc, and those the answers start, until none waits.
 * Returns how many. */
size_t fake_client_drain(fake_client *fc, int rc);

#endif
