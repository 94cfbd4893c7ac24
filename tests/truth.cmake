# Tests with teeth (issue 11 item 18): every figure against a truth from outside the program —
# mockllm's own counters (/metrics, its summary line), a scripted server's arrival log
# (ll_scriptsrv), arithmetic from configured latencies, rates and timeouts, and the wall clock.

# Retry waits measured between attempts at ll_scriptsrv, both backends.
ll_add_test(test_truth_client
  SOURCES test_truth_client.c
  LIBS ll_testutil ll_backends ll_common PkgConfig::CURL
  LABELS "integration;truth"
  NEEDS_MOCK)

# The CLI's figures and README claims against outside truths (tests/truth/*.py, standard
# library only, Debian's /usr/bin/python3), both backends.
if(TARGET llmload AND TARGET mockllm AND EXISTS /usr/bin/python3)
  set(LL_TRUTH_ENV "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>;LL_SCRIPTSRV=$<TARGET_FILE:ll_scriptsrv>")
  if(LL_SANITIZE)
    list(APPEND LL_TRUTH_ENV "LL_TEST_SANITIZED=1")
  endif()
  foreach(t run cli mock window surface)
    add_test(NAME test_truth_${t}
      COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/truth/test_${t}.py)
    set_tests_properties(test_truth_${t} PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77
      LABELS "integration;truth" ENVIRONMENT "${LL_TRUTH_ENV}")
  endforeach()
endif()

# Nothing a backend is given is lost, by the allocator's own count (mallinfo2), in the normal
# build; the tcache is off so that a freed chunk counts as free at once.
ll_add_test(test_leaks
  SOURCES test_leaks.c
  LIBS ll_testutil ll_backends ll_common PkgConfig::CURL
  LABELS "integration;truth"
  NEEDS_MOCK)
set_property(TEST test_leaks APPEND PROPERTY ENVIRONMENT "GLIBC_TUNABLES=glibc.malloc.tcache_count=0")
