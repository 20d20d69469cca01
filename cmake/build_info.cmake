# Writes OUT (a C header) with what /version reports of this build: the git commit and
# tree state of SRC, the commit's date (reproducible: no clock is read), the compiler and
# the platform. Run at every build; the file is rewritten only when its text changes.
execute_process(COMMAND git -C ${SRC} rev-parse HEAD OUTPUT_VARIABLE commit
	OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
	set(commit "")
endif()
set(state "")
set(date "1970-01-01T00:00:00Z")
if(commit)
	execute_process(COMMAND git -C ${SRC} status --porcelain --untracked-files=no
		OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
	if(dirty)
		set(state "dirty")
	else()
		set(state "clean")
	endif()
	execute_process(COMMAND git -C ${SRC} show -s --format=%cI HEAD OUTPUT_VARIABLE cdate
		OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
	if(cdate)
		execute_process(COMMAND date -u -d ${cdate} +%Y-%m-%dT%H:%M:%SZ
			OUTPUT_VARIABLE date OUTPUT_STRIP_TRAILING_WHITESPACE)
	endif()
endif()
set(text "/* Generated at build time by cmake/build_info.cmake. */
#define CKUBE_GIT_COMMIT \"${commit}\"
#define CKUBE_GIT_TREE_STATE \"${state}\"
#define CKUBE_BUILD_DATE \"${date}\"
#define CKUBE_COMPILER \"${COMPILER}\"
#define CKUBE_PLATFORM \"${PLATFORM}\"
")
set(old "")
if(EXISTS ${OUT})
	file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
	file(WRITE ${OUT} "${text}")
endif()
