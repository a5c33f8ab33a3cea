"""Sandbox throughput: sustained status polls per second with 200 jobs in flight,
and the encode time of a 5 s 720P clip.

The sandbox runs as its own process pinned to CPU 0 (``taskset -c 0``); this
load generator pins itself to CPU 1 and speaks HTTP/1.1 over keep-alive
connections with raw asyncio streams, so that the client is not the bottleneck.

    .venv/bin/python benchmarks/sandbox_polls.py [--jobs 200] [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"segmind": ("x-api-key", "SG_0123456789abcdef"), "apiframe": ("X-API-Key", "afk_bench"),
        "hiapi": ("Authorization", "Bearer hi_bench"), "openai": ("Authorization", "Bearer sk-b")}
SUBMITS = {
    "segmind": ("/v2/happyhorse-1.1", {"prompt": "bench", "duration": 5, "seed": 1}),
    "openai": ("/v1/video/generations", {"model": "happyhorse-1.0-t2v", "prompt": "bench",
                                         "size": "720P", "duration": 5, "metadata": {"seed": 1}}),
    "apiframe": ("/v2/videos/generate", {"model": "happyhorse-1.1", "prompt": "bench",
                                         "happyhorse11Params": {"resolution": "720p",
                                                                "duration": 5, "seed": 1}}),
    # HiAPI takes no seed: its clips vary with the prompt instead.
    "hiapi": ("/v1/tasks", {"model": "happyhorse-1.1/text-to-video",
                            "input": {"prompt": "bench", "resolution": "720p", "duration": 5}}),
}


def poll_path(provider: str, body: dict) -> str:
    if provider == "segmind":
        return f"/v2/requests/{body['request_id']}/status"
    if provider == "openai":
        return f"/v1/videos/{body['id']}"
    if provider == "apiframe":
        return f"/v2/jobs/{body['jobId']}"
    return f"/v1/tasks/{body['data']['taskId']}"


class Conn:
    """One keep-alive HTTP/1.1 connection (minimal: Content-Length bodies only)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: bytes = b"") -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def start_sandbox(cpu: int) -> tuple[subprocess.Popen[str], int, str]:
    cache = tempfile.mkdtemp(prefix="hh-bench-clips-")
    cmd = [sys.executable, "-m", "hh_notebook.sandbox", "--time-scale", "1.0",
           "--cache-dir", cache]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("sandbox listening on "):
        proc.kill()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return proc, int(line.rsplit(":", 1)[1]), cache


async def run_polls(port: int, jobs: int, seconds: float, connections: int,
                    encoding: bool = False) -> dict[str, float]:
    """Submit ``jobs`` jobs, then poll their status for ``seconds``. With ``encoding``,
    every job gets its own seed (its own prompt at HiAPI), so the sandbox encodes clips (on
    the same core) while it answers the polls."""
    admin = await Conn.open(port)
    for provider in KEYS:
        await admin.request("POST", "/_sandbox/balance", {"content-type": "application/json"},
                            json.dumps({"provider": provider, "amount": 1e9}).encode())
    targets: list[tuple[str, dict[str, str]]] = []
    for i in range(jobs):
        provider = list(SUBMITS)[i % 4]
        path, body = SUBMITS[provider]
        if encoding:
            body = json.loads(json.dumps(body).replace('"seed": 1', f'"seed": {1000 + i}')
                              .replace('"prompt": "bench"', f'"prompt": "bench {i}"'))
        name, value = KEYS[provider]
        headers = {name: value, "content-type": "application/json"}
        status, raw = await admin.request("POST", path, headers, json.dumps(body).encode())
        assert status in (200, 202), (status, raw)
        targets.append((poll_path(provider, json.loads(raw)), {name: value}))
    # let the (four distinct) clips finish encoding before measuring polls
    for _ in range(0 if encoding else 600):
        _, raw = await admin.request("GET", "/_sandbox/info", {})
        if json.loads(raw)["encoding"] == 0:
            break
        await asyncio.sleep(0.1)
    await admin.request("DELETE", "/_sandbox/log", {})
    admin.close()

    counts = [0] * connections
    errors = [0] * connections
    stop_at = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        conn = await Conn.open(port)
        i = k
        while time.perf_counter() < stop_at:
            path, headers = targets[i % len(targets)]
            status, _ = await conn.request("GET", path, headers)
            if status == 200:
                counts[k] += 1
            else:
                errors[k] += 1
            i += connections
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(connections)))
    elapsed = time.perf_counter() - started
    admin = await Conn.open(port)
    _, raw = await admin.request("GET", "/_sandbox/info", {})
    admin.close()
    return {"polls": sum(counts), "errors": sum(errors), "seconds": elapsed,
            "polls_per_s": sum(counts) / elapsed, "still_encoding": json.loads(raw)["encoding"]}


def encode_time(repeats: int = 3) -> list[float]:
    """Seconds to render a 5 s 720P 16:9 clip (fresh each time, no cache)."""
    from hh_notebook.sandbox.clips import ClipSpec, render_clip

    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            spec = ClipSpec(provider="segmind", model="happyhorse-1.1", mode="t2v",
                            prompt="A white horse galloping through golden wheat at sunset",
                            seed=1000 + i, resolution="720P", aspect_ratio="16:9", duration=5)
            t = time.perf_counter()
            render_clip(spec, os.path.join(tmp, f"{i}.mp4"))
            times.append(time.perf_counter() - t)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.client_cpu})
    for encoding in (False, True):
        proc, port, cache = start_sandbox(args.server_cpu)
        try:
            result = asyncio.run(run_polls(port, args.jobs, args.seconds, args.connections,
                                           encoding))
        finally:
            proc.terminate()
            proc.wait(timeout=15)
            shutil.rmtree(cache, ignore_errors=True)
        what = (f"while encoding distinct clips on the same core "
                f"({result['still_encoding']} still queued at the end)" if encoding
                else "clips already encoded")
        print(f"status polls, {what}: {result['polls']} in {result['seconds']:.1f} s with "
              f"{args.jobs} jobs in flight, {args.connections} connections, "
              f"{result['errors']} errors -> {result['polls_per_s']:.0f} polls/s "
              f"(sandbox pinned to CPU {args.server_cpu})")
    times = encode_time()
    print(f"encode 5 s 720P clip (H.264 ultrafast + AAC, CPU {args.client_cpu}): "
          f"median {statistics.median(times):.2f} s of {', '.join(f'{t:.2f}' for t in times)}")


if __name__ == "__main__":
    main()
