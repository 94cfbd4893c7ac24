# The demo scenarios, ab and batch end to end (bench/demo/ll_demo*.c, bench/batch/ll_ab.c,
# ll_batch*.c): each scenario at a small --scale checks its claim with tolerant bounds
# (orderings and ratios).
if(TARGET llmload AND TARGET mockllm)
  set(LL_DEMO_ENV "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>")
  # scenario and the --scale its timings need to stay well above scheduling noise
  set(LL_DEMO_SCALES basics=0.05 semaphore=0.05 errors=0.05 retry=0.05 pool=0.25
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
  # demo pool's other forms: cleartext without a round trip, --url, the transport flags refused
  # where they cannot apply (the default form is test_demo_pool above).
  add_test(NAME test_demo_pool_forms COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_demo_pool.sh)
  set_tests_properties(test_demo_pool_forms PROPERTIES TIMEOUT 120 LABELS "integration;demo"
    ENVIRONMENT "${LL_DEMO_ENV}")
  # llmload demo server: the loop against a thread per connection, at 50 and 300 connections
  # here (100, 1,000, 10,000 by default: too heavy beside other tests); the threads label
  # runs it under TSan too.
  add_test(NAME test_demo_server COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_demos.sh server 0.2)
  set_tests_properties(test_demo_server PROPERTIES TIMEOUT 120 LABELS "integration;demo;threads"
    ENVIRONMENT "${LL_DEMO_ENV};LL_DEMO_SERVER_CONNS=50 300")
  add_test(NAME test_batch COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_batch.sh)
  set_tests_properties(test_batch PROPERTIES TIMEOUT 90 LABELS "integration;demo"
    ENVIRONMENT "${LL_DEMO_ENV}")
endif()

# The demos' text helpers on known values (no mock, no network).
if(TARGET ll_demos)
  ll_add_test(test_demo_util SOURCES test_demo_util.c LIBS ll_demos LABELS "unit")
endif()
