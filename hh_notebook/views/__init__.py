"""Views for where no live widget runs: static HTML of a job, and the line magic's tables.

>>> from hh_notebook.views import StaticJobView, static_html   # doctest: +SKIP
"""

from __future__ import annotations

from .static import JobSnapshot, StaticJobView, clip_src, small_poster, snapshot_of, static_html
from .tables import ConfigView, CostView, JobTable, MetricsTable

__all__ = [
    "ConfigView",
    "CostView",
    "JobSnapshot",
    "JobTable",
    "MetricsTable",
    "StaticJobView",
    "clip_src",
    "small_poster",
    "snapshot_of",
    "static_html",
]
