# llmload's command line as users meet it (issue 13): files never lost and checked first
# (test_cli_files), and the surfaces -- sizing, defaults, progress, ab's profiles, run's
# --duration/--warmup/short flags (test_cli_surface). Both spawn llmload, which spawns mockllm.
if(TARGET llmload AND TARGET mockllm)
  foreach(t test_cli_files test_cli_surface)
    add_test(NAME ${t} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/${t}.sh)
    set_tests_properties(${t} PROPERTIES TIMEOUT 300 LABELS "integration"
      ENVIRONMENT "LL_LLMLOAD=$<TARGET_FILE:llmload>;LL_MOCKLLM=$<TARGET_FILE:mockllm>")
  endforeach()
endif()

# `cmake --install` puts llmload and mockllm in PREFIX/bin, and the installed llmload starts the
# installed mockllm (issue 13 item 20).
add_test(NAME test_install
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_install.sh ${CMAKE_BINARY_DIR})
set_tests_properties(test_install PROPERTIES TIMEOUT 120 LABELS "integration")
