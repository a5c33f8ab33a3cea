"""An exported notebook (`jupyter nbconvert --execute --to html`) opened from disk in Chromium,
with no Jupyter server: every clip's static view shows its poster and its video decodes."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from .helpers import save_screenshot, wait_for_js

pytestmark = pytest.mark.browser


def test_exported_html_plays_each_clip_offline(tmp_path: pathlib.Path, chromium) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    cells = [
        "%load_ext hh_notebook",
        "%%happyhorse -d 3 -s 1\nA white horse on a beach",
        "%%happyhorse -d 3 -s 2 -a 9:16\nA black horse in the rain",
    ]
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
             "source": c}
            for c in cells
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    (folder / "export.ipynb").write_text(json.dumps(nb))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("HH_PROVIDER", None)
    env.update(
        HH_DATA_DIR=str(tmp_path / "data"),
        HH_SANDBOX_TIME_SCALE="0.01",
        IPYTHONDIR=str(tmp_path / "ipy"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
    )
    jupyter = pathlib.Path(sys.executable).parent / "jupyter"
    subprocess.run(
        [str(jupyter), "nbconvert", "--execute", "--to", "html", "export.ipynb"],
        cwd=folder, env=env, check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    context = chromium.new_context(viewport={"width": 1200, "height": 1400})
    page = context.new_page()
    # Offline: refuse every request that is not a local file.
    page.route("http*://**", lambda route: route.abort())
    try:
        page.goto((folder / "export.html").as_uri())
        count = page.evaluate("() => document.querySelectorAll('video.hh-static-video').length")
        assert count == 2
        page.evaluate(
            "() => document.querySelectorAll('video.hh-static-video')"
            ".forEach(v => { v.muted = true; v.preload = 'auto'; v.load(); })"
        )
        wait_for_js(
            page,
            "[...document.querySelectorAll('video.hh-static-video')]"
            ".every(v => v.readyState >= 2 && v.videoWidth > 0)",
            timeout=30,
        )
        sizes = page.evaluate(
            "() => [...document.querySelectorAll('video.hh-static-video')]"
            ".map(v => [v.videoWidth, v.videoHeight])"
        )
        assert sizes == [[1280, 720], [720, 1280]]
        posters = page.evaluate(
            "() => [...document.querySelectorAll('video.hh-static-video')]"
            ".map(v => v.poster.startsWith('data:image/jpeg'))"
        )
        assert posters == [True, True]
        save_screenshot(page, "exported_html", "test_export")
    finally:
        context.close()
