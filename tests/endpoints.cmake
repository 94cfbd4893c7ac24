# Real endpoints (issue 12): both backends against a scripted server that closes connections,
# sends retry hints, streams for long, compresses, and reports errors inside a 200.
ll_add_test(test_endpoints
  SOURCES test_endpoints.c
  LIBS ll_testutil ll_backends ll_common PkgConfig::CURL PkgConfig::UV Threads::Threads
  LABELS "integration;threads;reliability"
  TIMEOUT 300
  NEEDS_MOCK)
find_package(ZLIB REQUIRED) # the scripted server compresses answers (gzip, deflate)
ll_add_test(test_endpoints_wire
  SOURCES test_endpoints_wire.c
  LIBS ll_testutil ll_backends ll_common PkgConfig::CURL PkgConfig::UV Threads::Threads ZLIB::ZLIB
  LABELS "integration;threads;reliability"
  TIMEOUT 300)
# The in-band error shapes (tests/inband_shapes.h) against ll_inband alone.
ll_add_test(test_inband SOURCES test_inband.c LIBS ll_common LABELS unit)
# The CLI's endpoint rules: unusable URLs are usage errors, no load to an endpoint not named for
# the run (a second mockllm stands for a paid one), the key never printed.
if(TARGET llmload AND TARGET mockllm)
  add_test(NAME test_endpoints_cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_endpoints_cli.sh)
  set_tests_properties(test_endpoints_cli PROPERTIES TIMEOUT 240 SKIP_RETURN_CODE 77
    LABELS "integration"
    ENVIRONMENT "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>")
endif()
