# threaded/ tests: the pthread-pool backend against a real mockllm (the "threads" label also runs
# them under TSan: tests/run.sh --tsan).
ll_add_test(test_tp_pool
  SOURCES test_tp_pool.c
  LIBS ll_testutil tp_backend ll_common PkgConfig::CURL Threads::Threads
  LABELS "integration;threads"
  SPLIT "thread_limit:test_tp_pool_thread_limit_partway"
  NEEDS_MOCK)
