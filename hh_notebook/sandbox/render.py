"""Clip encoding off the event loop: encoder threads and an on-disk cache.

PyAV releases the GIL while FFmpeg encodes: measured here, a busy Python loop
keeps 96 % of its speed while a 720P clip encodes in another thread (2 cores).
Threads therefore keep the event loop responsive without the pitfalls of
worker processes (a spawned worker re-imports the user's ``__main__``, a forked
one copies server threads). Files are named by :meth:`ClipSpec.key`, so an
identical request is served from disk, and requests for a clip already being
encoded wait for the same encode.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .clips import ClipSpec, render_clip

Done = Callable[[Path | None, str | None], None]


def default_workers() -> int:
    """One encoder per spare core (at least one, at most four)."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def _warm() -> None:
    import av  # noqa: F401  - pay the import once, before the first real job


class ClipStore:
    """Encodes clips into ``cache_dir`` and tells callers when each is ready."""

    def __init__(self, cache_dir: Path, workers: int | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.workers = workers or default_workers()
        self._lock = threading.Lock()
        self._pending: dict[str, list[Done]] = {}
        self.encodes = 0  # number of encodes actually run (cache misses)
        self._pool = ThreadPoolExecutor(max_workers=self.workers,
                                        thread_name_prefix="hh-sandbox-encode")

    def warm_up(self) -> None:
        """Import the encoder now rather than on the first job."""
        self._pool.submit(_warm)

    def close(self) -> None:
        """Stop the encoder threads without waiting (queued encodes are dropped; a running
        one finishes in the background, or fails if its folder was removed)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def path_for(self, key: str) -> Path:
        """Where the clip with this cache key lives."""
        return self.cache_dir / f"{key}.mp4"

    def pending(self) -> int:
        """How many distinct clips are being encoded."""
        with self._lock:
            return len(self._pending)

    def request(self, spec: ClipSpec, done: Done) -> None:
        """Make sure the clip for ``spec`` exists; call ``done(path, error)`` when it does.

        ``done`` runs in this thread when the clip is cached, else in a pool thread.
        """
        key = spec.key()
        path = self.path_for(key)
        with self._lock:
            waiting = self._pending.get(key)
            if waiting is not None:
                waiting.append(done)
                return
            if path.exists():
                cached = True
            else:
                cached = False
                self._pending[key] = [done]
        if cached:
            done(path, None)
            return
        self.encodes += 1
        future = self._pool.submit(render_clip, spec, str(path))
        future.add_done_callback(lambda f: self._finished(key, path, f))

    def _finished(self, key: str, path: Path, future: Future[dict[str, object]]) -> None:
        error: str | None = None
        try:
            future.result()
        except BaseException as exc:  # noqa: BLE001 - reported to the job as a failure
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            callbacks = self._pending.pop(key, [])
        for cb in callbacks:
            cb(None if error else path, error)
