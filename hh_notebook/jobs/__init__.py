"""Jobs: a :class:`Job` and its events, the one retry policy, the one HTTP client, and the
lifecycle that moves a job from submit to a clip on disk.

>>> from hh_notebook.jobs import Job, PollPolicy   # doctest: +SKIP
"""

from __future__ import annotations

from .job import SUBMITTING, Job, JobEvent, new_job_id
from .lifecycle import Lifecycle
from .policy import PollPolicy
from .transport import close_http_client, http_client

__all__ = [
    "SUBMITTING",
    "Job",
    "JobEvent",
    "Lifecycle",
    "PollPolicy",
    "close_http_client",
    "http_client",
    "new_job_id",
]
