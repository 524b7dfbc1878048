#!/usr/bin/env python3
"""The HTTP edge under hostile clients, measured against a real node (bench/edge.sh runs it).

Repeats the measurements of the bad-input issue against a running lapor-node:
  1. a POST declaring Content-Length 200 MiB whose client sends the body as fast as it can:
     time to the 413, bytes the client got to send, the node's RSS growth;
  2. a 100 MiB chunked body: the same;
  3. a header of 100 MiB with no end: time to the 431, RSS growth;
  4. SLOW connections that never finish their headers: how many are still open after the header
     deadline, and /healthz latency while they are open;
  5. 1,100 such connections from one address: /healthz latency once the reserve's deadline passed.

usage: edge_probe.py PORT PID [SLOW]
Prints one line per measurement and "EDGE_PROBE k=v ..." at the end.
"""
import resource
import socket
import sys
import threading
import time

PORT = int(sys.argv[1])
PID = int(sys.argv[2])
SLOW = int(sys.argv[3]) if len(sys.argv) > 3 else 400


def rss_kb():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def connect():
    s = socket.create_connection(("127.0.0.1", PORT))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def blast(head, chunk, total):
    """Sends head then `total` bytes of `chunk`s while reading the reply; returns
    (status, seconds to the reply, bytes of body sent, peak RSS growth in MB)."""
    s = connect()
    s.sendall(head)
    sent = [0]
    done = threading.Event()

    def sender():
        try:
            while sent[0] < total and not done.is_set():
                s.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass

    base = rss_kb()
    peak = [base]
    t0 = time.monotonic()
    th = threading.Thread(target=sender, daemon=True)
    th.start()
    s.settimeout(30)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            got = s.recv(65536)
            if not got:
                break
            data += got
            peak[0] = max(peak[0], rss_kb())
    except OSError:
        pass
    took = time.monotonic() - t0
    for _ in range(10):
        peak[0] = max(peak[0], rss_kb())
        time.sleep(0.05)
    done.set()
    s.close()
    th.join(timeout=5)
    status = int(data[9:12]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, took, sent[0], (peak[0] - base) / 1024


def healthz_ms():
    t0 = time.monotonic()
    s = connect()
    s.settimeout(10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: probe\r\n\r\n")
    data = s.recv(4096)
    s.close()
    ok = data.startswith(b"HTTP/1.1 200")
    return (time.monotonic() - t0) * 1000, ok


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the client needs 1,100+ sockets
    out = {}
    mib = 1 << 20
    st, took, sent, grew = blast(
        b"POST /api/v1/complaints HTTP/1.1\r\nHost: probe\r\nContent-Type: application/json\r\n"
        b"Content-Length: 209715200\r\n\r\n", b"a" * 65536, 200 * mib)
    print(f"1. declared 200 MiB: {st} after {took:.3f} s; client sent {sent / mib:.1f} MiB; "
          f"node RSS +{grew:.1f} MB")
    out.update(declared_status=st, declared_s=f"{took:.3f}", declared_rss_mb=f"{grew:.1f}")

    chunk = b"10000\r\n" + b"a" * 65536 + b"\r\n"
    st, took, sent, grew = blast(
        b"POST /api/v1/complaints HTTP/1.1\r\nHost: probe\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n", chunk, 100 * mib)
    print(f"2. chunked 100 MiB: {st} after {took:.3f} s; client sent {sent / mib:.1f} MiB; "
          f"node RSS +{grew:.1f} MB")
    out.update(chunked_status=st, chunked_s=f"{took:.3f}", chunked_rss_mb=f"{grew:.1f}")

    st, took, sent, grew = blast(b"GET /healthz HTTP/1.1\r\nX-Endless: ", b"y" * 65536,
                                 100 * mib)
    print(f"3. endless 100 MiB header: {st} after {took:.3f} s; client sent {sent / mib:.1f} MiB; "
          f"node RSS +{grew:.1f} MB")
    out.update(header_status=st, header_s=f"{took:.3f}", header_rss_mb=f"{grew:.1f}")

    slow = []
    for _ in range(SLOW):
        s = connect()
        s.sendall(b"POST /api/v1/complaints HTTP/1.1\r\nHost: slow\r\n")
        slow.append(s)
    ms, ok = healthz_ms()
    print(f"4. {SLOW} slow connections open: /healthz {'200' if ok else 'FAILED'} in {ms:.1f} ms")
    out.update(slow=SLOW, slow_healthz_ms=f"{ms:.1f}", slow_healthz_ok=ok)
    deadline = 20  # the default header deadline is 15 s
    time.sleep(deadline)
    still = 0
    for s in slow:
        s.setblocking(False)
        try:
            if s.recv(1) != b"":
                still += 1
        except BlockingIOError:
            still += 1
        except OSError:
            pass
        s.close()
    print(f"   {deadline} s later: {still} of {SLOW} still open")
    out.update(slow_open_after_s=deadline, slow_still_open=still)

    many = []
    # 1,100, or as many as this client's own open-file limit allows.
    for _ in range(min(1100, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 50)):
        try:
            s = connect()
            s.sendall(b"POST /api/v1/complaints HTTP/1.1\r\nHost: slow\r\n")
            many.append(s)
        except OSError:
            break
    time.sleep(1.5)
    ms, ok = healthz_ms()
    print(f"5. {len(many)} slow connections from one address, 1.5 s later: /healthz "
          f"{'200' if ok else 'FAILED'} in {ms:.1f} ms; node RSS {rss_kb() / 1024:.0f} MB")
    out.update(many=len(many), many_healthz_ms=f"{ms:.1f}", many_healthz_ok=ok)
    for s in many:
        s.close()
    print("EDGE_PROBE " + " ".join(f"{k}={v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
