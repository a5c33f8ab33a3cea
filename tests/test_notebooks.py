"""The example notebooks run top to bottom, headless, on the sandbox, and say what they should.

Every notebook in ``notebooks/`` is executed with nbclient (kernel ``python3``, which resolves
to this interpreter's ipykernel) in a temporary copy of the folder, with no provider key, its
own ``HH_DATA_DIR`` and a fast sandbox. Any cell error fails the test; then each notebook's
outputs are checked for what it is there to show. The committed notebooks carry no outputs.
"""

from __future__ import annotations

import ast
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
EXPECTED = [
    "01_quickstart.ipynb",
    "02_images_and_references.ipynb",
    "03_seed_sweep_report.ipynb",
    "04_providers.ipynb",
    "05_playground.ipynb",
    "06_storyboard.ipynb",
    "voila_sweep_app.ipynb",
]
#: The one cell papermill replaces (``-p NAME VALUE``), by notebook.
PARAMETERS = {"03_seed_sweep_report.ipynb": ("seeds", "report_folder")}
#: A 150 s provider job takes 0.75 s of real time.
TIME_SCALE = "0.005"
#: Real seconds one cell may take before the run is declared stuck.
CELL_TIMEOUT = 180
#: Environment that would make a notebook use a real provider, or change its defaults.
CLEARED_ENV = (
    "SEGMIND_API_KEY", "APIFRAME_API_KEY", "HIAPI_API_KEY", "HH_OPENAI_API_KEY",
    "HH_PROVIDER", "HH_WAIT", "HH_DISPLAY", "HH_BUDGET", "HH_SWEEP_CONCURRENCY",
    "HH_SEGMIND_BASE_URL", "HH_APIFRAME_BASE_URL", "HH_HIAPI_BASE_URL", "HH_OPENAI_BASE_URL",
    "JUPYTER_PATH",
)  # fmt: skip


@dataclass
class Run:
    """One executed notebook: the copy's folder, the executed notebook and its file."""

    folder: Path
    data_dir: Path
    nb: Any
    path: Path

    def cell(self, needle: str) -> Any:
        """The one code cell whose source contains ``needle``."""
        found = [c for c in self.nb.cells if c.cell_type == "code" and needle in c.source]
        assert len(found) == 1, f"{len(found)} cells contain {needle!r}"
        return found[0]

    def text(self, needle: str) -> str:
        """Everything a cell printed or displayed as text (stdout, stderr, text/plain)."""
        parts = []
        for out in self.cell(needle).outputs:
            if out.output_type == "stream":
                parts.append(out.text)
            elif "data" in out:
                parts.append(str(out.data.get("text/plain", "")))
        return "\n".join(parts)

    def html(self, needle: str) -> str:
        """The text/html outputs of a cell, joined."""
        return "\n".join(
            str(out.data["text/html"])
            for out in self.cell(needle).outputs
            if "data" in out and "text/html" in out.data
        )


def _execute(name: str, root: Path, configured: dict[str, str] | None = None) -> Run:
    """Run ``name`` in a copy of the folder; ``configured`` adds environment (keys, base URLs)."""
    work = root / "notebooks"
    shutil.copytree(NOTEBOOKS, work)
    data_dir = root / "data"
    nb = nbformat.read(work / name, as_version=4)
    env = {
        "HH_DATA_DIR": str(data_dir),
        "HH_SANDBOX_TIME_SCALE": TIME_SCALE,
        "IPYTHONDIR": str(root / "ipython"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "MPLBACKEND": "agg",
        **(configured or {}),
    }
    with pytest.MonkeyPatch.context() as mp:
        for var in CLEARED_ENV:
            mp.delenv(var, raising=False)
        for var, value in env.items():
            mp.setenv(var, value)
        client = NotebookClient(
            nb, timeout=CELL_TIMEOUT, kernel_name="python3",
            resources={"metadata": {"path": str(work)}},
        )  # fmt: skip
        try:
            client.execute()
        finally:
            executed = work / f"executed_{name}"
            nbformat.write(nb, executed)
    return Run(work, data_dir, nb, executed)


@pytest.fixture(scope="module")
def run_notebook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Run]]:
    """Execute a notebook once per module (each in its own folder copy and data dir)."""
    runs: dict[str, Run] = {}

    def run(name: str) -> Run:
        if name not in runs:
            root = tmp_path_factory.mktemp(name.split("_")[0])
            runs[name] = _execute(name, root)
        return runs[name]

    yield run


