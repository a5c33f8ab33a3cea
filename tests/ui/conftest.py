"""Real-browser fixtures: one JupyterLab per session, driven by Debian's Chromium via Playwright.

Generic on purpose. Fixtures: ``jupyter_lab`` (session: the server, a
:class:`~.helpers.JupyterLab`), ``chromium`` (session: the browser), ``page`` (per test: a fresh
context), ``jupyter_kernel_env`` (session: extra kernel environment, override it). With the
helpers in ``tests/ui/helpers.py`` (``from .helpers import ...``) any browser test can

* write a notebook into the server's root with :func:`write_notebook`,
* open it with ``lab.open(page, name)`` (waits until the status bar says the kernel is idle),
* run it with :func:`run_all_cells`,
* wait on a DOM condition with :func:`wait_for_js` (bounded, no fixed sleeps).

Tests of other front ends start their own server (``servers.py``: ``marimo run``, Voilà) and
take ``app_page`` (a fresh page without JupyterLab) instead of ``page``.

The kernel inherits the server's environment. Tests that need extra variables in the
kernel (``HH_DATA_DIR``, ``HH_SANDBOX_TIME_SCALE`` …) override the session fixture
``jupyter_kernel_env``; the defaults already point ``HH_DATA_DIR`` at a temporary folder
and make the sandbox fast.

A failing test leaves a full-page screenshot and the browser console under
``test-artifacts/<test name>/``. Tests call :func:`save_screenshot` for screenshots they
want kept on success too.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .helpers import JupyterLab, artifact_dir, start_lab

CHROMIUM = os.environ.get("HH_CHROMIUM", "/usr/bin/chromium")

#: Flags that keep Chromium quiet on a machine with no internet (without the networking ones
#: it floods the closed network with refused connections).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
]



def _browser_available() -> bool:
    return pathlib.Path(CHROMIUM).exists()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip browser tests when Chromium is absent, unless HH_REQUIRE_BROWSER=1 (CI).

    Under pytest-xdist (``-n``, ``--dist loadgroup``) every browser test runs on one worker,
    so that they share one JupyterLab and one Chromium."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))
    if _browser_available() or os.environ.get("HH_REQUIRE_BROWSER") == "1":
        return
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (set HH_REQUIRE_BROWSER=1 to fail)")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Attach each phase's report to the item so fixtures can see whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def jupyter_kernel_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Extra environment for the server and therefore every kernel. Override to add more."""
    return {
        "HH_DATA_DIR": str(tmp_path_factory.mktemp("hh_data")),
        "HH_SANDBOX_TIME_SCALE": os.environ.get("HH_UI_TIME_SCALE", "0.02"),
    }


@pytest.fixture(scope="session")
def jupyter_lab(
    tmp_path_factory: pytest.TempPathFactory, jupyter_kernel_env: dict[str, str]
) -> Iterator[JupyterLab]:
    """One JupyterLab for the whole session on a free loopback port, stopped with SIGTERM."""
    with start_lab(tmp_path_factory.mktemp("jupyter"), jupyter_kernel_env) as lab:
        yield lab


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright, headless, one per session.

    Playwright gives every launch a fresh temporary profile (``--user-data-dir``)."""
    from playwright.sync_api import sync_playwright

    if not _browser_available():
        pytest.fail(f"Chromium not found at {CHROMIUM}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
        )
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def _fresh_page(
    request: pytest.FixtureRequest, chromium: Any, log_name: str, server_log: Callable[[], str]
) -> Iterator[Any]:
    """A new context + page; on failure a screenshot, the console and ``server_log()``."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    console: list[str] = []
    pg.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    pg.on("pageerror", lambda exc: console.append(f"[pageerror] {exc}"))
    pg.set_default_timeout(30_000)
    pg.console_messages = console  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        failed = any(
            getattr(getattr(request.node, f"rep_{when}", None), "failed", False)
            for when in ("setup", "call")
        )
        if failed:
            out = artifact_dir(request.node.name)
            with contextlib.suppress(Exception):
                pg.screenshot(path=str(out / "failure.png"), full_page=True)
            (out / "console.log").write_text("\n".join(console), encoding="utf-8")
            (out / log_name).write_text(server_log(), encoding="utf-8")
        context.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, chromium: Any, jupyter_lab: JupyterLab) -> Iterator[Any]:
    """A fresh browser context + page per test; screenshot + console log saved on failure.

    Kernels started by the test are shut down afterwards so the next test starts clean.
    """
    try:
        with _fresh_page(
            request, chromium, "jupyter.log", lambda: jupyter_lab.log_tail(400)
        ) as pg:
            yield pg
    finally:
        jupyter_lab.shutdown_kernels()


@pytest.fixture
def app_page(request: pytest.FixtureRequest, chromium: Any) -> Iterator[Any]:
    """A fresh page for tests that serve their own front end (marimo, Voilà; see
    ``servers.py``) instead of JupyterLab. When the test also uses a fixture named
    ``app_server`` (an :class:`~.servers.AppServer`), a failure saves its log too."""

    def server_log() -> str:
        if "app_server" not in request.fixturenames:
            return ""
        return str(request.getfixturevalue("app_server").log_tail(400))

    with _fresh_page(request, chromium, "server.log", server_log) as pg:
        yield pg
