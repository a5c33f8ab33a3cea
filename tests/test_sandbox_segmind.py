"""Segmind's v2 protocol on the sandbox, over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from sandbox_fixtures import AUTH, SEGMIND_KEY, client, data_url, finish, png_bytes
from segmind import SegmindClient
from segmind.v2 import InferenceFailed

from hh_notebook.sandbox import Sandbox

H = AUTH["segmind"]
BODY = {"prompt": "A lone traveler walks up a foggy path", "resolution": "720P", "duration": 3,
        "aspect_ratio": "16:9", "prompt_extend": True, "watermark": False, "seed": 11}


def submit(c: httpx.Client, body: dict | None = None, slug: str = "happyhorse-1.1",
           headers: dict | None = None) -> httpx.Response:
    return c.post(f"/v2/{slug}", json=BODY if body is None else body,
                  headers=H if headers is None else headers)


def test_submit_returns_queued_receipt_with_absolute_urls(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = submit(c)
    assert r.status_code == 200
    body = r.json()
    rid = body["request_id"]
    assert body["status"] == "QUEUED"
    assert body["status_url"] == f"{sandbox.base_url}/v2/requests/{rid}/status"
    assert body["response_url"] == f"{sandbox.base_url}/v2/requests/{rid}"
    assert body["poll_url"] == f"{sandbox.base_url}/v1/requests/{rid}"


def test_official_sdk_submit_async_and_wait_complete(sandbox: Sandbox) -> None:
    sdk = SegmindClient(api_key=SEGMIND_KEY, base_url=sandbox.base_url + "/v1")
    job = sdk.submit_async("happyhorse-1.1", prompt="A white horse in golden wheat",
                           resolution="720P", duration=3, aspect_ratio="16:9", seed=3)
    result = job.wait(timeout=60, interval=0.05)
    assert result["status"] == "COMPLETED"
    assert result["output"].startswith(f"{sandbox.base_url}/files/segmind/{job.request_id}")
    clip = httpx.get(result["output"])
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
    assert clip.content[4:8] == b"ftyp"


def test_official_sdk_raises_inference_failed_on_blocked_job(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.add_fault({"provider": "segmind", "kind": "fail_job"})
    sdk = SegmindClient(api_key=SEGMIND_KEY, base_url=fresh_sandbox.base_url + "/v1")
    job = sdk.submit_async("happyhorse-1.1", prompt="something blocked", duration=3)
    with pytest.raises(InferenceFailed) as info:
        job.wait(timeout=60, interval=0.05)
    assert "moderation" in info.value.detail


def test_state_machine_queued_processing_completed_then_expired() -> None:
    with Sandbox(time_scale=1.0) as sb, client(sb) as c:
        rid = submit(c).json()["request_id"]
        status = c.get(f"/v2/requests/{rid}/status", headers=H).json()
        assert status["status"] == "QUEUED" and "output" not in status
        sb.advance(10)  # past the 2-8 s queue
        assert c.get(f"/v2/requests/{rid}/status", headers=H).json()["status"] == "PROCESSING"
        result = c.get(f"/v2/requests/{rid}", headers=H).json()
        assert result["status"] == "PROCESSING" and result["output"] is None
        finish(sb, 200)
        status = c.get(f"/v2/requests/{rid}/status", headers=H).json()
        assert status["status"] == "COMPLETED"
        assert set(status) == {"request_id", "status", "metrics"}
        result = c.get(f"/v2/requests/{rid}", headers=H).json()
        assert result["output"].endswith(f"/files/segmind/{rid}.mp4")
        assert c.get(f"/v1/requests/{rid}", headers=H).json()["output"] == result["output"]
        sb.advance(3601)  # records are kept for one hour
        assert c.get(f"/v2/requests/{rid}/status", headers=H).status_code == 404
        assert c.get(f"/v2/requests/{rid}", headers=H).status_code == 404
        # the file itself outlives the record
        assert c.get(result["output"]).status_code == 200


def test_failed_request_is_http_422_with_status_and_error(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.add_fault({"provider": "segmind", "kind": "fail_job"})
    with client(fresh_sandbox) as c:
        rid = submit(c).json()["request_id"]
        finish(fresh_sandbox)
        for path in (f"/v2/requests/{rid}/status", f"/v2/requests/{rid}", f"/v1/requests/{rid}"):
            r = c.get(path, headers=H)
            assert r.status_code == 422
            assert r.json()["status"] == "FAILED" and "moderation" in r.json()["error"]


def test_missing_key_is_401(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = submit(c, headers={})
    assert r.status_code == 401 and "error" in r.json()


def test_bearer_token_is_refused(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = submit(c, headers={"Authorization": f"Bearer {SEGMIND_KEY}"})
    assert r.status_code == 401 and "x-api-key" in r.json()["error"]


def test_unknown_key_is_401_when_keys_are_configured(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.set_keys("segmind", [SEGMIND_KEY])
    with client(fresh_sandbox) as c:
        assert submit(c, headers={"x-api-key": "SG_ffffffffffffffff"}).status_code == 401
        assert submit(c).status_code == 200


def test_status_needs_the_key_too(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        rid = submit(c).json()["request_id"]
        assert c.get(f"/v2/requests/{rid}/status").status_code == 401


def test_unknown_request_id_is_404(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = c.get("/v2/requests/00000000-0000-0000-0000-000000000000/status", headers=H)
    assert r.status_code == 404 and "error" in r.json()


@pytest.mark.parametrize("slug", ["happyhorse-9.9", "happyhorse-1.0"])
def test_unknown_model_slug_is_404(sandbox: Sandbox, slug: str) -> None:
    with client(sandbox) as c:
        r = submit(c, {"prompt": "x"}, slug=slug)
    assert r.status_code == 404 and set(r.json()) == {"error"} and slug in r.json()["error"]


def test_low_balance_is_406_before_generation(fresh_sandbox: Sandbox) -> None:
    # 1.00 would pay for a 3 s 720P clip (0.42) but is below the average-cost reservation
    fresh_sandbox.set_balance("segmind", 1.00)
    with client(fresh_sandbox) as c:
        r = submit(c)
    assert r.status_code == 406 and "credits" in r.json()["error"].lower()
    assert fresh_sandbox.request_log()[-1]["status"] == 406


def test_balance_is_charged_per_second(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.set_balance("segmind", 10.0)
    with client(fresh_sandbox) as c:
        assert submit(c, dict(BODY, duration=5)).status_code == 200
    assert fresh_sandbox.balance("segmind") == pytest.approx(10.0 - 0.70)


def test_wrong_content_type_is_406(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = c.post("/v2/happyhorse-1.1", content=b"prompt=x",
                   headers={**H, "content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 406


def test_wrong_method_is_an_html_405_page(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        for r in (c.get("/v2/happyhorse-1.1", headers=H),
                  c.post("/v2/requests/abc/status", headers=H)):
            assert r.status_code == 405
            assert r.headers["content-type"].startswith("text/html")
            with pytest.raises(ValueError):
                r.json()


@pytest.mark.parametrize("change, words", [
    ({"duration": 2}, "duration"),
    ({"duration": 16}, "duration"),
    ({"duration": 5.5}, "duration"),
    ({"resolution": "720p"}, "resolution"),
    ({"resolution": "4K"}, "resolution"),
    ({"aspect_ratio": "21:9"}, "aspect_ratio"),
    ({"seed": -1}, "seed"),
    ({"seed": 2147483648}, "seed"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": "x" * 5001}, "5000"),
    ({"prompt": "马" * 2501}, "2500"),
    ({"watermark": "no"}, "watermark"),
    ({"reference_images": [f"https://example.com/{i}.png" for i in range(10)]}, "1 to 9"),
    ({"image": "not an image"}, "image"),
    ({"colour": "red"}, "unknown field"),
])
def test_bad_parameters_are_400(sandbox: Sandbox, change: dict, words: str) -> None:
    with client(sandbox) as c:
        r = submit(c, {**BODY, **change})
    assert r.status_code == 400
    assert words in r.json()["error"]


def test_chinese_prompt_up_to_2500_is_accepted(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        assert submit(c, {**BODY, "prompt": "马" * 2500}).status_code == 200


def test_reference_images_need_version_1_1(sandbox: Sandbox) -> None:
    body = {**BODY, "reference_images": ["https://example.com/a.png"]}
    body_10 = {k: v for k, v in body.items() if k != "seed"}
    with client(sandbox) as c:
        refused = submit(c, body_10, slug="happyhorse")
        assert submit(c, body, slug="happyhorse-1.1").status_code == 200
    assert refused.status_code == 400
    assert "reference_images" in refused.json()["error"] and "1.1" in refused.json()["error"]


@pytest.mark.parametrize("body", [
    BODY,
    {"prompt": "only the prompt"},
    {**BODY, "image": "https://cdn.example.com/first.png", "negative_prompt": "blurry"},
    {**BODY, "reference_images": [f"https://cdn.example.com/{i}.png" for i in range(9)]},
], ids=["t2v", "t2v-minimal", "i2v", "r2v"])
def test_documented_1_1_bodies_are_accepted(sandbox: Sandbox, body: dict) -> None:
    with client(sandbox) as c:
        r = submit(c, body)
    assert r.status_code == 200, r.text
    assert sandbox._state.jobs[r.json()["request_id"]].spec.model == "happyhorse-1.1"


@pytest.mark.parametrize("field, value", [
    ("last_frame", "https://cdn.example.com/last.png"),
    ("audio_url", "https://cdn.example.com/speech.mp3"),
])
def test_1_0_only_fields_are_unknown_on_1_1(sandbox: Sandbox, field: str, value: str) -> None:
    body = {**BODY, "image": "https://cdn.example.com/first.png", field: value}
    with client(sandbox) as c:
        r = submit(c, body)
    assert r.status_code == 400 and set(r.json()) == {"error"}
    assert "unknown field" in r.json()["error"] and field in r.json()["error"]


def test_small_image_is_refused(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = submit(c, {**BODY, "image": data_url(png_bytes(200, 200))})
    assert r.status_code == 400 and "300" in r.json()["error"]


def test_image_as_bare_base64_is_accepted(sandbox: Sandbox) -> None:
    import base64

    with client(sandbox) as c:
        r = submit(c, {**BODY, "image": base64.b64encode(png_bytes()).decode()})
    assert r.status_code == 200


def test_image_over_10_mb_by_loopback_url_is_refused(sandbox: Sandbox) -> None:
    from sandbox_fixtures import Receiver

    big = png_bytes() + b"\0" * (10 * 1024 * 1024)
    with Receiver(files={"/big.png": big}) as srv, client(sandbox) as c:
        r = submit(c, {**BODY, "image": srv.url + "/big.png"})
    assert r.status_code == 400 and "10 MB" in r.json()["error"]
