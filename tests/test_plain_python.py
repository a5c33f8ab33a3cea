"""A plain Python script (no notebook) gets a text progress line, then the clip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import hh_notebook as hh
job = hh.generate("a heron lifts off a misty lake", duration=3, seed=11)
print("RESULT", job.status.value, job.video_path.name)
"""

SWEEP_SCRIPT = """
import hh_notebook as hh
result = hh.sweep("a heron lifts off a misty lake", seed="1-2", duration=3).run()
print("RESULT", len(result.succeeded))
"""


def test_a_script_prints_a_progress_line_and_gets_its_clip(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and not k.startswith("HH_")}
    env.update(HH_DATA_DIR=str(tmp_path), HH_SANDBOX_TIME_SCALE="0.005")
    done = subprocess.run([sys.executable, "-c", SCRIPT], check=False, env=env,
                          capture_output=True, timeout=120, cwd=tmp_path)
    # Bytes, not text mode: universal newlines would turn the carriage returns into newlines.
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, stderr
    result = [line for line in stdout.splitlines() if line.startswith("RESULT")]
    assert result and result[0].startswith("RESULT succeeded ")
    assert (tmp_path / "clips" / result[0].split()[-1]).is_file()
    # One status line rewritten in place (carriage returns), ending with "done" and a newline.
    assert "local sandbox" in stderr
    progress = stderr.split("\r")
    assert len(progress) >= 2, stderr
    assert progress[-1].startswith("happyhorse: done") and progress[-1].endswith("\n")


def test_a_script_sweep_prints_one_progress_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and not k.startswith("HH_")}
    env.update(HH_DATA_DIR=str(tmp_path), HH_SANDBOX_TIME_SCALE="0.005")
    done = subprocess.run([sys.executable, "-c", SWEEP_SCRIPT], check=False, env=env,
                          capture_output=True, timeout=120, cwd=tmp_path)
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, stderr
    assert "RESULT 2" in stdout
    lines = [line for line in stderr.split("\n") if "sweep sw" in line]
    assert len(lines) == 1, stderr  # one line, rewritten in place
    assert lines[0].split("\r")[-1].strip().endswith("2/2 done · sandbox — not paid")
