"""How many bytes does a cell that made a 5 s 720P clip add to the saved .ipynb?

Runs two notebooks with nbclient (the engine of ``nbconvert --execute`` and papermill) on a
fresh kernel whose default provider is the auto-started local sandbox: one with only
``%load_ext hh_notebook``, one with that plus a ``%%happyhorse -d 5 -r 720P`` cell, and compares
the saved files. Two display paths are measured:

* ``static``  — what a headless run shows (the default under nbclient): HTML with a small
  poster frame and a ``<video>`` pointing at the clip file.
* ``widget``  — the live job widget (``HH_DISPLAY=widget``), whose synced state nbclient
  stores in the notebook metadata next to the output's static HTML fallback.

The clip itself (hundreds of KB) never enters the notebook: the figure is the output plus,
for the widget, its state. Usage::

    .venv/bin/python benchmarks/notebook_size.py [--duration 5] [--resolution 720P]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient


def _execute(cells: list[str], folder: pathlib.Path, name: str, env: dict[str, str]) -> int:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        ).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    path = folder / name
    nbformat.write(nb, path)
    return path.stat().st_size


def measure(duration: int, resolution: str, mode: str, work: pathlib.Path) -> dict[str, object]:
    """Execute the baseline and the clip notebook in ``mode``; return the sizes in bytes."""
    folder = work / mode
    folder.mkdir()
    env = {
        "HH_DATA_DIR": str(work / f"data-{mode}"),
        "HH_SANDBOX_TIME_SCALE": "0.01",
        "HH_DISPLAY": mode,
        "HH_WAIT": "1",
    }
    base = _execute(["%load_ext hh_notebook"], folder, "baseline.ipynb", env)
    started = time.perf_counter()
    cell = f"%%happyhorse -d {duration} -r {resolution} -s 1 -o clip\nA white horse gallops along a beach at dawn"
    with_clip = _execute(["%load_ext hh_notebook", cell], folder, "clip.ipynb", env)
    seconds = time.perf_counter() - started
    clips = sorted((work / f"data-{mode}").rglob("*.mp4"))
    nb = json.loads((folder / "clip.ipynb").read_text())
    state = json.dumps(nb["metadata"].get("widgets", {}))
    return {
        "mode": mode,
        "baseline_bytes": base,
        "with_clip_bytes": with_clip,
        "added_bytes": with_clip - base,
        "widget_state_bytes": len(state) if nb["metadata"].get("widgets") else 0,
        "clip_file_bytes": clips[-1].stat().st_size if clips else None,
        "run_seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--resolution", default="720P")
    parser.add_argument("--limit", type=int, default=50_000, help="bytes allowed per clip cell")
    args = parser.parse_args(argv)
    for var in (
        "SEGMIND_API_KEY",
        "APIFRAME_API_KEY",
        "HIAPI_API_KEY",
        "HH_OPENAI_API_KEY",
        "HH_PROVIDER",
        "HH_SEGMIND_BASE_URL",
    ):
        os.environ.pop(var, None)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("static", "widget"):
            row = measure(args.duration, args.resolution, mode, pathlib.Path(tmp))
            row["within_limit"] = row["added_bytes"] < args.limit  # type: ignore[operator]
            ok = ok and bool(row["within_limit"])
            print(json.dumps(row))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
