"""Shared fixtures: the provider sandbox on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hh_notebook.sandbox import Sandbox

# A 150 s provider job takes 0.75 s here; Segmind's 1 h record expiry 18 s.
SANDBOX_TIME_SCALE = 0.005


@pytest.fixture(scope="session")
def sandbox_clip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clip cache for every sandbox of the session: identical requests encode once."""
    return tmp_path_factory.mktemp("sandbox-clips")


@pytest.fixture(scope="session")
def sandbox(sandbox_clip_cache: Path) -> Iterator[Sandbox]:
    """One sandbox for the whole session. Don't change its faults, keys or balances:
    use ``fresh_sandbox`` for that."""
    with Sandbox(time_scale=SANDBOX_TIME_SCALE, cache_dir=sandbox_clip_cache) as sb:
        yield sb


@pytest.fixture()
def fresh_sandbox(sandbox_clip_cache: Path) -> Iterator[Sandbox]:
    """A sandbox of its own for a test that changes faults, keys, balances or the clock."""
    with Sandbox(time_scale=SANDBOX_TIME_SCALE, cache_dir=sandbox_clip_cache) as sb:
        yield sb
