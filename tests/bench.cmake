# The bench regression gate (bench/gate.py, run with Debian's /usr/bin/python3, standard library
# only) on rounds recorded from real bench runs, and bench.sh's command line (its checks run
# before anything is built or started, so the test starts no benchmark).
# Label `gate`: ctest -L gate.
if(EXISTS /usr/bin/python3)
  add_test(NAME test_bench_gate
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_bench_gate.py
            ${CMAKE_SOURCE_DIR}/bench/gate.py ${CMAKE_CURRENT_SOURCE_DIR}/data/gate_rounds.json)
  set_tests_properties(test_bench_gate PROPERTIES TIMEOUT 120 LABELS "gate")
  # The steady-state ceiling's steps and its naming of walls (bench/ceiling.py), on step
  # results recorded on this machine (tests/data/ceiling).
  add_test(NAME test_bench_ceiling
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_bench_ceiling.py
            ${CMAKE_SOURCE_DIR}/bench ${CMAKE_CURRENT_SOURCE_DIR}/data/ceiling)
  set_tests_properties(test_bench_ceiling PROPERTIES TIMEOUT 120 LABELS "gate")
  # The transport workload's report (bench/transport.py via report.py) on a results directory
  # made by the test with known right values; mockllm's own counts against a live mockllm.
  add_test(NAME test_bench_transport
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_bench_transport.py
            ${CMAKE_SOURCE_DIR}/bench $<TARGET_FILE:mockllm>)
  set_tests_properties(test_bench_transport PROPERTIES TIMEOUT 120 LABELS "gate")
  add_test(NAME test_bench_cli
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_bench_cli.sh ${CMAKE_SOURCE_DIR})
  set_tests_properties(test_bench_cli PROPERTIES TIMEOUT 60 LABELS "gate")
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
