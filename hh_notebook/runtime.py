"""Where the code runs: blocking calls inside and outside an event loop, kernel detection,
background tasks, and the one seam through which the core reaches the notebook face.

``run_blocking`` runs a coroutine to completion from synchronous code: inside a running loop
(a Jupyter kernel) that loop is re-entered (``nest_asyncio2``), so jobs keep running on it
afterwards; outside one (a script, terminal IPython) a private loop per thread is reused from
call to call, so a job started by one blocking call is still alive when another waits for it.

Kernel detection never imports IPython or marimo: when neither is loaded, this is no notebook.
Front ends differ in what they say about themselves. JupyterLab, Notebook 7 and VS Code allow
stdin on execute requests; nbclient (``nbconvert --execute``, papermill) does not, and neither
does Voilà, which executes the notebook with nbclient too but then shows its widgets live — so
Voilà is told apart by the environment it gives its kernels. marimo has no IPython kernel at
all: its cells run on its own event loop, where jobs go on in the background as well.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import threading
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

__all__ = [
    "blocking_wanted",
    "in_kernel",
    "in_marimo",
    "in_voila",
    "is_headless",
    "run_blocking",
    "show_in_notebook",
    "spawn",
    "thread_loop",
    "view_kind",
]

T = TypeVar("T")

#: The event loop of blocking calls made outside any running loop, one per thread and shared
#: by every client, sweep and view (jobs and HTTP pools belong to the loop they started on).
_thread_loop = threading.local()


def thread_loop() -> asyncio.AbstractEventLoop | None:
    """This thread's private loop for blocking calls, if one was made (and is open)."""
    loop: asyncio.AbstractEventLoop | None = getattr(_thread_loop, "loop", None)
    return loop if loop is not None and not loop.is_closed() else None


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code and return its result."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:
        own = thread_loop()
        if own is None:
            own = asyncio.new_event_loop()
            _thread_loop.loop = own
        return own.run_until_complete(coro)
    import nest_asyncio2

    nest_asyncio2.apply(loop)
    return loop.run_until_complete(coro)


_tasks: set[asyncio.Future[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any] | None:
    """Run ``coro`` in the background of the running loop (the kernel's), keeping a reference
    until it ends. Without a running loop (plain Python) it runs to completion first."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        run_blocking(coro)
        return None
    task = loop.create_task(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


def _kernel() -> Any:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    return getattr(shell, "kernel", None) if shell is not None else None


def in_marimo() -> bool:
    """True inside a running marimo notebook or app (``marimo edit`` / ``marimo run``)."""
    marimo = sys.modules.get("marimo")
    if marimo is None:
        return False
    try:
        return bool(marimo.running_in_notebook())
    except Exception:  # noqa: BLE001 - a marimo without this function runs no notebook of ours
        return False


def in_kernel() -> bool:
    """True where widgets can render: a Jupyter kernel or a marimo notebook; False in scripts
    and terminals."""
    return _kernel() is not None or in_marimo()


#: Variables Voilà sets in the environment of every kernel it starts, on demand
#: (``voila/handler.py``) or pre-heated (``voila/voila_kernel_manager.py``). nbclient,
#: papermill and Jupyter servers set none of them.
VOILA_KERNEL_ENV = ("VOILA_BASE_URL", "VOILA_SERVER_URL", "VOILA_APP_PORT", "VOILA_PREHEAT")


def in_voila(env: Mapping[str, str] | None = None) -> bool:
    """True in a kernel started by Voilà (``voila app.ipynb`` or the ``/voila`` server
    extension), where a dashboard shows the widgets live.

    >>> in_voila({"VOILA_BASE_URL": "/", "VOILA_SERVER_URL": "/"})
    True
    >>> in_voila({"SERVER_SOFTWARE": "voila/0.5.8"}), in_voila({"JPY_SESSION_NAME": "a.ipynb"})
    (True, False)
    """
    env = os.environ if env is None else env
    return any(name in env for name in VOILA_KERNEL_ENV) or env.get(
        "SERVER_SOFTWARE", ""
    ).startswith("voila/")


def is_headless() -> bool:
    """True when the current cell runs without an interactive front end.

    nbclient (``nbconvert --execute``, papermill) sends ``allow_stdin=False`` with each
    execute request; interactive front ends allow stdin. Voilà sends it too (it executes with
    nbclient) but shows the page live, so a Voilà kernel is never headless. Outside a kernel
    this is False (terminal IPython and marimo have a user watching).
    """
    kernel = _kernel()
    if kernel is None or bool(getattr(kernel, "_allow_stdin", True)):
        return False
    return not in_voila()


def view_kind(env: Mapping[str, str] | None = None) -> str:
    """How a job is shown: ``"widget"`` (interactive kernel: JupyterLab, Notebook 7, Voilà,
    marimo), ``"static"`` (headless kernel: HTML only, no widget state in the file) or
    ``"text"`` (no kernel: a progress line).

    ``HH_DISPLAY=widget`` or ``HH_DISPLAY=static`` overrides the choice inside a kernel.
    """
    env = os.environ if env is None else env
    if not in_kernel():
        return "text"
    forced = env.get("HH_DISPLAY", "").strip().lower()
    if forced in ("widget", "static"):
        return forced
    return "static" if is_headless() else "widget"


def blocking_wanted(wait_flag: bool, env: Mapping[str, str] | None = None) -> bool:
    """Whether a cell blocks until its job ends: with ``--wait`` or ``HH_WAIT=1``, never with
    ``HH_WAIT=0``, otherwise when nobody watches live (headless, or no kernel at all)."""
    env = os.environ if env is None else env
    forced = env.get("HH_WAIT", "").strip().lower()
    if wait_flag or forced in ("1", "true", "yes", "on"):
        return True
    if forced in ("0", "false", "no", "off"):
        return False
    return is_headless() or not in_kernel()


#: The notebook face, found by name the way pandas finds its plotting backend: nothing in the
#: core imports a view, and a plain script never loads the widget stack.
NOTEBOOK_FACE = "hh_notebook.widgets.show"


def show_in_notebook(obj: Any, **options: Any) -> Any:
    """Show ``obj`` (a job, a sweep or a sweep's result) with the notebook face and return the
    view: what ``Sweep.show()`` and ``SweepResult.show()`` call."""
    return importlib.import_module(NOTEBOOK_FACE).show(obj, **options)
