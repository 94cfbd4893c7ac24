# mockllm's pure models: rng, latency distributions and profiles, fault rates and scripts, rate
# limits, generated text. No I/O and no libuv, so unit tests link them alone.
add_library(mock_models STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/mock_rng.c
  ${CMAKE_CURRENT_SOURCE_DIR}/mock_latency.c
  ${CMAKE_CURRENT_SOURCE_DIR}/mock_fault.c
  ${CMAKE_CURRENT_SOURCE_DIR}/mock_ratelimit.c
  ${CMAKE_CURRENT_SOURCE_DIR}/mock_text.c)
target_include_directories(mock_models PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(mock_models PUBLIC Threads::Threads)
if(LL_LIBM)
  target_link_libraries(mock_models PUBLIC ${LL_LIBM})
endif()
