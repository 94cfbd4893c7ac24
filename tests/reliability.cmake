# Reliability (issue 5): clients against a hostile server, soak under injected faults, mockllm
# against hostile clients, the fuzz corpus replayed, and valgrind over a short integration run.
ll_add_test(test_hostile
  SOURCES test_hostile.c
  LIBS ll_testutil ll_backends ll_common PkgConfig::CURL PkgConfig::UV Threads::Threads
  LABELS "integration;threads;reliability"
  TIMEOUT 180
  NEEDS_MOCK)

# Soak under injected faults, both backends (CI size; --soak-requests N for the full run).
ll_add_test(test_soak
  SOURCES test_soak.c
  LIBS ll_testutil ll_backends ll_common PkgConfig::CURL PkgConfig::UV Threads::Threads
  LABELS "integration;threads;reliability"
  TIMEOUT 180
  NEEDS_MOCK)

# mockllm against hostile clients: slowloris, idle, limits, resets (raw loopback sockets).
ll_add_test(test_mock_hostile
  SOURCES test_mock_hostile.c
  LIBS ll_testutil ll_common PkgConfig::CURL
  LABELS "integration;reliability"
  TIMEOUT 180
  NEEDS_MOCK)
ll_add_mock_model_test(test_mock_hostile) # tests/mock.cmake: again against --model threads

# valgrind memcheck over a short integration run (both backends, llmload and its mockllm).
if(TARGET llmload AND TARGET mockllm)
  add_test(NAME test_valgrind COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/valgrind.sh)
  set_tests_properties(test_valgrind PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77
    LABELS "valgrind;reliability"
    ENVIRONMENT "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>")
endif()
