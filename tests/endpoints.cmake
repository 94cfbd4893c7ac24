# Real endpoints (issue 12): both backends against a scripted server that closes connections,
# sends retry hints, streams for long, compresses, and reports errors inside a 200.
find_package(ZLIB REQUIRED) # the scripted server compresses answers (gzip, deflate)
ll_add_test(test_endpoints
  SOURCES test_endpoints.c
  LIBS ll_testutil ll_backends ll_common PkgConfig::CURL PkgConfig::UV Threads::Threads ZLIB::ZLIB
  LABELS "integration;threads;reliability"
  TIMEOUT 300)
# The in-band error shapes (tests/inband_shapes.h) against ll_inband alone.
ll_add_test(test_inband SOURCES test_inband.c LIBS ll_common LABELS unit)
