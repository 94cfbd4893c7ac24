# Fuzzing mockllm's request path (tests/fuzz/). Every build replays the seed corpus through the
# harness as an ordinary test; with -DLL_FUZZ=ON and clang, the libFuzzer binary fuzz_request
# is built too (tests/fuzz/run.sh builds it into build-fuzz and runs it for a bounded time).
if(TARGET mock_core)
  add_executable(test_fuzz_replay fuzz/fuzz_request.c fuzz/replay_main.c)
  target_link_libraries(test_fuzz_replay PRIVATE mock_core)
  add_test(NAME test_fuzz_replay
    COMMAND test_fuzz_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus)
  set_tests_properties(test_fuzz_replay PROPERTIES TIMEOUT 120 LABELS "reliability;fuzz")

  if(LL_FUZZ)
    if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
      message(FATAL_ERROR "LL_FUZZ=ON needs clang (libFuzzer): configure with CC=clang")
    endif()
    # Coverage feedback from the server's own code; the system libraries stay uninstrumented.
    foreach(lib mock_core mock_models)
      target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link)
    endforeach()
    add_executable(fuzz_request fuzz/fuzz_request.c)
    target_compile_options(fuzz_request PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_request PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_request PRIVATE mock_core)
  endif()
endif()
