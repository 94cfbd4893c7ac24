#!/usr/bin/python3
"""test_mock_wire.py - bad TLS and HTTP/2 input sent to mockllm by hand, for the shell tests
(test_mock_tls.sh, test_mock_h2.sh). Each command connects, sends what it is named for, reads
until the server closes (at most 5 s) and checks what came back; it prints one line and exits 0
when the server answered as a server should (an alert or a GOAWAY with the right error code,
then the connection closed), 1 otherwise.

    tls-garbage PORT            random bytes instead of a ClientHello: no HTTP answer, closed
    tls-plain PORT              cleartext HTTP to the TLS port: no HTTP answer, closed
    tls-badrecord PORT CA       a handshake, then a record that fails to decrypt: closed
    h2-badframe PORT [CA]       preface, SETTINGS, DATA on stream 0: GOAWAY PROTOCOL_ERROR
    h2-badpreface PORT CA       ALPN h2, then no client preface: GOAWAY PROTOCOL_ERROR
    h2-badhpack PORT [CA]       HEADERS with an HPACK index that does not exist: GOAWAY
                                COMPRESSION_ERROR
    h2-slow PORT                h2c: a 65,536-token stream whose reader grants no window:
                                mockllm stops at the window (mockllm_streams_paced 1, under
                                256 KiB sent, not growing), then, window granted as DATA is
                                read, finishes
                                ([DONE], paced 0)
Without CA the HTTP/2 commands use h2c (prior knowledge) on cleartext.
"""
import random
import socket
import ssl
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
PROTOCOL_ERROR, COMPRESSION_ERROR = 1, 9


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def read_all(sock, limit_s=5.0):
    """Everything until EOF or a reset; None when the server kept the connection open."""
    sock.settimeout(0.2)
    data, end = b"", time.monotonic() + limit_s
    while time.monotonic() < end:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, ssl.SSLError, OSError):
            return data
        if not chunk:
            return data
        data += chunk
    return None


def connect(port, ca=None, alpn=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if ca is None:
        return s
    ctx = ssl.create_default_context(cafile=ca)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    if alpn and t.selected_alpn_protocol() != alpn[0]:
        sys.exit("ALPN chose %r, not %r" % (t.selected_alpn_protocol(), alpn[0]))
    return t


def goaway_code(data):
    """The error code of the first GOAWAY frame in data (after the server's SETTINGS), or None."""
    at = 0
    while at + 9 <= len(data):
        length = int.from_bytes(data[at:at + 3], "big")
        ftype = data[at + 3]
        if ftype == 7 and length >= 8:
            return struct.unpack(">I", data[at + 13:at + 17])[0]
        at += 9 + length
    return None


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    sys.exit(0 if ok else 1)


def tls_garbage(port):
    s = connect(port)
    rnd = random.Random(15)
    s.sendall(bytes(rnd.randrange(256) for _ in range(3000)))
    got = read_all(s)
    check(got is not None and b"HTTP/" not in got,
          "garbage instead of a ClientHello: %s" % ("kept open" if got is None else "%d bytes back (%s), closed" % (len(got), got[:1].hex() or "none")))


def tls_plain(port):
    s = connect(port)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    got = read_all(s)
    check(got is not None and b"HTTP/" not in got,
          "cleartext HTTP to the TLS port: %s" % ("kept open" if got is None else "%d bytes back, closed" % len(got)))


def tls_badrecord(port, ca):
    t = connect(port, ca, ["http/1.1"])
    raw = socket.socket(fileno=t.detach())
    # an application_data record whose authentication tag cannot be right
    raw.sendall(b"\x17\x03\x03\x00\x40" + bytes(64))
    got = read_all(raw)
    check(got is not None, "a record that does not decrypt: %s" % ("kept open" if got is None else "closed"))


def h2_expect(sock, payload, want, what):
    sock.sendall(payload)
    got = read_all(sock)
    code = goaway_code(got or b"")
    check(got is not None and code == want,
          "%s: GOAWAY error %s (want %d), %s" % (what, code, want, "kept open" if got is None else "closed"))


def h2_badframe(port, ca=None):
    s = connect(port, ca, ["h2"] if ca else None)
    h2_expect(s, PREFACE + frame(4, 0, 0) + frame(0, 1, 0, b"oops"), PROTOCOL_ERROR,
              "DATA on stream 0")


def h2_badpreface(port, ca):
    s = connect(port, ca, ["h2"])
    h2_expect(s, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(30), PROTOCOL_ERROR, "no client preface")


def h2_badhpack(port, ca=None):
    s = connect(port, ca, ["h2"] if ca else None)
    # indexed header field 0x7f+: an index far past the static and dynamic tables
    h2_expect(s, PREFACE + frame(4, 0, 0) + frame(1, 0x05, 1, b"\xff\xff\x7f"), COMPRESSION_ERROR,
              "an HPACK index that does not exist")


def metric(port, name):
    import urllib.request
    for line in urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode().splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    return None


def h2_slow(port):
    body = (b'{"model":"gpt-mock","messages":[{"role":"user","content":"hi"}],'
            b'"max_tokens":65536,"stream":true}')
    block = b"\x83\x86\x04\x14/v1/chat/completions\x01\x09localhost"
    s = connect(port)
    s.sendall(PREFACE + frame(4, 0, 0) + frame(1, 4, 1, block) + frame(0, 1, 1, body))
    paced, sent = None, None
    for _ in range(50):  # until the stream waits (at most 5 s)
        time.sleep(0.1)
        paced, sent = metric(port, "mockllm_streams_paced"), metric(port, "mockllm_bytes_sent_total")
        if paced == 1:
            break
    time.sleep(0.3)
    sent2 = metric(port, "mockllm_bytes_sent_total")
    s.settimeout(10)
    buf, got, done = b"", 0, False
    while not done:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
            n = int.from_bytes(buf[:3], "big")
            ftype, payload, buf = buf[3], buf[9:9 + n], buf[9 + n:]
            if ftype == 0 and n > 0:
                got += n
                s.sendall(frame(8, 0, 0, struct.pack(">I", n)) + frame(8, 0, 1, struct.pack(">I", n)))
                done = payload.endswith(b"data: [DONE]\n\n")
    after = metric(port, "mockllm_streams_paced")
    # (a scrape's own answer, ~5 KB, is counted between the two readings)
    check(paced == 1 and sent2 - sent < 16384 and sent < 256 * 1024 and done and after == 0,
          "a reader that grants no window: paced %s, %s bytes sent, still %s after 0.3 s; "
          "then %d bytes read, [DONE] %s, paced %s" % (paced, sent, sent2, got, done, after))


def main():
    cmds = {"tls-garbage": tls_garbage, "tls-plain": tls_plain, "tls-badrecord": tls_badrecord,
            "h2-badframe": h2_badframe, "h2-badpreface": h2_badpreface, "h2-badhpack": h2_badhpack,
            "h2-slow": h2_slow}
    if len(sys.argv) < 3 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](int(sys.argv[2]), *sys.argv[3:])


if __name__ == "__main__":
    main()
