"""Apiframe's Happy Horse 1.1 protocol on the sandbox, over real HTTP."""

from __future__ import annotations

import base64

import httpx
import pytest
from sandbox_fixtures import (
    AUTH,
    Receiver,
    client,
    data_url,
    finish,
    png_bytes,
)

from hh_notebook.sandbox import Sandbox

H = AUTH["apiframe"]
BODY = {"prompt": "a cinematic sunrise over a futuristic cityscape", "model": "happyhorse-1.1",
        "happyhorse11Params": {"resolution": "720p", "aspect_ratio": "16:9", "seed": 1,
                               "duration": 3}}


def submit(c: httpx.Client, body: dict | None = None, headers: dict | None = None
           ) -> httpx.Response:
    return c.post("/v2/videos/generate", json=BODY if body is None else body,
                  headers=H if headers is None else headers)


def params(**changes: object) -> dict:
    return {**BODY, "happyhorse11Params": {**BODY["happyhorse11Params"], **changes}}


def test_submit_is_202_with_job_id(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = submit(c)
    assert r.status_code == 202
    assert set(r.json()) == {"jobId", "status"} and r.json()["status"] == "QUEUED"


def test_job_document_through_its_lifecycle() -> None:
    with Sandbox(time_scale=1.0) as sb, client(sb) as c:
        jid = submit(c).json()["jobId"]
        doc = c.get(f"/v2/jobs/{jid}", headers=H).json()
        assert set(doc) == {"id", "status", "model", "progress", "result", "error", "creditCost",
                            "webhookStatus", "createdAt", "completedAt"}
        assert doc["status"] == "QUEUED" and doc["progress"] == 0 and doc["result"] is None
        sb.advance(60)
        doc = c.get(f"/v2/jobs/{jid}", headers=H).json()
        assert doc["status"] == "PROCESSING" and 0 < doc["progress"] < 100
        finish(sb, 200)
        doc = c.get(f"/v2/jobs/{jid}", headers=H).json()
        assert doc["status"] == "COMPLETED" and doc["progress"] == 100
        assert doc["result"]["videoUrl"] == f"{sb.base_url}/files/apiframe/{jid}.mp4"
        assert doc["creditCost"] == 72  # 24 credits/s at 720p, 3 s
        assert doc["completedAt"].endswith("Z") and doc["error"] is None
        assert c.get(doc["result"]["videoUrl"]).status_code == 200
        assert c.get(doc["result"]["thumbnailUrl"]).headers["content-type"] == "image/png"


@pytest.mark.parametrize("count, mode", [(0, "t2v"), (1, "i2v"), (2, "r2v"), (9, "r2v")])
def test_mode_follows_image_count(sandbox: Sandbox, count: int, mode: str) -> None:
    images = [f"https://cdn.example.com/{i}.png" for i in range(count)]
    with client(sandbox) as c:
        r = submit(c, params(images=images))
    assert r.status_code == 202
    assert sandbox._state.jobs[r.json()["jobId"]].mode == mode


def test_ten_images_are_400(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = submit(c, params(images=[f"https://cdn.example.com/{i}.png" for i in range(10)]))
    assert r.status_code == 400 and "at most 9" in r.json()["error"]


@pytest.mark.parametrize("count", [1, 2])
def test_documented_image_bodies_by_loopback_url_are_accepted(sandbox: Sandbox,
                                                              count: int) -> None:
    with Receiver(files={"/img.png": png_bytes(640, 640)}) as srv, client(sandbox) as c:
        r = submit(c, {"prompt": "[Image 1] rotates slowly", "model": "happyhorse-1.1",
                       "happyhorse11Params": {"images": [srv.url + "/img.png"] * count,
                                              "resolution": "720p", "aspect_ratio": "1:1",
                                              "seed": 1}})
        assert len(srv.gets) == count  # fetched and checked
    assert r.status_code == 202, r.text


@pytest.mark.parametrize("image", [
    data_url(png_bytes(640, 640)),
    base64.b64encode(png_bytes(640, 640)).decode(),
], ids=["data-url", "bare-base64"])
def test_images_are_urls_only(sandbox: Sandbox, image: str) -> None:
    with client(sandbox) as c:
        r = submit(c, params(images=[image]))
    assert r.status_code == 400 and set(r.json()) == {"error", "code"}
    assert r.json()["code"] == "INVALID_REQUEST" and "http(s) URL" in r.json()["error"]


@pytest.mark.parametrize("field", ["negative_prompt", "duration", "image", "seed"])
def test_unknown_top_level_fields_are_400(sandbox: Sandbox, field: str) -> None:
    with client(sandbox) as c:
        r = submit(c, {**BODY, field: 5})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST"
    assert "unknown field" in r.json()["error"] and field in r.json()["error"]


@pytest.mark.parametrize("duration", [3, 15])
def test_duration_3_to_15_is_accepted_in_the_params(sandbox: Sandbox, duration: int) -> None:
    with client(sandbox) as c:
        assert submit(c, params(duration=duration)).status_code == 202


def test_minimal_body_defaults_to_1080p_16_9_5s(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = submit(c, {"prompt": "defaults", "model": "happyhorse-1.1"})
    spec = sandbox._state.jobs[r.json()["jobId"]].spec
    assert (spec.resolution, spec.aspect_ratio, spec.duration) == ("1080P", "16:9", 5)


@pytest.mark.parametrize("change, words", [
    ({"resolution": "720P"}, "resolution"),
    ({"aspect_ratio": "21:9"}, "aspect_ratio"),
    ({"duration": 1}, "duration"),
    ({"duration": 16}, "duration"),
    ({"seed": "one"}, "seed"),
    ({"style": "anime"}, "unknown"),
])
def test_bad_params_are_400(sandbox: Sandbox, change: dict, words: str) -> None:
    with client(sandbox) as c:
        r = submit(c, params(**change))
    assert r.status_code == 400
    assert set(r.json()) == {"error", "code"} and words in r.json()["error"]


def test_wrong_model_is_400(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = submit(c, {**BODY, "model": "happyhorse-1.0"})
    assert r.status_code == 400 and "model" in r.json()["error"]


def test_missing_or_wrong_key_is_401(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.set_keys("apiframe", ["afk_good"])
    with client(fresh_sandbox) as c:
        assert submit(c, headers={}).status_code == 401
        assert submit(c, headers={"Authorization": "Bearer afk_good"}).status_code == 401
        assert submit(c).status_code == 401
        assert submit(c, headers={"X-API-Key": "afk_good"}).status_code == 202
        assert c.get("/v2/jobs/x").json()["code"] == "UNAUTHORIZED"


def test_unknown_job_is_404(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        assert c.get("/v2/jobs/00000000-0000-0000-0000-000000000000", headers=H).status_code == 404


def test_insufficient_credits_is_402(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.set_balance("apiframe", 50)
    with client(fresh_sandbox) as c:
        r = submit(c)
    assert r.status_code == 402 and r.json()["code"] == "INSUFFICIENT_CREDITS"


def test_failed_job_has_readable_error_and_no_cost(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.add_fault({"provider": "apiframe", "kind": "fail_job"})
    with client(fresh_sandbox) as c:
        jid = submit(c).json()["jobId"]
        finish(fresh_sandbox)
        doc = c.get(f"/v2/jobs/{jid}", headers=H).json()
    assert doc["status"] == "FAILED" and "refunded" in doc["error"] and doc["creditCost"] == 0
    assert fresh_sandbox.balance("apiframe") == 10_000


def test_webhook_is_posted_once_to_a_loopback_url(fresh_sandbox: Sandbox) -> None:
    with Receiver() as hook, client(fresh_sandbox) as c:
        jid = submit(c, {**BODY, "webhook_url": hook.url + "/hook"}).json()["jobId"]
        assert c.get(f"/v2/jobs/{jid}", headers=H).json()["webhookStatus"] == "PENDING"
        finish(fresh_sandbox)
        (body,) = hook.wait_for(1)
        assert body["id"] == jid and body["status"] == "COMPLETED"
        assert body["result"]["videoUrl"].endswith(f"/files/apiframe/{jid}.mp4")
        assert fresh_sandbox.wait_callbacks(30)  # recorded once the receiver has answered
        assert c.get(f"/v2/jobs/{jid}", headers=H).json()["webhookStatus"] == "DELIVERED"
    outgoing = [e for e in fresh_sandbox.request_log() if e["endpoint"] == "callback"]
    assert len(outgoing) == 1 and outgoing[0]["status"] == 200


def test_webhook_to_a_remote_url_is_accepted_but_not_called(fresh_sandbox: Sandbox) -> None:
    with client(fresh_sandbox) as c:
        jid = submit(c, {**BODY, "webhook_url": "https://hooks.example.com/x"}).json()["jobId"]
        assert c.get(f"/v2/jobs/{jid}", headers=H).json()["webhookStatus"] == "PENDING"
        finish(fresh_sandbox)
        job = c.get(f"/v2/jobs/{jid}", headers=H).json()
        assert job["status"] == "COMPLETED" and job["webhookStatus"] == "FAILED"
    assert not [e for e in fresh_sandbox.request_log() if e["endpoint"] == "callback"]
