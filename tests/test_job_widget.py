"""The job widget's Python side against real jobs on the sandbox: it mirrors the job into small
traits, sends the clip only on request and only as binary buffers, and offers retry/reconcile."""

from __future__ import annotations

import asyncio
import io
import json
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from hh_notebook.client import Client
from hh_notebook.jobs import Job
from hh_notebook.present import TextProgress
from hh_notebook.providers.base import Status
from hh_notebook.request import GenerationRequest
from hh_notebook.views import static
from hh_notebook.widgets import job as job_module
from hh_notebook.widgets.job import JobWidget
from hh_notebook.widgets.show import show


@pytest.fixture
def client(tmp_path: pathlib.Path, sandbox: Any) -> Iterator[Client]:
    c = Client(provider="segmind", base_url=sandbox.base_url, data_dir=tmp_path / "data")
    yield c
    c.close()


class Front:
    """Stands in for the browser: records what the widget sends, sends it messages."""

    def __init__(self, widget: JobWidget) -> None:
        self.widget = widget
        self.sent: list[tuple[dict[str, Any], list[bytes]]] = []
        widget.send = self._record  # type: ignore[method-assign]

    def _record(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        self.sent.append((content, [bytes(b) for b in buffers or []]))

    def message(self, content: dict[str, Any]) -> None:
        self.widget._handle_custom_msg(content, [])


async def _run_to_end(client: Client, request: GenerationRequest) -> tuple[JobWidget, list[str]]:
    job = await client.submit(request)
    widget = JobWidget(job, client=client)
    statuses = [widget.status]
    widget.observe(lambda change: statuses.append(change["new"]), names="status")
    await job.wait(60)
    return widget, statuses


def test_widget_follows_a_job_to_a_clip(client: Client) -> None:
    request = GenerationRequest(prompt="a bay horse in the snow", duration=3, seed=101)
    widget, statuses = asyncio.run(_run_to_end(client, request))
    assert statuses[-1] == "succeeded" and statuses[0] in ("queued", "running")
    assert widget.progress == 1.0
    assert widget.mode == "t2v" and widget.provider == "segmind" and widget.model == "1.1"
    assert widget.estimate == "sandbox — not paid ($0.42 at segmind's price)"
    assert widget.cost == "sandbox — not paid"  # never shown as money spent
    assert widget.seed == 101 and widget.provider_job_id
    assert widget.clip["width"] == 1280 and widget.clip["height"] == 720
    assert widget.clip["has_audio"] is True and widget.clip["name"].endswith(".mp4")
    assert widget.params["duration"] == "3 s"
    assert widget.message == ""


def test_clip_travels_only_as_binary_buffers_on_request(client: Client) -> None:
    request = GenerationRequest(prompt="a dun horse by a lake", duration=3, seed=102)
    widget, _ = asyncio.run(_run_to_end(client, request))
    state = widget.get_state()
    # No trait carries bytes: an executed notebook stores every synced trait.
    assert not any(isinstance(v, (bytes, bytearray, memoryview)) for v in state.values())
    json.dumps({k: v for k, v in state.items()})  # JSON-safe, nothing binary inside
    front = Front(widget)
    assert front.sent == []
    front.message({"type": "request_clip", "request_id": "r1"})
    assert front.sent, "nothing sent"
    chunks = [bufs[0] for content, bufs in front.sent]
    assert all(content["request_id"] == "r1" for content, _ in front.sent)
    clip = pathlib.Path(widget.job.video_path).read_bytes()
    assert b"".join(chunks) == clip
    first, first_bufs = front.sent[0]
    assert first["poster_mime"] == "image/jpeg" and first_bufs[1][:3] == b"\xff\xd8\xff"


def test_large_clip_is_sent_in_chunks_that_reassemble(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = GenerationRequest(prompt="a grey horse in fog", duration=3, seed=103)
    widget, _ = asyncio.run(_run_to_end(client, request))
    monkeypatch.setattr(job_module, "CHUNK_BYTES", 20_000)
    front = Front(widget)
    front.message({"type": "request_clip", "request_id": "r2"})
    counts = {content["count"] for content, _ in front.sent}
    assert len(counts) == 1 and counts.pop() == len(front.sent) > 1
    ordered = sorted(front.sent, key=lambda item: item[0]["index"])
    assert b"".join(b[0] for _, b in ordered) == pathlib.Path(widget.job.video_path).read_bytes()


def test_missing_clip_file_answers_with_an_error_message(client: Client) -> None:
    request = GenerationRequest(prompt="a roan horse", duration=3, seed=104)
    widget, _ = asyncio.run(_run_to_end(client, request))
    pathlib.Path(widget.job.video_path).unlink()
    front = Front(widget)
    front.message({"type": "request_clip", "request_id": "r3"})
    assert [c["type"] for c, _ in front.sent] == ["clip_error"]


def test_failed_job_shows_the_reason_and_retry_submits_again(
    tmp_path: pathlib.Path, fresh_sandbox: Any
) -> None:
    fresh_sandbox.add_fault({"provider": "segmind", "endpoint": "submit", "kind": "fail_job"})
    c = Client(provider="segmind", base_url=fresh_sandbox.base_url, data_dir=tmp_path / "d")

    async def scenario() -> tuple[str, str, str, str]:
        request = GenerationRequest(prompt="a horse", duration=3, seed=105)
        job = await c.submit(request)
        widget = JobWidget(job, client=c)
        await job.wait(60)
        failed = (widget.status, widget.message)
        task = widget.retry()
        assert task is not None
        await task
        assert widget.job is not job
        await widget.job.wait(60)
        return failed[0], failed[1], widget.status, widget.job.id

    try:
        status, message, after, _new_id = asyncio.run(scenario())
    finally:
        c.close()
    assert status == "failed" and message and "policy" in message.lower()
    assert after == "succeeded"


def _job(status: Status, **extra: Any) -> Job:
    job = Job(
        id="0" * 32,
        request=GenerationRequest(prompt="<b>bold</b> horse", seed=4),
        provider="segmind",
        model="1.1",
        status=status,
    )
    for key, value in extra.items():
        setattr(job, key, value)
    return job


def test_unknown_submit_says_so_and_offers_reconcile() -> None:
    widget = JobWidget(_job(Status.UNKNOWN, error="connection reset after sending"))
    assert widget.status == "unknown"
    assert "Reconcile" in widget.message and "connection reset" in widget.message


def test_cache_hit_says_nothing_was_charged(tmp_path: pathlib.Path) -> None:
    clip = tmp_path / "paid.mp4"
    clip.write_bytes(b"\0" * 100)
    widget = JobWidget(_job(Status.SUCCEEDED, from_cache=True, cost=0.0, video_path=clip))
    assert "nothing was charged" in widget.message and widget.from_cache


def test_mime_bundle_carries_the_widget_view_and_an_escaped_static_view() -> None:
    widget = JobWidget(_job(Status.FAILED, error="flagged <script>x</script>"))
    data, _meta = widget._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id
    page = data["text/html"]
    assert "&lt;b&gt;bold&lt;/b&gt; horse" in page and "<b>bold</b>" not in page
    assert "flagged &lt;script&gt;" in page and "<script>" not in page


def test_static_view_of_a_finished_job_embeds_a_small_poster_and_links_the_clip(
    client: Client, tmp_path: pathlib.Path
) -> None:
    job = client.generate(GenerationRequest(prompt="a palomino", duration=3, seed=106))
    page = static.static_html(static.snapshot_of(job), base_dir=tmp_path)
    src = static.clip_src(job.video_path, tmp_path)
    assert f'src="{src}"' in page and (tmp_path / src).resolve() == job.video_path.resolve()
    assert 'poster="data:image/jpeg;base64,' in page
    assert len(static.small_poster(job.video_path)) < 30_000


def test_text_progress_rewrites_one_line_and_ends_it() -> None:
    out = io.StringIO()
    progress = TextProgress(out)
    progress.update("running", 0.5, 12, 30)
    progress.update("succeeded", 1.0, 20, None, "done", final=True)
    progress.update("running", 0.1, 1, 1)  # ignored after the final line
    text = out.getvalue()
    assert text.startswith("\rhappyhorse: generating ·  50% · elapsed 12s · about 30s left")
    assert text.endswith("\n") and text.count("\n") == 1
    assert text.rstrip().endswith("happyhorse: done · 100% · elapsed 20s · done")


def test_show_in_plain_python_prints_progress_instead_of_a_widget(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    async def scenario() -> Job:
        job = await client.submit(GenerationRequest(prompt="a piebald", duration=3, seed=107))
        assert show(job) is job
        return await job.wait(60)

    asyncio.run(scenario())
    err = capsys.readouterr().err
    assert "happyhorse:" in err and err.endswith("\n") and "done" in err


def test_apiframe_costs_are_shown_in_credits(tmp_path: pathlib.Path, sandbox: Any) -> None:
    c = Client(provider="apiframe", base_url=sandbox.base_url, data_dir=tmp_path / "af")
    try:
        request = GenerationRequest(prompt="a horse in credits", duration=3, seed=108)
        widget, _ = asyncio.run(_run_to_end(c, request))
    finally:
        c.close()
    assert widget.status == "succeeded"
    assert widget.cost == "sandbox — not paid"
    assert "72 credits" in widget.estimate and "$" not in widget.estimate


def test_a_paid_apiframe_cost_read_back_is_shown_in_credits() -> None:
    from types import SimpleNamespace

    from hh_notebook.present import job_cost_text

    assert job_cost_text(SimpleNamespace(cost=72.0, provider="apiframe", tags={})) == "72 credits"
    sandboxed = SimpleNamespace(cost=72.0, provider="apiframe", tags={"sandbox": True})
    assert job_cost_text(sandboxed) == "sandbox — not paid"


def test_embed_export_keeps_the_whole_widget_state_and_no_clip_bytes() -> None:
    from ipywidgets.embed import embed_data

    widget = JobWidget(_job(Status.FAILED, error="flagged"))
    data = embed_data(views=[widget], drop_defaults=False)
    state = data["manager_state"]["state"][widget.model_id]["state"]
    assert state["_esm"].startswith("// Shared by every hh_notebook widget")
    assert "// Job widget front end" in state["_esm"]
    assert state["status"] == "failed" and state["message"] == "flagged"
    assert state["prompt"] == "<b>bold</b> horse"  # the front end renders it as text
    assert "clip" in state and not state["clip"]


def test_show_a_prompt_in_plain_python_follows_it_with_a_progress_line(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    job = show("a skewbald horse", client=client, duration=3, seed=109)
    assert job.status is Status.SUCCEEDED and job.video_path.is_file()
    err = capsys.readouterr().err
    assert err.startswith("\rhappyhorse: queued · text-to-video on segmind")
    assert err.count("\n") == 1 and "done" in err.splitlines()[-1]


def test_show_refuses_request_fields_with_a_job() -> None:
    with pytest.raises(TypeError, match="duration"):
        show(_job(Status.SUCCEEDED), duration=3)


def test_unknown_submit_reconciles_to_the_job_the_provider_made(
    tmp_path: pathlib.Path, fresh_sandbox: Any
) -> None:
    from hh_notebook.errors import SubmitUncertain

    fresh_sandbox.add_fault({"provider": "hiapi", "endpoint": "submit", "kind": "reset_after"})
    c = Client(provider="hiapi", base_url=fresh_sandbox.base_url, data_dir=tmp_path / "h")

    async def scenario() -> tuple[str, str, JobWidget]:
        request = GenerationRequest(prompt="a horse lost in transit", duration=3)
        try:
            await c.submit(request)
        except SubmitUncertain as exc:
            job = exc.job
        else:  # pragma: no cover - the fault makes the answer get lost
            raise AssertionError("the submit answer was not lost")
        widget = JobWidget(job, client=c)
        before = (widget.status, widget.message)
        task = widget.reconcile()
        assert task is not None
        await task
        await widget.job.wait(60)
        return before[0], before[1], widget

    try:
        status, message, widget = asyncio.run(scenario())
    finally:
        c.close()
    assert status == "unknown" and "Reconcile" in message
    assert widget.status == "succeeded" and widget.provider_job_id.startswith("tk-")
    submits = [
        r
        for r in fresh_sandbox.request_log()
        if r["method"] == "POST" and r.get("endpoint") == "submit"
    ]
    assert len(submits) == 1  # found, not resubmitted
