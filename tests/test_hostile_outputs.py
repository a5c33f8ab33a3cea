"""A broken or hostile provider, a full disk, a damaged journal: each ends as the job's own
clear error (resumable where a later try can succeed), a key a provider echoes never shows,
and nothing unplayable is ever kept as a paid clip."""

from __future__ import annotations

import errno
import json
import multiprocessing
import pathlib
import tracemalloc
from typing import Any

import pytest
from lifecycle_fixtures import log_for, make_client, run
from money_fixtures import FakeProvider, answer

from hh_notebook.client import Client
from hh_notebook.errors import AuthError, SubmitUncertain
from hh_notebook.jobs import Job, new_job_id
from hh_notebook.journal import Journal, JournalError
from hh_notebook.providers import Status
from hh_notebook.request import GenerationRequest
from hh_notebook.sandbox import Sandbox

CANARY = "sk-live-canary-7f3a9c1e5d"


def downloading_job(client: Client, url: str, duration: int = 5) -> Job:
    """A job the provider says is done, with its clip at ``url``."""
    job = Job(id=new_job_id(), request=GenerationRequest(prompt="x", duration=duration),
              provider=client.provider, model="1.1")
    client._lifecycle.record(job, None)
    job.phase, job.status = "downloading", Status.RUNNING
    job.provider_job_id, job.output_url = "given", url
    return job


def leftovers(folder: pathlib.Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".*")) if folder.is_dir() else []


# ----------------------------------------------------------------------- secrets


def test_a_key_the_provider_echoes_never_shows(tmp_path: pathlib.Path, capsys: Any) -> None:
    def echo(handler: Any) -> None:
        key = handler.headers.get("x-api-key", "")
        answer(handler, 401, json.dumps({"error": f"Invalid API key: {key}"}).encode())

    with FakeProvider(echo) as fake:
        client = Client(provider="segmind", api_key=CANARY, base_url=fake.url,
                        data_dir=tmp_path)
        try:
            with pytest.raises(AuthError) as info:
                run(client.submit("a horse"))
        finally:
            client.close()
    error = info.value
    shown = [str(error), repr(error), error.message, " ".join(map(str, error.args))]
    assert all(CANARY not in text for text in shown), shown
    assert "Invalid API key: ***" in str(error)
    assert CANARY.encode() not in (tmp_path / "journal.sqlite3").read_bytes()


# ----------------------------------------------------------------------- hostile outputs


def test_a_clip_that_only_looks_like_an_mp4_is_not_kept_or_served(
    tmp_path: pathlib.Path, sandbox: Sandbox
) -> None:
    fake_mp4 = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 12 + b"garbage" * 5000

    with FakeProvider(lambda h: answer(h, 200, fake_mp4, {"content-type": "video/mp4"})) as fake:
        client = make_client(sandbox, "hiapi", tmp_path)
        job = downloading_job(client, fake.url + "/clip.mp4")
        run(client._lifecycle.track(job))
    assert job.status is Status.FAILED and "does not play" in job.error
    assert job.phase == "downloading"  # resumable: another try may get the real file
    assert client.journal.find_paid(client.journal.get(job.id).fingerprint or "x") is None
    assert not list((tmp_path / "clips").glob("*.mp4"))
    client.close()


def test_a_huge_status_answer_is_not_read_into_memory(tmp_path: pathlib.Path) -> None:
    huge = b'{"status": "PROCESSING", "pad": "' + b"x" * (40 * 1024 * 1024) + b'"}'

    def provider(handler: Any) -> None:
        if handler.command == "POST":
            answer(handler, 202, b'{"jobId": "job-1", "status": "QUEUED"}')
        else:
            answer(handler, 200, huge)

    with FakeProvider(provider) as fake:
        from hh_notebook.jobs import PollPolicy

        client = Client(provider="apiframe", api_key="test-key-0123", base_url=fake.url,
                        data_dir=tmp_path, time_scale=0.001,
                        poll_policy=PollPolicy(max_poll_errors=1, backoff_cap=1.0))
        tracemalloc.start()
        try:
            job = run(_submit_and_wait(client))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            client.close()
    assert job.status is Status.UNKNOWN and "larger than 1024 KB" in job.error
    assert peak < 16 * 1024 * 1024, peak


