"""Helpers for real-browser tests: JupyterLab handle, notebooks, waits, screenshots.

Import them in a test module as ``from .helpers import ...``; the fixtures that start the
server and the browser are in ``conftest.py`` beside this file.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
KERNEL_IDLE_TIMEOUT = 60.0
SERVER_START_TIMEOUT = 60.0


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def artifact_dir(name: str) -> pathlib.Path:
    """``test-artifacts/<name>/``, created; ``name`` is sanitised for the file system."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:120]
    path = ARTIFACTS / safe
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_screenshot(page: Any, name: str, test_name: str = "screenshots") -> pathlib.Path:
    """Save a full-page PNG under ``test-artifacts/<test_name>/<name>.png`` and return its path."""
    path = artifact_dir(test_name) / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def write_notebook(
    root: pathlib.Path, name: str, cells: list[str], *, kernel: str = "python3"
) -> pathlib.Path:
    """Write a fresh notebook of code cells ``cells`` at ``root/name`` (overwriting any old one).

    Cells starting with ``"# md\\n"`` become markdown cells (the marker line is dropped).
    """
    nb_cells = []
    for src in cells:
        if src.startswith("# md\n"):
            nb_cells.append({"cell_type": "markdown", "metadata": {}, "source": src[5:]})
        else:
            nb_cells.append(
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "metadata": {},
                    "outputs": [],
                    "source": src,
                }
            )
    nb = {
        "cells": nb_cells,
        "metadata": {
            "kernelspec": {
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
                "name": kernel,
            },
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    # JupyterLab's ?reset plus a stale checkpoint can resurrect old content: drop it.
    shutil.rmtree(path.parent / ".ipynb_checkpoints", ignore_errors=True)
    return path


def wait_for_js(page: Any, expression: str, *, timeout: float = 30.0, arg: Any = None) -> Any:
    """Wait until the JS ``expression`` is truthy and return its value (JSON).

    ``expression`` is an expression, a function, or an ``async`` function (awaited at every
    check: Playwright's own ``wait_for_function`` would take its Promise as truthy). Checks
    every 100 ms, bounded by ``timeout`` seconds; raises :class:`TimeoutError` naming it.
    """
    text = expression.strip()
    if not text.startswith(("(", "function", "async")):
        text = f"() => {{ return ({text}); }}"
    if not text.startswith("async"):
        handle = page.wait_for_function(text, arg=arg, timeout=timeout * 1000, polling=100)
        return handle.json_value()
    poller = f"""async (arg) => {{
      const check = {text};
      const deadline = performance.now() + {timeout * 1000};
      while (performance.now() < deadline) {{
        const value = await check(arg);
        if (value) return {{value}};
        await new Promise(resolve => setTimeout(resolve, 100));
      }}
      return null;
    }}"""
    found = page.evaluate(poller, arg)
    if found is None:
        raise TimeoutError(f"not true after {timeout:.0f}s: {expression.strip()[:200]}")
    return found["value"]


def wait_kernel_idle(page: Any, *, timeout: float = KERNEL_IDLE_TIMEOUT) -> None:
    """Wait until the kernel is really ready to run cells.

    JupyterLab: the status bar reads ``(ipykernel) | Idle`` (the toolbar's indicator says idle
    while the kernel is still initializing). Notebook 7 has no status bar: its toolbar must
    name the ipykernel kernel and show idle, and the server must report that kernel idle with
    a connected client.
    """
    wait_for_js(
        page,
        """async () => {
          // A "Select Kernel" dialog blocks running cells: accept the notebook's kernel.
          const dialog = document.querySelector('.jp-Dialog');
          if (dialog) {
            if (/Select Kernel/.test(dialog.innerText)) {
              dialog.querySelector('.jp-Dialog-button.jp-mod-accept')?.click();
            }
            return false;
          }
          const bar = document.querySelector('#jp-main-statusbar');
          if (bar && /\\(ipykernel\\)\\s*\\|\\s*Idle/.test(bar.innerText)) return true;
          if (bar) return false;
          const name = document.querySelector('.jp-KernelName');
          const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
          if (!name || !/\\(ipykernel\\)/.test(name.textContent)) return false;
          if (!indicator || indicator.dataset.status !== 'idle') return false;
          const kernels = await (await fetch('/api/kernels')).json();
          return kernels.some(k => k.execution_state === 'idle' && k.connections > 0);
        }""",
        timeout=timeout,
    )


def accept_kernel_dialog(page: Any, *, timeout: float = 5.0) -> bool:
    """If JupyterLab asks which kernel to start, accept its proposal (the notebook's own
    kernelspec). Returns whether a dialog was answered. Waits at most ``timeout`` seconds for
    either the dialog or a cell toolbar-ready notebook."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        found = _dialog_or_ready(page, timeout)
    except PlaywrightTimeout:
        return False
    if found != "dialog":
        return False
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    page.wait_for_selector(".jp-Dialog", state="detached", timeout=timeout * 1000)
    return True


def _dialog_or_ready(page: Any, timeout: float) -> Any:
    return wait_for_js(
        page,
        """() => {
          const d = document.querySelector('.jp-Dialog');
          if (d && /Select Kernel/.test(d.innerText)) return 'dialog';
          const bar = document.querySelector('#jp-main-statusbar');
          if (bar && /\\|\\s*Idle/.test(bar.innerText)) return 'ready';
          if (!bar && document.querySelector('.jp-Notebook-ExecutionIndicator')) return 'ready';
          return false;
        }""",
        timeout=timeout,
    )


def run_all_cells(page: Any) -> None:
    """Run every cell through the Run menu (what a user does)."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def wait_cells_done(page: Any, *, count: int | None = None, timeout: float = 60.0) -> None:
    """Wait until no code cell shows ``[*]`` and, with ``count``, at least that many ran."""
    wait_for_js(
        page,
        """(n) => {
          const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
              .map(e => e.textContent.trim());
          if (prompts.some(p => p.includes('*'))) return false;
          const ran = prompts.filter(p => /\\[\\d+\\]/.test(p)).length;
          return n === null ? ran > 0 : ran >= n;
        }""",
        timeout=timeout,
        arg=count,
    )


def cell_output_text(page: Any, index: int) -> str:
    """All text of code cell ``index``'s output area."""
    return str(
        page.evaluate(
            "(i) => { const c = document.querySelectorAll('.jp-CodeCell')[i];"
            " const o = c && c.querySelector('.jp-OutputArea'); return o ? o.innerText : ''; }",
            index,
        )
    )


@dataclass
class JupyterLab:
    """A running JupyterLab server bound to 127.0.0.1 with its own temp dirs."""

    url: str
    port: int
    root: pathlib.Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: pathlib.Path
    opened: list[str] = field(default_factory=list)

    def notebook_url(self, name: str, *, app: str = "lab") -> str:
        """URL of notebook ``name``: JupyterLab (``app="lab"``) or Notebook 7 (``"notebook"``)."""
        if app == "notebook":
            return f"{self.url}/notebooks/{name}"
        return f"{self.url}/lab/tree/{name}?reset"

    def open(self, page: Any, name: str, *, app: str = "lab", timeout: float = 60.0) -> None:
        """Open notebook ``name`` in ``page`` and wait until its kernel is idle."""
        page.goto(self.notebook_url(name, app=app), timeout=timeout * 1000)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout * 1000)
        accept_kernel_dialog(page)
        wait_kernel_idle(page, timeout=timeout)
        # The "Select Kernel" dialog can also appear after the status bar first says idle.
        if accept_kernel_dialog(page, timeout=1.0):
            wait_kernel_idle(page, timeout=timeout)
        self.opened.append(name)

    def api(self, path: str, method: str = "GET") -> Any:
        """Call the server's REST API (no token) and return the decoded JSON."""
        req = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every running kernel (between tests, so each starts fresh)."""
        with contextlib.suppress(OSError, urllib.error.URLError):
            for session in self.api("/api/sessions") or []:
                self.api(f"/api/sessions/{session['id']}", method="DELETE")

    def log_tail(self, n: int = 80) -> str:
        """The last ``n`` lines of the server's log (for failure messages)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def _wait_http_ok(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        # A short pause between probes of a server that is still booting; bounded by deadline.
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s")


@contextlib.contextmanager
def start_lab(base: pathlib.Path, kernel_env: dict[str, str]) -> Iterator[JupyterLab]:
    """JupyterLab on a free loopback port, its config/data/runtime dirs under ``base``.

    ``kernel_env`` is added to the server's environment and so to every kernel's. The
    server stops with SIGTERM (two SIGINTs would leave kernel files behind).
    """
    root = base / "root"
    root.mkdir(parents=True)
    env = dict(os.environ)
    env.pop("JUPYTER_TOKEN", None)
    for var, sub in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
    ):
        (base / sub).mkdir()
        env[var] = str(base / sub)
    # The kernelspec and lab extensions live in the venv; keep them visible.
    env["JUPYTER_PATH"] = os.pathsep.join(
        p
        for p in [str(pathlib.Path(sys.prefix) / "share" / "jupyter"), env.get("JUPYTER_PATH", "")]
        if p
    )
    # No "get notified about Jupyter news?" toast over the notebook.
    settings = base / "config" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env["PYTHONUNBUFFERED"] = "1"
    env.update(kernel_env)
    bin_dir = pathlib.Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    port = free_port()
    log_path = base / "jupyter.log"
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--ip", "127.0.0.1", "--port", str(port),
        "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}", "--allow-root",
        "--ServerApp.disable_check_xsrf=True",
        "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    lab = JupyterLab(url=url, port=port, root=root, env=env, process=proc, log_path=log_path)
    try:
        _wait_http_ok(f"{url}/api/status", proc, SERVER_START_TIMEOUT)
        yield lab
    except Exception:
        print(lab.log_tail(), file=sys.stderr)
        raise
    finally:
        lab.shutdown_kernels()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