def _error_outputs(nb: Any) -> list[str]:
    problems = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"{out.ename}: {out.evalue}")
            elif out.output_type == "stream" and "Traceback (most recent call last)" in out.text:
                problems.append(out.text)
    return problems


class _Videos(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        src = dict(attrs).get("src")
        if tag == "video" and src:
            self.sources.append(urllib.parse.unquote(src))


def _clips_in(html_text: str, base: Path) -> list[Path]:
    """The local clip files the ``<video>`` elements of an output point at."""
    parser = _Videos()
    parser.feed(html_text)
    return [(base / src).resolve() for src in parser.sources]


# -- the folder and the committed files -----------------------------------------------------------


def test_the_notebooks_folder_holds_the_documented_notebooks() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_committed_notebook_has_no_outputs(name: str) -> None:
    raw = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    nb = nbformat.from_dict(raw)
    nbformat.validate(nb)
    assert raw["metadata"] == {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
    }
    tagged = [c for c in raw["cells"] if c["metadata"] == {"tags": ["parameters"]}]
    assert len(tagged) == (1 if name in PARAMETERS else 0)
    for cell in raw["cells"]:
        assert cell in tagged or cell["metadata"] == {}, cell["source"]
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], cell["source"]
            assert cell["execution_count"] is None, cell["source"]
    # Nothing that only works on the sandbox in the main flow (asking for it where a key is
    # missing is fine: a provider named without its key is an error, never a quiet fallback).
    sources = "\n".join("".join(c["source"]) for c in raw["cells"] if c["cell_type"] == "code")
    assert not re.search(r"Sandbox|sandbox=True|_sandbox|127\.0\.0\.1|_BASE_URL|time_scale",
                         sources)


