"""Every test and every docstring example runs with its own data folder: nothing the suite
does can reach the user's journal or clips (``HH_DATA_DIR``, and the per-user data directory
behind it, point into pytest's temporary folder)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _private_data_folder(tmp_path_factory: pytest.TempPathFactory,
                         monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    folder = tmp_path_factory.mktemp("hh-data", numbered=True)
    monkeypatch.setenv("HH_DATA_DIR", str(folder / "data"))
    monkeypatch.setenv("XDG_DATA_HOME", str(folder / "xdg-data"))
    yield
