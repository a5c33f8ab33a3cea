"""The ``happyhorse`` command and the demo behind ``make demo``, run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hh_notebook.media import probe_clip

CLEARED = ("SEGMIND_API_KEY", "APIFRAME_API_KEY", "HIAPI_API_KEY", "HH_OPENAI_API_KEY",
           "HH_PROVIDER", "HH_BUDGET", "HH_SEGMIND_BASE_URL", "HH_APIFRAME_BASE_URL",
           "HH_HIAPI_BASE_URL", "HH_OPENAI_BASE_URL")


def happyhorse(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(HH_DATA_DIR=str(tmp_path / "data"), HH_SANDBOX_TIME_SCALE="0.005")
    return subprocess.run([sys.executable, "-m", "hh_notebook.cli", *args], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=180,
                          check=False)


def test_generate_dry_run_prices_and_warns_without_submitting(tmp_path: Path) -> None:
    done = happyhorse(tmp_path, "generate", "a fox", "-d", "8", "-r", "1080P", "--dry-run",
                      "--provider", "sandbox", "--image", "https://example.com/f.png",
                      "-a", "9:16")
    assert done.returncode == 0, done.stderr
    assert "i2v on segmind, estimated sandbox — not paid ($1.44 at segmind's price)" in done.stdout
    assert "dry run: nothing submitted" in done.stdout
    assert "warning: aspect_ratio 9:16 is ignored in image-to-video" in done.stdout
    assert not (tmp_path / "data" / "clips").exists()


def test_generate_makes_a_clip_and_jobs_lists_it(tmp_path: Path) -> None:
    done = happyhorse(tmp_path, "generate", "a heron at dusk", "-d", "3", "-s", "4")
    assert done.returncode == 0, done.stderr
    status, path = done.stdout.strip().splitlines()[-1].split(": ", 1)
    assert status == "succeeded"
    info = probe_clip(path)
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (
        1280, 720, "h264", "aac")
    listed = happyhorse(tmp_path, "jobs")
    assert listed.returncode == 0
    header, line = listed.stdout.strip().splitlines()
    assert header.split()[:4] == ["id", "status", "provider", "cost"]
    assert "segmind" in line and "succeeded" in line and "a heron at dusk" in line
    assert "sandbox — not paid" in line  # the cost column never shows sandbox work as money


def test_invalid_input_is_one_line_with_exit_code_2(tmp_path: Path) -> None:
    done = happyhorse(tmp_path, "generate", "a fox", "-d", "2")
    assert done.returncode == 2
    assert "duration: 2 s is too short" in done.stderr
    assert "Traceback" not in done.stderr


def test_sweep_writes_a_report_and_a_table(tmp_path: Path) -> None:
    done = happyhorse(tmp_path, "sweep", "a lantern on a river", "--sweep", "seed=1-2",
                      "--sweep", "aspect=16:9,1:1", "-d", "3", "--report", "rep",
                      "--csv", "table.csv")
    assert done.returncode == 0, done.stderr
    assert "4 clips" in done.stdout and "clips: 4 succeeded" in done.stdout
    assert (tmp_path / "rep" / "index.html").is_file()
    rows = (tmp_path / "table.csv").read_text().strip().splitlines()
    assert len(rows) == 5


def test_sweep_over_budget_refuses_before_submitting(tmp_path: Path) -> None:
    done = happyhorse(tmp_path, "sweep", "a lantern", "--sweep", "seed=1-8", "-d", "10",
                      "--budget", "1")
    assert done.returncode == 2
    assert "budget" in done.stderr.lower()
    assert not (tmp_path / "data" / "clips").exists()


@pytest.mark.slow
def test_the_demo_writes_clips_a_sweep_and_a_report(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from hh_notebook.demo import run_demo

    for var in CLEARED:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HH_SANDBOX_TIME_SCALE", "0.005")
    assert run_demo(tmp_path / "out", time_scale=0.005) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    modes = {(c["mode"], c["provider"]) for c in summary["clips"]}
    assert modes == {("t2v", "segmind"), ("i2v", "segmind"), ("r2v", "segmind"),
                     ("t2v", "apiframe"), ("t2v", "hiapi"), ("t2v", "openai")}
    for clip in summary["clips"]:
        assert clip["status"] == "succeeded" and clip["audio_codec"] == "aac"
        assert Path(clip["video_path"]).is_file()
    r2v = next(c for c in summary["clips"] if c["mode"] == "r2v")
    assert (r2v["width"], r2v["height"]) == (720, 720)
    assert len(summary["sweep"]) == 4
    assert (tmp_path / "out" / "report" / "index.html").is_file()
