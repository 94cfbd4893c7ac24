# Workloads from real shapes (issue 14 items 5-7): length distributions, gamma arrivals, ramps,
# dataset and trace parsing (unit); the real `llmload run` on both backends against a scripted
# server's arrival log (tests/stream_server.h) and against mockllm's own token counts.
if(TARGET ll_driver)
  ll_add_test(test_workloads
    SOURCES test_workloads.c
    LIBS ll_driver ll_common PkgConfig::CJSON ${LL_LIBM}
    LABELS unit)
  ll_add_test(test_workloads_files
    SOURCES test_workloads_files.c
    LIBS ll_driver ll_common
    LABELS unit)
endif()
if(TARGET llmload)
  ll_add_test(test_workloads_run
    SOURCES test_workloads_run.c stream_server.c
    LIBS PkgConfig::CJSON Threads::Threads ${LL_LIBM}
    LABELS integration
    TIMEOUT 300)
  add_dependencies(test_workloads_run llmload)
endif()
# The flags from the command line: usage errors, and the lengths against mockllm's own counts.
if(TARGET llmload AND TARGET mockllm)
  add_test(NAME test_workloads_cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_workloads_cli.sh)
  set_tests_properties(test_workloads_cli PROPERTIES TIMEOUT 180 LABELS "integration"
    ENVIRONMENT "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>")
endif()
