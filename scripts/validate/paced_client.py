#!/usr/bin/env python3
"""An independent minimal HTTP/1.1 client (not dyno's generator): CONNECTIONS keep-alive connections,
each a thread sending GET PATH at fixed intended times so that together they offer RATE requests per
second for SECONDS; latency is measured from each request's intended send time (as wrk2 and dyno load
do in open loop) to the end of its response. Prints one JSON object: requests, errors, p50/p90/p99 in
nanoseconds. Used by `cargo xtask validate` to cross-check dyno load's latency against a known delay.

usage: paced_client.py HOST PORT PATH RATE SECONDS CONNECTIONS
"""
import json
import socket
import sys
import threading
import time


def worker(host, port, path, interval, offset, start, end, out):
    s = socket.create_connection((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (path, host, port)).encode()
    buf = b""
    intended = start + offset
    while intended < end:
        now = time.monotonic()
        if intended > now:
            time.sleep(intended - now)
        try:
            s.sendall(req)
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                buf += chunk
            head, _, rest = buf.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v)
            while len(rest) < length:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                rest += chunk
            buf = rest[length:]
            ok = head.startswith(b"HTTP/1.1 200")
            out.append((time.monotonic() - intended) if ok else None)
        except (OSError, ValueError):
            out.append(None)
            return
        intended += interval


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rate, secs, conns = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    interval = conns / rate
    start = time.monotonic() + 0.2
    end = start + secs
    outs = [[] for _ in range(conns)]
    threads = [
        threading.Thread(target=worker, args=(host, port, path, interval, i * interval / conns, start, end, outs[i]))
        for i in range(conns)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat = sorted(x for o in outs for x in o if x is not None)
    errors = sum(1 for o in outs for x in o if x is None)
    if not lat:
        print(json.dumps({"requests": 0, "errors": errors}))
        return
    q = lambda p: int(lat[min(len(lat) - 1, int(p * len(lat)))] * 1e9)
    print(json.dumps({"requests": len(lat), "errors": errors, "p50_ns": q(0.5), "p90_ns": q(0.9), "p99_ns": q(0.99)}))


if __name__ == "__main__":
    main()
