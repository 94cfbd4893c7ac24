# Run statistics and reports (tables, JSON): part of ll_common, kept in their own list so the
# driver's work never edits common/CMakeLists.txt.
target_sources(ll_common PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/ll_stats.c
  ${CMAKE_CURRENT_SOURCE_DIR}/ll_stats_tokens.c
  ${CMAKE_CURRENT_SOURCE_DIR}/ll_report.c)
