"""Time to fit an arena: 10,000 votes over 200 items, with and without bootstrap.

The votes come from ``simulate_voter`` (true Elo scores drawn from N(1000, 150²), tie
rate 0.2, uniformly random pairs). Measured in one run:

* ``fit(items, votes, resamples=0)``: tally + one Bradley–Terry fit, median of
  ``--repeats`` (target < 200 ms);
* ``fit(items, votes)``: the same plus the default bootstrap intervals;
* ``next_pair`` on the same votes (what a voting screen pays per pair);
* for reference, ``choix.ilsr_pairwise_dense`` on the same win matrix, if choix is
  installed (it is not a dependency; it was the other candidate library).

Run::

    .venv/bin/python benchmarks/arena_fit.py --write
"""

from __future__ import annotations

import argparse
import datetime
import platform
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hh_notebook.arena_rank import (
    DEFAULT_RESAMPLES,
    Vote,
    fit,
    next_pair,
    simulate_voter,
    win_matrix,
)

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Arena: fitting time"


def make_votes(items: int, votes: int, seed: int) -> tuple[list[str], list[Vote]]:
    """``votes`` simulated votes on uniformly random pairs of ``items`` items."""
    rng = np.random.default_rng(seed)
    names = [f"clip-{k:04d}" for k in range(items)]
    strengths = {name: 10.0 ** (rng.normal(0.0, 150.0) / 400.0) for name in names}
    voter = simulate_voter(strengths, rng, tie_rate=0.2)
    out = []
    for _ in range(votes):
        a, b = rng.choice(items, 2, replace=False)
        out.append(Vote(names[a], names[b], voter(names[a], names[b]), time=0.0))
    return names, out


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls (after one warm-up call)."""
    call()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def choix_fit(items: list[str], votes: list[Vote]) -> Callable[[], object] | None:
    """choix's dense ILSR on the same data (ties as half a win), if choix is installed."""
    try:
        import choix
    except ImportError:
        return None
    matrix = win_matrix(items, votes)
    return lambda: choix.ilsr_pairwise_dense(matrix, alpha=0.01)


def measure(args: argparse.Namespace) -> list[tuple[str, float, str]]:
    items, votes = make_votes(args.items, args.votes, args.seed)
    rows = [
        ("`fit(items, votes, resamples=0)`",
         median_seconds(lambda: fit(items, votes, resamples=0), args.repeats), "< 0.200"),
        (f"`fit(items, votes)` ({DEFAULT_RESAMPLES} bootstrap resamples)",
         median_seconds(lambda: fit(items, votes), args.boot_repeats), "-"),
        ("`next_pair(items, votes, rng)`",
         median_seconds(lambda: next_pair(items, votes, np.random.default_rng(0)),
                        args.repeats), "-"),
    ]
    reference = choix_fit(items, votes)
    if reference is not None:
        rows.append(("reference: `choix.ilsr_pairwise_dense` on the win matrix (fit only)",
                     median_seconds(reference, args.repeats), "-"))
    return rows


def report(args: argparse.Namespace, rows: list[tuple[str, float, str]]) -> str:
    today = datetime.date.today().isoformat()
    base = rows[0][1]
    lines = [
        HEADING, "",
        (f"{args.votes:,} simulated votes (tie rate 0.2, random pairs) over {args.items} items; "
         f"median wall time of {args.repeats} calls ({args.boot_repeats} with bootstrap) after a "
         "warm-up. The fit is evalica's Bradley-Terry (Rust) with ties as half a point; the "
         "time includes tallying the votes from Python objects."), "",
        (f"Command: `.venv/bin/python benchmarks/arena_fit.py --items {args.items} "
         f"--votes {args.votes} --write`"),
        f"({today}, 2 shared cores, Python {platform.python_version()})", "",
        "| call | median time (s) | / one fit | target (s) |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {name} | {seconds:.3f} | {seconds / base:.1f}x | {target} |"
              for name, seconds, target in rows]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace (or append) only this benchmark's section of RESULTS.md."""
    current = RESULTS.read_text() if RESULTS.exists() else ""
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(current):
        updated = pattern.sub(lambda _m: text.rstrip() + "\n\n", current, count=1)
    else:
        updated = current.rstrip() + ("\n\n" if current.strip() else "") + text.rstrip() + "\n"
    RESULTS.write_text(updated.rstrip() + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--votes", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--boot-repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = ap.parse_args()
    text = report(args, measure(args))
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
