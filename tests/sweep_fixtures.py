"""Helpers shared by the sweep, grid and report tests: a finished sweep on the sandbox."""

from __future__ import annotations

import pathlib
from typing import Any

from hh_notebook.client import Client
from hh_notebook.sandbox import Sandbox
from hh_notebook.sweep import SweepResult, sweep

#: User text with markup in it: reports and grids must show it, never run it.
HOSTILE_PROMPT = 'a <script>alert("fox")</script> & a red fox in "snow"'


def finished_sweep(
    sb: Sandbox, data_dir: pathlib.Path, *, prompt: str = HOSTILE_PROMPT, seeds: str = "601-602"
) -> tuple[Client, SweepResult]:
    """A 2 × 2 sweep (seed × aspect ratio) of cheap clips, run to the end."""
    client = Client(provider="segmind", base_url=sb.base_url, data_dir=data_dir)
    sw = sweep(prompt, client=client, seed=seeds, aspect="16:9,9:16", duration=3)
    return client, sw.run(budget=5, timeout=120)


def max_in_flight(log: list[dict[str, Any]]) -> int:
    """From a sandbox request log: the most jobs at once between their submit and their last
    submit/poll/result/download request (a lower bound of what the client had in flight)."""
    spans: dict[str, list[float]] = {}
    for entry in log:
        if entry.get("job_id") and entry.get("endpoint") in ("submit", "poll", "result",
                                                             "download"):  # fmt: skip
            span = spans.setdefault(entry["job_id"], [entry["time"], entry["time"]])
            span[1] = max(span[1], entry["time"])
    # At equal times an end (-1) sorts before a start (+1): touching spans do not overlap.
    events = sorted([(s, 1) for s, _ in spans.values()] + [(e, -1) for _, e in spans.values()])
    current = peak = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak
