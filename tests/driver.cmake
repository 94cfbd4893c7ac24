# The driver's tests: run statistics and reports (unit), and the llmload CLI end to end.
ll_add_test(test_stats SOURCES test_stats.c LIBS ll_common LABELS unit)

# The CLI test spawns llmload, which spawns mockllm; it needs both built.
if(TARGET llmload AND TARGET mockllm)
  add_test(NAME test_llmload_cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_llmload_cli.sh)
  set_tests_properties(test_llmload_cli PROPERTIES TIMEOUT 180 LABELS "integration"
    ENVIRONMENT "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>")
endif()
