"""The Client facade against the sandbox: blocking use, cache hits, validation, secrecy."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from lifecycle_fixtures import CANARY, log_for, make_client, run
from test_validation_table import BAD_REQUESTS, names_every_field

import hh_notebook.client as client_module
from hh_notebook.client import Client
from hh_notebook.errors import AuthError, HHError, JobFailed, SubmitUncertain, ValidationError
from hh_notebook.journal import Journal
from hh_notebook.providers import Status
from hh_notebook.request import GenerationRequest


def test_generate_blocks_outside_an_event_loop(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "segmind", tmp_path)
    job = client.generate("A white horse on a beach", duration=4, seed=11)
    assert job.status is Status.SUCCEEDED
    assert job.video_path.is_file()
    assert job.request.duration == 4
    assert job.provider_job_id
    assert job.cost.amount == pytest.approx(0.56) and job.cost.sandbox
    assert str(job.cost) == "sandbox — not paid ($0.56 at segmind's price)"
    client.close()


def test_generate_works_inside_a_running_event_loop(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "hiapi", tmp_path)

    async def notebook_cell():
        # What a Jupyter cell does: a blocking call while the kernel's loop runs.
        return client.generate("A kite over dunes")

    job = asyncio.run(notebook_cell())
    assert job.status is Status.SUCCEEDED and job.video_path.is_file()


def test_generate_accepts_a_request_and_overrides(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "apiframe", tmp_path)
    job = client.generate(GenerationRequest(prompt="A red fox", duration=6), duration=3)
    assert job.request.duration == 3
    assert job.cost.amount == 72  # 3 s x 24 credits at 720p


def test_unknown_parameter_is_a_type_error(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "segmind", tmp_path)
    sandbox_log_before = len(sandbox.request_log())
    with pytest.raises(TypeError):
        client.generate("x", frames=12)
    assert len(sandbox.request_log()) == sandbox_log_before


def test_seeded_repeat_is_served_from_the_journal(fresh_sandbox, tmp_path) -> None:
    client = make_client(fresh_sandbox, "segmind", tmp_path)
    first = client.generate("A horse in the rain", seed=42)
    again = client.generate("A horse in the rain", seed=42)
    assert again.from_cache and again.cost == 0
    assert again.video_path == first.video_path
    assert again.status is Status.SUCCEEDED
    assert len(log_for(fresh_sandbox, "submit")) == 1
    forced = client.generate("A horse in the rain", seed=42, force=True)
    assert not forced.from_cache and forced.video_path != first.video_path
    other_seed = client.generate("A horse in the rain", seed=43)
    assert not other_seed.from_cache
    assert len(log_for(fresh_sandbox, "submit")) == 3


def test_unseeded_repeat_is_paid_again(fresh_sandbox, tmp_path) -> None:
    client = make_client(fresh_sandbox, "hiapi", tmp_path)
    client.generate("A horse in the rain")
    assert not client.generate("A horse in the rain").from_cache
    assert len(log_for(fresh_sandbox, "submit")) == 2


def test_cache_needs_the_clip_to_still_exist(fresh_sandbox, tmp_path) -> None:
    client = make_client(fresh_sandbox, "segmind", tmp_path)
    first = client.generate("A horse in the rain", seed=5)
    first.video_path.unlink()
    assert not client.generate("A horse in the rain", seed=5).from_cache


def test_cache_is_per_provider(fresh_sandbox, tmp_path) -> None:
    make_client(fresh_sandbox, "segmind", tmp_path).generate("A horse", seed=5)
    job = make_client(fresh_sandbox, "apiframe", tmp_path).generate("A horse", seed=5)
    assert not job.from_cache


@pytest.fixture(scope="module")
def quiet_sandbox(sandbox_clip_cache):
    """A sandbox no other test's jobs talk to: its request log counts this module's only."""
    from hh_notebook.sandbox import Sandbox

    with Sandbox(time_scale=0.005, cache_dir=sandbox_clip_cache) as sb:
        yield sb


@pytest.mark.parametrize(("case", "provider", "kwargs", "expected"), BAD_REQUESTS,
                         ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests_never_reach_the_network(quiet_sandbox, tmp_path, case, provider, kwargs,
                                              expected) -> None:
    before = len(quiet_sandbox.request_log())
    with pytest.raises(ValidationError) as info:  # a bad provider name: already the Client
        client = make_client(quiet_sandbox, "segmind" if provider is None else provider,
                             tmp_path)
        run(client.submit(GenerationRequest(**kwargs)))
    assert set(expected) <= set(info.value.fields) | {f.split("[")[0] for f in info.value.fields}
    assert names_every_field(str(info.value), expected)
    assert len(quiet_sandbox.request_log()) == before
    journal = tmp_path / "journal.sqlite3"
    assert not journal.exists() or Journal(journal).jobs() == []  # nothing recorded either


def test_jobs_lists_the_journal_newest_first(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "openai", tmp_path)
    a = client.generate("first")
    b = client.generate("second")
    assert [r.id for r in client.jobs()] == [b.id, a.id]
    assert client.job(a.id).video_path == a.video_path
    assert client.jobs()[0].prompt == "second"


def test_tags_are_stored_and_searchable(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "segmind", tmp_path)
    job = client.generate("tagged", tags={"sweep": "s1", "cell": "r0c1"})
    [record] = client.journal.find_by_tag("sweep", "s1")
    assert record.id == job.id
    assert record.tags == {"sweep": "s1", "cell": "r0c1", "sandbox": True}  # never paid


def test_time_scale_comes_from_the_sandbox_unless_given(sandbox, tmp_path) -> None:
    assert make_client(sandbox, "segmind", tmp_path).time_scale == sandbox.time_scale
    client = Client(provider="segmind", api_key="k", base_url=sandbox.base_url,
                    data_dir=tmp_path, time_scale=0.5)
    assert client.time_scale == 0.5
    assert client.is_sandbox


def test_resume_of_a_finished_job_does_nothing(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "segmind", tmp_path)
    job = client.generate("done already")
    before = len(sandbox.request_log())
    fresh = make_client(sandbox, "segmind", tmp_path)
    again = run(fresh.resume(job.id))
    assert again.status is Status.SUCCEEDED and not again.tracking
    assert len(sandbox.request_log()) == before


def test_resume_with_another_provider_is_refused(sandbox, tmp_path) -> None:
    client = make_client(sandbox, "segmind", tmp_path)
    job = run(client.submit(GenerationRequest(prompt="x")))
    client.cancel(job.id)
    other = make_client(sandbox, "hiapi", tmp_path)
    with pytest.raises(HHError, match="segmind"):
        run(other.resume(job.id))


def test_module_level_generate_uses_the_environment(sandbox, tmp_path, monkeypatch) -> None:
    for name in ("SEGMIND_API_KEY", "APIFRAME_API_KEY", "HIAPI_API_KEY", "HH_OPENAI_API_KEY",
                 "HH_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HIAPI_API_KEY", "hi-key")
    monkeypatch.setenv("HH_HIAPI_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("HH_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(client_module, "_default", None)
    job = client_module.generate("one line", duration=3)
    assert job.provider == "hiapi" and job.status is Status.SUCCEEDED
    assert client_module.default_client() is client_module.default_client()
    assert Path(job.video_path).parent == tmp_path / "clips"


def _looks_real(monkeypatch, sb, provider, data_dir):
    """A client that does not know its base URL is a sandbox: what a real provider is."""
    from hh_notebook import config

    monkeypatch.setattr(config, "probe_sandbox", lambda url, timeout=2.0: None)
    client = Client(provider=provider, api_key=CANARY, base_url=sb.base_url, data_dir=data_dir,
                    time_scale=sb.time_scale)  # the sandbox's pace, without knowing it is one
    monkeypatch.undo()
    assert not client.is_sandbox
    return client


def test_a_sandbox_clip_is_never_served_as_a_real_one(fresh_sandbox, tmp_path,
                                                      monkeypatch) -> None:
    on_sandbox = make_client(fresh_sandbox, "segmind", tmp_path)
    first = on_sandbox.generate("A horse in the rain", seed=42)
    real = _looks_real(monkeypatch, fresh_sandbox, "segmind", tmp_path)
    again = real.generate("A horse in the rain", seed=42)
    assert not again.from_cache and again.video_path != first.video_path
    assert str(again.cost) == "$0.70"  # real money, shown as such
    assert on_sandbox.generate("A horse in the rain", seed=42).video_path == first.video_path
    assert len(log_for(fresh_sandbox, "submit")) == 2


def test_sandbox_jobs_are_counted_apart_from_money(fresh_sandbox, tmp_path,
                                                   monkeypatch) -> None:
    from hh_notebook.pricing import spent

    make_client(fresh_sandbox, "segmind", tmp_path).generate("a test clip", duration=3)
    real = _looks_real(monkeypatch, fresh_sandbox, "segmind", tmp_path)
    real.generate("a paid clip", duration=3)
    total = spent(real.jobs())
    assert total.usd == pytest.approx(0.42) and total.sandbox == 1
    assert str(total) == "$0.42 · 1 sandbox clip — not paid"


def test_module_level_generate_takes_a_provider(sandbox, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("APIFRAME_API_KEY", "af-key")
    monkeypatch.setenv("HH_APIFRAME_BASE_URL", sandbox.base_url)
    monkeypatch.setattr(client_module, "_by_provider", {})
    job = client_module.generate("a fox", provider="apiframe", duration=3)
    assert job.provider == "apiframe" and job.status is Status.SUCCEEDED
    with pytest.raises(ValidationError, match="did you mean 'apiframe'"):
        client_module.generate("a fox", provider="apifram")


# -- the key never shows ---------------------------------------------------------------

def _everything_the_user_can_see(client: Client, jobs, errors) -> str:
    texts = [repr(client), repr(client._lifecycle), repr(client._key), str(client._key)]
    for job in jobs:
        texts += [repr(job), str(job.error), repr(job.request)]
        texts += [repr(client.journal.get(job.id))]
    for exc in errors:
        texts += [str(exc), repr(exc), repr(exc.args)]
    return "\n".join(texts)


def test_canary_key_appears_nowhere(fresh_sandbox, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(fresh_sandbox, "segmind", tmp_path)
    errors: list[BaseException] = []
    jobs = [client.generate("all good")]
    fresh_sandbox.add_fault({"provider": "segmind", "kind": "fail_job"})
    with pytest.raises(JobFailed) as failed:
        client.generate("will fail")
    errors.append(failed.value)
    jobs.append(failed.value.job)
    fresh_sandbox.add_fault({"provider": "segmind", "endpoint": "submit", "kind": "status",
                             "status": 502})
    with pytest.raises(SubmitUncertain) as uncertain:
        client.generate("uncertain")
    errors.append(uncertain.value)
    jobs.append(uncertain.value.job)
    fresh_sandbox.set_keys("segmind", ["some-other-key"])
    with pytest.raises(AuthError) as denied:
        client.generate("denied")
    errors.append(denied.value)
    client.close()

    seen = _everything_the_user_can_see(client, jobs, errors) + caplog.text
    assert CANARY not in seen
    assert "DEBUG" in caplog.text or caplog.records  # logging did happen
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def test_untranslatable_request_records_and_sends_nothing(sandbox, tmp_path) -> None:
    from hh_notebook.jobs import Job

    client = make_client(sandbox, "hiapi", tmp_path)
    before = len(sandbox.request_log())
    job = Job(id="local-bytes", request=GenerationRequest(prompt="p", image=b"\x89PNG"),
              provider="hiapi", model="1.1")
    with pytest.raises(ValidationError, match="URL"):
        run(client._lifecycle.submit(job))
    assert client.jobs() == []
    assert len(sandbox.request_log()) == before


def test_two_clients_never_track_the_same_job_twice(sandbox, tmp_path) -> None:
    first = make_client(sandbox, "apiframe", tmp_path)
    second = make_client(sandbox, "apiframe", tmp_path)

    async def go():
        job = await first.submit(GenerationRequest(prompt="shared"))
        same = await second.resume(job.id)
        assert same is job
        assert second.job(job.id) is job
        return await job.wait(30)

    job = run(go())
    assert job.status is Status.SUCCEEDED
    downloads = [e for e in log_for(sandbox, "download", "apiframe")
                 if e.get("job_id") == job.provider_job_id]
    assert len(downloads) == 1


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1, 0])
def test_a_timeout_that_never_ends_is_refused_before_sending(sandbox, tmp_path, timeout) -> None:
    client = make_client(sandbox, "segmind", tmp_path)
    before = len(sandbox.request_log())
    with pytest.raises(ValidationError, match="timeout"):
        client.generate("a fox", timeout=timeout)
    assert len(sandbox.request_log()) == before and client.jobs() == []


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), 0, -0.5])
def test_a_time_scale_that_never_ends_is_refused(sandbox, tmp_path, scale) -> None:
    with pytest.raises(ValidationError, match="time_scale"):
        Client(provider="segmind", base_url=sandbox.base_url, data_dir=tmp_path,
               time_scale=scale)
