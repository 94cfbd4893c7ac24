# mockllm's concurrency models (mockllm --model) pass the same tests: every test that talks to
# a mockllm (ll_test_mock_start) runs once per model, the second time as NAME_threads with
# LL_MOCK_MODEL=threads. That run carries the "threads" label, so TSan checks the
# thread-per-connection server too (tests/run.sh --tsan).
function(ll_add_mock_model_test name)
  add_test(NAME ${name}_threads COMMAND ${name})
  get_test_property(${name} ENVIRONMENT env)
  get_test_property(${name} LABELS labels)
  get_test_property(${name} TIMEOUT timeout)
  set_tests_properties(${name}_threads PROPERTIES TIMEOUT ${timeout}
    LABELS "${labels};threads" ENVIRONMENT "${env};LL_MOCK_MODEL=threads")
endfunction()

# mockllm's server proper, end to end: spawn it on port 0 (ll_mockproc) and talk to it with
# libcurl and raw sockets.
ll_add_test(test_mock_server
  SOURCES test_mock_server.c
  LIBS ll_testutil ll_common PkgConfig::CURL PkgConfig::CJSON
  LABELS integration
  NEEDS_MOCK)
ll_add_mock_model_test(test_mock_server)
# mockllm's memos (mock_server/mock_memo.c), alone.
ll_add_test(test_mock_memo SOURCES test_mock_memo.c LIBS mock_core LABELS unit)
# mockllm's settings: flags, the JSON config file, presets, the concurrency model.
ll_add_test(test_mock_config SOURCES test_mock_config.c LIBS mock_core LABELS unit)
# mockllm's counters: the in-flight peak over loops, the shared slot of the thread model.
ll_add_test(test_mock_metrics SOURCES test_mock_metrics.c LIBS mock_core LABELS "unit;threads")
# mockllm's streams as real servers send them: headers at admission, reasoning and multi-token
# chunks (raw sockets, each test its own mockllm).
ll_add_test(test_mock_stream
  SOURCES test_mock_stream.c
  LIBS ll_testutil PkgConfig::CJSON
  LABELS integration
  NEEDS_MOCK)
ll_add_mock_model_test(test_mock_stream)
# A slow reader paces its stream: bounded RSS, bytes counted when the kernel takes them.
ll_add_test(test_mock_pace
  SOURCES test_mock_pace.c
  LIBS ll_testutil
  LABELS integration
  NEEDS_MOCK)
ll_add_mock_model_test(test_mock_pace)
# What the two models share beyond the suites above (capacity, stop, grace, thread counts) and
# where each stops (descriptors; threads under a lowered RLIMIT_AS), named from evidence.
ll_add_test(test_mock_models
  SOURCES test_mock_models.c
  LIBS ll_testutil
  LABELS integration
  NEEDS_MOCK)
ll_add_mock_model_test(test_mock_models)
# Served-model profiles end to end: TTFT growing with the prompt (prefill), natural lengths,
# min_tokens and ignore_eos, presets, determinism.
ll_add_test(test_mock_profile
  SOURCES test_mock_profile.c
  LIBS ll_testutil PkgConfig::CJSON
  LABELS integration
  NEEDS_MOCK)
ll_add_mock_model_test(test_mock_profile)
