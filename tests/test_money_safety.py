"""Never pay twice, never lose a paid clip — on the paths careless and unlucky users take:
rerunning a cell after a crash instead of resuming, two kernels running one sweep, lost
submits reconciled at HiAPI, a resume the next morning. Real processes, ``kill -9``, the
sandbox's request log as the bill."""

from __future__ import annotations

import asyncio
import pathlib
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from lifecycle_fixtures import log_for, make_client, run
from money_fixtures import finish, kill, read_line, spawn

from hh_notebook.client import Client
from hh_notebook.errors import SubmitUncertain
from hh_notebook.jobs import PollPolicy
from hh_notebook.media import probe_clip
from hh_notebook.providers import Status
from hh_notebook.request import GenerationRequest
from hh_notebook.sandbox import Sandbox

PROMPT = "a grey horse shelters under an oak in the rain"


@pytest.fixture()
def slow_sandbox(sandbox_clip_cache: pathlib.Path) -> Iterator[Sandbox]:
    """Jobs take 2-3.6 s here: long enough to kill a process while it polls."""
    with Sandbox(time_scale=0.02, cache_dir=sandbox_clip_cache) as sb:
        yield sb


def accepted(sb: Sandbox, provider: str = "segmind") -> int:
    """Submits the provider accepted (what is paid)."""
    return sum(1 for e in log_for(sb, "submit", provider) if e["status"] in (200, 202))


def spec(sb: Sandbox, data_dir: pathlib.Path, do: str, **request: Any) -> dict[str, Any]:
    return {"do": do, "base_url": sb.base_url, "data_dir": str(data_dir),
            "request": {"prompt": PROMPT, "duration": 3, **request}}


# ----------------------------------------------------------------------- 1. rerun, not resume


def test_rerunning_a_seeded_call_after_a_crash_attaches_instead_of_paying(
    slow_sandbox: Sandbox, tmp_path: pathlib.Path
) -> None:
    worker = spawn(spec(slow_sandbox, tmp_path, "hang", seed=11))
    job_id = read_line(worker, "SUBMITTED ")
    kill(worker)  # the kernel died while the job was polling
    client = make_client(slow_sandbox, "segmind", tmp_path, key="test-key-0123")
    try:
        job = client.generate(PROMPT, duration=3, seed=11, progress=False)
    finally:
        client.close()
    assert job.id == job_id and job.attached
    assert job.status is Status.SUCCEEDED and probe_clip(job.video_path).duration == 3
    assert accepted(slow_sandbox) == 1


