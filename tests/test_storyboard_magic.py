"""``%%happyhorse --storyboard``: a board written as text in a cell, through IPython's own
shell, against the sandbox."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from hh_notebook.sandbox import Sandbox


@pytest.fixture
def ip(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path, sandbox: Sandbox
       ) -> Iterator[InteractiveShell]:
    for var in ("SEGMIND_API_KEY", "APIFRAME_API_KEY", "HIAPI_API_KEY", "HH_OPENAI_API_KEY",
                "HH_WAIT"):
        monkeypatch.delenv(var, raising=False)
    for provider in ("SEGMIND", "APIFRAME"):
        monkeypatch.setenv(f"HH_{provider}_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("HH_PROVIDER", "segmind")
    monkeypatch.setenv("HH_DATA_DIR", str(tmp_path / "data"))
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "hh_notebook")
    yield shell
    shell.user_ns.pop("board", None)
    shell.magics_manager.registry.pop("HappyHorseMagics", None)
    shell.extension_manager.loaded.discard("hh_notebook")


def test_the_magic_runs_a_board_written_as_text(ip: InteractiveShell, sandbox: Sandbox) -> None:
    before = len([e for e in sandbox.request_log() if e.get("endpoint") == "submit"])
    with capture_output() as out:
        ip.run_cell_magic("happyhorse", "--storyboard -d 3 -o board",
                          "A black foal in the snow\n--- 4s\nIt shakes off the snow")
    board = ip.user_ns["board"]
    assert [(s.request.duration, s.parent) for s in board.shots] == [(3, None), (4, 0)]
    assert "<StoryboardResult" in out.stdout and "scene 6.9" in out.stdout
    after = len([e for e in sandbox.request_log() if e.get("endpoint") == "submit"])
    assert after - before == 2 and board.complete


def test_the_magics_dry_run_shows_the_board_and_pays_nothing(ip: InteractiveShell,
                                                            sandbox: Sandbox) -> None:
    before = len(sandbox.request_log())
    with capture_output() as out:
        ip.run_cell_magic("happyhorse", "--storyboard --dry-run -d 3",
                          "--- seed=4\nA pony\n--- fresh 5s\nA barn")
    assert "2. A barn — starts afresh, 5 s" in out.stdout
    assert "Nothing was submitted" in out.stdout and "$1.12" in out.stdout
    assert len(sandbox.request_log()) == before


def test_the_magic_refuses_a_chain_at_a_url_only_provider_in_one_line(
        ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="apiframe takes image URLs only"):
        ip.run_cell_magic("happyhorse", "--storyboard --provider apiframe", "a\n---\nb")


def test_the_magic_says_which_line_it_cannot_read(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="line 2: 'colour=red' is not a shot option"):
        ip.run_cell_magic("happyhorse", "--storyboard", "a\n--- colour=red\nb")
