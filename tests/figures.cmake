# The run's figures, exit status and thresholds (issue 11 items 1, 2, 4, 5, 10-14; issue 13
# items 10, 14): llmload run and compare end to end, on both backends, against the mock's own
# counters and arithmetic from configured latencies. One ctest test per case of the script.
ll_add_test(test_thresh SOURCES test_thresh.c LIBS ll_common LABELS unit)
if(TARGET llmload AND TARGET mockllm)
  foreach(case failures classes compare thresholds abort anchor report nulls memory timeout keepup little loop exitcodes)
    add_test(NAME test_figures_${case} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_figures.sh ${case})
    set_tests_properties(test_figures_${case} PROPERTIES TIMEOUT 180 LABELS "integration;figures"
      ENVIRONMENT "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>")
  endforeach()
endif()
