"""The polling schedule as pure arithmetic (provider seconds, no clock involved)."""

from __future__ import annotations

import itertools

import pytest
from lifecycle_fixtures import log_for, make_client, run

from hh_notebook.jobs import PollPolicy
from hh_notebook.providers import Status, get_provider
from hh_notebook.request import GenerationRequest


def schedule(provider: str, until: float, policy: PollPolicy | None = None) -> list[float]:
    """Times (since submit) of the status calls made for a job that ends at ``until``."""
    policy = policy or PollPolicy()
    spec = get_provider(provider)
    now, last, calls = 0.0, None, []
    while not calls or calls[-1] < until:
        last = policy.next_delay(spec, now, last)
        now += last
        calls.append(now)
        assert len(calls) < 1000
    return calls


@pytest.mark.parametrize("provider", ["segmind", "apiframe", "hiapi", "openai"])
def test_a_150_s_job_costs_a_handful_of_calls(provider: str) -> None:
    calls = schedule(provider, 150.0)
    assert calls[0] == 100.0
    assert len(calls) <= 14  # the segmind SDK's default wait() makes ~150
    assert calls[-1] - 150.0 <= 5.0  # noticed within one cadence step


@pytest.mark.parametrize("provider", ["segmind", "apiframe", "hiapi", "openai"])
def test_never_below_the_provider_floor(provider: str) -> None:
    spec = get_provider(provider)
    calls = schedule(provider, 900.0, PollPolicy(interval=0.5))
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert min(gaps) >= spec.min_poll_interval
    if provider in ("openai", "apiframe"):
        assert min(gaps) >= 5.0


def test_slows_down_after_the_typical_maximum_up_to_a_cap() -> None:
    calls = schedule("hiapi", 600.0)
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    late = [g for a, g in zip(calls, gaps, strict=False) if a >= 180.0]
    assert late == sorted(late)
    assert max(late) == 15.0


def test_resumed_old_job_is_polled_at_once() -> None:
    spec = get_provider("segmind")
    assert PollPolicy().next_delay(spec, 500.0, None) <= 15.0


def test_backoff_is_capped_and_jittered() -> None:
    policy = PollPolicy(backoff_base=2.0, backoff_cap=60.0)
    values = [policy.backoff(n) for n in range(1, 12) for _ in range(20)]
    assert max(values) <= 60.0
    assert min(values) >= 1.0
    assert len({round(v, 6) for v in values}) > 50


def test_poll_retries_respect_the_aggregator_floor(fresh_sandbox, tmp_path) -> None:
    fresh_sandbox.add_fault({"provider": "openai", "endpoint": "poll", "kind": "status",
                             "status": 503, "count": 3})
    client = make_client(fresh_sandbox, "openai", tmp_path)

    async def go():
        job = await client.submit(GenerationRequest(prompt="a horse"))
        return await job.wait(30)

    assert run(go()).status is Status.SUCCEEDED
    times = [e["time"] for e in log_for(fresh_sandbox, "poll")]
    gaps = [(b - a) / fresh_sandbox.time_scale for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 4.9
