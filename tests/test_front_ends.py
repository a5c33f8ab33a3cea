"""Which front end runs the cell, and what each gets: Voilà kernels are live although they
execute like nbclient, nbclient and papermill stay headless, and marimo (no IPython kernel)
gets the same widgets, put into the cell's output its own way."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from hh_notebook import runtime
from hh_notebook.client import Client
from hh_notebook.jobs import Job
from hh_notebook.providers.base import Status
from hh_notebook.request import GenerationRequest
from hh_notebook.runtime import VOILA_KERNEL_ENV, blocking_wanted, in_voila, is_headless, view_kind
from hh_notebook.sweep import sweep
from hh_notebook.widgets.grid import SweepGrid
from hh_notebook.widgets.job import JobWidget
from hh_notebook.widgets.output import display_view
from hh_notebook.widgets.show import show

#: What Voilà puts in a kernel's environment (voila/handler.py), beside the inherited one.
VOILA_ENV = {
    "VOILA_PREHEAT": "False",
    "VOILA_BASE_URL": "/",
    "VOILA_SERVER_URL": "/",
    "VOILA_APP_PORT": "8866",
    "SERVER_SOFTWARE": "voila/0.5.13",
}


class _Kernel:
    """What ipykernel keeps of the execute request being run."""

    def __init__(self, allow_stdin: bool) -> None:
        self._allow_stdin = allow_stdin


@pytest.fixture
def nbclient_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel running an execute request sent without stdin (nbclient, papermill, Voilà),
    in an environment without Voilà's variables."""
    shell = InteractiveShell.instance()
    monkeypatch.setattr(shell, "kernel", _Kernel(allow_stdin=False), raising=False)
    for name in (*VOILA_KERNEL_ENV, "SERVER_SOFTWARE", "HH_DISPLAY", "HH_WAIT"):
        monkeypatch.delenv(name, raising=False)


class _Marimo(types.ModuleType):
    """Stands in for the ``marimo`` package inside (or outside) a running notebook."""

    def __init__(self, running: bool) -> None:
        super().__init__("marimo")
        self.running = running
        self.appended: list[Any] = []
        self.output = types.SimpleNamespace(append=self.appended.append)

    def running_in_notebook(self) -> bool:
        return self.running


@pytest.fixture
def marimo(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Marimo]:
    """A marimo notebook is running this code (and no IPython kernel is)."""
    fake = _Marimo(running=True)
    monkeypatch.setitem(sys.modules, "marimo", fake)
    monkeypatch.setattr(runtime, "_kernel", lambda: None)
    for name in ("HH_DISPLAY", "HH_WAIT"):
        monkeypatch.delenv(name, raising=False)
    yield fake


def _job() -> Job:
    return Job(id="1" * 32, request=GenerationRequest(prompt="a horse", seed=4),
               provider="segmind", model="1.1", status=Status.FAILED)  # fmt: skip


# -- Voilà, nbclient and papermill -----------------------------------------------------------------


@pytest.mark.parametrize("name", VOILA_KERNEL_ENV)
def test_each_variable_voila_gives_its_kernels_marks_a_voila_kernel(name: str) -> None:
    assert in_voila({name: VOILA_ENV[name]})


def test_a_jupyter_or_nbclient_environment_is_not_voila() -> None:
    assert not in_voila({"JPY_PARENT_PID": "1", "JPY_SESSION_NAME": "a.ipynb", "PATH": "/bin"})
    assert not in_voila({"SERVER_SOFTWARE": "nginx/1.25"})


def test_a_voila_kernel_shows_live_widgets_and_does_not_block(
    nbclient_kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in VOILA_ENV.items():
        monkeypatch.setenv(name, value)
    assert not is_headless()
    assert view_kind() == "widget"
    assert not blocking_wanted(False)


def test_nbclient_and_papermill_stay_headless_static_and_blocking(nbclient_kernel: None) -> None:
    assert is_headless()
    assert view_kind() == "static"
    assert blocking_wanted(False)


def test_voila_still_obeys_hh_wait_and_hh_display(
    nbclient_kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOILA_BASE_URL", "/")
    assert blocking_wanted(False, {"HH_WAIT": "1"})
    assert view_kind({"HH_DISPLAY": "static"}) == "static"


# -- marimo ---------------------------------------------------------------------------------------


def test_marimo_is_a_notebook_someone_watches(marimo: _Marimo) -> None:
    assert runtime.in_marimo() and runtime.in_kernel()
    assert not is_headless()
    assert view_kind() == "widget"
    assert not blocking_wanted(False)


def test_marimo_imported_by_a_script_is_no_notebook(marimo: _Marimo) -> None:
    marimo.running = False
    assert not runtime.in_marimo() and not runtime.in_kernel()
    assert view_kind() == "text"


def test_marimo_loaded_but_broken_is_no_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "marimo", types.ModuleType("marimo"))
    assert not runtime.in_marimo()


def test_display_view_appends_to_the_marimo_cell_output(marimo: _Marimo) -> None:
    view = object()
    assert display_view(view, refreshable=True) is None
    assert marimo.appended == [view]


def test_show_puts_the_job_widget_in_the_marimo_output_and_returns_it(marimo: _Marimo) -> None:
    widget = show(_job())
    try:
        assert isinstance(widget, JobWidget) and marimo.appended == [widget]
        assert widget.status == "failed"
    finally:
        widget.close()


def test_a_sweep_shows_its_live_grid_in_marimo(
    marimo: _Marimo, sandbox: Any, tmp_path: pathlib.Path
) -> None:
    client = Client(provider="segmind", base_url=sandbox.base_url, data_dir=tmp_path / "data")
    try:
        grid = sweep("a fox in the snow", seed="1-2", duration=3, client=client).show()
        assert isinstance(grid, SweepGrid) and marimo.appended == [grid]
        assert [c["status"] for c in grid.cells] == ["pending", "pending"]
        grid.close()
    finally:
        client.close()


# -- the marimo example ---------------------------------------------------------------------------

MARIMO_APP = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "marimo_quickstart.py"


def test_marimo_example_passes_marimo_check(tmp_path: pathlib.Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "marimo", "check", "--strict", str(MARIMO_APP)],
        env={**os.environ, "HOME": str(tmp_path)}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_marimo_example_uses_the_python_api_and_nothing_sandbox_only() -> None:
    source = MARIMO_APP.read_text(encoding="utf-8")
    assert "hh.show(" in source and "sweep.show()" in source and "await client.submit(" in source
    assert "%%happyhorse" not in source and "get_ipython" not in source
    assert not re.search(r"Sandbox|sandbox=|_sandbox|127\.0\.0\.1:|_BASE_URL|time_scale", source)
