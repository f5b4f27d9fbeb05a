#!/usr/bin/env python3
"""A loopback HTTP/1.1 proxy that holds every request for a fixed delay before forwarding it, and counts them.

Usage:
    latency_proxy.py --upstream http://127.0.0.1:5000 --port 5080 --delay-ms 80

It stands for a laptop far from the AWS region: each request pays the delay once, so a command's wall
time grows by the delay times the number of requests it makes one after another. Everything is
forwarded byte for byte (heads, Content-Length and chunked bodies, 100-continue, trailers); each
client connection gets its own upstream connection, so keep-alive and concurrency behave as the
client made them. Upgrades (101) and HTTP/2 are not supported; the AWS SDKs speak HTTP/1.1 to an
http:// endpoint.

The proxy answers two paths itself, without delay and without counting them:
    GET /__proxy/stats   JSON: requests, max_in_flight, longest_chain, connections (opened upstream), and each call
                         (service, region, operation, start and end in ms) since the last reset
    GET /__proxy/reset   zeroes the counters
On SIGTERM or SIGINT it prints the stats to stderr and exits.
"""

import argparse
import asyncio
import json
import re
import signal
import sys
import time
from urllib.parse import parse_qs, urlsplit

# Request heads of AWS calls are a few KB; the limit only guards against a runaway line.
HEAD_LIMIT = 1 << 20
COPY_CHUNK = 1 << 16
# Query-protocol services (IAM, STS, SNS, ...) name the operation in a form body; peek at small ones.
PEEK_LIMIT = 1 << 16

