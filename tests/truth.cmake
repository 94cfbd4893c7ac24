# Tests with teeth (issue 11 item 18): every figure against a truth from outside the program —
# mockllm's own counters (/metrics, its summary line), a scripted server's arrival log
# (ll_scriptsrv), arithmetic from configured latencies, rates and timeouts, and the wall clock.

# Retry waits measured between attempts at ll_scriptsrv, both backends.
ll_add_test(test_truth_client
  SOURCES test_truth_client.c
  LIBS ll_testutil ll_backends ll_common PkgConfig::CURL
  LABELS "integration;truth"
  NEEDS_MOCK)
