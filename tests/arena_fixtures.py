"""Helpers shared by the arena tests: a finished animal × seed sweep on the sandbox, sessions
on arenas of their own, and a voter who prefers some animals."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping

import numpy as np

from hh_notebook.arena_rank import simulate_voter
from hh_notebook.arena_session import ArenaSession
from hh_notebook.client import Client
from hh_notebook.sandbox import Sandbox
from hh_notebook.sweep import SweepResult, sweep

#: Markup in the prompt: every page must show it as text, never run it.
ANIMAL_PROMPT = "a {animal} crossing a frozen <lake> & \"river\" at dawn"
ANIMALS = ["fox", "owl", "hare"]
#: Seeds no count, score or token of a blind page could contain before a vote.
SEEDS = "48213-48214"


def animal_sweep(sb: Sandbox, data_dir: pathlib.Path) -> tuple[Client, SweepResult]:
    """A 3 × 2 sweep (animal × seed) of cheap clips, run to the end."""
    client = Client(provider="segmind", base_url=sb.base_url, data_dir=data_dir)
    sw = sweep(ANIMAL_PROMPT, client=client, animal=ANIMALS, seed=SEEDS, duration=3)
    return client, sw.run(budget=10, timeout=120)


def own_arena(result: SweepResult, name: str, *, by: str | None = None, voter: str = "ana",
              seed: int = 0) -> ArenaSession:
    """A session on ``result`` whose votes are kept apart from other tests' (its own id)."""
    session = ArenaSession.open(result, by=by, voter=voter, seed=seed)
    source = dataclasses.replace(session.source, arena_id=f"{session.arena_id}-{name}")
    return ArenaSession(source, voter=voter, seed=seed)


def vote_by_preference(session: ArenaSession, strengths: Mapping[str, float], count: int,
                       seed: int = 0) -> None:
    """``count`` blind votes by someone who prefers animals by ``strengths`` (Bradley–Terry)."""
    voter = simulate_voter(strengths, np.random.default_rng(seed))
    for _ in range(count):
        deal = session.deal()
        outcome = voter(deal.left.labels["animal"], deal.right.labels["animal"])
        session.vote(outcome, token=deal.token)