CREDENTIAL_SCOPE = re.compile(rb"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


class Stats:
    """Counters since the last reset; a call is in flight from its head's arrival to its response's last byte."""

    def __init__(self, delay_ms):
        self.delay_ms = delay_ms
        self.reset()

    def reset(self):
        self.epoch = time.monotonic()
        self.requests = 0
        # In flight is a state, not a count: calls still running at a reset end after it.
        self.in_flight = getattr(self, "in_flight", 0)
        self.max_in_flight = self.in_flight
        self.connections = 0
        self.calls = []

    def begin(self, call):
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        call["start_ms"] = self.now_ms()
        self.calls.append(call)

    def end(self, call):
        self.in_flight -= 1
        call["end_ms"] = self.now_ms()

    def now_ms(self):
        return round((time.monotonic() - self.epoch) * 1000, 1)

    def longest_chain(self):
        """The most calls that ran strictly one after another: the round trips no concurrency overlapped."""
        done = sorted((c for c in self.calls if "end_ms" in c), key=lambda c: c["start_ms"])
        chain = []
        for i, call in enumerate(done):
            before = [chain[j] for j in range(i) if done[j]["end_ms"] <= call["start_ms"]]
            chain.append(1 + max(before, default=0))
        return max(chain, default=0)

    def report(self):
        return {
            "delay_ms": self.delay_ms,
            "requests": self.requests,
            "max_in_flight": self.max_in_flight,
            "longest_chain": self.longest_chain(),
            "connections": self.connections,
            "in_flight": self.in_flight,
            "calls": self.calls,
        }


class Head:
    """A request or response head as received (kept verbatim for forwarding) plus the fields framing needs."""

    def __init__(self, raw):
        self.raw = raw
        lines = raw.split(b"\r\n")
        self.start = lines[0].split(b" ", 2)
        self.headers = {}
        for line in lines[1:]:
            if b":" in line:
                name, value = line.split(b":", 1)
                # Repeated headers only matter for Transfer-Encoding, where the last coding decides chunked.
                self.headers[name.strip().lower()] = value.strip()

    def header(self, name):
        return self.headers.get(name)

    def chunked(self):
        coding = self.header(b"transfer-encoding")
        return coding is not None and coding.split(b",")[-1].strip().lower() == b"chunked"

    def content_length(self):
        value = self.header(b"content-length")
        return int(value) if value is not None else None

    def closes(self):
        """Whether the connection ends after this message (RFC 9112 section 9.3)."""
        connection = (self.header(b"connection") or b"").lower()
        version = self.start[0] if self.start[0].startswith(b"HTTP/") else self.start[-1]
        if b"close" in connection:
            return True
        return version == b"HTTP/1.0" and b"keep-alive" not in connection


async def read_head(reader):
    """The next head, or None when the peer closed the connection between messages."""
    try:
        return Head(await reader.readuntil(b"\r\n\r\n"))
    except asyncio.IncompleteReadError as e:
        if e.partial:
            raise
        return None


async def copy_exact(reader, writer, n):
    while n > 0:
        data = await reader.read(min(n, COPY_CHUNK))
        if not data:
            raise ConnectionError("peer closed the connection inside a body")
        writer.write(data)
        await writer.drain()
        n -= len(data)


async def copy_chunked(reader, writer):
    while True:
        size_line = await reader.readuntil(b"\r\n")
        writer.write(size_line)
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            # Trailer fields, then the empty line that ends the message.
            while True:
                line = await reader.readuntil(b"\r\n")
                writer.write(line)
                if line == b"\r\n":
                    await writer.drain()
                    return
        await copy_exact(reader, writer, size + 2)


async def copy_to_eof(reader, writer):
    while data := await reader.read(COPY_CHUNK):
        writer.write(data)
        await writer.drain()


async def copy_request_body(head, reader, writer):
    if head.chunked():
        await copy_chunked(reader, writer)
    else:
        await copy_exact(reader, writer, head.content_length() or 0)


def describe(head, body_peek):
    """Service, region and operation of an AWS call, for the per-call record."""
    call = {"method": head.start[0].decode(), "path": head.start[1].decode(errors="replace")[:200]}
    scope = CREDENTIAL_SCOPE.search(head.header(b"authorization") or b"")
    if scope:
        call["region"], call["service"] = scope.group(1).decode(), scope.group(2).decode()
    target = head.header(b"x-amz-target")
    if target:
        call["operation"] = target.decode().rsplit(".", 1)[-1]
    elif body_peek is not None:
        action = parse_qs(body_peek.decode(errors="replace")).get("Action")
        if action:
            call["operation"] = action[0]
    return call


class Proxy:
    def __init__(self, upstream_host, upstream_port, delay, stats):
        self.upstream = (upstream_host, upstream_port)
        self.delay = delay
        self.stats = stats

    async def serve(self, client_reader, client_writer):
        upstream = None
        try:
            while True:
                head = await read_head(client_reader)
                if head is None:
                    return
                if head.start[1].startswith(b"/__proxy/"):
                    await self.answer_itself(head, client_reader, client_writer)
                    continue
                if upstream is not None and upstream[0].at_eof():
                    # The server closed an idle keep-alive connection; the client need not know.
                    upstream[1].close()
                    upstream = None
                if upstream is None:
                    upstream = await asyncio.open_connection(*self.upstream, limit=HEAD_LIMIT)
                    self.stats.connections += 1
                if not await self.forward(head, client_reader, client_writer, *upstream):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            print(f"latency_proxy: connection dropped: {e!r}", file=sys.stderr)
        finally:
            for writer in (client_writer, upstream[1] if upstream else None):
                if writer is not None:
                    writer.close()

    async def forward(self, head, client_reader, client_writer, up_reader, up_writer):
        """Forwards one exchange; returns whether the connection stays open for another."""
        peek = None
        length = head.content_length()
        content_type = head.header(b"content-type") or b""
        # Not under `Expect: 100-continue`: that client sends its body only after the server's go-ahead.
        if (
            length
            and length <= PEEK_LIMIT
            and b"form-urlencoded" in content_type
            and not head.chunked()
            and head.header(b"expect") is None
        ):
            peek = await client_reader.readexactly(length)
        call = describe(head, peek)
        self.stats.begin(call)
        body = None
        try:
            await asyncio.sleep(self.delay)
            up_writer.write(head.raw)
            if peek is not None:
                up_writer.write(peek)
            else:
                # The body is copied while the response is awaited: a client that sent
                # `Expect: 100-continue` holds its body until the interim response reaches it.
                body = asyncio.ensure_future(copy_request_body(head, client_reader, up_writer))
            keep_open, call["status"] = await self.relay_response(head, up_reader, client_writer)
            if body is not None:
                await body
            return keep_open and not head.closes()
        finally:
            if body is not None:
                body.cancel()
            self.stats.end(call)

    async def relay_response(self, request, up_reader, client_writer):
        while True:
            head = await read_head(up_reader)
            if head is None:
                raise ConnectionError("upstream closed the connection before responding")
            client_writer.write(head.raw)
            status = int(head.start[1])
            if 100 <= status < 200:
                await client_writer.drain()
                continue
            if request.start[0] == b"HEAD" or status in (204, 304):
                pass
            elif head.chunked():
                await copy_chunked(up_reader, client_writer)
            elif head.content_length() is not None:
                await copy_exact(up_reader, client_writer, head.content_length())
            else:
                await copy_to_eof(up_reader, client_writer)
                return False, status
            await client_writer.drain()
            return not head.closes(), status

    async def answer_itself(self, head, reader, writer):
        await copy_request_body(head, reader, _Sink())
        path = urlsplit(head.start[1].decode()).path
        if path == "/__proxy/stats":
            status, body = b"200 OK", json.dumps(self.stats.report()).encode()
        elif path == "/__proxy/reset":
            self.stats.reset()
            status, body = b"200 OK", b'{"reset": true}'
        else:
            status, body = b"404 Not Found", b'{"error": "unknown proxy path"}'
        writer.write(
            b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        await writer.drain()


class _Sink:
    """Swallows the (normally empty) body of a request the proxy answers itself."""

    def write(self, data):
        pass

    async def drain(self):
        pass


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="the server to forward to, e.g. http://127.0.0.1:5000")
    parser.add_argument("--port", type=int, required=True, help="port to listen on (127.0.0.1 only)")
    parser.add_argument("--delay-ms", type=float, default=80.0, help="delay added to every request (default 80)")
    args = parser.parse_args()
    upstream = urlsplit(args.upstream)
    if upstream.scheme != "http" or not upstream.hostname or not upstream.port:
        parser.error(f"--upstream must look like http://HOST:PORT, got {args.upstream!r}")
    return args, upstream


async def main():
    args, upstream = parse_args()
    stats = Stats(args.delay_ms)
    proxy = Proxy(upstream.hostname, upstream.port, args.delay_ms / 1000, stats)
    server = await asyncio.start_server(proxy.serve, "127.0.0.1", args.port, limit=HEAD_LIMIT)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    print(f"latency_proxy: 127.0.0.1:{args.port} -> {args.upstream}, +{args.delay_ms:g} ms a request", file=sys.stderr)
    async with server:
        await stop.wait()
    report = stats.report()
    del report["calls"]
    print(f"latency_proxy: {json.dumps(report)}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
