"""Clip metrics asked for again: measuring clips against finding them in the journal.

    .venv/bin/python benchmarks/metrics_cache.py --clips 12 --duration 5

``--clips`` sandbox clips (720P 16:9, ``--duration`` s, seeds 1..N, rendered once into
``--cache-dir`` by ``render_clip``) go through :func:`hh_notebook.metrics.measure_many` with a
fresh journal, in this process (``workers=1``, so both runs use one core): first cold (every
clip decoded and measured, figures stored), then warm (the same call again: SHA-256 of each
file and one journal read, what ``SweepResult.measure`` and the grid's Measure button do for a
clip already measured). Also printed: the SHA-256 of the same files alone, the floor of a warm
run. Prints wall seconds for the batch and the cold / warm ratio.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import sys
import tempfile
import time
from collections.abc import Callable

from metrics_speed import corpus

from hh_notebook.journal import Journal
from hh_notebook.metrics import file_sha256, measure_many


def timed(fn: Callable[[], object]) -> float:
    """Wall seconds of one call of ``fn``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--cache-dir", type=pathlib.Path,
                        default=pathlib.Path(tempfile.gettempdir()) / "hh-metrics-bench")
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    paths = corpus(args.cache_dir, range(1, args.clips + 1), args.duration)
    size = sum(os.path.getsize(p) for p in paths) / 1e6
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; {len(paths)} clips, {size:.1f} MB", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        journal = Journal(pathlib.Path(folder) / "journal.sqlite3")
        cold = timed(lambda: measure_many(paths, workers=1, journal=journal))
        warm = timed(lambda: measure_many(paths, workers=1, journal=journal))
        hashing = timed(lambda: [file_sha256(p) for p in paths])
        journal.close()
    print("| run | wall s (batch) | ms per clip |")
    print("|---|---:|---:|")
    for name, seconds in (("cold: measured and stored", cold),
                          ("warm: from the journal", warm), ("SHA-256 alone", hashing)):
        print(f"| {name} | {seconds:.3f} | {seconds / len(paths) * 1000:.1f} |")
    print(f"| cold / warm | {cold / warm:.0f}x | |")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
