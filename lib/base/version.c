/* version: the build's identity, from the header cmake/build_info.cmake writes. */
#include "base/version.h"

#include "ckube_build.h"

const ck_version *ck_version_get(void)
{
	static const ck_version v = {
	    .git_version = CKUBE_VERSION,
	    .major = CKUBE_K8S_MAJOR,
	    .minor = CKUBE_K8S_MINOR,
	    .git_commit = CKUBE_GIT_COMMIT,
	    .git_tree_state = CKUBE_GIT_TREE_STATE,
	    .build_date = CKUBE_BUILD_DATE,
	    .compiler = CKUBE_COMPILER,
	    .platform = CKUBE_PLATFORM,
	};
	return &v;
}
