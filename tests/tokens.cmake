# What a streamed answer's tokens, chunks and reasoning mean (issue 11, items 6-9): the real
# llmload run/ab/batch on both backends against a scripted server (tests/stream_server.h), and
# the per-token split on synthetic results. Spawns llmload: it needs it built.
if(TARGET llmload)
  ll_add_test(test_tokens
    SOURCES test_tokens.c stream_server.c
    LIBS ll_common PkgConfig::CJSON Threads::Threads
    LABELS integration
    TIMEOUT 180)
  add_dependencies(test_tokens llmload)
endif()
