"""``Sandbox``: the provider sandbox running in a background thread on 127.0.0.1."""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from .app import SandboxApp
from .common import is_loopback_url
from .faults import PROVIDERS
from .render import ClipStore
from .state import SandboxState

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Server(uvicorn.Server):
    """uvicorn server that tells its owner when it accepts connections."""

    def __init__(self, config: uvicorn.Config, app: SandboxApp, origin: str) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._app = app
        self._origin = origin

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        await self._app.startup(self._origin)
        await super().startup(sockets=sockets)
        self.ready.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets=sockets)
        await self._app.shutdown()

    async def main_loop(self) -> None:
        """uvicorn's once-a-tick loop, but woken at once by request_exit()."""
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864000  # one tick per second refreshes the Date header
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                pass

    def request_exit(self) -> None:
        """Ask the server to stop (from any thread)."""
        self.should_exit = True
        if self.loop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def install_signal_handlers(self) -> None:
        """Signals belong to the owner of the process, not to a background thread."""


class Sandbox:
    """A local server speaking Segmind's, the OpenAI-style aggregator's, Apiframe's and
    HiAPI's HappyHorse protocols, returning real (synthetic) MP4 clips.

    All four providers share one root URL; documented provider durations are
    multiplied by ``time_scale`` (0.01: a 150 s generation takes 1.5 s).

    >>> with Sandbox(time_scale=0.01) as sb:          # doctest: +SKIP
    ...     url = sb.base_url                         # "http://127.0.0.1:PORT"

    Args:
        time_scale: real seconds per provider second.
        port: TCP port on 127.0.0.1; None picks a free one.
        faults: initial fault rules (see :mod:`hh_notebook.sandbox.faults`).
        keys: ``{provider: [accepted keys]}``; a provider not listed accepts any non-empty key.
        seed: seeds the sandbox's own draws (seeds for requests that gave none, timings).
        host: loopback address to bind (127.0.0.1 by default; nothing else is allowed).
        cache_dir: where clips are kept; default a temporary folder removed on stop().
        encode_workers: encoder threads (default: one per spare core).
        gen_range: (low, high) generation time in provider seconds; default (100, 180).
            Each job draws its time in this range (deterministically); (150, 150) fixes it.
        queue_range: (low, high) time queued before generation starts; default (2, 8).
    """

    def __init__(self, time_scale: float = 0.01, port: int | None = None,
                 faults: list[dict[str, Any]] | None = None,
                 keys: dict[str, list[str] | None] | None = None, seed: int = 0, *,
                 host: str = "127.0.0.1", cache_dir: str | Path | None = None,
                 encode_workers: int | None = None,
                 gen_range: tuple[float, float] | None = None,
                 queue_range: tuple[float, float] | None = None) -> None:
        if host not in _LOOPBACK:
            raise ValueError("the sandbox binds to loopback only (127.0.0.1)")
        self.host = "127.0.0.1" if host == "localhost" else host
        self._requested_port = port
        self._state = SandboxState(time_scale, seed=seed, keys=keys, gen_range=gen_range,
                                   queue_range=queue_range)
        if faults:
            self._state.faults.set(faults)
        self._own_cache = cache_dir is None
        self.cache_dir = Path(cache_dir) if cache_dir else Path(
            tempfile.mkdtemp(prefix="hh-sandbox-clips-"))
        if self._own_cache:  # removed at exit even if stop() is never called
            weakref.finalize(self, shutil.rmtree, str(self.cache_dir), True)
        self._store = ClipStore(self.cache_dir, encode_workers)
        self._app = SandboxApp(self._state, self._store)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.port: int = 0

    # lifecycle -------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> Sandbox:
        """Start serving; returns once the server accepts connections."""
        if self._thread is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port or 0))
        self.port = sock.getsockname()[1]
        self._sock = sock
        config = uvicorn.Config(self._app, host=self.host, port=self.port, lifespan="off",
                                log_level="warning", access_log=False, http="auto",
                                loop="asyncio", timeout_keep_alive=30,
                                timeout_graceful_shutdown=2, proxy_headers=False)
        server = _Server(config, self._app, self.base_url)
        self._server = server
        self._state.listeners.append(self._on_clip)
        self._store.warm_up()
        self._thread = threading.Thread(target=self._run, name=f"hh-sandbox-{self.port}",
                                        daemon=True)
        self._thread.start()
        if not server.ready.wait(timeout):
            self.stop()
            raise RuntimeError(f"sandbox did not start within {timeout} s")
        return self

    def _run(self) -> None:
        assert self._server is not None and self._sock is not None
        try:
            import uvloop

            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        except ImportError:
            loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        finally:
            loop.close()

    def _on_clip(self) -> None:
        server = self._server
        if server is not None and server.loop is not None and not server.loop.is_closed():
            try:
                server.loop.call_soon_threadsafe(self._app.kick)
            except RuntimeError:  # loop closed between the check and the call
                pass

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and (if the cache is the sandbox's own) delete the clips."""
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._sock is not None:
            self._sock.close()
        if self._on_clip in self._state.listeners:
            self._state.listeners.remove(self._on_clip)
        self._server = self._thread = self._sock = None
        self._store.close()
        if self._own_cache:
            shutil.rmtree(self.cache_dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:  # noqa: PYI034 - Self needs Python 3.11
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Sandbox(base_url={self.base_url!r}, time_scale={self.time_scale})"

    # public surface ----------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the one root for all four providers."""
        return f"http://{self.host}:{self.port}"

    @property
    def time_scale(self) -> float:
        """Real seconds per provider second."""
        return self._state.time_scale

    def request_log(self) -> list[dict[str, Any]]:
        """Every provider request served so far (admin calls excluded); keys never appear.

        Entries: ``time``, ``method``, ``path``, ``query``, ``status`` (None when the
        connection was dropped), ``provider``, ``endpoint``, and when relevant
        ``job_id``, ``fault`` (kinds fired), ``cut``; outgoing callbacks have
        ``endpoint == "callback"`` and ``outgoing: True``.
        """
        return [dict(e) for e in list(self._state.log)]

    def clear_log(self) -> None:
        """Forget the request log."""
        self._state.log.clear()

    def add_fault(self, rule: dict[str, Any]) -> None:
        """Add one fault rule (see :mod:`hh_notebook.sandbox.faults`)."""
        self._state.faults.add(rule)

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        """Replace every fault rule."""
        self._state.faults.set(rules)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._state.faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules still active (with their remaining counts)."""
        return self._state.faults.rules()

    def set_balance(self, provider: str, amount: float) -> None:
        """Set an account balance (USD; credits at Apiframe)."""
        self._state.set_balance(provider, amount)

    def balance(self, provider: str) -> float:
        """An account's current balance."""
        return self._state.balance[provider]

    def set_keys(self, provider: str, keys: list[str] | None) -> None:
        """Accept only ``keys`` at ``provider``; None accepts any non-empty key."""
        self._state.set_keys(provider, keys)

    def advance(self, provider_seconds: float) -> None:
        """Move the sandbox clock forward (provider seconds, scaled): expiries without waiting."""
        self._state.advance(provider_seconds)
        self._on_clip()

    def wait_encoded(self, timeout: float = 60.0) -> bool:
        """Block until no clip is being encoded; False on timeout."""
        with self._state.changed:
            return self._state.changed.wait_for(lambda: self._store.pending() == 0,
                                                      timeout)

    def wait_requests(self, count: int, timeout: float = 30.0,
                      match: Callable[[dict[str, Any]], bool] | None = None) -> bool:
        """Block until the request log holds ``count`` entries (those for which ``match``
        is true, when given); False on timeout."""

        def enough() -> bool:
            entries = list(self._state.log)
            return len([e for e in entries if match is None or match(e)]) >= count

        with self._state.changed:
            return self._state.changed.wait_for(enough, timeout)

    def wait_callbacks(self, timeout: float = 60.0) -> bool:
        """Block until every HiAPI callback / Apiframe webhook to a loopback URL has been
        delivered or given up (3 attempts); False on timeout."""

        def settled() -> bool:
            return not any(j.notify_status == "PENDING" and j.notify_url
                           and is_loopback_url(j.notify_url)
                           for j in list(self._state.jobs.values()))

        with self._state.changed:
            return self._state.changed.wait_for(settled, timeout)

    @property
    def encodes(self) -> int:
        """How many clips this sandbox has encoded (cache misses)."""
        return self._store.encodes

    @staticmethod
    def providers() -> tuple[str, ...]:
        """Provider names the sandbox speaks."""
        return PROVIDERS
