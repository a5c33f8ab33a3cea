"""The README's promises: its first lines give the two commands, its quick start runs as
written (pasted into a notebook, executed headless on the sandbox), and `.ci/run` calls the
same test command."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tests.test_notebooks import CLEARED_ENV, TIME_SCALE

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _quick_start_blocks() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip("\n") for block in re.findall(r"```python\n(.*?)```", section,
                                                             re.DOTALL)]


def test_the_first_lines_give_the_demo_and_test_commands() -> None:
    head = README.splitlines()[:6]
    assert any(line.startswith("make demo") for line in head)
    assert any(line.startswith("make test") for line in head)
    assert "make test" in (REPO / ".ci" / "run").read_text()


@pytest.mark.slow
def test_the_quick_start_runs_as_written(tmp_path: Path) -> None:
    from nbclient import NotebookClient

    blocks = _quick_start_blocks()
    assert len(blocks) == 3 and sum(len(b.splitlines()) for b in blocks) <= 12
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(block) for block in blocks]
    with pytest.MonkeyPatch.context() as mp:
        for var in CLEARED_ENV:
            mp.delenv(var, raising=False)
        mp.setenv("HH_DATA_DIR", str(tmp_path / "data"))
        mp.setenv("HH_SANDBOX_TIME_SCALE", TIME_SCALE)
        mp.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
        NotebookClient(nb, timeout=180, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(out.get("text", "") for out in nb.cells[2].outputs
                      if out.output_type == "stream" and out.name == "stdout")
    status, clip, cost = printed.splitlines()[0].split(maxsplit=2)
    assert status == "succeeded"
    assert Path(clip).is_file() and cost == "sandbox — not paid ($0.70 at segmind's price)"
    report = tmp_path / "fox-report" / "index.html"
    assert report.is_file() and report.stat().st_size > 1000
    clips = list((tmp_path / "data" / "clips").glob("*.mp4"))
    assert len(clips) == 1 + 1 + 8  # magic, generate, 4 seeds × 2 aspect ratios


def test_tests_cite_only_documents_that_exist() -> None:
    from hh_notebook import catalog

    # The providers' pages are summarised outside the repository: the catalog names them.
    sources = " ".join(catalog.PAGES.values())
    cited = {name for path in (REPO / "tests").rglob("*.py")
             for name in re.findall(r"\b[\w/]+\.md\b", path.read_text(encoding="utf-8"))}
    ours = {p.name for p in REPO.rglob("*.md")
            if not {".venv", "node_modules", ".git"} & set(p.relative_to(REPO).parts)}
    missing = [name for name in cited
               if Path(name).name not in ours | set(re.findall(r"\w+\.md", sources))]
    assert missing == []
