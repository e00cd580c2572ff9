#!/usr/bin/env python3
"""A known-delay HTTP/1.1 server that is not dyno's: answers every request after a fixed asyncio sleep
and counts the requests it answered. GET /count returns that count and GET /reset zeroes it (neither is
counted; each closes its connection). Used by `cargo xtask validate` (the http workload's validate bench) as an outside reference.

usage: delay_server.py PORT DELAY_MS   (prints "listening" once the socket is bound)
"""
import asyncio
import sys

COUNT = 0


async def handle(reader, writer, delay):
    global COUNT
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
            if path == b"/count":
                body = str(COUNT).encode()
            elif path == b"/reset":
                COUNT = 0
                body = b"0"
            else:
                await asyncio.sleep(delay)
                COUNT += 1
                body = b"ok"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            if path in (b"/count", b"/reset"):
                break  # control requests come one per connection, read to its end
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main():
    port, delay_ms = int(sys.argv[1]), float(sys.argv[2])
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, delay_ms / 1000.0), "127.0.0.1", port, backlog=1024
    )
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    asyncio.run(main())
