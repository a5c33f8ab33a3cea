"""Run one function over many inputs in worker processes, for clip metrics.

Workers are started with ``spawn``: a fresh interpreter per worker is safe
beside threads (a notebook kernel runs several) where ``fork`` is not, and it
behaves the same on Linux, macOS and Windows. Each worker limits OpenCV to one
thread, since the parallelism is already one clip per core.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

__all__ = ["available_cores", "run_parallel"]

K = TypeVar("K")
R = TypeVar("R")


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS has one).

    >>> available_cores() >= 1
    True
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _init_worker() -> None:
    try:
        import cv2
    except ImportError:  # the task itself reports the missing extra
        return
    cv2.setNumThreads(1)


def run_parallel(fn: Callable[..., R], jobs: Mapping[K, tuple[Any, ...]], workers: int | None,
                 failed: Callable[[tuple[Any, ...], BaseException], R],
                 on_done: Callable[[K, R], None] | None = None) -> dict[K, R]:
    """``{key: fn(*args)}`` for every ``key: args`` of ``jobs``, on up to ``workers`` processes.

    ``workers=None`` uses :func:`available_cores`; one worker (or one job) runs
    in this process. ``fn`` must be importable by name (a module-level function).
    When a worker dies, its job's result is ``failed(args, exception)``.
    ``on_done(key, result)`` is called in this thread as each job ends, in the
    order they end (a view can show results as they come).

    >>> run_parallel(divmod, {"a": (7, 2), "b": (9, 4)}, workers=1, failed=lambda a, e: None)
    {'a': (3, 1), 'b': (2, 1)}
    """
    report = on_done or (lambda key, result: None)
    count = min(workers or available_cores(), len(jobs))
    if count <= 1:
        results: dict[K, R] = {}
        for key, args in jobs.items():
            results[key] = fn(*args)
            report(key, results[key])
        return results
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=count, mp_context=context,
                             initializer=_init_worker) as pool:
        futures: dict[Future[R], K] = {pool.submit(fn, *args): key for key, args in jobs.items()}
        done: dict[K, R] = {}
        for future in as_completed(futures):
            key = futures[future]
            try:
                done[key] = future.result()
            except Exception as exc:  # noqa: BLE001 - BrokenProcessPool and pickling errors
                done[key] = failed(jobs[key], exc)
            report(key, done[key])
        return {key: done[key] for key in jobs}
