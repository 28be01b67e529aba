"""A bounded HTTP/1.1 load generator on loopback: N keep-alive connections, each sending the
same request back to back, for a fixed number of requests or seconds, whichever comes first.
Each connection is one learner (the body's user_id gets the connection's number), asking again
as soon as it is answered: a service keeps each learner's conversation in order, so one user_id
on every connection would measure one learner's queue, which no classroom makes.

Small and dependency-free so the service and the baseline are measured by exactly the same
client; it runs in its own process so its CPU use is the same for both.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time


def build_request(port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "transfer-encoding" and "chunked" in value:
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(length)
    return status


async def worker(port, request, deadline, remaining, latencies, errors):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline and remaining[0] > 0:
            remaining[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            status = await read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


def learner_body(body: bytes, connection: int) -> bytes:
    fields = json.loads(body)
    if isinstance(fields, dict) and "user_id" in fields:
        fields["user_id"] = f"{fields['user_id']}-{connection}"
    return json.dumps(fields).encode()


async def run(port: int, path: str, body: bytes, connections: int, requests: int, seconds: float):
    latencies: list[float] = []
    errors: list[int] = []
    remaining = [requests]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            worker(
                port,
                build_request(port, path, learner_body(body, i)),
                deadline,
                remaining,
                latencies,
                errors,
            )
            for i in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


if __name__ == "__main__":
    port, path, body, connections, requests, seconds = sys.argv[1:7]
    result = asyncio.run(
        run(int(port), path, body.encode(), int(connections), int(requests), float(seconds))
    )
    print(json.dumps(result))
