"""Headless runs: `jupyter nbconvert --execute --to html` of a notebook using the magic gives a
page where every clip is visible offline, and the executed .ipynb stays small."""

from __future__ import annotations

import html.parser
import json
import os
import pathlib
import subprocess
import sys
import urllib.parse

import pytest

pytestmark = pytest.mark.slow

PROMPTS = [
    "A white horse gallops along a beach at dawn, waves crashing",
    "A black foal <i>sleeps</i> in {straw}, rain on the barn roof",
]


def _notebook(cells: list[str]) -> dict:
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [],
                "source": src,
            }
            for src in cells
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


class _Media(html.parser.HTMLParser):
    """Collects the static job views' <video> and poster <img> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.videos: list[dict[str, str | None]] = []
        self.posters: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "video" and a.get("class") == "hh-static-video":
            self.videos.append(a)
        if tag == "img" and a.get("class") == "hh-static-poster":
            self.posters.append(a)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The notebook executed and exported once for this module's tests."""
    tmp_path = tmp_path_factory.mktemp("export")
    folder = tmp_path / "work"
    folder.mkdir()
    nb = folder / "clips.ipynb"
    cells = ["%load_ext hh_notebook"] + [
        f"%%happyhorse -d 3 -s {i}\n{p}" for i, p in enumerate(PROMPTS)
    ]
    nb.write_text(json.dumps(_notebook(cells)))
    env = dict(os.environ)
    for var in (
        "SEGMIND_API_KEY",
        "APIFRAME_API_KEY",
        "HIAPI_API_KEY",
        "HH_OPENAI_API_KEY",
        "HH_PROVIDER",
        "HH_WAIT",
        "HH_SEGMIND_BASE_URL",
    ):
        env.pop(var, None)
    env.update(
        HH_DATA_DIR=str(tmp_path / "data"),
        HH_SANDBOX_TIME_SCALE="0.01",
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        IPYTHONDIR=str(tmp_path / "ipy"),
    )
    bindir = pathlib.Path(sys.executable).parent
    subprocess.run(
        [str(bindir / "jupyter"), "nbconvert", "--execute", "--to", "html",
         "--ExecutePreprocessor.timeout=120", str(nb)],
        cwd=folder, env=env, check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    return folder / "clips.html"


def test_exported_html_shows_every_clip_offline(executed: pathlib.Path) -> None:
    page = executed.read_text(encoding="utf-8")
    media = _Media()
    media.feed(page)
    assert len(media.videos) == len(PROMPTS)
    assert len(media.posters) == len(PROMPTS)
    for video in media.videos:
        src = urllib.parse.unquote(str(video["src"]))
        assert not src.startswith(("http:", "https:", "blob:"))
        clip = (executed.parent / src).resolve()
        assert clip.is_file() and clip.stat().st_size > 10_000, clip
        assert str(video["poster"]).startswith("data:image/jpeg;base64,")
    for poster in media.posters:
        assert str(poster["src"]).startswith("data:image/jpeg;base64,")
    # The prompts are shown as text, markup escaped.
    assert "A black foal &lt;i&gt;sleeps&lt;/i&gt; in {straw}" in page
    assert "<i>sleeps</i>" not in page


def test_headless_run_stores_no_widget_state_and_no_clip_bytes(executed: pathlib.Path) -> None:
    # nbconvert also leaves the executed notebook's outputs in the HTML; check the page holds
    # no widget state (which would carry traits) and no video as base64.
    page = executed.read_text(encoding="utf-8")
    assert "application/vnd.jupyter.widget-state+json" not in page
    assert "data:video" not in page
