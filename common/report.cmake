# Run statistics and reports (tables, JSON): part of ll_common, kept in their own list so the
# driver's work never edits common/CMakeLists.txt.
target_sources(ll_common PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/ll_stats.c
  ${CMAKE_CURRENT_SOURCE_DIR}/ll_stats_res.c
  ${CMAKE_CURRENT_SOURCE_DIR}/ll_stats_tokens.c
  ${CMAKE_CURRENT_SOURCE_DIR}/ll_report.c
  ${CMAKE_CURRENT_SOURCE_DIR}/ll_report_open.c
  ${CMAKE_CURRENT_SOURCE_DIR}/ll_thresh.c
  # results that merge exactly (issue 16): histograms whole, every counter, 1 s windows
  ${CMAKE_CURRENT_SOURCE_DIR}/ll_hist_json.c
  ${CMAKE_CURRENT_SOURCE_DIR}/ll_series.c
  ${CMAKE_CURRENT_SOURCE_DIR}/ll_stats_exact.c
  ${CMAKE_CURRENT_SOURCE_DIR}/ll_walltime.c)

# llmload's version and the git commit, for every --json document (ll_report_meta_json): a C file
# regenerated at every build, rewritten only when the commit (or dirtiness) changed.
set(LL_VERSION_C ${CMAKE_CURRENT_BINARY_DIR}/ll_version.c)
add_custom_target(ll_version_gen
  COMMAND ${CMAKE_COMMAND} -DOUT=${LL_VERSION_C} -DSRC=${CMAKE_SOURCE_DIR}
          -DVERSION=${PROJECT_VERSION} -P ${CMAKE_CURRENT_SOURCE_DIR}/ll_version.cmake
  BYPRODUCTS ${LL_VERSION_C}
  VERBATIM)
target_sources(ll_common PRIVATE ${LL_VERSION_C})
add_dependencies(ll_common ll_version_gen)
