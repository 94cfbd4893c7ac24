/* ll_version.h - what build wrote a report: llmload's version (CMake's project version) and the
 * git commit of the source tree it was built from ("<sha>-dirty" with uncommitted changes,
 * "unknown" outside a git checkout). Generated at every build by common/ll_version.cmake. */
#ifndef LL_VERSION_H
#define LL_VERSION_H

extern const char ll_version[];
extern const char ll_git_commit[];

#endif
