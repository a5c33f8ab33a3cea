"""A real-looking API key never reaches what a user shows or shares: widget state, the
static HTML of a job, the magics' outputs (``config``, ``jobs``, ``show``), a sweep's
grid state, its report and its exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

import hh_notebook as hh
from hh_notebook.sandbox import Sandbox
from hh_notebook.widgets.grid import SweepGrid
from hh_notebook.widgets.job import JobWidget

CANARY = "SG_c4a7a1e5f00dbeef"


@pytest.fixture()
def keyed(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> hh.Client:
    monkeypatch.setenv("SEGMIND_API_KEY", CANARY)
    monkeypatch.setenv("HH_SEGMIND_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("HH_DATA_DIR", str(tmp_path / "data"))
    for var in ("HH_PROVIDER", "APIFRAME_API_KEY", "HIAPI_API_KEY", "HH_OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    return hh.Client()


def _assert_clean(text: str, where: str) -> None:
    assert CANARY not in text, f"API key found in {where}"
    assert CANARY[3:] not in text, f"part of the API key found in {where}"


def test_job_widget_state_and_static_html_hold_no_key(keyed: hh.Client) -> None:
    job = keyed.generate("a kingfisher dives into a stream, splash", duration=3, seed=5)
    widget = JobWidget(job, client=keyed)
    state = widget.get_state()
    _assert_clean(json.dumps({k: v for k, v in state.items() if k not in ("_esm", "_css")},
                             default=str), "job widget state")
    _assert_clean(widget.static_html(), "static HTML")
    _assert_clean(repr(job) + repr(keyed), "reprs")
    bundle = widget._repr_mimebundle_()
    _assert_clean(json.dumps(bundle, default=str), "the widget's mime bundle")


def test_magic_outputs_hold_no_key(keyed: hh.Client, capsys: pytest.CaptureFixture[str]) -> None:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "hh_notebook")
    job = keyed.generate("an otter floats on its back, water lapping", duration=3, seed=6)
    shown = []
    for line in ("config", "jobs", f"show {job.id}", "cost"):
        result = ip.run_line_magic("happyhorse", line)
        shown.append(repr(result))
        for method in ("_repr_html_", "_repr_markdown_", "__str__"):
            render = getattr(result, method, None)
            if render is not None:
                shown.append(str(render()))
    ip.magics_manager.registry.pop("HappyHorseMagics", None)
    ip.extension_manager.loaded.discard("hh_notebook")
    captured = capsys.readouterr()
    everything = "\n".join(shown) + captured.out + captured.err
    # The outputs were really produced: the key is reported as set, the job is listed.
    assert "SEGMIND_API_KEY" in everything and "an otter floats" in everything
    _assert_clean(everything, "%happyhorse outputs")


def test_sweep_grid_report_and_exports_hold_no_key(keyed: hh.Client, tmp_path: Path) -> None:
    result = hh.sweep("a paper boat on a puddle, rain pattering", client=keyed, seed=[1, 2],
                      duration=3).run(budget=5)
    grid = SweepGrid.from_sweep(result)
    _assert_clean(json.dumps({k: v for k, v in grid.get_state().items()
                              if k not in ("_esm", "_css")}, default=str), "grid state")
    report = result.export_report(tmp_path / "report")
    for path in report.parent.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json", ".csv", ".txt"):
            _assert_clean(path.read_text(errors="replace"), str(path))
    _assert_clean(result.to_json() + result.to_csv(), "sweep exports")
    single = result.export_report(tmp_path / "one.html", single_file=True)
    _assert_clean(single.read_text(errors="replace"), "single-file report")
