# One workload over many hosts (issue 16): results that merge exactly (test_exact), the split of
# a workload into segments (test_segment), llmload merge end to end on both backends
# (test_merge_cli), and agents in network namespaces of their own against one mockllm
# (test_multihost: root only, skipped with a printed reason elsewhere).
ll_add_test(test_exact SOURCES test_exact.c LIBS ll_driver LABELS unit)
ll_add_test(test_segment SOURCES test_segment.c LIBS ll_driver LABELS unit)
if(TARGET llmload AND TARGET mockllm)
  foreach(case open closed refuse missing flags workload ssh k8s)
    add_test(NAME test_merge_cli_${case} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_merge_cli.sh ${case})
    set_tests_properties(test_merge_cli_${case} PROPERTIES TIMEOUT 180 LABELS "integration;multi"
      ENVIRONMENT "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>")
  endforeach()
endif()
# Four client hosts as network namespaces (root only; exits 77, ctest's skip, with the reason
# elsewhere) against a one-host run of the same workload.
if(TARGET llmload AND TARGET mockllm)
  add_test(NAME test_multihost COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_multihost.sh)
  set_tests_properties(test_multihost PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77
    LABELS "integration;multi;netns"
    ENVIRONMENT "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>")
endif()
