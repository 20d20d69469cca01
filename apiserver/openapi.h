/* openapi: the OpenAPI v2 and v3 documents, built from the schema (lib/api/schema.h) and the
 * kinds ckube serves. */
#ifndef CK_APISERVER_OPENAPI_H
#define CK_APISERVER_OPENAPI_H

#include <cjson/cJSON.h>

#include "base/strbuf.h"

/* The Swagger 2.0 document: a definition per schema type, named as upstream
 * ("io.k8s.api.core.v1.Pod"); those of served kinds carry
 * x-kubernetes-group-version-kind and apiVersion/kind properties; one path per kind
 * whose PATCH operation names its kind and the fieldValidation query parameter (what
 * kubectl looks for before it leaves validation to the server). Caller owns it. */
cJSON *openapi_v2_document(void);

/* The OpenAPI 3.0 document of group-version gv ("api/v1", "apis/apps/v1"): the PATCH
 * paths of its kinds and, as components.schemas, the types they reach. NULL when no
 * kind ckube serves is in gv. Caller owns it. */
cJSON *openapi_v3_document(const char *gv);

/* Appends doc (as openapi_v2_document builds it) to out as a protobuf
 * openapi_v2.Document (gnostic's messages, proto/openapi/openapiv2.proto); what the
 * messages cannot hold is left out. */
void openapi_v2_protobuf(const cJSON *doc, ck_buf *out);

#endif
