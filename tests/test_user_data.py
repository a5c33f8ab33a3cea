"""The suite never touches the user's data folder: the docstring examples are safe on their
own, and every test gets a private one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import platformdirs

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_gets_a_private_data_folder(tmp_path_factory) -> None:
    temp_root = tmp_path_factory.getbasetemp()
    assert Path(os.environ["HH_DATA_DIR"]).is_relative_to(temp_root)
    user_folder = Path(platformdirs.user_data_dir("hh_notebook", appauthor=False))
    assert user_folder.is_relative_to(temp_root)


def test_the_docstring_examples_leave_the_user_data_folder_untouched(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and not k.startswith(("HH_", "XDG_"))}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "share"), HH_SANDBOX_TIME_SCALE="0.005")
    # --noconftest: the examples alone, without the suite's own protection.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--noconftest",
         "--doctest-modules", "hh_notebook"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    assert not (home / "share" / "hh_notebook").exists()
    assert not list(home.rglob("journal.sqlite3"))
