# Local limits (issue 5): descriptors, threads and memory are reported, not suffered — per
# request as RESOURCE with the limit named, and by `llmload run` in one line.
ll_add_test(test_limits
  SOURCES test_limits.c
  LIBS ll_testutil ll_backends ll_common PkgConfig::CURL PkgConfig::UV Threads::Threads
  LABELS "integration;threads;reliability"
  TIMEOUT 120
  SPLIT "nproc:test_limits_threads_nproc" "as:test_limits_threads_as"
  NEEDS_MOCK)

if(TARGET llmload AND TARGET mockllm)
  add_test(NAME test_limits_cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_limits_cli.sh)
  set_tests_properties(test_limits_cli PROPERTIES TIMEOUT 120 LABELS "integration;reliability"
    ENVIRONMENT "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>")
endif()

# The steady-state ceiling's machinery (issue 14): llmload run --window against arithmetic and
# mockllm's counters, per-slot base URLs, and the descriptor wall named by bench/ceiling.py.
if(TARGET llmload AND TARGET mockllm)
  add_test(NAME test_ceiling_cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_ceiling_cli.sh)
  set_tests_properties(test_ceiling_cli PROPERTIES TIMEOUT 180 LABELS "integration;reliability"
    ENVIRONMENT "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>")
endif()
if(TARGET llmload AND TARGET mockllm)
  add_test(NAME test_ceiling_threads COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_ceiling_threads.sh)
  set_tests_properties(test_ceiling_threads PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77
    LABELS "integration;threads;reliability"
    ENVIRONMENT "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>")
endif()
