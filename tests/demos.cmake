# The demo scenarios, ab and batch end to end (bench/ll_demo*.c, ll_ab.c, ll_batch*.c): each
# scenario at a small --scale checks its claim with tolerant bounds (orderings and ratios).
if(TARGET llmload AND TARGET mockllm)
  set(LL_DEMO_ENV "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>")
  # scenario and the --scale its timings need to stay well above scheduling noise
  set(LL_DEMO_SCALES basics=0.05 semaphore=0.05 errors=0.05 retry=0.05 pool=0.1
      patterns=0.1 io-vs-cpu=0.1)
  foreach(pair ${LL_DEMO_SCALES})
    string(REPLACE "=" ";" kv ${pair})
    list(GET kv 0 scenario)
    list(GET kv 1 scale)
    add_test(NAME test_demo_${scenario}
      COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_demos.sh ${scenario} ${scale})
    set_tests_properties(test_demo_${scenario} PROPERTIES TIMEOUT 60 LABELS "integration;demo"
      ENVIRONMENT "${LL_DEMO_ENV}")
  endforeach()
  add_test(NAME test_batch COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_batch.sh)
  set_tests_properties(test_batch PROPERTIES TIMEOUT 90 LABELS "integration;demo"
    ENVIRONMENT "${LL_DEMO_ENV}")
endif()
