"""The OpenAI-style aggregator (HappyHorse 1.0) on the sandbox, over real HTTP."""

from __future__ import annotations

from urllib.parse import urljoin

import httpx
import pytest
from sandbox_fixtures import AUTH, Receiver, client, finish, png_bytes

from hh_notebook.sandbox import Sandbox

H = AUTH["openai"]
T2V = {"model": "happyhorse-1.0-t2v", "prompt": "A neon street at night after rain",
       "size": "720P", "duration": 3, "metadata": {"ratio": "9:16", "seed": 4, "watermark": False}}


def submit(c: httpx.Client, body: dict | None = None, path: str = "/v1/video/generations",
           headers: dict | None = None) -> httpx.Response:
    return c.post(path, json=T2V if body is None else body, headers=H if headers is None else headers)


def test_receipt_is_top_level_with_id_equal_to_task_id(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = submit(c)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"id", "task_id", "object", "model", "status", "progress", "created_at"}
    assert body["id"] == body["task_id"] and body["id"].startswith("task_")
    assert body["object"] == "video" and body["model"] == "happyhorse-1.0-t2v"
    assert body["status"] == "QUEUED" and body["progress"] == 0
    assert isinstance(body["created_at"], int)


def test_videos_alias_submits_too(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        assert submit(c, path="/v1/videos").json()["object"] == "video"


def test_lifecycle_in_progress_then_success_with_result_url() -> None:
    with Sandbox(time_scale=1.0) as sb, client(sb) as c:
        tid = submit(c).json()["id"]
        first = c.get(f"/v1/videos/{tid}", headers=H).json()
        assert first["status"] == "QUEUED" and first["progress"] == "0%"
        sb.advance(60)
        mid = c.get(f"/v1/video/generations/{tid}", headers=H).json()
        assert mid["status"] == "IN_PROGRESS"
        assert mid["progress"].endswith("%") and 0 < int(mid["progress"][:-1]) < 100
        assert "result_url" not in mid
        finish(sb, 200)
        done = c.get(f"/v1/videos/{tid}", headers=H).json()
        assert done["status"] == "SUCCESS" and done["progress"] == "100%"
        assert done["result_url"] == f"/v1/videos/{tid}/content"  # relative, as documented


def test_relative_result_url_downloads_with_the_key(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        tid = submit(c).json()["id"]
        finish(sandbox)
        result_url = c.get(f"/v1/videos/{tid}", headers=H).json()["result_url"]
    url = urljoin(sandbox.base_url + "/", result_url)
    assert url == f"{sandbox.base_url}/v1/videos/{tid}/content"
    assert httpx.get(url).status_code == 401  # the download needs the key too
    clip = httpx.get(url, headers=H)
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
    assert clip.content[4:8] == b"ftyp"


def test_content_supports_range_and_resume(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        tid = submit(c).json()["id"]
        finish(sandbox)
        full = c.get(f"/v1/videos/{tid}/content", headers=H)
        assert full.status_code == 200 and full.headers["accept-ranges"] == "bytes"
        size = len(full.content)
        part = c.get(f"/v1/videos/{tid}/content", headers={**H, "Range": "bytes=1000-"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 1000-{size - 1}/{size}"
        assert full.content[:1000] + part.content == full.content
        tail = c.get(f"/v1/videos/{tid}/content", headers={**H, "Range": "bytes=-10"})
        assert tail.content == full.content[-10:]
        bad = c.get(f"/v1/videos/{tid}/content", headers={**H, "Range": f"bytes={size}-"})
        assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{size}"


def test_content_before_success_is_404(sandbox: Sandbox) -> None:
    with Sandbox(time_scale=1.0) as sb, client(sb) as c:
        tid = submit(c).json()["id"]
        r = c.get(f"/v1/videos/{tid}/content", headers=H)
        assert r.status_code == 404 and r.json()["error"]["code"] == "content_not_ready"


def test_business_errors_are_http_200_with_error_object(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = submit(c, {**T2V, "duration": 20})
    assert r.status_code == 200
    err = r.json()["error"]
    assert set(err) == {"message", "type", "code"} and "duration" in err["message"]
    assert "id" not in r.json()


@pytest.mark.parametrize("body, words", [
    ({**T2V, "model": "happyhorse-1.1-t2v"}, "model"),
    ({**T2V, "size": "720p"}, "size"),
    ({**T2V, "metadata": {"ratio": "2:1"}}, "ratio"),
    ({**T2V, "metadata": {"seed": 2**31}}, "seed"),
    ({**T2V, "prompt": ""}, "prompt"),
    ({**T2V, "input_reference": "https://example.com/a.png"}, "t2v takes no images"),
    ({"model": "happyhorse-1.0-i2v", "prompt": "move"}, "exactly one"),
    ({"model": "happyhorse-1.0-r2v", "prompt": "[Image 1] waves"}, "1 to 9"),
    ({"model": "happyhorse-1.0-r2v", "prompt": "x", "metadata": {
        "reference_type": "mood", "input": {"media": [
            {"type": "reference_image", "url": "https://example.com/a.png"}]}}}, "reference_type"),
])
def test_invalid_requests_are_business_errors(sandbox: Sandbox, body: dict, words: str) -> None:
    with client(sandbox) as c:
        r = submit(c, body)
    assert r.status_code == 200 and words in r.json()["error"]["message"]


def test_i2v_accepts_input_reference_or_first_frame_media(sandbox: Sandbox) -> None:
    with Receiver(files={"/f.png": png_bytes(640, 480)}) as srv, client(sandbox) as c:
        img = srv.url + "/f.png"
        a = submit(c, {"model": "happyhorse-1.0-i2v", "input_reference": img})
        b = submit(c, {"model": "happyhorse-1.0-i2v", "prompt": "sway",
                       "metadata": {"input": {"media": [{"type": "first_frame", "url": img}]}}})
        assert len(srv.gets) == 2  # fetched and checked
    assert a.json()["status"] == "QUEUED" and b.json()["status"] == "QUEUED"


def test_r2v_with_references_and_reference_type(sandbox: Sandbox) -> None:
    media = [{"type": "reference_image", "url": f"https://cdn.example.com/{i}.png"} for i in range(3)]
    with client(sandbox) as c:
        r = submit(c, {"model": "happyhorse-1.0-r2v", "prompt": "[Image 1] meets [Image 2]",
                       "metadata": {"reference_type": "subject", "input": {"media": media}}})
    assert r.json()["status"] == "QUEUED"


def test_auth_errors_are_401_with_error_object(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        missing = submit(c, headers={})
        wrong_scheme = submit(c, headers={"x-api-key": "sk-test-key"})
        poll = c.get("/v1/videos/task_x")
    for r in (missing, wrong_scheme, poll):
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"


def test_unknown_task_is_404(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = c.get("/v1/videos/task_doesnotexist", headers=H)
        content = c.get("/v1/videos/task_doesnotexist/content", headers=H)
    assert r.status_code == 404 and r.json()["error"]["code"] == "task_not_found"
    assert content.status_code == 404


def test_low_balance_is_a_business_error(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.set_balance("openai", 0.10)
    with client(fresh_sandbox) as c:
        r = submit(c)
    assert r.status_code == 200 and r.json()["error"]["code"] == "insufficient_quota"


def test_failed_task_has_fail_reason(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.add_fault({"provider": "openai", "kind": "fail_job"})
    with client(fresh_sandbox) as c:
        tid = submit(c).json()["id"]
        finish(fresh_sandbox)
        body = c.get(f"/v1/videos/{tid}", headers=H).json()
    assert body["status"] == "FAILURE" and body["fail_reason"]
    assert "result_url" not in body


def test_defaults_are_1080p_16_9(sandbox: Sandbox) -> None:
    import av

    with client(sandbox) as c:
        tid = submit(c, {"model": "happyhorse-1.0-t2v", "prompt": "defaults", "duration": 3}).json()["id"]
        finish(sandbox)
        data = c.get(f"/v1/videos/{tid}/content", headers=H).content
    import io

    with av.open(io.BytesIO(data)) as container:
        v = container.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (1920, 1080)
