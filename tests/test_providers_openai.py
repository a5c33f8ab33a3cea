"""OpenAI-style aggregator translation, on answer shapes from its API page (no network)."""

from __future__ import annotations

import json

import pytest

from hh_notebook.errors import AuthError, BadRequest, InsufficientCredits, RateLimited, ServerError
from hh_notebook.providers import Status, get_provider
from hh_notebook.providers.base import UnexpectedAnswer
from hh_notebook.request import GenerationRequest

KEY = "sk-canary0123456789"
BASE = "https://gateway.example"
P = get_provider("openai")


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def test_t2v_body_sends_watermark_false_explicitly() -> None:
    call = P.build_submit(GenerationRequest(prompt="a horse", seed=9), KEY, BASE)
    assert call.url == f"{BASE}/v1/video/generations"
    assert call.headers["Authorization"] == f"Bearer {KEY}"
    assert call.json["model"] == "happyhorse-1.0-t2v"
    assert call.json["size"] == "720P"
    assert call.json["metadata"] == {"watermark": False, "ratio": "16:9", "seed": 9}


def test_i2v_uses_input_reference_and_no_ratio() -> None:
    call = P.build_submit(GenerationRequest(prompt="", image="https://e.com/a.png"), KEY, BASE)
    assert call.json["model"] == "happyhorse-1.0-i2v"
    assert call.json["input_reference"] == "https://e.com/a.png"
    assert "ratio" not in call.json["metadata"]


def test_r2v_uses_media_and_reference_type() -> None:
    req = GenerationRequest(prompt="[Image 1] dances", reference_type="style",
                            reference_images=["https://e.com/a.png", "https://e.com/b.png"])
    meta = P.build_submit(req, KEY, BASE).json["metadata"]
    assert meta["reference_type"] == "style"
    assert meta["input"]["media"] == [
        {"type": "reference_image", "url": "https://e.com/a.png"},
        {"type": "reference_image", "url": "https://e.com/b.png"},
    ]


def test_receipt_at_top_level() -> None:
    state = P.parse_submit(200, {}, body({"id": "task_1", "task_id": "task_1", "object": "video",
                                          "model": "happyhorse-1.0-t2v", "status": "QUEUED",
                                          "progress": 0, "created_at": 1700000000}))
    assert state.provider_job_id == "task_1"
    assert P.build_poll(state, KEY, BASE).url == f"{BASE}/v1/videos/task_1"


@pytest.mark.parametrize(
    ("code", "error"),
    [("invalid_request", BadRequest), ("insufficient_quota", InsufficientCredits),
     ("rate_limit_exceeded", RateLimited), ("invalid_api_key", AuthError)],
)
def test_business_errors_inside_http_200(code: str, error: type) -> None:
    with pytest.raises(error) as info:
        P.parse_submit(200, {}, body({"error": {"message": "no good", "type": "x", "code": code}}))
    assert "no good" in str(info.value)


@pytest.mark.parametrize(("status", "error"), [(401, AuthError), (500, ServerError)])
def test_http_errors(status: int, error: type) -> None:
    with pytest.raises(error):
        P.parse_submit(status, {}, b"not json at all")


@pytest.mark.parametrize(
    ("raw", "progress", "status"),
    [("SUBMITTED", "0%", Status.QUEUED), ("IN_PROGRESS", "50%", Status.RUNNING),
     ("WEIRD_GATEWAY_STATE", None, Status.RUNNING)],
)
def test_progress_strings_and_unknown_statuses(raw, progress, status) -> None:
    state = P.parse_poll(200, {}, body({"task_id": "t", "status": raw, "progress": progress}))
    assert state.status is status
    if progress == "50%":
        assert state.progress == 50.0


def test_success_result_url_is_resolved_on_the_base_with_the_key() -> None:
    state = P.parse_poll(200, {}, body({"task_id": "t", "status": "SUCCESS", "progress": "100%",
                                        "result_url": "/v1/videos/t/content"}))
    assert state.output_url == "/v1/videos/t/content"
    call = P.build_download(state.output_url, KEY, BASE)
    assert call.url == f"{BASE}/v1/videos/t/content"
    assert call.headers["Authorization"] == f"Bearer {KEY}"
    other = P.build_download("https://cdn.example/v.mp4", KEY, BASE)
    assert "Authorization" not in other.headers


def test_failure_reason() -> None:
    state = P.parse_poll(200, {}, body({"task_id": "t", "status": "FAILURE",
                                        "fail_reason": "moderation"}))
    assert state.status is Status.FAILED and state.error == "moderation"


def test_unreadable_poll_answer() -> None:
    with pytest.raises(UnexpectedAnswer):
        P.parse_poll(200, {}, b"<html>oops</html>")
