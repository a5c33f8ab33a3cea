"""Votes needed for a trustworthy ranking: active pair selection vs uniform random pairs.

Simulated arenas: ``--items`` items whose true Elo scores are ``--spacing`` points apart
(shuffled per seed), voters who follow Bradley–Terry with ties (``simulate_voter``,
``--tie-rate`` between equals). For each seed, both strategies play ``--max-votes`` votes
from the same truth; every ``--step`` votes the ranking is fitted (no bootstrap) and
compared with the truth by Spearman's rho. The rho curves are averaged over seeds, and
each strategy's *votes needed* is the first checkpoint where its mean curve reaches a
target: the accuracy uniform selection reaches at 300 votes, and rho = 0.9. The ratio
active / uniform is the figure (target: <= 0.70).

Run::

    .venv/bin/python benchmarks/arena_selection.py --seeds 40 --write
"""

from __future__ import annotations

import argparse
import datetime
import platform
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from hh_notebook.arena_rank import Vote, fit, next_pair, simulate_voter

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Arena: active vs uniform pair selection"
Picker = Callable[[list[str], list[Vote], np.random.Generator], tuple[str, str]]


def uniform_pair(items: list[str], votes: list[Vote], rng: np.random.Generator
                 ) -> tuple[str, str]:
    """Two distinct items, uniformly at random (the baseline)."""
    a, b = rng.choice(len(items), 2, replace=False)
    return items[a], items[b]


def rho_curve(picker: Picker, items: int, spacing: float, tie_rate: float, seed: int,
              max_votes: int, step: int) -> np.ndarray:
    """Spearman rho with the truth after every ``step`` votes, for one seed."""
    names = [f"item-{k}" for k in range(items)]
    elo = np.random.default_rng(seed).permutation(np.arange(items) * spacing)
    strengths = {name: 10.0 ** (e / 400.0) for name, e in zip(names, elo)}
    voter = simulate_voter(strengths, np.random.default_rng(seed + 1), tie_rate)
    rng = np.random.default_rng(seed + 2)
    votes: list[Vote] = []
    curve = []
    for count in range(1, max_votes + 1):
        left, right = picker(names, votes, rng)
        votes.append(Vote(left, right, voter(left, right)))
        if count % step == 0:
            scores = fit(names, votes, resamples=0).scores()
            fitted = [scores.get(name, 1000.0) for name in names]
            curve.append(float(spearmanr(fitted, elo).statistic))
    return np.array(curve)


def votes_to_reach(curve: np.ndarray, target: float, step: int) -> int | None:
    """First checkpoint (in votes) where ``curve`` reaches ``target``."""
    hits = np.flatnonzero(curve >= target - 1e-12)
    return int((hits[0] + 1) * step) if len(hits) else None


@dataclass(frozen=True)
class Scenario:
    """One spacing's outcome: mean rho curves and votes needed per target."""

    spacing: float
    curves: dict[str, np.ndarray]
    at_300: float
    needed: dict[float, tuple[int | None, int | None]]
    seconds: float


def scenario(args: argparse.Namespace, spacing: float) -> Scenario:
    """Both strategies on ``args.seeds`` seeds; mean curves and votes needed."""
    began = time.perf_counter()
    curves = {
        name: np.mean([rho_curve(picker, args.items, spacing, args.tie_rate, seed,
                                 args.max_votes, args.step) for seed in range(args.seeds)],
                      axis=0)
        for name, picker in (("uniform", uniform_pair), ("active", next_pair))
    }
    at_300 = float(curves["uniform"][300 // args.step - 1])
    needed = {
        target: (votes_to_reach(curves["uniform"], target, args.step),
                 votes_to_reach(curves["active"], target, args.step))
        for target in (at_300, 0.9)
    }
    return Scenario(spacing, curves, at_300, needed, time.perf_counter() - began)


def ratio(uniform: int | None, active: int | None) -> str:
    if uniform is None or active is None:
        return "n/a (target not reached)"
    return f"{active / uniform:.2f}"


def report(args: argparse.Namespace, results: list[Scenario]) -> str:
    """The RESULTS.md section."""
    today = datetime.date.today().isoformat()
    lines = [
        HEADING, "",
        (f"{args.items} items, true scores `--spacing` Elo points apart (shuffled per seed), "
        f"simulated voters with tie rate {args.tie_rate} between equals (a tie is half a "
        "point), both strategies on the same truths, "
        f"{args.seeds} seeds, fitted every {args.step} votes without bootstrap. *Votes needed* "
        "is the first checkpoint where the seed-averaged Spearman rho with the truth reaches "
        "the target; the ratio is active / uniform (target <= 0.70)."), "",
        (f"Command: `.venv/bin/python benchmarks/arena_selection.py --items {args.items} "
        f"--seeds {args.seeds} --spacings {' '.join(f'{s:g}' for s in args.spacings)} "
        f"--tie-rate {args.tie_rate} --write`"),
        f"({today}, 2 shared cores, Python {platform.python_version()})", "",
        ("| spacing (Elo) | neighbours' expected score | target rho | uniform: votes "
         "| active: votes | active / uniform |"),
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        score = 1.0 / (1.0 + 10.0 ** (-result.spacing / 400.0))
        for target, (uniform, active) in result.needed.items():
            label = f"{target:.3f} (uniform @ 300)" if target != 0.9 else "0.900"
            lines.append(f"| {result.spacing:g} | {score:.2f} | {label} | {uniform} | {active} "
                         f"| {ratio(uniform, active)} |")
    lines += ["", "Mean rho after 100 / 200 / 300 votes (uniform vs active):", ""]
    for result in results:
        curves = result.curves
        points = [(n, curves["uniform"][n // args.step - 1], curves["active"][n // args.step - 1])
                  for n in (100, 200, 300)]
        text = ", ".join(f"{n}: {u:.3f} vs {a:.3f}" for n, u, a in points)
        lines.append(f"- spacing {result.spacing:g}: {text}")
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
    ap.add_argument("--items", type=int, default=10)
    ap.add_argument("--spacings", type=float, nargs="+", default=[70.0, 40.0],
                    help="Elo points between neighbouring items, one scenario each")
    ap.add_argument("--tie-rate", type=float, default=0.2)
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--max-votes", type=int, default=600)
    ap.add_argument("--step", type=int, default=10)
    ap.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = ap.parse_args()
    if args.seeds < 1 or args.max_votes < 300 or 300 % args.step:
        ap.error("need --seeds >= 1, --max-votes >= 300 and a --step dividing 300")
    results = []
    for spacing in args.spacings:
        result = scenario(args, spacing)
        print(f"spacing {spacing:g}: {result.needed} ({result.seconds:.0f} s)", flush=True)
        results.append(result)
    text = report(args, results)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
