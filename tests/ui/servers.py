"""Front ends other than JupyterLab for browser tests: ``marimo run`` and Voilà, each on a free
loopback port with its own home, Jupyter and data folders, stopped with SIGTERM.

>>> with start_marimo(app, tmp, env) as server:     # doctest: +SKIP
...     page.goto(server.url)
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from tests.test_notebooks import CLEARED_ENV as NOTEBOOK_CLEARED_ENV

from .helpers import SERVER_START_TIMEOUT, _wait_http_ok, free_port

#: Environment that would make the toolkit use a real provider, or the server want a token.
CLEARED_ENV = (*NOTEBOOK_CLEARED_ENV, "JUPYTER_TOKEN")


@dataclass
class AppServer:
    """A running front-end server: its base URL, process and log."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: pathlib.Path

    def log_tail(self, n: int = 80) -> str:
        """The last ``n`` lines of the server's log (for failure messages)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def server_env(base: pathlib.Path, extra: dict[str, str]) -> dict[str, str]:
    """This environment without provider keys, with a home and Jupyter folders under ``base``
    and this virtualenv's commands and kernelspec first, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    for var, sub in (
        ("HOME", "home"),
        ("XDG_CONFIG_HOME", "home/.config"),
        ("XDG_CACHE_HOME", "home/.cache"),
        ("XDG_STATE_HOME", "home/.state"),
        ("JUPYTER_CONFIG_DIR", "jupyter/config"),
        ("JUPYTER_DATA_DIR", "jupyter/data"),
        ("JUPYTER_RUNTIME_DIR", "jupyter/runtime"),
        ("IPYTHONDIR", "ipython"),
    ):
        (base / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(base / sub)
    env["JUPYTER_PATH"] = str(pathlib.Path(sys.prefix) / "share" / "jupyter")
    env["PATH"] = f"{pathlib.Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@contextlib.contextmanager
def _serve(
    cmd: list[str], base: pathlib.Path, env: dict[str, str], port: int, ready: str, cwd: pathlib.Path
) -> Iterator[AppServer]:
    log_path = base / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    server = AppServer(url=f"http://127.0.0.1:{port}", process=proc, log_path=log_path)
    try:
        _wait_http_ok(server.url + ready, proc, SERVER_START_TIMEOUT)
        yield server
    except Exception:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@contextlib.contextmanager
def start_marimo(
    app: pathlib.Path, base: pathlib.Path, extra_env: dict[str, str]
) -> Iterator[AppServer]:
    """``marimo run APP`` (read-only app mode, every cell run per browser session)."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "marimo", "run", str(app), "--headless", "--no-token",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    env = server_env(base, extra_env)
    with _serve(cmd, base, env, port, "/health", app.parent) as server:
        yield server


@contextlib.contextmanager
def start_voila(
    root: pathlib.Path, base: pathlib.Path, extra_env: dict[str, str]
) -> Iterator[AppServer]:
    """``voila ROOT``: the notebooks of ``root`` at ``/voila/render/<name>``, each page with
    its own kernel (which inherits ``extra_env``)."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "voila", str(root), "--no-browser", "--port", str(port),
        "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "--show_tracebacks=True",
    ]  # fmt: skip
    env = server_env(base, extra_env)
    with _serve(cmd, base, env, port, "/", root) as server:
        yield server
