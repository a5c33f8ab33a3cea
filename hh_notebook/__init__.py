"""hh_notebook: the HappyHorse video model (text, image and reference to video,
with native synchronized audio) in Jupyter and in plain Python.

Quick start (no key needed: a local sandbox makes synthetic clips)::

    >>> import hh_notebook as hh
    >>> job = hh.generate("a white horse galloping at sunset, hooves thundering",
    ...                   duration=5, seed=7)                     # doctest: +SKIP
    >>> job.status, job.video_path, job.cost                     # doctest: +SKIP

In a notebook::

    %load_ext hh_notebook
    %%happyhorse -d 5 -s 7
    a white horse galloping at sunset, hooves thundering

Main names
    GenerationRequest  every parameter; ``.mode`` (t2v / i2v / r2v), ``.validate()``
    estimate_cost      price of a request at a provider, before anything is paid
    Client             one provider connection: ``submit`` / ``generate`` / ``jobs`` / ``resume``
    generate           the blocking one-liner on the default client
    sweep              axes (seed, aspect_ratio, prompt_sr, ...) → a grid of clips → a report
    storyboard         shots chained last frame → first frame, stitched into one scene
    compare            two sweeps (or providers) side by side, cell by cell
    arena              blind pairwise votes on a sweep's clips → a Bradley–Terry ranking
    measure            a clip's metrics (motion, flicker, cuts, loudness...), cached by its hash
    Playground         an interactive form (ipywidgets)
    Sandbox            the local server speaking every provider's protocol

Providers: ``"segmind"``, ``"apiframe"``, ``"hiapi"`` and ``"openai"`` (an
OpenAI-style aggregator). Each reads its key from its own environment variable
(``%happyhorse config`` lists them; :mod:`hh_notebook.catalog` holds every provider
fact); with none set, the sandbox runs on 127.0.0.1.

Every job is written to a journal (SQLite, under ``HH_DATA_DIR`` or the
per-user data directory) before it is submitted, so a kernel restart loses
nothing, and a seeded request already paid for is served from disk.
"""

from __future__ import annotations

import typing

from ._version import __version__
from .client import Client, Prepared, default_client, generate
from .errors import (
    AuthError,
    BadRequest,
    BudgetExceeded,
    ConfigError,
    DownloadError,
    FieldError,
    HHError,
    InsufficientCredits,
    JobExpired,
    JobFailed,
    MediaError,
    MissingDependency,
    ProviderError,
    RateLimited,
    ServerError,
    SubmitUncertain,
    UnknownParameter,
    ValidationError,
)
from .jobs import Job, JobEvent
from .journal import JobRecord, Journal
from .media import contact_sheet, load_image, poster_frame, probe_clip
from .metrics_journal import measure
from .pricing import CostEstimate, CostTotal, estimate_cost, sum_costs
from .providers.base import JobState, Status
from .request import PROVIDERS, CheckedRequest, GenerationRequest, Mode
from .storyboard import Shot, Storyboard, StoryboardResult, storyboard
from .sweep import Sweep, SweepResult, sweep

if typing.TYPE_CHECKING:  # the lazily imported names, for type checkers
    from .sandbox import Sandbox
    from .widgets.arena import Arena, arena
    from .widgets.grid import SweepGrid, compare
    from .widgets.job import JobWidget
    from .widgets.playground import Playground
    from .widgets.show import show
    from .widgets.storyboard import StoryboardWidget

__all__ = [
    "PROVIDERS",
    "Arena",
    "AuthError",
    "BadRequest",
    "BudgetExceeded",
    "CheckedRequest",
    "Client",
    "ConfigError",
    "CostEstimate",
    "CostTotal",
    "DownloadError",
    "FieldError",
    "GenerationRequest",
    "HHError",
    "InsufficientCredits",
    "Job",
    "JobEvent",
    "JobExpired",
    "JobFailed",
    "JobRecord",
    "JobState",
    "JobWidget",
    "Journal",
    "MediaError",
    "MissingDependency",
    "Mode",
    "Playground",
    "Prepared",
    "ProviderError",
    "RateLimited",
    "Sandbox",
    "ServerError",
    "Shot",
    "Status",
    "Storyboard",
    "StoryboardResult",
    "StoryboardWidget",
    "SubmitUncertain",
    "Sweep",
    "SweepGrid",
    "SweepResult",
    "UnknownParameter",
    "ValidationError",
    "__version__",
    "arena",
    "compare",
    "contact_sheet",
    "default_client",
    "estimate_cost",
    "generate",
    "load_image",
    "load_ipython_extension",
    "measure",
    "poster_frame",
    "probe_clip",
    "show",
    "storyboard",
    "sum_costs",
    "sweep",
]

# Names whose modules pull in the widget stack or the sandbox's server: imported
# on first use so that `import hh_notebook` stays light in plain scripts.
_LAZY = {
    "Arena": ("hh_notebook.widgets.arena", "Arena"),
    "arena": ("hh_notebook.widgets.arena", "arena"),
    "JobWidget": ("hh_notebook.widgets.job", "JobWidget"),
    "Playground": ("hh_notebook.widgets.playground", "Playground"),
    "SweepGrid": ("hh_notebook.widgets.grid", "SweepGrid"),
    "compare": ("hh_notebook.widgets.grid", "compare"),
    "Sandbox": ("hh_notebook.sandbox", "Sandbox"),
    "show": ("hh_notebook.widgets.show", "show"),
    "StoryboardWidget": ("hh_notebook.widgets.storyboard", "StoryboardWidget"),
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        value = getattr(importlib.import_module(module_name), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hh_notebook' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext hh_notebook``: register the ``%%happyhorse`` / ``%happyhorse`` magics."""
    from .magics import load_ipython_extension as _load

    _load(ipython)
