"""Helpers for the lifecycle tests (core-B): clients bound to a sandbox, log queries."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from hh_notebook.client import Client
from hh_notebook.jobs import PollPolicy
from hh_notebook.sandbox import Sandbox

T = TypeVar("T")

CANARY = "SG_canary0123456789abcdef"

#: Image URLs the sandbox accepts without fetching (non-loopback: placeholder frames).
IMG1 = "https://example.com/first.png"
IMG2 = "https://example.com/second.png"

#: Fast retries for fault tests (provider seconds; scaled by the sandbox's time scale).
FAST_POLICY = PollPolicy(backoff_base=1.0, backoff_cap=4.0, max_poll_errors=4)


def make_client(sb: Sandbox, provider: str, data_dir: Path, *, key: str = CANARY,
                policy: PollPolicy | None = None) -> Client:
    """A client for ``provider`` talking to the sandbox ``sb``."""
    return Client(provider=provider, api_key=key, base_url=sb.base_url, data_dir=data_dir,
                  poll_policy=policy or FAST_POLICY)


def run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """Run ``coro`` on a fresh loop with a bound on real time."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def log_for(sb: Sandbox, endpoint: str, provider: str | None = None) -> list[dict[str, Any]]:
    """The sandbox's request-log entries for one endpoint (and provider)."""
    return [e for e in sb.request_log()
            if e["endpoint"] == endpoint and (provider is None or e["provider"] == provider)]


def wait_until(condition: Any, timeout: float, interval: float = 0.05) -> bool:
    """Check ``condition()`` until it holds or ``timeout`` real seconds pass."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        if condition():
            return True
        pause.wait(interval)
    return bool(condition())


def is_mp4(path: Path | None) -> bool:
    """True when ``path`` is a file starting with an ftyp box."""
    if path is None or not Path(path).is_file():
        return False
    with open(path, "rb") as f:
        return f.read(12)[4:8] == b"ftyp"
