# Workloads from real shapes (issue 14 items 5-7): length distributions, gamma arrivals, ramps,
# dataset and trace parsing (unit); the real `llmload run` on both backends against a scripted
# server's arrival log (tests/stream_server.h) and against mockllm's own token counts.
if(TARGET ll_driver)
  ll_add_test(test_workloads
    SOURCES test_workloads.c
    LIBS ll_driver ll_common PkgConfig::CJSON ${LL_LIBM}
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
