/* kind_endpointslice: discovery.k8s.io/v1 EndpointSlices, the endpoints kube-proxy reads
 * (a minimal description: no validation beyond the common checks). */
#include "api/kind.h"

#include "k8s/discovery.pb-c.h"
#include "base/error.h"
#include "base/json.h"
#include "base/strbuf.h"

/* Upstream's printer: ports as "80,443" (or "<unset>"), the first three addresses of
 * every endpoint then " + N more...". */
static void endpointslice_cells(const cJSON *es, time_t now, cJSON *row)
{
	_cleanup_buf_ ck_buf ports = {0}, addrs = {0};
	const cJSON *p, *ep, *a;
	cJSON_ArrayForEach(p, ck_json_get(es, "ports"))
	{
		kind_buf_sep(&ports, ",");
		if (cJSON_GetObjectItemCaseSensitive(p, "port"))
			ck_buf_printf(&ports, "%lld", (long long)ck_json_get_int(p, "port", 0));
		else
			ck_buf_puts(&ports, "<unset>");
	}
	int shown = 0, total = 0;
	cJSON_ArrayForEach(ep, ck_json_get(es, "endpoints"))
	{
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(ep, "addresses"))
		{
			total++;
			if (shown == 3 || !cJSON_IsString(a))
				continue;
			kind_buf_sep(&addrs, ",");
			ck_buf_puts(&addrs, a->valuestring);
			shown++;
		}
	}
	if (total > shown)
		ck_buf_printf(&addrs, " + %d more...", total - shown);
	kind_cell_str(row, kind_str(es, "metadata.name"));
	kind_cell_str(row, kind_str(es, "addressType"));
	kind_cell_take(row, ck_buf_steal(&ports));
	kind_cell_take(row, ck_buf_steal(&addrs));
	kind_cell_take(row, kind_age(kind_str(es, "metadata.creationTimestamp"), now));
}

static const kind_column endpointslice_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"AddressType", "string", "", 0, "The type of addresses in the slice."},
    {"Ports", "string", "", 0, "The ports of the slice."},
    {"Endpoints", "string", "", 0, "The addresses of the slice's endpoints."},
    {"Age", "string", "", 0, "Time since the object was created."},
};

const kind_desc kind_endpointslice = {
    .group = "discovery.k8s.io",
    .version = "v1",
    .kind = "EndpointSlice",
    .plural = "endpointslices",
    .singular = "endpointslice",
    .namespaced = true,
    .etcd_resource = "endpointslices",
    .columns = KIND_COLUMNS(endpointslice_columns),
    .cells = endpointslice_cells,
    .pb = &k8s__io__api__discovery__v1__endpoint_slice__descriptor,
};
