# Unit tests of mockllm's pure models (mock_server/models.cmake): no server, no sockets.
foreach(module latency shape fault ratelimit text)
  ll_add_test(test_mock_${module} SOURCES test_mock_${module}.c LIBS mock_models LABELS unit)
endforeach()