def test_force_pays_again_on_purpose(slow_sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    worker = spawn(spec(slow_sandbox, tmp_path, "hang", seed=12))
    read_line(worker, "SUBMITTED ")
    kill(worker)
    client = make_client(slow_sandbox, "segmind", tmp_path, key="test-key-0123")
    try:
        job = client.generate(PROMPT, duration=3, seed=12, force=True, progress=False)
    finally:
        client.close()
    assert not job.attached and accepted(slow_sandbox) == 2


def test_rerunning_a_magic_cell_after_a_crash_attaches(
    slow_sandbox: Sandbox, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    worker = spawn({**spec(slow_sandbox, tmp_path, "hang", seed=5), "key": "sandbox-key-01"})
    job_id = read_line(worker, "SUBMITTED ")
    kill(worker)
    for name in ("SEGMIND_API_KEY", "HH_PROVIDER", "HH_WAIT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HH_SEGMIND_BASE_URL", slow_sandbox.base_url)
    monkeypatch.setenv("HH_DATA_DIR", str(tmp_path))
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "hh_notebook")
    try:
        with capture_output():
            ip.run_cell_magic("happyhorse", "--provider segmind -d 3 -s 5 --wait -o clip",
                              PROMPT)
        job = ip.user_ns.pop("clip")
    finally:
        ip.magics_manager.registry.pop("HappyHorseMagics", None)
        ip.extension_manager.loaded.discard("hh_notebook")
    assert job.id == job_id and job.status is Status.SUCCEEDED
    assert accepted(slow_sandbox) == 1


# ----------------------------------------------------------------------- 2. two kernels


@pytest.mark.parametrize("axes", [{"seed": "1-3", "aspect_ratio": "16:9,9:16"},
                                  {"prompt_sr": "grey,black,white", "resolution": "720P,1080P"}],
                         ids=["seeded", "unseeded"])
def test_two_kernels_running_one_sweep_pay_once_per_cell(
    slow_sandbox: Sandbox, tmp_path: pathlib.Path, axes: dict[str, str]
) -> None:
    both = [spawn(spec(slow_sandbox, tmp_path, "sweep", **axes)) for _ in range(2)]
    outcomes = [finish(worker, timeout=180) for worker in both]
    assert outcomes[0]["sweep"] == outcomes[1]["sweep"]
    for outcome in outcomes:
        assert outcome["statuses"] == ["succeeded"] * 6
    assert outcomes[0]["jobs"] == outcomes[1]["jobs"]  # the same jobs, seen from both
    assert accepted(slow_sandbox) == 6


# ----------------------------------------------------------------------- 3. reconcile


def test_lost_hiapi_submits_each_get_their_own_task(
    fresh_sandbox: Sandbox, tmp_path: pathlib.Path
) -> None:
    fresh_sandbox.add_fault({"provider": "hiapi", "endpoint": "submit", "kind": "reset_after",
                             "count": 4})
    client = make_client(fresh_sandbox, "hiapi", tmp_path, key="test-key-0123")
    lost = []
    for duration in (3, 5, 8, 12):
        with pytest.raises(SubmitUncertain) as info:
            run(client.submit(PROMPT, duration=duration))
        lost.append(info.value.job)

    async def reconcile_all() -> list[Any]:
        jobs = [await client.reconcile(job.id) for job in lost]
        await asyncio.gather(*(job.wait() for job in jobs))
        return jobs

    try:
        jobs = run(reconcile_all(), timeout=120)
    finally:
        client.close()
    for job, duration in zip(jobs, (3, 5, 8, 12)):
        assert job.status is Status.SUCCEEDED, job.error
        assert abs(probe_clip(job.video_path).duration - duration) < 0.05
    assert len({job.provider_job_id for job in jobs}) == 4


def test_rerunning_a_sweep_resends_a_lost_submit_that_never_arrived_same_job(
    fresh_sandbox: Sandbox, tmp_path: pathlib.Path
) -> None:
    from hh_notebook.sweep import sweep

    fresh_sandbox.add_fault({"provider": "hiapi", "endpoint": "submit", "kind": "reset_before",
                             "count": 1})
    first = make_client(fresh_sandbox, "hiapi", tmp_path, key="test-key-0123")
    try:
        crashed = sweep(PROMPT, client=first, duration=3, prompt_sr="grey,black",
                        concurrency=1).run(confirm=True, timeout=60)
    finally:
        first.close()
    assert sorted(r.status for r in crashed.rows) == ["succeeded", "unknown"]
    lost = next(r.job_id for r in crashed.rows if r.status == "unknown")
    # The rerun comes after the reconcile grace: the task list proves it never arrived.
    later = make_client(fresh_sandbox, "hiapi", tmp_path, key="test-key-0123",
                        policy=PollPolicy(backoff_base=1.0, backoff_cap=4.0, reconcile_grace=0))
    try:
        rerun = sweep(PROMPT, client=later, duration=3, prompt_sr="grey,black",
                      concurrency=1).run(confirm=True, timeout=60)
        records = later.journal.jobs()
    finally:
        later.close()
    assert [r.status for r in rerun.rows] == ["succeeded", "succeeded"]
    assert lost in {r.job_id for r in rerun.rows}  # the same job, sent again
    assert len(records) == 2  # one record per cell
    assert accepted(fresh_sandbox, "hiapi") == 2  # each clip paid once
    assert len(log_for(fresh_sandbox, "list", "hiapi")) >= 1  # looked before resending


def test_resuming_a_lost_submit_that_did_arrive_adopts_it_without_resending(
    fresh_sandbox: Sandbox, tmp_path: pathlib.Path
) -> None:
    fresh_sandbox.add_fault({"provider": "hiapi", "endpoint": "submit", "kind": "reset_after",
                             "count": 1})
    first = make_client(fresh_sandbox, "hiapi", tmp_path, key="test-key-0123")
    try:
        with pytest.raises(SubmitUncertain) as info:
            run(first.submit(PROMPT, duration=3))
    finally:
        first.close()
    later = make_client(fresh_sandbox, "hiapi", tmp_path, key="test-key-0123")

    async def resume() -> Any:
        job = await later.resume(info.value.job.id)
        await job.wait()
        return job

    try:
        job = run(resume(), timeout=60)
    finally:
        later.close()
    assert job.status is Status.SUCCEEDED and job.video_path.is_file()
    assert job.provider_job_id is not None  # the task the lost submit had created
    assert len(log_for(fresh_sandbox, "submit", "hiapi")) == 1  # never resent


def test_resuming_a_lost_submit_without_a_task_list_never_resends_it(
    fresh_sandbox: Sandbox, tmp_path: pathlib.Path
) -> None:
    fresh_sandbox.add_fault({"provider": "segmind", "endpoint": "submit", "kind": "reset_before",
                             "count": 1})
    first = make_client(fresh_sandbox, "segmind", tmp_path, key="test-key-0123")
    try:
        with pytest.raises(SubmitUncertain) as info:
            run(first.submit(PROMPT, duration=3))
    finally:
        first.close()
    later = make_client(fresh_sandbox, "segmind", tmp_path, key="test-key-0123",
                        policy=PollPolicy(reconcile_grace=0))

    async def resume() -> Any:
        job = await later.resume(info.value.job.id)
        await job.wait()
        return job

    try:
        job = run(resume(), timeout=60)
    finally:
        later.close()
    assert job.status is Status.UNKNOWN and "was not resent" in job.error
    assert "dashboard" in job.error
    assert len(log_for(fresh_sandbox, "submit", "segmind")) == 1


def test_two_indistinguishable_lost_submits_are_not_guessed(
    fresh_sandbox: Sandbox, tmp_path: pathlib.Path
) -> None:
    fresh_sandbox.add_fault({"provider": "hiapi", "endpoint": "submit", "kind": "reset_after",
                             "count": 2})
    client = make_client(fresh_sandbox, "hiapi", tmp_path, key="test-key-0123")
    lost = []
    for _ in range(2):
        with pytest.raises(SubmitUncertain) as info:
            run(client.submit(PROMPT, duration=4))
        lost.append(info.value.job)
    try:
        job = run(client.reconcile(lost[0].id))
    finally:
        client.close()
    assert job.status is Status.UNKNOWN and job.provider_job_id is None
    assert "2 tasks fit" in job.error and "none was picked" in job.error


# ----------------------------------------------------------------------- 4. resume later


def test_resuming_the_next_morning_asks_the_provider_and_gets_the_clip(
    slow_sandbox: Sandbox, tmp_path: pathlib.Path
) -> None:
    worker = spawn({**spec(slow_sandbox, tmp_path, "hang", seed=21), "provider": "apiframe"})
    job_id = read_line(worker, "SUBMITTED ")
    kill(worker)
    client = make_client(slow_sandbox, "apiframe", tmp_path, key="test-key-0123")
    try:
        night = 10 * 3600.0
        with sqlite3.connect(client.journal.path) as db:  # the job was sent last night
            db.execute("UPDATE jobs SET created_at = created_at - ?, "
                       "submitted_at = submitted_at - ? WHERE id = ?", (night, night, job_id))
        slow_sandbox.advance(night)
        polls_before = len(log_for(slow_sandbox, "poll", "apiframe"))
        [job] = client.resume_all(timeout=60)
    finally:
        client.close()
    assert len(log_for(slow_sandbox, "poll", "apiframe")) > polls_before
    assert job.status is Status.SUCCEEDED and job.video_path.is_file()


def test_a_deadline_stops_the_waiting_but_never_abandons_the_job(
    slow_sandbox: Sandbox, tmp_path: pathlib.Path
) -> None:
    impatient = PollPolicy(max_wait=40.0, min_wait_real=0.0, backoff_base=1.0, backoff_cap=4.0)
    client = make_client(slow_sandbox, "segmind", tmp_path, key="test-key-0123",
                         policy=impatient)
    try:
        job = run(_submit_and_wait(client, GenerationRequest(prompt=PROMPT, duration=3)))
        assert job.status in (Status.QUEUED, Status.RUNNING) and job.phase == "polling"
        assert "not abandoned" in (job.message or "")
        assert client.journal.get(job.id).unfinished
    finally:
        client.close()
    later = make_client(slow_sandbox, "segmind", tmp_path, key="test-key-0123")
    try:
        [again] = later.resume_all(timeout=60)
    finally:
        later.close()
    assert again.id == job.id and again.status is Status.SUCCEEDED
    assert accepted(slow_sandbox) == 1


async def _submit_and_wait(client: Client, request: GenerationRequest) -> Any:
    job = await client.submit(request)
    await job.wait()
    return job


def test_resume_takes_over_a_job_whose_loop_stopped_with_it_pending(
    tmp_path: pathlib.Path, sandbox: Sandbox
) -> None:
    # What `asyncio.run` does under nest-asyncio: the loop stops, the tracking task stays
    # pending on it and the job object is still alive in this process.
    stopped = asyncio.new_event_loop()
    try:
        client = make_client(sandbox, "segmind", tmp_path)
        submits = len(log_for(sandbox, "submit", "segmind"))
        job = stopped.run_until_complete(client.submit("a horse on a ridge", duration=3, seed=8))
        assert job.tracking
        again = make_client(sandbox, "segmind", tmp_path)
        try:
            resumed = again.resume_all(timeout=60)
        finally:
            again.close()
        (mine,) = [j for j in resumed if j.id == job.id]
        assert mine.status is Status.SUCCEEDED and mine.video_path is not None
        assert len(log_for(sandbox, "submit", "segmind")) == submits + 1
    finally:
        stopped.run_until_complete(asyncio.sleep(0))  # let the stale task see its cancel
        assert not job.tracking
        client.close()
        leftovers = asyncio.all_tasks(stopped)
        for task in leftovers:
            task.cancel()
        if leftovers:
            stopped.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        stopped.close()


def test_wait_from_another_thread_follows_the_loop_that_tracks_the_job(
    tmp_path: pathlib.Path, sandbox: Sandbox
) -> None:
    loop = asyncio.new_event_loop()
    worker = threading.Thread(target=loop.run_forever, daemon=True)
    worker.start()
    try:
        client = make_client(sandbox, "segmind", tmp_path)
        job = asyncio.run_coroutine_threadsafe(
            client.submit("a horse in a barn", duration=3, seed=9), loop
        ).result(timeout=60)
        finished = run(job.wait(60))
        assert finished.status is Status.SUCCEEDED and finished.video_path is not None
    finally:
        loop.call_soon_threadsafe(loop.stop)
        worker.join(timeout=30)
        loop.close()


def test_the_heartbeat_stops_with_the_last_job_and_restarts_with_the_next(
    fresh_sandbox: Sandbox, tmp_path: pathlib.Path
) -> None:
    client = make_client(fresh_sandbox, "segmind", tmp_path, key="test-key-0123")

    async def two_jobs_one_after_the_other() -> tuple[Any, Any, Any]:
        first = await client.submit(PROMPT, duration=3, seed=1)
        await asyncio.sleep(0)  # tracking starts
        during = client._lifecycle.heartbeat
        await first.wait()
        await asyncio.sleep(0)  # let the cancelled heartbeat finish
        after = client._lifecycle.heartbeat
        second = await client.submit(PROMPT, duration=3, seed=2)
        await asyncio.sleep(0)
        again = client._lifecycle.heartbeat
        await second.wait()
        return during, after, again

    try:
        during, after, again = run(two_jobs_one_after_the_other())
    finally:
        client.close()
    assert during is not None  # leases renewed while a job is tracked
    assert after is None and during.done()  # nothing left sleeping once the last job ended
    assert again is not None and again is not during  # the next job renews its lease again
