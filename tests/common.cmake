# Unit tests of common/ (histogram, retry policy, SSE framing, error tables, client layer).
ll_add_test(test_hist SOURCES test_hist.c LIBS ll_common LABELS unit)
ll_add_test(test_retry SOURCES test_retry.c LIBS ll_common LABELS unit)
ll_add_test(test_sse SOURCES test_sse.c LIBS ll_common LABELS unit)
ll_add_test(test_errors SOURCES test_errors.c LIBS ll_common LABELS unit)
ll_add_test(test_xfer SOURCES test_xfer.c LIBS ll_common LABELS unit threads) # a server thread
ll_add_test(test_wire SOURCES test_wire.c LIBS ll_common LABELS unit threads)
