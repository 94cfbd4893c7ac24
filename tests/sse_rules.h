/* sse_rules.h - one byte stream per rule of the WHATWG event stream interpretation (ll_sse.h),
 * each a chat.completion.chunk stream, with what a right parser makes of it: the events (type and
 * data), the last event id and reconnection time, whether [DONE] was seen, and the content a
 * client joins from the deltas. test_sse feeds each stream to ll_sse at every split point;
 * test_endpoints serves each one split at every point to both backends. Data only. */
#ifndef SSE_RULES_H
#define SSE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSE_CH(text) "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" text "\"}}]}"
#define SSE_DONE     "data: [DONE]\n\n"
#define SSE_MAX_EV   4

struct sse_rule {
    const char *name;
    const char *bytes; /* may hold NULs: len says how long */
    size_t len;
    struct {
        const char *type, *data;
    } ev[SSE_MAX_EV]; /* the events dispatched, in order (type NULL ends) */
    const char *last_id;
    int64_t retry_ms;
    bool done;
    const char *content; /* what the deltas join to */
};

#define SSE_BYTES(s) s, sizeof(s) - 1

static const struct sse_rule sse_rules[] = {
    {"LF line ends",
     SSE_BYTES("data: " SSE_CH("a") "\n\ndata: " SSE_CH("b") "\n\n" SSE_DONE),
     {{"message", SSE_CH("a")}, {"message", SSE_CH("b")}},
     "",
     -1,
     true,
     "ab"},
    {"CRLF line ends",
     SSE_BYTES("data: " SSE_CH("a") "\r\n\r\ndata: " SSE_CH("b") "\r\n\r\ndata: [DONE]\r\n\r\n"),
     {{"message", SSE_CH("a")}, {"message", SSE_CH("b")}},
     "",
     -1,
     true,
     "ab"},
    {"CR line ends",
     SSE_BYTES("data: " SSE_CH("a") "\r\rdata: " SSE_CH("b") "\r\rdata: [DONE]\r\r"),
     {{"message", SSE_CH("a")}, {"message", SSE_CH("b")}},
     "",
     -1,
     true,
     "ab"},
    {"mixed line ends",
     SSE_BYTES("data: " SSE_CH("a") "\r\n\rdata: " SSE_CH("b") "\n\r\ndata: [DONE]\r\n\n"),
     {{"message", SSE_CH("a")}, {"message", SSE_CH("b")}},
     "",
     -1,
     true,
     "ab"},
    {"leading BOM dropped",
     SSE_BYTES("\xEF\xBB\xBF"
               "data: " SSE_CH("a") "\n\n" SSE_DONE),
     {{"message", SSE_CH("a")}},
     "",
     -1,
     true,
     "a"},
    {"BOM later is not dropped",
     SSE_BYTES("data: " SSE_CH("a") "\n\n\xEF\xBB\xBF"
                                    "data: " SSE_CH("x") "\n\n" SSE_DONE),
     {{"message", SSE_CH("a")}},
     "",
     -1,
     true,
     "a"},
    {"comments",
     SSE_BYTES(":\n: ping\n:data: " SSE_CH("x") "\ndata: " SSE_CH("a") "\n: mid\n\n" SSE_DONE),
     {{"message", SSE_CH("a")}},
     "",
     -1,
     true,
     "a"},
    {"one leading space dropped",
     SSE_BYTES("data:" SSE_CH("a") "\n\ndata:  " SSE_CH("b") "\n\n" SSE_DONE),
     {{"message", SSE_CH("a")}, {"message", " " SSE_CH("b")}},
     "",
     -1,
     true,
     "ab"},
    {"data lines joined by LF",
     SSE_BYTES(
         "data: {\"choices\":[{\"index\":0,\ndata: \"delta\":{\"content\":\"a\"}}]}\n\n" SSE_DONE),
     {{"message", "{\"choices\":[{\"index\":0,\n\"delta\":{\"content\":\"a\"}}]}"}},
     "",
     -1,
     true,
     "a"},
    {"event types",
     SSE_BYTES("event: chunk\ndata: " SSE_CH(
         "a") "\n\nevent: ping\ndata: {}\n\nevent:\ndata: " SSE_CH("b") "\n\n" SSE_DONE),
     {{"chunk", SSE_CH("a")}, {"ping", "{}"}, {"message", SSE_CH("b")}},
     "",
     -1,
     true,
     "ab"},
    {"type forgotten without data",
     SSE_BYTES("event: ping\n\ndata: " SSE_CH("a") "\n\n" SSE_DONE),
     {{"message", SSE_CH("a")}},
     "",
     -1,
     true,
     "a"},
    {"id, and an id with NUL ignored",
     SSE_BYTES("id: 7\ndata: " SSE_CH("a") "\n\nid: b\0d\ndata: " SSE_CH("b") "\n\n" SSE_DONE),
     {{"message", SSE_CH("a")}, {"message", SSE_CH("b")}},
     "7",
     -1,
     true,
     "ab"},
    {"retry digits only",
     SSE_BYTES("retry: 1500\ndata: " SSE_CH("a") "\n\nretry: 15x\nretry:\n\n" SSE_DONE),
     {{"message", SSE_CH("a")}},
     "",
     1500,
     true,
     "a"},
    {"unknown and miscased fields",
     SSE_BYTES("foo: bar\ndata : " SSE_CH("x") "\nDATA: " SSE_CH("y") "\nData: " SSE_CH(
         "z") "\ndata: " SSE_CH("a") "\n\n" SSE_DONE),
     {{"message", SSE_CH("a")}},
     "",
     -1,
     true,
     "a"},
    {"field without colon",
     SSE_BYTES("data\ndata: " SSE_CH("a") "\n\n" SSE_DONE),
     {{"message", "\n" SSE_CH("a")}},
     "",
     -1,
     true,
     "a"},
    {"empty data dispatched",
     SSE_BYTES("data:\n\ndata: " SSE_CH("a") "\n\n" SSE_DONE),
     {{"message", ""}, {"message", SSE_CH("a")}},
     "",
     -1,
     true,
     "a"},
    {"colon in the value",
     SSE_BYTES("data: " SSE_CH("a:b") "\n\n" SSE_DONE),
     {{"message", SSE_CH("a:b")}},
     "",
     -1,
     true,
     "a:b"},
    {"UTF-8 kept whole",
     SSE_BYTES("data: " SSE_CH("\xC3\xA9\xE2\x82\xAC") "\n\n" SSE_DONE),
     {{"message", SSE_CH("\xC3\xA9\xE2\x82\xAC")}},
     "",
     -1,
     true,
     "\xC3\xA9\xE2\x82\xAC"},
    {"unfinished event discarded",
     SSE_BYTES("data: " SSE_CH("a") "\n\ndata: [DONE]\n"),
     {{"message", SSE_CH("a")}},
     "",
     -1,
     false,
     "a"},
};

#define SSE_N_RULES (sizeof(sse_rules) / sizeof(sse_rules[0]))

#endif