def test_a_redirect_loop_is_the_jobs_own_clear_error(
    tmp_path: pathlib.Path, sandbox: Sandbox
) -> None:
    def loop(handler: Any) -> None:
        answer(handler, 302, b"", {"location": handler.path + "x"})

    with FakeProvider(loop) as fake:
        client = make_client(sandbox, "hiapi", tmp_path)
        job = downloading_job(client, fake.url + "/a")
        run(client._lifecycle.track(job))
        client.close()
    assert job.status is Status.FAILED and "more than 5 redirects" in job.error
    assert len(fake.requests) == 6


def test_an_absurd_provider_id_is_the_jobs_own_clear_error(tmp_path: pathlib.Path) -> None:
    def provider(handler: Any) -> None:
        answer(handler, 202, json.dumps({"jobId": "j" * 200_000, "status": "QUEUED"}).encode())

    with FakeProvider(provider) as fake:
        client = Client(provider="apiframe", api_key="test-key-0123", base_url=fake.url,
                        data_dir=tmp_path)
        try:
            with pytest.raises(SubmitUncertain) as info:
                run(client.submit("a horse"))
        finally:
            client.close()
    assert "unusable job id (200000 characters)" in str(info.value)
    assert len(str(info.value)) < 600
    [record] = Journal(tmp_path / "journal.sqlite3").jobs()
    assert record.status == "unknown" and record.provider_job_id is None


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/clip.mp4",
                                 "http://10.0.0.7/clip.mp4", "http://localhost:9/clip.mp4"])
def test_an_output_url_on_a_private_address_is_refused(tmp_path: pathlib.Path, url: str) -> None:
    client = Client(provider="hiapi", api_key="test-key-0123", base_url="https://api.hiapi.ai",
                    data_dir=tmp_path)
    try:
        job = downloading_job(client, url)
        run(client._lifecycle.track(job))
    finally:
        client.close()
    assert job.status is Status.FAILED and "private, loopback or link-local" in job.error


# ----------------------------------------------------------------------- part files


