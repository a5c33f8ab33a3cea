"""Helpers for the money-safety tests: worker processes (``tests/workers.py``) that can be
killed mid-job, and a tiny loopback server that answers like a hostile provider."""

from __future__ import annotations

import http.server
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("workers.py")


def worker_env() -> dict[str, str]:
    """The environment of a worker: no real keys, no settings from the host."""
    return {k: v for k, v in os.environ.items()
            if not k.endswith("_API_KEY") and not k.startswith("HH_")}


def spawn(spec: dict[str, Any]) -> subprocess.Popen[str]:
    """Start a worker process running ``spec`` (see ``tests/workers.py``)."""
    return subprocess.Popen([sys.executable, str(WORKER), json.dumps(spec)], env=worker_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_line(proc: subprocess.Popen[str], prefix: str, timeout: float = 60.0) -> str:
    """The first line of ``proc``'s output starting with ``prefix`` (bounded wait)."""
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                continue
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith(prefix):
                return line[len(prefix):].strip()
    finally:
        selector.close()
    stderr = proc.stderr.read() if proc.stderr and proc.poll() is not None else ""
    raise AssertionError(f"no {prefix!r} line within {timeout} s; stderr: {stderr[-2000:]}")


def kill(proc: subprocess.Popen[str]) -> None:
    """``kill -9`` and reap."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def finish(proc: subprocess.Popen[str], timeout: float = 120.0) -> dict[str, Any]:
    """The worker's ``DONE`` outcome."""
    outcome = json.loads(read_line(proc, "DONE ", timeout))
    proc.wait(timeout=30)
    return dict(outcome)


Responder = Callable[[http.server.BaseHTTPRequestHandler], None]


class FakeProvider:
    """A loopback HTTP server answering every request with ``respond(handler)``."""

    def __init__(self, respond: Responder) -> None:
        outer = self
        self.requests: list[tuple[str, str, dict[str, str]]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                outer.requests.append((self.command, self.path, dict(self.headers)))
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                respond(self)

            do_GET = do_POST = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeProvider:  # noqa: PYI034
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def answer(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes,
           headers: dict[str, str] | None = None) -> None:
    """Send one whole answer."""
    handler.send_response(status)
    for name, value in (headers or {"content-type": "application/json"}).items():
        handler.send_header(name, value)
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    try:
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client stopped reading: that is the point of some tests
