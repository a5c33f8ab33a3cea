"""The code stays ruff-clean and mypy-clean: checked with every test run."""

from __future__ import annotations

import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, check=False)


def test_ruff_finds_nothing() -> None:
    done = _run("ruff", "check", "--no-cache", "hh_notebook", "tests", "benchmarks", "conftest.py")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing(tmp_path: pathlib.Path) -> None:
    done = _run("mypy", "--cache-dir", str(tmp_path), "hh_notebook")
    assert done.returncode == 0, done.stdout + done.stderr
