# The official OpenAI client library talks to mockllm (skipped, not failed, without node/npm).
add_test(NAME test_openai_client COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_openai_client.sh)
set_tests_properties(test_openai_client PROPERTIES TIMEOUT 400 SKIP_RETURN_CODE 77 LABELS integration
  ENVIRONMENT "LL_MOCKLLM=${CMAKE_BINARY_DIR}/mock_server/mockllm")
