# Fuzzing mockllm's request path (tests/fuzz/), over HTTP/1.1 and over HTTP/2. Every build
# replays the seed corpora through the harness as ordinary tests; with -DLL_FUZZ=ON and clang,
# the libFuzzer binaries fuzz_request and fuzz_h2 are built too (tests/fuzz/run.sh builds one
# into build-fuzz and runs it for a bounded time).
if(TARGET mock_core)
  add_executable(test_fuzz_replay fuzz/fuzz_request.c fuzz/replay_main.c)
  target_link_libraries(test_fuzz_replay PRIVATE mock_core)
  add_test(NAME test_fuzz_replay
    COMMAND test_fuzz_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus)
  set_tests_properties(test_fuzz_replay PROPERTIES TIMEOUT 120 LABELS "reliability;fuzz")
  # The same harness over HTTP/2 (h2c): frames after the preface, seeds in corpus_h2/.
  add_executable(test_fuzz_replay_h2 fuzz/fuzz_request.c fuzz/replay_main.c)
  target_compile_definitions(test_fuzz_replay_h2 PRIVATE FZ_H2)
  target_link_libraries(test_fuzz_replay_h2 PRIVATE mock_core)
  add_test(NAME test_fuzz_replay_h2
    COMMAND test_fuzz_replay_h2 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus_h2)
  set_tests_properties(test_fuzz_replay_h2 PROPERTIES TIMEOUT 120 LABELS "reliability;fuzz")

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
    add_executable(fuzz_h2 fuzz/fuzz_request.c)
    target_compile_definitions(fuzz_h2 PRIVATE FZ_H2)
    target_compile_options(fuzz_h2 PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_h2 PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_h2 PRIVATE mock_core)
  endif()
endif()
