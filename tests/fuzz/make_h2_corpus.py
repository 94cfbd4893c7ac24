#!/usr/bin/python3
"""make_h2_corpus.py - write the seed corpus of the HTTP/2 harness (fuzz_h2) to tests/fuzz/corpus_h2/.

Each seed is the frames a client sends after its preface and first SETTINGS (the harness sends
those itself): requests as HEADERS (HPACK: static-table indexes and literals without indexing,
no Huffman, so that mutations stay readable), bodies in DATA, and the frames around them
(CONTINUATION, WINDOW_UPDATE, PRIORITY, PING, RST_STREAM, SETTINGS, GOAWAY), plus a few that are
wrong on purpose. Run it again after changing it; the files are committed.
"""
import os
import struct

DATA, HEADERS, PRIORITY, RST, SETTINGS, PING, GOAWAY, WINUP, CONT = 0, 1, 2, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS = 0x1, 0x4


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def lit(name, value):
    """A literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2)."""
    def s(b):
        assert len(b) < 127
        return bytes([len(b)]) + b
    return b"\x00" + s(name.encode()) + s(value.encode())


def lit_idx(index, value):
    """A literal without indexing whose name is static-table entry `index` (< 15)."""
    return bytes([index]) + bytes([len(value)]) + value.encode()


GET, POST, PATH_ROOT, HTTP = b"\x82", b"\x83", b"\x84", b"\x86"
AUTH = b"\x01\x09localhost"  # :authority (nghttp2 wants it or host)


def req(stream, method, path, headers=(), body=None, end=True):
    block = (GET if method == "GET" else POST) + HTTP + lit_idx(4, path) + lit_idx(1, "localhost")
    for n, v in headers:
        block += lit(n, v)
    flags = END_HEADERS | (END_STREAM if body is None and end else 0)
    out = frame(HEADERS, flags, stream, block)
    if body is not None:
        out += frame(DATA, END_STREAM if end else 0, stream, body.encode())
    return out


CHAT = '{"model":"gpt-mock","messages":[{"role":"user","content":"hi"}],"max_tokens":4}'
STREAM = CHAT[:-1] + ',"stream":true}'
JSONH = [("content-type", "application/json")]

SEEDS = {
    "get_health": req(1, "GET", "/health"),
    "get_models": req(1, "GET", "/v1/models"),
    "get_metrics": req(1, "GET", "/metrics"),
    "chat": req(1, "POST", "/v1/chat/completions", JSONH, CHAT),
    "chat_stream": req(1, "POST", "/v1/chat/completions", JSONH, STREAM),
    "chat_split_body": frame(HEADERS, END_HEADERS, 1, POST + HTTP + AUTH + lit_idx(4, "/v1/chat/completions"))
    + frame(DATA, 0, 1, CHAT[:20].encode()) + frame(DATA, END_STREAM, 1, CHAT[20:].encode()),
    "three_streams": req(1, "GET", "/health") + req(3, "POST", "/v1/chat/completions", JSONH, CHAT)
    + req(5, "POST", "/v1/chat/completions", JSONH, STREAM),
    "fault_close": req(1, "POST", "/v1/chat/completions", [("x-mock-fault", "close")], STREAM),
    "fault_stall": req(1, "POST", "/v1/chat/completions", [("x-mock-fault", "stall")], CHAT),
    "fault_split": req(1, "POST", "/v1/chat/completions", [("x-mock-fault", "split")], STREAM),
    "status_429": req(1, "POST", "/v1/chat/completions", [("x-mock-status", "429")], CHAT),
    "latency": req(1, "POST", "/v1/chat/completions", [("x-mock-latency-ms", "5"), ("x-mock-itl-ms", "1")], STREAM),
    "bad_json": req(1, "POST", "/v1/chat/completions", JSONH, '{"model":'),
    "not_found": req(1, "GET", "/nowhere"),
    "method_405": req(1, "POST", "/health", (), "x"),
    "head": frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\x00\x07:method\x04HEAD" + HTTP + AUTH + lit_idx(4, "/health")),
    "continuation": frame(HEADERS, END_STREAM, 1, GET + HTTP + AUTH) + frame(CONT, END_HEADERS, 1, lit_idx(4, "/health")),
    "reset_midway": req(1, "POST", "/v1/chat/completions", JSONH, STREAM) + frame(RST, 0, 1, struct.pack(">I", 8)),
    "window_update": frame(WINUP, 0, 0, struct.pack(">I", 1 << 20)) + req(1, "POST", "/v1/chat/completions", JSONH, STREAM)
    + frame(WINUP, 0, 1, struct.pack(">I", 65535)),
    "small_window": frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 16)) + req(1, "POST", "/v1/chat/completions", JSONH, STREAM),
    "priority_ping": frame(PRIORITY, 0, 3, struct.pack(">IB", 0, 15)) + frame(PING, 0, 0, b"12345678") + req(1, "GET", "/health"),
    "goaway_client": req(1, "GET", "/health") + frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0)),
    "settings_ack": frame(SETTINGS, 1, 0) + req(1, "GET", "/health"),
    "trailers": frame(HEADERS, END_HEADERS, 1, POST + HTTP + AUTH + lit_idx(4, "/v1/chat/completions")) + frame(DATA, 0, 1, CHAT.encode())
    + frame(HEADERS, END_HEADERS | END_STREAM, 1, lit("x-trailer", "1")),
    "big_header": req(1, "GET", "/health", [("x-pad", "a" * 120)] * 30),
    "bad_data_stream0": frame(DATA, 0, 0, b"oops"),
    "bad_hpack_index": frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\xff\xff\x7f"),
    "bad_even_stream": req(2, "GET", "/health"),
    "bad_frame_size": frame(PING, 0, 0, b"123"),
    "bad_no_method": frame(HEADERS, END_HEADERS | END_STREAM, 1, HTTP + lit_idx(4, "/health")),
    "bad_upper_name": req(1, "GET", "/health", [("X-Upper", "1")]),
    "bad_content_length": req(1, "POST", "/v1/chat/completions", [("content-length", "5")], CHAT),
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus_h2")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(SEEDS), out))


if __name__ == "__main__":
    main()
