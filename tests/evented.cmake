# evented/ tests: the libuv <-> curl multi glue and the evented backend against a real mockllm.
ll_add_test(test_ev_curl
  SOURCES test_ev_curl.c
  LIBS ll_testutil ev_backend ll_common PkgConfig::UV PkgConfig::CURL
  LABELS integration
  NEEDS_MOCK)
