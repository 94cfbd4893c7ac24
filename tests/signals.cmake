# llmload under SIGINT, SIGTERM, SIGHUP and SIGKILL at many moments of start-up and run, every
# subcommand, both backends; no mockllm may outlive llmload (issue 13 items 4-6).
if(TARGET llmload AND TARGET mockllm)
  add_executable(test_signals test_signals.c)
  add_dependencies(test_signals llmload mockllm)
  target_link_libraries(test_signals PRIVATE PkgConfig::CJSON PkgConfig::CMOCKA)
  add_test(NAME test_signals COMMAND test_signals)
  set_tests_properties(test_signals PROPERTIES TIMEOUT 600 LABELS "integration"
    ENVIRONMENT "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>")
endif()
