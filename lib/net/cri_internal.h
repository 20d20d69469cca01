/* cri_internal: what the parts of the CRI client share (not a public header).
 *
 *   cri.c          the client, the call plumbing (async and blocking), the deliveries
 *                  that hand results to callbacks, the RuntimeService and ImageService
 *                  calls
 *   cri_convert.c  conversions between ckube's plain structs and the protobuf-c
 *                  messages: requests built from cri_*_config in an arena, responses read
 *                  into owned cri_sandbox / cri_container / cri_image; the vector and
 *                  result helpers of cri.h
 *   cri_result.c   cri_result: the callbacks that keep one call's outcome (cri.h)
 *
 * Names shared between these files carry the prefix cri__. */
#ifndef CK_NET_CRI_INTERNAL_H
#define CK_NET_CRI_INTERNAL_H

#include <stddef.h>

#include "cri/api.pb-c.h"
#include "net/cri.h"

/* Memory of one request's protobuf-c messages: they borrow the caller's strings and are
 * freed together once the request is packed. */
typedef struct cri__arena {
	void **p;
	size_t n;
} cri__arena;

void cri__arena_free(cri__arena *a);

/* A request field for an optional string: "" for NULL (protobuf-c wants no NULL). */
static inline char *cri__str_or_empty(const char *s)
{
	return (char *)(s ? s : "");
}

/* ---- requests (allocated in a; they point into their arguments) ---- */

/* A NULL-terminated vector as a repeated string field; *n gets the count (NULL: none). */
char **cri__strv_build(cri__arena *a, const char *const *v, size_t *n);
/* A key/value vector as map entries of descriptor desc; *n gets the count. */
void *cri__map_build(cri__arena *a, const ProtobufCMessageDescriptor *desc, const char *const *kv,
                     size_t *n);
Runtime__V1__PodSandboxConfig *cri__sandbox_config_build(cri__arena *a,
                                                         const cri_sandbox_config *cfg);
Runtime__V1__ContainerConfig *cri__container_config_build(cri__arena *a,
                                                          const cri_container_config *cfg);

/* ---- results (fill a zeroed struct with owned copies) ---- */

void cri__sandbox_from_list(cri_sandbox *s, const Runtime__V1__PodSandbox *p);
void cri__sandbox_from_status(cri_sandbox *s, const Runtime__V1__PodSandboxStatus *p);
void cri__container_from_list(cri_container *c, const Runtime__V1__Container *p);
void cri__container_from_status(cri_container *c, const Runtime__V1__ContainerStatus *p);
void cri__image_from_pb(cri_image *i, const Runtime__V1__Image *p);

#endif
