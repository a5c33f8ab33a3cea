"""The job lifecycle end to end against the sandbox, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lifecycle_fixtures import IMG1, IMG2, is_mp4, log_for, make_client, run, wait_until
from PIL import Image

from hh_notebook.errors import (
    AuthError,
    BadRequest,
    InsufficientCredits,
    JobExpired,
    JobFailed,
    SubmitUncertain,
)
from hh_notebook.jobs import JobEvent, PollPolicy
from hh_notebook.media import probe_clip
from hh_notebook.providers import Status
from hh_notebook.request import GenerationRequest

CASES = [
    ("segmind", {}),
    ("segmind", {"model": "1.0"}),
    ("segmind", {"image": IMG1}),
    ("segmind", {"image": Image.new("RGB", (640, 360), (20, 120, 200))}),
    ("segmind", {"reference_images": [IMG1], "prompt": "[Image 1] trots along a beach"}),
    ("apiframe", {}),
    ("apiframe", {"image": IMG1}),
    ("apiframe", {"reference_images": [IMG1, IMG2],
                  "prompt": "[Image 1] meets [Image 2] at dawn"}),
    ("hiapi", {}),
    ("hiapi", {"image": IMG1}),
    ("hiapi", {"reference_images": [IMG1, IMG2], "prompt": "[Image 2] and [Image 1] walk"}),
    ("openai", {}),
    ("openai", {"image": IMG1}),
    ("openai", {"reference_images": [IMG1], "prompt": "[Image 1] gallops",
                "reference_type": "subject"}),
]


@pytest.mark.parametrize(
    ("provider", "params"), CASES,
    ids=[f"{p}-{GenerationRequest(**{'prompt': 'x', **k}).mode.value}-{i}"
         for i, (p, k) in enumerate(CASES)],
)
def test_every_provider_and_mode_ends_with_a_clip(sandbox, tmp_path, provider, params) -> None:
    client = make_client(sandbox, provider, tmp_path)
    request = GenerationRequest(**{"prompt": "A white horse gallops at sunset", **params})

    async def go():
        job = await client.submit(request)
        return await job.wait(30)

    job = run(go())
    assert job.status is Status.SUCCEEDED, job.error
    assert is_mp4(job.video_path)
    assert job.video_path.parent == tmp_path / "clips"
    assert job.video_path.name == f"{job.id}.mp4"
    info = probe_clip(job.video_path)
    assert info.width > 0 and info.has_audio
    record = client.journal.get(job.id)
    assert (record.status, record.phase) == ("succeeded", "done")
    assert record.provider_job_id == job.provider_job_id
    submits = [e for e in log_for(sandbox, "submit", provider) if e.get("job_id") ==
               job.provider_job_id]
    assert len(submits) == 1


def test_first_status_call_waits_for_the_typical_minimum(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "segmind", tmp_path)
    job = run(_generate(client))
    entries = [e for e in sandbox.request_log() if e.get("job_id") == job.provider_job_id]
    submit = next(e for e in entries if e["endpoint"] == "submit")
    polls = [e for e in entries if e["endpoint"] == "poll"]
    first_gap = (polls[0]["time"] - submit["time"]) / sandbox.time_scale
    assert first_gap >= 95.0  # provider seconds: nothing is ever ready before ~100 s
    # Segmind: the light status endpoint for polling, the result fetched exactly once.
    assert all(e["path"].endswith("/status") for e in polls)
    assert len([e for e in entries if e["endpoint"] == "result"]) == 1
    assert len([e for e in entries if e["endpoint"] == "download"]) == 1


async def _generate(client, **params):
    job = await client.submit(GenerationRequest(prompt="a horse in the snow", **params))
    return await job.wait(30)


def test_events_reach_every_subscriber_until_unsubscribed(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "hiapi", tmp_path)
    first: list[JobEvent] = []
    second: list[JobEvent] = []

    async def go():
        job = await client.submit(GenerationRequest(prompt="a fox at night"))
        job.subscribe(first.append)
        stop = job.subscribe(second.append)
        stop()
        return await job.wait(30)

    job = run(go())
    assert first, "no events"
    assert second == []
    assert first[-1].status is Status.SUCCEEDED
    assert first[-1].job_id == job.id
    assert any(e.message == "generated; downloading" for e in first)
    assert all(e.elapsed >= 0 for e in first)


@pytest.mark.parametrize(
    ("provider", "setup", "error"),
    [
        ("segmind", lambda sb: sb.set_keys("segmind", ["another"]), AuthError),
        ("segmind", lambda sb: sb.set_balance("segmind", 0.1), InsufficientCredits),
        ("apiframe", lambda sb: sb.set_balance("apiframe", 1), InsufficientCredits),
        ("hiapi", lambda sb: sb.set_keys("hiapi", ["another"]), AuthError),
        ("openai", lambda sb: sb.set_balance("openai", 0.01), InsufficientCredits),
    ],
)
def test_pre_acceptance_errors_raise_and_record_a_failed_job(
    fresh_sandbox, tmp_path, provider, setup, error
) -> None:
    setup(fresh_sandbox)
    client = make_client(fresh_sandbox, provider, tmp_path)
    with pytest.raises(error) as info:
        run(client.submit(GenerationRequest(prompt="a horse")))
    assert info.value.provider == provider
    [record] = client.jobs()
    assert (record.status, record.phase, record.provider_job_id) == ("failed", "done", None)
    assert len(log_for(fresh_sandbox, "submit")) == 1  # never retried


def test_provider_side_400_is_a_bad_request(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "segmind", tmp_path)
    missing = f"{sandbox.base_url}/files/none/missing.png"  # loopback: the sandbox fetches it
    with pytest.raises(BadRequest) as info:
        run(client.submit(GenerationRequest(prompt="a horse", image=missing)))
    assert "could not be downloaded" in str(info.value)


def test_connection_refused_is_reported_before_anything_is_created(tmp_path) -> None:
    import socket

    from hh_notebook.client import Client
    from hh_notebook.errors import ProviderError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = Client(provider="hiapi", api_key="k", base_url=f"http://127.0.0.1:{port}",
                    data_dir=tmp_path)
    with pytest.raises(ProviderError) as info:
        run(client.submit(GenerationRequest(prompt="a horse")))
    assert "nothing was submitted" in str(info.value)
    assert client.jobs()[0].status == "failed"


def test_429_on_submit_is_retried_after_the_reset(fresh_sandbox, tmp_path) -> None:
    fresh_sandbox.add_fault({"provider": "segmind", "endpoint": "submit", "kind": "rate_limit",
                             "reset_after_s": 20})
    client = make_client(fresh_sandbox, "segmind", tmp_path)
    job = run(_generate(client))
    assert job.status is Status.SUCCEEDED
    statuses = [e["status"] for e in log_for(fresh_sandbox, "submit")]
    assert statuses == [429, 200]


@pytest.mark.parametrize("provider", ["segmind", "apiframe", "hiapi", "openai"])
@pytest.mark.parametrize(
    "fault",
    [{"kind": "status", "status": 503}, {"kind": "status", "status": 500},
     {"kind": "reset_after"}, {"kind": "reset_before"}],
    ids=["503", "500", "reset_after", "reset_before"],
)
def test_uncertain_submit_is_never_resent(fresh_sandbox, tmp_path, provider, fault) -> None:
    fresh_sandbox.add_fault({"provider": provider, "endpoint": "submit", **fault})
    client = make_client(fresh_sandbox, provider, tmp_path)
    with pytest.raises(SubmitUncertain) as info:
        run(client.submit(GenerationRequest(prompt="a horse")))
    job = info.value.job
    assert job.status is Status.UNKNOWN
    assert "reconcile" in str(info.value)
    record = client.journal.get(job.id)
    assert (record.status, record.phase) == ("unknown", "submitting")
    assert len(log_for(fresh_sandbox, "submit")) == 1


def test_reconcile_finds_a_task_whose_answer_was_lost(fresh_sandbox, tmp_path) -> None:
    fresh_sandbox.add_fault({"provider": "hiapi", "endpoint": "submit", "kind": "reset_after"})
    client = make_client(fresh_sandbox, "hiapi", tmp_path)
    with pytest.raises(SubmitUncertain) as info:
        run(client.submit(GenerationRequest(prompt="a horse")))

    async def go():
        job = await client.reconcile(info.value.job.id)
        return await job.wait(30)

    job = run(go())
    assert job.status is Status.SUCCEEDED
    assert is_mp4(job.video_path)
    assert len(log_for(fresh_sandbox, "submit")) == 1
    assert len(log_for(fresh_sandbox, "list")) >= 1


def test_reconcile_marks_a_submit_that_never_arrived_failed(fresh_sandbox, tmp_path) -> None:
    fresh_sandbox.add_fault({"provider": "hiapi", "endpoint": "submit", "kind": "reset_before"})
    client = make_client(fresh_sandbox, "hiapi", tmp_path)
    with pytest.raises(SubmitUncertain) as info:
        run(client.submit(GenerationRequest(prompt="a horse")))
    # Too soon to conclude: the provider might still be creating the task.
    early = run(client.reconcile(info.value.job.id))
    assert early.status is Status.UNKNOWN and "again" in early.error
    assert client.journal.get(early.id).phase == "submitting"
    later = make_client(fresh_sandbox, "hiapi", tmp_path, policy=PollPolicy(reconcile_grace=0))
    job = run(later.reconcile(info.value.job.id))
    assert job.status is Status.FAILED
    assert "never reached" in job.error
    assert client.journal.get(job.id).phase == "done"


def test_reconcile_without_a_task_list_says_what_to_do(fresh_sandbox, tmp_path) -> None:
    from hh_notebook.errors import HHError

    fresh_sandbox.add_fault({"provider": "segmind", "endpoint": "submit", "kind": "reset_after"})
    client = make_client(fresh_sandbox, "segmind", tmp_path)
    with pytest.raises(SubmitUncertain) as info:
        run(client.submit(GenerationRequest(prompt="a horse")))
    with pytest.raises(HHError, match="dashboard"):
        run(client.reconcile(info.value.job.id))
    assert client.journal.get(info.value.job.id).status == "unknown"


@pytest.mark.parametrize("provider", ["segmind", "apiframe", "hiapi", "openai"])
@pytest.mark.parametrize(
    "fault",
    [{"kind": "status", "status": 503, "count": 3}, {"kind": "status", "status": 502},
     {"kind": "rate_limit", "reset_after_s": 10, "count": 2}, {"kind": "reset_before"},
     {"kind": "slow", "delay": 0.3}],
    ids=["503x3", "502", "429x2", "reset_before", "slow"],
)
def test_poll_faults_are_retried(fresh_sandbox, tmp_path, provider, fault) -> None:
    fresh_sandbox.add_fault({"provider": provider, "endpoint": "poll", **fault})
    client = make_client(fresh_sandbox, provider, tmp_path)
    job = run(_generate(client))
    assert job.status is Status.SUCCEEDED, job.error
    assert len(log_for(fresh_sandbox, "submit")) == 1
    assert not fresh_sandbox.faults()  # the fault did fire


def test_segmind_result_fetch_is_retried(fresh_sandbox, tmp_path) -> None:
    fresh_sandbox.add_fault({"provider": "segmind", "endpoint": "result", "kind": "status",
                             "status": 504, "count": 2})
    job = run(_generate(make_client(fresh_sandbox, "segmind", tmp_path)))
    assert job.status is Status.SUCCEEDED
    assert [e["status"] for e in log_for(fresh_sandbox, "result")] == [504, 504, 200]


def test_lost_tracking_is_resumable(fresh_sandbox, tmp_path) -> None:
    fresh_sandbox.add_fault({"provider": "apiframe", "endpoint": "poll", "kind": "status",
                             "status": 503, "count": -1})
    policy = PollPolicy(backoff_base=1.0, backoff_cap=2.0, max_poll_errors=2)
    client = make_client(fresh_sandbox, "apiframe", tmp_path, policy=policy)
    job = run(_generate(client))
    assert job.status is Status.UNKNOWN
    assert "resume" in job.error
    assert client.journal.get(job.id).phase == "polling"
    fresh_sandbox.clear_faults()

    async def go():
        again = await client.resume(job.id)
        return await again.wait(30)

    again = run(go())
    assert again.status is Status.SUCCEEDED
    assert len(log_for(fresh_sandbox, "submit")) == 1


@pytest.mark.parametrize("provider", ["segmind", "apiframe", "hiapi", "openai"])
def test_failed_job_raises_job_failed(fresh_sandbox, tmp_path, provider) -> None:
    fresh_sandbox.add_fault({"provider": provider, "kind": "fail_job"})
    client = make_client(fresh_sandbox, provider, tmp_path)
    with pytest.raises(JobFailed) as info:
        client.generate("a horse")
    assert info.value.job.status is Status.FAILED
    assert "moderation" in str(info.value).lower() or "policy" in str(info.value).lower()
    assert client.journal.get(info.value.job.id).status == "failed"


@pytest.mark.parametrize("provider", ["segmind", "hiapi"])
def test_expired_result_raises_job_expired(fresh_sandbox, tmp_path, provider) -> None:
    fresh_sandbox.add_fault({"provider": provider, "kind": "expire_early"})
    client = make_client(fresh_sandbox, provider, tmp_path)
    with pytest.raises(JobExpired) as info:
        client.generate("a horse")
    assert info.value.job.status is Status.EXPIRED
    assert client.journal.get(info.value.job.id).status == "expired"


@pytest.mark.parametrize("provider", ["segmind", "apiframe", "hiapi", "openai"])
def test_cut_download_resumes_with_range(fresh_sandbox, tmp_path, provider) -> None:
    fresh_sandbox.add_fault({"provider": provider, "endpoint": "download",
                             "kind": "cut_download", "after_bytes": 20_000})
    job = run(_generate(make_client(fresh_sandbox, provider, tmp_path)))
    assert job.status is Status.SUCCEEDED, job.error
    downloads = log_for(fresh_sandbox, "download")
    assert len(downloads) == 2
    assert downloads[1]["status"] == 206
    info = probe_clip(job.video_path)
    assert info.duration > 4
    assert not list((tmp_path / "clips").glob("*.part"))


def test_download_5xx_is_retried(fresh_sandbox, tmp_path) -> None:
    fresh_sandbox.add_fault({"provider": "hiapi", "endpoint": "download", "kind": "status",
                             "status": 503})
    job = run(_generate(make_client(fresh_sandbox, "hiapi", tmp_path)))
    assert job.status is Status.SUCCEEDED
    assert [e["status"] for e in log_for(fresh_sandbox, "download")] == [503, 200]


def test_clip_above_the_size_cap_is_refused(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "segmind", tmp_path,
                         policy=PollPolicy(max_clip_bytes=10_000))
    job = run(_generate(client))
    assert job.status is Status.FAILED
    assert "cap" in job.error
    assert job.video_path is None
    assert not list((tmp_path / "clips").glob("*"))


def _downloading_job(client, url: str):
    from hh_notebook.jobs import Job, new_job_id

    job = Job(id=new_job_id(), request=GenerationRequest(prompt="x"), provider=client.provider,
              model="1.1")
    client._lifecycle.record(job, None)
    job.phase = "downloading"
    job.status = Status.RUNNING
    job.provider_job_id = "given"
    job.output_url = url
    return job


def test_non_mp4_download_is_refused(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "hiapi", tmp_path)
    job = _downloading_job(client, f"{sandbox.base_url}/_sandbox/info")
    run(client._lifecycle.track(job))
    assert job.status is Status.FAILED
    assert "not an MP4" in job.error
    assert not list((tmp_path / "clips").glob("*"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/v.mp4"])
def test_output_url_must_be_http(sandbox, tmp_path, url) -> None:
    client = make_client(sandbox, "hiapi", tmp_path)
    job = _downloading_job(client, url)
    run(client._lifecycle.track(job))
    assert job.status is Status.FAILED
    assert "non-http" in job.error
    assert not (tmp_path / "clips").exists() or not list((tmp_path / "clips").glob("*"))


def test_cancel_stops_tracking_and_resume_finishes(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "openai", tmp_path)

    async def go():
        job = await client.submit(GenerationRequest(prompt="a cat"))
        client.cancel(job.id)
        await job.wait(5)
        assert job.done and not job.tracking
        assert job.status is not Status.SUCCEEDED
        assert client.journal.get(job.id).phase == "polling"
        again = await client.resume(job.id)
        return await again.wait(30)

    job = run(go())
    assert job.status is Status.SUCCEEDED
    assert len([e for e in log_for(sandbox, "submit", "openai")
                if e.get("job_id") == job.provider_job_id]) == 1


def test_wait_timeout_leaves_the_job_running(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "segmind", tmp_path)

    async def go():
        job = await client.submit(GenerationRequest(prompt="a cat"))
        with pytest.raises(asyncio.TimeoutError):
            await job.wait(0.01)
        assert job.tracking
        return await job.wait(30)

    assert run(go()).status is Status.SUCCEEDED


def test_clips_are_named_by_job_id_only(sandbox, tmp_path) -> None:
    job = run(_generate(make_client(sandbox, "hiapi", tmp_path)))
    assert [p.name for p in (tmp_path / "clips").iterdir()] == [f"{job.id}.mp4"]
    assert Path(job.video_path).resolve().parent == (tmp_path / "clips").resolve()


def test_submit_read_timeout_is_uncertain_and_reconciled(fresh_sandbox, tmp_path) -> None:
    # The answer comes too late for the client, but the task is created all the same.
    fresh_sandbox.add_fault({"provider": "hiapi", "endpoint": "submit", "kind": "slow",
                             "delay": 1.0})
    client = make_client(fresh_sandbox, "hiapi", tmp_path,
                         policy=PollPolicy(read_timeout=0.2))
    with pytest.raises(SubmitUncertain, match="ReadTimeout"):
        run(client.submit(GenerationRequest(prompt="a horse")))
    assert wait_until(lambda: any(e.get("job_id") for e in log_for(fresh_sandbox, "submit")), 30)

    async def go():
        job = await client.reconcile(client.jobs()[0].id)
        return await job.wait(30)

    job = run(go())
    assert job.status is Status.SUCCEEDED
    [submit] = log_for(fresh_sandbox, "submit")
    assert submit["job_id"] == job.provider_job_id


def test_poll_read_timeouts_are_retried(fresh_sandbox, tmp_path) -> None:
    fresh_sandbox.add_fault({"provider": "segmind", "endpoint": "poll", "kind": "slow",
                             "delay": 0.5, "count": 2})
    client = make_client(fresh_sandbox, "segmind", tmp_path,
                         policy=PollPolicy(read_timeout=0.2, backoff_base=1.0, backoff_cap=4.0))
    assert run(_generate(client)).status is Status.SUCCEEDED
    assert len(log_for(fresh_sandbox, "submit")) == 1


def test_key_revoked_mid_job_stops_tracking_and_resume_recovers(fresh_sandbox, tmp_path) -> None:
    client = make_client(fresh_sandbox, "hiapi", tmp_path)

    async def go():
        job = await client.submit(GenerationRequest(prompt="a horse"))
        fresh_sandbox.set_keys("hiapi", ["a-different-key"])
        return await job.wait(30)

    job = run(go())
    assert job.status is Status.UNKNOWN
    assert "refused" in job.error and "HTTP 401" in job.error
    fresh_sandbox.set_keys("hiapi", None)

    async def again():
        resumed = await client.resume(job.id)
        return await resumed.wait(30)

    assert run(again()).status is Status.SUCCEEDED
    assert len(log_for(fresh_sandbox, "submit")) == 1


def test_events_carry_an_eta_from_the_typical_duration(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "segmind", tmp_path)
    events: list[JobEvent] = []

    async def go():
        job = await client.submit(GenerationRequest(prompt="eta"))
        job.subscribe(events.append)
        assert job.eta is not None and 0 < job.eta <= 140 * sandbox.time_scale
        return await job.wait(30)

    job = run(go())
    assert job.eta == 0.0
    assert events[-1].eta == 0.0