def test_a_part_left_by_a_killed_process_is_resumed_with_range(
    tmp_path: pathlib.Path, sandbox: Sandbox
) -> None:
    source = make_client(sandbox, "segmind", tmp_path / "first")
    done = source.generate("a horse in the fog", duration=3, seed=31, progress=False)
    source.close()
    whole = done.video_path.read_bytes()
    url = f"{sandbox.base_url}/files/segmind/{done.provider_job_id}.mp4"
    client = make_client(sandbox, "segmind", tmp_path / "second")
    job = downloading_job(client, url, duration=3)
    clips = tmp_path / "second" / "clips"
    clips.mkdir(parents=True)
    (clips / f".{job.id}.part").write_bytes(whole[: len(whole) // 2])
    run(client._lifecycle.track(job))
    client.close()
    assert job.status is Status.SUCCEEDED and job.video_path.read_bytes() == whole
    assert log_for(sandbox, "download")[-1]["status"] == 206
    assert leftovers(clips) == []


def test_stale_and_old_style_parts_are_cleaned_up(tmp_path: pathlib.Path,
                                                  sandbox: Sandbox) -> None:
    client = make_client(sandbox, "segmind", tmp_path)
    live = downloading_job(client, "https://example.com/a.mp4")
    ended = downloading_job(client, "https://example.com/b.mp4")
    client.journal.update(ended.id, phase="done", status="failed")
    clips = tmp_path / "clips"
    clips.mkdir(exist_ok=True)
    (clips / f".{live.id}.4242.part").write_bytes(b"half")  # the old per-pid name
    (clips / f".{ended.id}.part").write_bytes(b"orphan")
    (clips / ".unknown-job.part").write_bytes(b"stray")
    removed = client._lifecycle.clean_parts()
    client.close()
    assert removed == 2
    assert leftovers(clips) == [f".{live.id}.part"]  # renamed, to be resumed


# ----------------------------------------------------------------------- disk and journal


def test_a_full_disk_mid_download_leaves_the_job_resumable(
    tmp_path: pathlib.Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hh_notebook.jobs import transport

    class Full:
        def write(self, _data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            pass

    source = make_client(sandbox, "segmind", tmp_path / "src")
    done = source.generate("a horse by the sea", duration=3, seed=32, progress=False)
    source.close()
    url = f"{sandbox.base_url}/files/segmind/{done.provider_job_id}.mp4"
    client = make_client(sandbox, "segmind", tmp_path / "data")
    job = downloading_job(client, url, duration=3)
    monkeypatch.setattr(transport, "_open_part", lambda _path, _append: Full())
    run(client._lifecycle.track(job))
    assert job.status is Status.FAILED and "the disk is full" in job.error
    assert client.journal.get(job.id).phase == "downloading"
    monkeypatch.undo()

    async def resume_and_wait() -> Job:
        again = await client.resume(job.id)
        return await again.wait()

    again = run(resume_and_wait())
    client.close()
    assert again.status is Status.SUCCEEDED


def test_a_journal_that_cannot_be_written_is_one_clear_error(
    tmp_path: pathlib.Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(sandbox, "segmind", tmp_path)

    def full(*_args: Any, **_kwargs: Any) -> None:
        raise JournalError(f"the journal {client.journal.path} could not be written: the disk "
                           "is full (database or disk is full). Free some space, then resume "
                           "the job.")

    async def submit_then_fill_the_disk() -> Job:
        job = await client.submit("a horse under stars", duration=3)
        monkeypatch.setattr(client.journal, "update", full)
        return await job.wait()

    job = run(submit_then_fill_the_disk())
    client.close()
    assert "disk is full" in job.error and "resume" in job.error


def test_a_row_that_cannot_be_read_does_not_stop_resume_all(
    tmp_path: pathlib.Path, sandbox: Sandbox
) -> None:
    client = make_client(sandbox, "segmind", tmp_path)
    job = run(client.submit("a horse on a hill", duration=3, seed=33))
    client.close()
    import sqlite3

    with sqlite3.connect(tmp_path / "journal.sqlite3") as db:
        db.execute("INSERT INTO jobs (id, provider, model, request, status, phase, created_at, "
                   "updated_at) VALUES ('odd', 'segmind', '1.1', '{}', 'from-the-future', "
                   "'polling', 1, 1)")
        db.execute("INSERT INTO jobs (id, provider, model, request, status, phase, created_at, "
                   "updated_at) VALUES ('broken', 'segmind', 7, '{}', 'queued', 'polling', 1, 1)")
    again = make_client(sandbox, "segmind", tmp_path)
    try:
        resumed = again.resume_all(timeout=60)
    finally:
        again.close()
    assert job.id in {j.id for j in resumed}
    assert next(j for j in resumed if j.id == job.id).status is Status.SUCCEEDED


def test_a_corrupt_journal_names_the_file_and_the_way_out(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JournalError) as info:
        Journal(path)
    assert str(path) in str(info.value) and "journal.sqlite3.broken" in str(info.value)


def _open_journal(path: str, rounds: int) -> int:
    for round_ in range(rounds):
        Journal(pathlib.Path(path) / str(round_) / "journal.sqlite3").jobs()
    return rounds


def test_many_processes_can_create_one_fresh_journal_at_once(tmp_path: pathlib.Path) -> None:
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        done = pool.starmap(_open_journal, [(str(tmp_path), 12)] * 8)
    assert done == [12] * 8


async def _submit_and_wait(client: Client) -> Job:
    job = await client.submit("a horse", duration=5)
    await job.wait()
    return job
