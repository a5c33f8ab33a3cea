"""Randomized ``kill -9`` trials: is every clip paid exactly once, and does it arrive intact?

Each trial starts a fresh sandbox with faults on (failed status calls, a cut download, a slow
submit), runs a job or a sweep in a separate process (``tests/workers.py``), kills it with
SIGKILL at a random moment of one stage — during the submit, while polling, while
downloading, or in the middle of a sweep — and recovers one of three ways:

* ``resume``: a new process resumes every unfinished job (what ``%happyhorse resume`` does);
* ``rerun``: a new process runs the same call or sweep again (what a user who reruns the
  cell does);
* ``second kernel``: a second process started on the same data folder before the kill runs
  the same call or sweep (two kernels, one folder).

Scenarios: ``call`` is one seeded clip at Segmind (killed while polling or downloading);
``sweep`` is a 4-cell unseeded sweep at HiAPI, whose task list lets a submit lost in the
kill be reconciled. Per recovery path it prints the trials, the paid submits per clip (the
sandbox's accepted submits over the clips asked for: exactly 1 means nothing was paid twice
or lost), the clips intact (decoded), the orphaned unfinished jobs left in the journal and
the leftover part files. Resume answers for the jobs started before the kill: a sweep's
cells not yet submitted then are what a rerun of the sweep is for, and are counted apart.

    python benchmarks/chaos.py --trials 120 --seed 7 --write
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from money_fixtures import finish, kill, read_line, spawn

from hh_notebook.media import clip_problem
from hh_notebook.sandbox import Sandbox

RECOVERIES = ("resume", "rerun", "second kernel")
STAGES = {"call": ("poll", "download"), "sweep": ("submit", "poll", "download", "mid-sweep")}
TIME_SCALE = 0.01
RECONCILE_GRACE = 2.0


@dataclass
class Trial:
    scenario: str
    stage: str
    recovery: str
    clips: int = 0
    paid: int = 0
    intact: int = 0
    orphans: int = 0
    parts: int = 0
    unstarted: int = 0
    seconds: float = 0.0


def _spec(sb: Sandbox, folder: pathlib.Path, scenario: str, trial: int) -> dict[str, Any]:
    prompt = f"trial {trial}: a bay horse fords a river at dusk"
    common = {"base_url": sb.base_url, "data_dir": str(folder),
              "reconcile_grace": RECONCILE_GRACE}
    if scenario == "call":
        return {**common, "do": "generate", "provider": "segmind",
                "request": {"prompt": prompt, "duration": 3, "seed": 100 + trial}}
    return {**common, "do": "sweep", "provider": "hiapi",
            "request": {"prompt": prompt, "duration": 3, "prompt_sr": "bay,grey",
                        "resolution": "720P,1080P", "concurrency": 2}}


def _faults(sb: Sandbox, stage: str) -> None:
    for provider in ("segmind", "hiapi"):
        sb.add_fault({"provider": provider, "endpoint": "poll", "kind": "status",
                      "status": 503, "count": 2})
        sb.add_fault({"provider": "*", "endpoint": "download", "kind": "cut_download",
                      "after_bytes": 40_000, "count": 1})
        if stage == "submit":
            sb.add_fault({"provider": provider, "endpoint": "submit", "kind": "slow",
                          "delay": 0.4, "count": -1})
        if stage == "download":
            sb.add_fault({"provider": "*", "endpoint": "download", "kind": "slow",
                          "delay": 0.5, "count": 3})


def _phase_reached(folder: pathlib.Path, phase: str) -> bool:
    path = folder / "journal.sqlite3"
    if not path.exists():
        return False
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return db.execute("SELECT 1 FROM jobs WHERE phase = ? LIMIT 1",
                              (phase,)).fetchone() is not None
    except sqlite3.Error:
        return False


def _kill_at_stage(proc: Any, folder: pathlib.Path, stage: str, rng: random.Random) -> None:
    read_line(proc, "READY", 60)
    if stage == "submit":
        time.sleep(rng.uniform(0.0, 0.35))
    elif stage == "download":
        deadline = time.monotonic() + 60
        while not _phase_reached(folder, "downloading") and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))
    else:
        read_line(proc, "SUBMITTED ", 60)
        time.sleep(rng.uniform(0.2, 2.5 if stage == "mid-sweep" else 1.5))
    kill(proc)


def _run_trial(index: int, scenario: str, stage: str, recovery: str, rng: random.Random,
               cache: pathlib.Path) -> Trial:
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, \
            Sandbox(time_scale=TIME_SCALE, cache_dir=cache, seed=index) as sb:
        folder = pathlib.Path(tmp)
        spec = _spec(sb, folder, scenario, index)
        _faults(sb, stage)
        first = spawn(spec)
        second = spawn(spec) if recovery == "second kernel" else None
        _kill_at_stage(first, folder, stage, rng)
        if second is None:
            time.sleep(RECONCILE_GRACE + 0.2)  # a lost submit may be settled by now
            if recovery == "resume":
                recorded = _recorded_jobs(folder)
                second = spawn({**spec, "do": "resume", "providers": [spec["provider"]]})
            else:
                second = spawn(spec)
        finish(second, timeout=240)
        trial = Trial(scenario, stage, recovery)
        _measure(trial, sb, folder, scenario)
        if recovery == "resume":
            # Resume finishes the jobs started before the kill; a sweep's cells not yet
            # submitted then are left to a rerun of the sweep (counted apart).
            trial.unstarted = trial.clips - recorded
            trial.clips = recorded
    trial.seconds = time.monotonic() - started
    return trial


def _recorded_jobs(folder: pathlib.Path) -> int:
    path = folder / "journal.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=5) as db:
        return int(db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])


def _measure(trial: Trial, sb: Sandbox, folder: pathlib.Path, scenario: str) -> None:
    trial.clips = 1 if scenario == "call" else 4
    trial.paid = sum(1 for e in sb.request_log()
                     if e["endpoint"] == "submit" and e["status"] in (200, 202))
    with sqlite3.connect(folder / "journal.sqlite3") as db:
        rows = db.execute("SELECT phase, status, video_path FROM jobs").fetchall()
    trial.orphans = sum(1 for phase, _s, _v in rows
                        if phase in ("submitting", "polling", "downloading"))
    clips = {v for _p, status, v in rows if status == "succeeded" and v}
    trial.intact = sum(1 for v in clips
                       if pathlib.Path(v).is_file() and clip_problem(v, 3) is None)
    clip_dir = folder / "clips"
    trial.parts = len(list(clip_dir.glob(".*"))) if clip_dir.is_dir() else 0


def _table(trials: list[Trial]) -> list[dict[str, Any]]:
    by_path: dict[str, list[Trial]] = defaultdict(list)
    for trial in trials:
        by_path[trial.recovery].append(trial)
    rows = []
    for recovery in RECOVERIES:
        group = by_path.get(recovery, [])
        clips = sum(t.clips for t in group)
        rows.append({
            "recovery": recovery,
            "trials": len(group),
            "stages": dict(sorted({s: sum(1 for t in group if t.stage == s)
                                   for s in {t.stage for t in group}}.items())),
            "paid submits per clip": round(sum(t.paid for t in group) / clips, 3) if clips else 0,
            "trials paying more or less than once per clip": sum(
                1 for t in group if t.paid != t.clips),
            "clips intact": f"{sum(t.intact for t in group)}/{clips}",
            "orphaned unfinished jobs": sum(t.orphans for t in group),
            "leftover part files": sum(t.parts for t in group),
            "sweep cells not started at the kill (left to a rerun)": sum(
                t.unstarted for t in group),
        })
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="append the table to RESULTS.md")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    trials: list[Trial] = []
    with tempfile.TemporaryDirectory() as cache:
        for index in range(args.trials):
            scenario = rng.choice(tuple(STAGES))
            stage = rng.choice(STAGES[scenario])
            recovery = RECOVERIES[index % len(RECOVERIES)]
            trial = _run_trial(index, scenario, stage, recovery, rng, pathlib.Path(cache))
            trials.append(trial)
            print(f"{index:3d} {scenario:<5} {stage:<9} {recovery:<13} paid {trial.paid}/"
                  f"{trial.clips} intact {trial.intact} orphans {trial.orphans} parts "
                  f"{trial.parts} ({trial.seconds:.1f} s)", flush=True)
    rows = _table(trials)
    print(json.dumps(rows, indent=2))
    ok = all(r["trials paying more or less than once per clip"] == 0
             and r["clips intact"].split("/")[0] == r["clips intact"].split("/")[1]
             and r["orphaned unfinished jobs"] == 0 and r["leftover part files"] == 0
             for r in rows)
    if args.write:
        _write(rows, args)
    return 0 if ok else 1


def _write(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    command = (f"Command: `.venv/bin/python benchmarks/chaos.py --trials {args.trials} "
               f"--seed {args.seed} --write` ({time.strftime('%Y-%m-%d')}, sandbox time scale "
               f"{TIME_SCALE}, faults on)")
    header = ("| recovery | trials | stages | paid submits per clip | trials off by any | "
              "clips intact | orphaned unfinished jobs | leftover part files | "
              "cells not started at the kill |")
    lines = ["", "## Chaos: kill -9 at random, recover three ways", "", command, "", header,
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        stages = ", ".join(f"{k} {v}" for k, v in r["stages"].items())
        lines.append(f"| {r['recovery']} | {r['trials']} | {stages} | "
                     f"{r['paid submits per clip']} | "
                     f"{r['trials paying more or less than once per clip']} | "
                     f"{r['clips intact']} | {r['orphaned unfinished jobs']} | "
                     f"{r['leftover part files']} | "
                     f"{r['sweep cells not started at the kill (left to a rerun)']} |")
    with open(REPO / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
