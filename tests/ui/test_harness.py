"""The browser harness itself: JupyterLab starts, a notebook opens, cells run, output shows."""

from __future__ import annotations

import pytest

from .helpers import JupyterLab, cell_output_text, run_all_cells, wait_cells_done, write_notebook

pytestmark = pytest.mark.browser


def test_trivial_notebook_runs_in_jupyterlab(jupyter_lab: JupyterLab, page) -> None:
    write_notebook(
        jupyter_lab.root,
        "harness.ipynb",
        [
            "import os\nprint('sum', 20 + 22)",
            "print('data dir set', bool(os.environ.get('HH_DATA_DIR')))",
        ],
    )
    jupyter_lab.open(page, "harness.ipynb")
    run_all_cells(page)
    wait_cells_done(page, count=2, timeout=60)
    assert "sum 42" in cell_output_text(page, 0)
    assert "data dir set True" in cell_output_text(page, 1)
