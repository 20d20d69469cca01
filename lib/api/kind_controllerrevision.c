/* kind_controllerrevision: apps/v1 ControllerRevisions, the immutable snapshots of
 * StatefulSet and DaemonSet templates that rollbacks read. */
#include "api/kind.h"

#include <ctype.h>
#include <string.h>

#include "k8s/apps.pb-c.h"
#include "base/error.h"
#include "base/json.h"

static void controllerrevision_validate(const cJSON *cr, kind_causes *causes)
{
	kind_nonnegative_validate(cr, "revision", NULL, causes);
}

/* The controlling owner as upstream prints it: "statefulset.apps/web". */
static char *controller_name(const cJSON *cr)
{
	const cJSON *ref;
	cJSON_ArrayForEach(ref, ck_json_get(cr, "metadata.ownerReferences"))
	{
		if (!ck_json_get_bool(ref, "controller", false))
			continue;
		const char *av = kind_str(ref, "apiVersion");
		const char *slash = strchr(av, '/');
		_cleanup_free_ char *kind = ck_strdup(kind_str(ref, "kind"));
		for (char *p = kind; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (slash)
			return ck_asprintf("%s.%.*s/%s", kind, (int)(slash - av), av,
			                   kind_str(ref, "name"));
		return ck_asprintf("%s/%s", kind, kind_str(ref, "name"));
	}
	return NULL;
}

static void controllerrevision_cells(const cJSON *cr, time_t now, cJSON *row)
{
	kind_cell_str(row, kind_str(cr, "metadata.name"));
	kind_cell_take(row, controller_name(cr));
	kind_cell_int(row, ck_json_get_int(cr, "revision", 0));
	kind_cell_take(row, kind_age(kind_str(cr, "metadata.creationTimestamp"), now));
}

static const kind_column controllerrevision_columns[] = {
    KIND_COLUMN_NAME,
    {"Controller", "string", "", 0, "Controller of the object"},
    {"Revision", "integer", "", 0,
     "Revision indicates the revision of the state represented by Data."},
    KIND_COLUMN_AGE,
};

const kind_desc kind_controllerrevision = {
    .group = "apps",
    .version = "v1",
    .kind = "ControllerRevision",
    .plural = "controllerrevisions",
    .singular = "controllerrevision",
    .namespaced = true,
    .etcd_resource = "controllerrevisions",
    .columns = KIND_COLUMNS(controllerrevision_columns),
    .cells = controllerrevision_cells,
    .validate = controllerrevision_validate,
    .pb = &k8s__io__api__apps__v1__controller_revision__descriptor,
};
