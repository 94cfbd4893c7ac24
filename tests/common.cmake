# Unit tests of common/ (histogram, retry policy, SSE framing, error tables, client layer).
ll_add_test(test_hist SOURCES test_hist.c LIBS ll_common LABELS unit)
ll_add_test(test_retry SOURCES test_retry.c LIBS ll_common LABELS unit)
ll_add_test(test_sse SOURCES test_sse.c LIBS ll_common LABELS unit)
ll_add_test(test_errors SOURCES test_errors.c LIBS ll_common LABELS unit)
ll_add_test(test_xfer SOURCES test_xfer.c LIBS ll_common LABELS unit threads) # a server thread
ll_add_test(test_wire SOURCES test_wire.c LIBS ll_common LABELS unit threads)
# /proc, /sys and rlimit readers and the thread walls (common/ll_sys.h): linked alone, as
# mockllm links it, against files and trees of known contents.
ll_add_test(test_sys SOURCES test_sys.c LIBS ll_sys Threads::Threads LABELS unit)
# The walls' one judgement in the client's words and in mockllm's (ll_proc.h, mock_syslimit.h).
ll_add_test(test_sys_words SOURCES test_sys_words.c LIBS ll_common mock_core LABELS unit)
