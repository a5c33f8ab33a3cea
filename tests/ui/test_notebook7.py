"""The magic's job widget in Notebook 7 (same server, /notebooks/ URL): nothing in the widget
assumes JupyterLab."""

from __future__ import annotations

import pytest

from .helpers import JupyterLab, run_all_cells, save_screenshot, wait_for_js, write_notebook
from .test_job_widget_browser import _assert_plays

pytestmark = pytest.mark.browser


def test_magic_cell_plays_in_notebook7(jupyter_lab: JupyterLab, page) -> None:
    write_notebook(
        jupyter_lab.root,
        "nb7.ipynb",
        ["%load_ext hh_notebook", "%%happyhorse -d 3 -s 8\nA dappled horse in a meadow, crickets"],
    )
    jupyter_lab.open(page, "nb7.ipynb", app="notebook")
    run_all_cells(page)
    wait_for_js(
        page, "document.querySelector('.hh-job')?.dataset.status === 'succeeded'", timeout=90
    )
    _assert_plays(page)
    save_screenshot(page, "notebook7_playing", "test_notebook7")
