"""The public API is pinned: what ``import hh_notebook`` exports and where each name lives
(in the spirit of httpx's exported-members test). Changing it is a decision, not an accident."""

from __future__ import annotations

import importlib

import pytest

import hh_notebook

#: Every exported name and the module that defines it (constants: the module they come from).
EXPORTED = {
    "PROVIDERS": "hh_notebook.catalog",
    "Arena": "hh_notebook.widgets.arena",
    "AuthError": "hh_notebook.errors",
    "BadRequest": "hh_notebook.errors",
    "BudgetExceeded": "hh_notebook.errors",
    "CheckedRequest": "hh_notebook.request",
    "Client": "hh_notebook.client",
    "ConfigError": "hh_notebook.errors",
    "CostEstimate": "hh_notebook.pricing",
    "CostTotal": "hh_notebook.pricing",
    "DownloadError": "hh_notebook.errors",
    "FieldError": "hh_notebook.errors",
    "GenerationRequest": "hh_notebook.request",
    "HHError": "hh_notebook.errors",
    "InsufficientCredits": "hh_notebook.errors",
    "Job": "hh_notebook.jobs.job",
    "JobEvent": "hh_notebook.jobs.job",
    "JobExpired": "hh_notebook.errors",
    "JobFailed": "hh_notebook.errors",
    "JobRecord": "hh_notebook.journal",
    "JobState": "hh_notebook.providers.base",
    "JobWidget": "hh_notebook.widgets.job",
    "Journal": "hh_notebook.journal",
    "MediaError": "hh_notebook.errors",
    "MissingDependency": "hh_notebook.errors",
    "Mode": "hh_notebook.request",
    "Playground": "hh_notebook.widgets.playground",
    "Prepared": "hh_notebook.client",
    "ProviderError": "hh_notebook.errors",
    "RateLimited": "hh_notebook.errors",
    "Sandbox": "hh_notebook.sandbox.server",
    "ServerError": "hh_notebook.errors",
    "Shot": "hh_notebook.storyboard_plan",
    "Status": "hh_notebook.providers.base",
    "Storyboard": "hh_notebook.storyboard_run",
    "StoryboardResult": "hh_notebook.storyboard_result",
    "StoryboardWidget": "hh_notebook.widgets.storyboard",
    "SubmitUncertain": "hh_notebook.errors",
    "Sweep": "hh_notebook.sweep.run",
    "SweepGrid": "hh_notebook.widgets.grid",
    "SweepResult": "hh_notebook.sweep.result",
    "UnknownParameter": "hh_notebook.errors",
    "ValidationError": "hh_notebook.errors",
    "__version__": "hh_notebook._version",
    "arena": "hh_notebook.widgets.arena",
    "compare": "hh_notebook.widgets.grid",
    "contact_sheet": "hh_notebook.media.clips",
    "default_client": "hh_notebook.client",
    "estimate_cost": "hh_notebook.pricing",
    "generate": "hh_notebook.client",
    "load_image": "hh_notebook.media.images",
    "load_ipython_extension": "hh_notebook",
    "measure": "hh_notebook.metrics_journal",
    "poster_frame": "hh_notebook.media.clips",
    "probe_clip": "hh_notebook.media.clips",
    "show": "hh_notebook.widgets.show",
    "storyboard": "hh_notebook.storyboard",
    "sum_costs": "hh_notebook.pricing",
    "sweep": "hh_notebook.sweep",
}


def test_all_is_exactly_the_pinned_names() -> None:
    assert sorted(hh_notebook.__all__) == sorted(EXPORTED)


def test_all_is_sorted_and_has_no_duplicates() -> None:
    assert hh_notebook.__all__ == sorted(set(hh_notebook.__all__), key=lambda n: (
        not n[0].isupper() or not n.isupper(), n))


@pytest.mark.parametrize(("name", "module"), sorted(EXPORTED.items()))
def test_each_name_lives_where_it_is_pinned(name: str, module: str) -> None:
    value = getattr(hh_notebook, name)
    if isinstance(value, (str, tuple)):
        assert getattr(importlib.import_module(module), name) == value
    else:
        assert value.__module__ == module


def test_public_names_outside_all_are_only_modules() -> None:
    stray = [n for n, v in vars(hh_notebook).items()
             if not n.startswith("_") and n not in EXPORTED and n != "annotations"
             and type(v).__name__ != "module"]
    assert stray == []

