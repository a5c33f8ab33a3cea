"""Helpers shared by the sweep, grid and report tests: a finished sweep on the sandbox."""

from __future__ import annotations

import pathlib

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
