# mockllm's transport (issue 15): TLS under both concurrency models, HTTP/2 (the loop model's),
# the emulated round trip; shell tests driving curl, openssl, nghttp/h2load and raw sockets
# (tests/test_mock_wire.py). They skip (77) when a tool is missing. The thread model's run
# carries the "threads" label, so that TSan checks TLS in it too (tests/run.sh --tsan).
set(LL_MOCKLLM_BIN ${CMAKE_BINARY_DIR}/mock_server/mockllm)
add_test(NAME test_mock_tls COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_mock_tls.sh ${LL_MOCKLLM_BIN} loop)
add_test(NAME test_mock_tls_threads
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_mock_tls.sh ${LL_MOCKLLM_BIN} threads)
add_test(NAME test_mock_h2 COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_mock_h2.sh ${LL_MOCKLLM_BIN})
# Curl's phase times against the configured round trip: the least of 7 runs each.
add_test(NAME test_mock_rtt COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_mock_rtt.sh ${LL_MOCKLLM_BIN})
set_tests_properties(test_mock_tls test_mock_h2 test_mock_rtt PROPERTIES TIMEOUT 240
  SKIP_RETURN_CODE 77 LABELS "integration;tls")
set_tests_properties(test_mock_tls_threads PROPERTIES TIMEOUT 240 SKIP_RETURN_CODE 77
  LABELS "integration;tls;threads")

# The libcurl cases of test_mock_server again over HTTPS (HTTP/1.1, both models) and HTTP/2.
get_test_property(test_mock_server ENVIRONMENT mock_server_env)
foreach(variant tls tls_threads h2)
  add_test(NAME test_mock_server_${variant} COMMAND test_mock_server)
  string(REGEX REPLACE "_threads$" "" transport ${variant})
  set(env "${mock_server_env};LL_MOCK_TRANSPORT=${transport}")
  set(labels "integration;tls")
  if(variant STREQUAL "tls_threads")
    set(env "${env};LL_MOCK_MODEL=threads")
    set(labels "${labels};threads")
  endif()
  set_tests_properties(test_mock_server_${variant} PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77
    LABELS "${labels}" ENVIRONMENT "${env}")
endforeach()

# llmload's client over HTTPS and HTTP/2 on both backends (issue 15 items 5-7), every count
# checked against mockllm's /metrics.
if(TARGET llmload AND TARGET mockllm)
  add_test(NAME test_client_tls COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_client_tls.sh
    $<TARGET_FILE:llmload> $<TARGET_FILE:mockllm>)
  set_tests_properties(test_client_tls PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77
    LABELS "integration;tls")
endif()

# --max-connections and the ceiling over HTTP/2 at small scale (issue 15 item 10), on both
# backends, every connection count checked against mockllm's /metrics.
if(TARGET llmload AND TARGET mockllm)
  add_test(NAME test_client_h2cap COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_client_h2cap.sh
    $<TARGET_FILE:llmload> $<TARGET_FILE:mockllm>)
  set_tests_properties(test_client_h2cap PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77
    LABELS "integration;tls")
endif()
