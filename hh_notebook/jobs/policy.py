"""How often to poll and how hard to retry: the one retry policy every loop of the
lifecycle follows (submit, status, result, task list, download)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..providers.base import Provider

__all__ = ["PollPolicy"]


@dataclass(frozen=True)
class PollPolicy:
    """How often to poll and how hard to retry. All durations in provider seconds.

    The first status call waits ``first_poll_fraction`` of the provider's
    typical minimum generation time (a job is practically never done before);
    then ``interval`` (never below the provider's floor) until the typical
    maximum, then gradually slower up to ``late_interval``.
    """

    first_poll_fraction: float = 1.0
    interval: float = 4.0
    late_interval: float = 15.0
    late_growth: float = 1.25
    #: How long one tracking run waits for a job (provider seconds) before it stops waiting;
    #: the job is never abandoned: a later resume asks again.
    max_wait: float = 3600.0
    #: ... but never less than this many real seconds (a sandbox compresses provider time,
    #: not the time its clips take to encode on a busy machine).
    min_wait_real: float = 300.0
    max_poll_errors: int = 8
    max_rate_limited: int = 20
    backoff_base: float = 2.0
    backoff_cap: float = 60.0
    #: 429s on one submit retried before the job is refused (its one record kept).
    submit_rate_limit_retries: int = 8
    max_rate_limit_wait: float = 300.0
    download_attempts: int = 6
    max_clip_bytes: int = 1024 * 1024 * 1024
    #: Real seconds to wait for an answer to one API call (not scaled).
    read_timeout: float = 60.0
    #: Real seconds after a lost submit before its absence from the provider's task
    #: list is taken as proof that it never arrived (a slow server may still create it).
    reconcile_grace: float = 120.0

    def next_delay(self, provider: Provider, since_submit: float, last_delay: float | None) -> float:
        """Provider seconds to wait before the next status call."""
        floor = max(provider.min_poll_interval, 0.0)
        low, high = provider.typical_duration
        first = low * self.first_poll_fraction
        if since_submit < first:
            return max(first - since_submit, floor)
        if since_submit < high:
            return max(self.interval, floor)
        grown = max(self.interval, (last_delay or self.interval) * self.late_growth)
        return max(min(grown, self.late_interval), floor)

    def wait_seconds(self, time_scale: float) -> float:
        """Real seconds one tracking run waits before it stops waiting."""
        return max(self.max_wait * time_scale, self.min_wait_real)

    def backoff(self, attempt: int) -> float:
        """Capped exponential backoff with full jitter (provider seconds)."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** max(0, attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)
