/* kind_coordination: coordination.k8s.io/v1 leases (node heartbeats, leader election). */
#include "api/kind.h"

#include "k8s/coordination.pb-c.h"
#include "base/error.h"
#include "base/json.h"

static void lease_cells(const cJSON *l, time_t now, cJSON *row)
{
	kind_cell_str(row, ck_json_get_str(l, "metadata.name", ""));
	kind_cell_str(row, ck_json_get_str(l, "spec.holderIdentity", ""));
	kind_cell_take(row, kind_age(ck_json_get_str(l, "metadata.creationTimestamp", NULL), now));
}

static const kind_column lease_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Holder", "string", "", 0, "The holder of the lease."},
    {"Age", "string", "", 0, "Time since the object was created."},
};

const kind_desc kind_lease = {.group = "coordination.k8s.io",
                              .version = "v1",
                              .kind = "Lease",
                              .plural = "leases",
                              .singular = "lease",
                              .namespaced = true,
                              .etcd_resource = "leases",
                              .columns = KIND_COLUMNS(lease_columns),
                              .cells = lease_cells,
                              .pb = &k8s__io__api__coordination__v1__lease__descriptor};
