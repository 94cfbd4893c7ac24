# The conformance suite: the same behavioural cases once per backend (a cmocka group each), the
# scripted equivalence scenario compared across backends, and accounting under injected faults.
# The "threads" label also runs it under TSan (tests/run.sh --tsan).
ll_add_test(test_conformance
  SOURCES test_conformance.c
  LIBS ll_testutil ll_backends ll_common PkgConfig::CURL PkgConfig::CJSON
  LABELS "integration;threads"
  NEEDS_MOCK)
