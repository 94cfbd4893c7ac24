# The bench regression gate (bench/gate.py, run with Debian's /usr/bin/python3, standard library
# only): a result at the committed baseline passes, a doctored one and one missing a metric fail.
# Label `gate`: ctest -L gate.
if(EXISTS /usr/bin/python3)
  foreach(mode clean regressed missing)
    add_test(NAME test_bench_gate_${mode}
      COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_bench_gate.sh ${mode}
              ${CMAKE_SOURCE_DIR}/bench/gate.py ${CMAKE_SOURCE_DIR}/bench/baseline.json)
    set_tests_properties(test_bench_gate_${mode} PROPERTIES TIMEOUT 30 LABELS "gate")
  endforeach()
else()
  message(STATUS "no /usr/bin/python3: the bench gate tests are skipped")
endif()

# The libcurl reference peer bench.sh runs beside wrk.
if(EXISTS /usr/bin/python3)
  add_test(NAME test_curl_peer
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_curl_peer.sh $<TARGET_FILE:curl_multi_peer>
            $<TARGET_FILE:mockllm>)
  set_tests_properties(test_curl_peer PROPERTIES TIMEOUT 60 LABELS "integration")
endif()