def test_kernel_runs_this_interpreter(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys; print(sys.prefix); print(sys.executable)")]
    )
    NotebookClient(nb, timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    prefix, executable = nb.cells[0].outputs[0].text.split()
    assert Path(prefix).resolve() == Path(sys.prefix).resolve()
    assert Path(executable).parent.resolve() == Path(sys.executable).parent.resolve()


# -- each notebook runs without an error ----------------------------------------------------------


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_runs_top_to_bottom_on_the_sandbox(
    name: str, run_notebook: Callable[[str], Run]
) -> None:
    run = run_notebook(name)
    assert _error_outputs(run.nb) == []
    code_cells = [c for c in run.nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code_cells)
    # Without a key the toolkit says once that it uses the sandbox.
    notices = [
        out.text
        for c in code_cells
        for out in c.outputs
        if out.output_type == "stream" and "using the local sandbox" in out.text
    ]
    assert len(notices) == 1, notices


# -- what each one shows ----------------------------------------------------------------------------


def test_quickstart_makes_a_clip_with_the_magic_and_from_python(
    run_notebook: Callable[[str], Run],
) -> None:
    run = run_notebook("01_quickstart.ipynb")
    magic = run.cell("%%happyhorse -d 5 -s 7 -o clip")
    page = run.html("%%happyhorse -d 5 -s 7 -o clip")
    assert "T2V · segmind" in page and "done" in page
    [clip] = _clips_in(page, run.folder)
    assert clip.suffix == ".mp4" and clip.is_file() and clip.stat().st_size > 10_000
    assert clip.parent == (run.data_dir / "clips").resolve()
    # No video bytes in the notebook: the magic cell's output and the whole file stay small.
    assert len(json.dumps(magic.outputs)) < 200_000
    assert run.path.stat().st_size < 200_000
    assert "data:video" not in run.path.read_text(encoding="utf-8")

    assert "A black foal sleeps in the straw" in run.html("--dry-run")
    assert run.text("--dry-run").count("nothing submitted") == 1

    python_out = run.text("job = hh.generate(prompt")
    first_line = python_out.splitlines()[0]
    assert re.fullmatch(r"succeeded sandbox — not paid \(\$0\.70 at segmind's price\) "
                        r"[0-9a-f]{32}\.mp4", first_line), python_out
    assert run.text("again = hh.generate") == "(True, 0.0, True)"


def test_quickstart_resumes_a_job_left_behind(run_notebook: Callable[[str], Run]) -> None:
    run = run_notebook("01_quickstart.ipynb")
    tables = [
        str(out.data["text/plain"])
        for c in run.nb.cells
        if c.cell_type == "code" and c.source == "%happyhorse jobs 3"
        for out in c.outputs
        if "data" in out
    ]
    before, after = tables
    pony = [line for line in before.splitlines() if "grey pony" in line]
    assert len(pony) == 1 and re.search(r"\b(queued|running)\b", pony[0]), before
    assert all(" succeeded " in line for line in after.splitlines()[1:]), after
    # The journal holds the three jobs once each: the resumed one was not submitted again.
    from hh_notebook import Journal

    journal = Journal(run.data_dir / "journal.sqlite3")
    try:
        records = journal.jobs()
    finally:
        journal.close()
    assert sorted(r.status for r in records) == ["succeeded"] * 3
    assert sum("grey pony" in r.prompt for r in records) == 1
    assert "grey pony" in run.html("%happyhorse resume")
    assert run.text("while client.journal.get(pending.id).unfinished") == "'succeeded'"


def test_images_and_references(run_notebook: Callable[[str], Run]) -> None:
    run = run_notebook("02_images_and_references.ipynb")
    for name in ("first_frame.png", "reference_1.png", "reference_2.png", "reference_3.png"):
        assert (run.folder / name).is_file()
    i2v = run.html("--image first_frame.png -d 4 -s 5")
    assert "I2V · segmind" in i2v and "first frame: first_frame.png" in i2v
    assert all(p.is_file() for p in _clips_in(i2v, run.folder)) and _clips_in(i2v, run.folder)

    assert run.text("r2v_request.mode") == "<Mode.R2V: 'r2v'>"
    assert re.match(r"succeeded sandbox — not paid \(\$0\.56 at segmind's price\) "
                    r"[0-9a-f]{32}\.mp4", run.text("r2v = segmind.generate"))
    assert "[Image 4] points past the 3 images given" in run.text('"[Image 4] waves')
    url_only = run.text('validate("apiframe")')
    assert url_only.count("the apiframe provider takes image URLs only") == 3
    assert "use segmind, which accepts base64" in url_only

    stray = run.text("stray = r2v_request.replace")
    assert stray.startswith("reference-to-video\n")
    assert "a stray field changes the mode" in stray
    assert "aspect_ratio 9:16 is ignored in image-to-video" in run.text("-a 9:16 -d 4 --dry-run")

    assert (run.folder / "last_frame.png").is_file()
    arc = run.html("--last-frame last_frame.png")
    assert "I2V · segmind · HappyHorse 1.0" in arc and _clips_in(arc, run.folder)
    assert run.text("talk = hh.Client").startswith("succeeded https://example.com/")
    refused = run.text('audio=speech).validate("segmind")')
    assert "does not take audio" in refused and "segmind 1.0" in refused


def test_sweep_budget_grid_ratings_and_report(run_notebook: Callable[[str], Run]) -> None:
    run = run_notebook("03_seed_sweep_report.ipynb")
    preview = run.text("sw = hh.sweep(")
    assert "6 clips" in preview and "rows: seed = 1, 2, 3" in preview
    assert "columns: aspect_ratio = 16:9, 9:16" in preview and "$2.52" in preview

    refusal = run.text("sw.run(budget=1.00)")
    assert "$2.52 > budget $1.00" in refusal and "Nothing was submitted" in refusal
    assert "<SweepResult" in run.text("result = sw.run(budget=budget)")
    assert "6 succeeded" in run.text("result = sw.run(budget=budget)")

    report = run.folder / "seed_sweep_report"
    index = report / "index.html"
    assert index.is_file()
    page = index.read_text(encoding="utf-8")
    assert "clean gallop, good splash" in page and "horse leaves the frame" in page
    assert len(list((report / "clips").glob("*.mp4"))) == 6
    rows = json.loads((report / "results.json").read_text(encoding="utf-8"))["rows"]
    assert sorted((r["seed"], r["aspect_ratio"]) for r in rows) == [
        (s, a) for s in (1, 2, 3) for a in ("16:9", "9:16")
    ]
    ratings = {(r["seed"], r["aspect_ratio"]): (r["rating"], r["note"]) for r in rows}
    assert ratings[(1, "16:9")] == (5, "clean gallop, good splash")
    assert ratings[(3, "9:16")] == (2, "horse leaves the frame")
    assert all(r["status"] == "succeeded" for r in rows)
    grid_html = run.html("grid = sw.show()")
    assert grid_html.count("succeeded") == 6
    blind = run.text("arena.vote(")
    assert "agreement with the stars: 1.0" in blind
    assert "Blind arena" in run.html("arena = hh.arena(") and "Blind ranking by seed" in page


def test_providers_side_by_side(run_notebook: Callable[[str], Run]) -> None:
    run = run_notebook("04_providers.ipynb")
    estimates = run.text("hh.estimate_cost(request, p)")
    assert "$0.70" in estimates and "120 credits" in estimates
    assert estimates.count("price not published") == 2
    assert [line.split()[-1] for line in estimates.splitlines()[1:]] == [
        "True", "True", "False", "True"]  # HiAPI takes no seed
    table = run.text("for row in result.rows:")
    lines = table.splitlines()[1:]
    assert [line.split()[1] for line in lines] == ["segmind", "apiframe", "hiapi", "openai"]
    assert all("succeeded" in line and "aac" in line for line in lines), table
    switched = run.text('hh.Client(provider="hiapi"')
    assert re.fullmatch(r"hiapi 1\.1 succeeded \d+x\d+\n?", switched), switched
    width, height = map(int, switched.split()[-1].split("x"))
    assert abs(width / height - 21 / 9) < 0.05
    magic = run.html("--provider openai")
    assert "T2V · openai · HappyHorse 1.0" in magic and "aspect ratio: 21:9" in magic
    assert [p.is_file() for p in _clips_in(magic, run.folder)] == [True]


def test_playground_renders_a_clip(run_notebook: Callable[[str], Run]) -> None:
    run = run_notebook("05_playground.ipynb")
    assert run.text('"[Image 2] trots').startswith("True\n")
    assert "refers to an image, but this request has none" in run.text('"[Image 2] trots')
    assert run.text("A dapple-grey horse").strip() == "False text-to-video"
    done = run.text("job = await widget.job.wait")
    assert re.match(r"succeeded sandbox — not paid \(\$0\.56 at segmind's price\) "
                    r"[0-9a-f]{32}\.mp4", done), done
    clips = list((run.data_dir / "clips").glob("*.mp4"))
    assert len(clips) == 1


def test_storyboard_chains_shots_into_one_scene(run_notebook: Callable[[str], Run]) -> None:
    run = run_notebook("06_storyboard.ipynb")
    assert "3 shots at segmind" in run.text("board = hh.storyboard(")
    ran = run.text("result = board.run(budget=5.00)")
    assert re.search(r"<StoryboardResult sb[0-9a-f]{12}: 3 shots \(3 succeeded\); "
                     r"scene \d+\.\d+ s>", ran), ran
    assert "2 repeated boundary frames dropped" in ran
    difference = float(run.text("from hh_notebook.stitch import last_frame").split()[-1])
    assert difference < 6  # the same picture, up to compression noise
    regenerated = run.text("board.regeneration_estimate(1)")
    assert "2 new (shots 2, 3)" in regenerated
    assert "('shot-1', True, 1), ('shot-2', False, 2), ('shot-3', False, 2)" in regenerated
    # The strip shown before the run was refreshed in place with the stitched scene.
    [scene] = _clips_in(run.html("strip = board.show()"), run.folder)
    assert scene.is_file() and scene.parent == (run.data_dir / "clips").resolve()
    [barn] = _clips_in(run.html("%%happyhorse --storyboard"), run.folder)
    assert barn.is_file() and barn != scene
    assert (run.folder / "storyboard_report" / "clips" / "cell-scene.mp4").is_file()
    from hh_notebook import Journal

    journal = Journal(run.data_dir / "journal.sqlite3")
    try:
        boards = [r for r in journal.jobs() if r.tags.get("storyboard")]
    finally:
        journal.close()
    assert len(boards) == 3 + 2 + 3  # the board, its regeneration, the magic's board
    assert run.path.stat().st_size < 200_000
    assert "data:video" not in run.path.read_text(encoding="utf-8")
def test_voila_app_plans_a_sweep_when_it_opens(run_notebook: Callable[[str], Run]) -> None:
    run = run_notebook("voila_sweep_app.ipynb")
    state = run.nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    models = [m["state"] for m in state.values()]
    [button] = [m for m in models if m.get("description") == "Run"]
    assert button["disabled"] is False
    estimates = [m["value"] for m in models if m.get("_model_name") == "HTMLModel"]
    assert any(e.startswith("4 clips (4 new): about $1.68") for e in estimates), estimates
    # Opening the app plans and prices; only Run submits.
    assert not (run.data_dir / "clips").exists() or not any((run.data_dir / "clips").iterdir())


# -- papermill: the parameters cell and a headless run with other values -------------------------


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_parameters_cell_defines_what_papermill_may_change(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    [index] = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    assigned = {
        target.id
        for node in ast.parse(cells[index].source).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert set(PARAMETERS[name]) <= assigned
    # Only assignments, and nothing before them reads a parameter.
    assert all(isinstance(n, ast.Assign) for n in ast.parse(cells[index].source).body)
    earlier = "\n".join(c.source for c in cells[:index])
    assert not any(re.search(rf"\b{re.escape(p)}\b", earlier) for p in assigned)


def test_papermill_runs_the_sweep_report_with_other_seeds(tmp_path: Path) -> None:
    work = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, work)
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    env.update(
        HH_DATA_DIR=str(tmp_path / "data"), HH_SANDBOX_TIME_SCALE=TIME_SCALE,
        IPYTHONDIR=str(tmp_path / "ipython"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        MPLBACKEND="agg",
    )  # fmt: skip
    # The README's command, from the folder above notebooks/: the kernel runs there too.
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "notebooks/03_seed_sweep_report.ipynb", "out.ipynb",
         "-p", "seeds", "1-6", "--no-progress-bar"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=CELL_TIMEOUT * 2,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert executed.metadata["papermill"]["parameters"] == {"seeds": "1-6"}
    assert _error_outputs(executed) == []

    report = tmp_path / "seed_sweep_report"
    assert (report / "index.html").is_file()
    rows = json.loads((report / "results.json").read_text(encoding="utf-8"))["rows"]
    assert sorted((r["seed"], r["aspect_ratio"]) for r in rows) == [
        (s, a) for s in range(1, 7) for a in ("16:9", "9:16")
    ]
    assert all(r["status"] == "succeeded" for r in rows)
    from hh_notebook import probe_clip

    clips = sorted((report / "clips").glob("*.mp4"))
    assert len(clips) == 12
    probes = [probe_clip(c) for c in clips]
    assert all(p.video_codec == "h264" and p.has_audio and p.duration > 2.5 for p in probes)
    assert {(p.width > p.height) for p in probes} == {True, False}  # both aspect ratios


# -- the same notebooks with keys configured ------------------------------------------------------

#: Keys as a real user sets them; the value is a canary that must never show in a notebook.
CANARY = "sk-canary-0e5d7c1f9a"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_runs_unchanged_with_keys_configured(
    name: str, sandbox: Any, tmp_path: Path
) -> None:
    # Every provider has a key and a base URL, as with real accounts; the endpoints are a
    # sandbox so that nothing is paid. The notebooks take the configured path (no fallback).
    from hh_notebook.providers import PROVIDER_NAMES, get_provider

    configured = {}
    for provider in PROVIDER_NAMES:
        spec = get_provider(provider)
        configured[spec.env_key] = f"{CANARY}-{provider}"
        configured[spec.base_url_env] = sandbox.base_url
    run = _execute(name, tmp_path, configured)
    assert _error_outputs(run.nb) == []
    text = run.path.read_text(encoding="utf-8")
    assert "using the local sandbox" not in text
    assert CANARY not in text
    journal = run.data_dir / "journal.sqlite3"
    assert journal.is_file() and CANARY.encode() not in journal.read_bytes()
