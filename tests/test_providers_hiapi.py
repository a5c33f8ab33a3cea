"""HiAPI translation, on answer shapes taken from its API page (no network)."""

from __future__ import annotations

import json

import pytest

from hh_notebook.errors import AuthError, BadRequest, InsufficientCredits, ServerError
from hh_notebook.providers import Status, get_provider
from hh_notebook.providers.base import UnexpectedAnswer
from hh_notebook.request import GenerationRequest

KEY = "hi_canary_0123456789"
BASE = "https://api.hiapi.ai"
P = get_provider("hiapi")


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def ok(data: object) -> bytes:
    return body({"code": 200, "message": "success", "data": data})


@pytest.mark.parametrize(
    ("kwargs", "model", "field"),
    [({}, "happyhorse-1.1/text-to-video", None),
     ({"image": "https://e.com/a.png"}, "happyhorse-1.1/image-to-video", "image_urls"),
     ({"reference_images": ["https://e.com/a.png"]}, "happyhorse-1.1/reference-to-video",
      "reference_image")],
)
def test_submit_model_per_mode(kwargs: dict, model: str, field: str | None) -> None:
    call = P.build_submit(GenerationRequest(prompt="snow lake", **kwargs), KEY, BASE)
    assert call.url == f"{BASE}/v1/tasks"
    assert call.headers["Authorization"] == f"Bearer {KEY}"
    assert call.json["model"] == model
    assert call.json["input"]["resolution"] == "720p"
    if field:
        assert field in call.json["input"]


def test_submit_answer_envelope() -> None:
    state = P.parse_submit(200, {}, ok({"taskId": "tk-hiapi-abc"}))
    assert state.provider_job_id == "tk-hiapi-abc"
    assert state.status is Status.QUEUED


@pytest.mark.parametrize(
    ("http", "code", "error"),
    [(400, 400, BadRequest), (401, 401, AuthError), (402, 402, InsufficientCredits),
     (503, 503, ServerError), (200, 400, BadRequest)],
)
def test_error_envelopes(http: int, code: int, error: type) -> None:
    with pytest.raises(error) as info:
        P.parse_submit(http, {}, body({"code": code, "message": "bad input", "data": None,
                                       "error_code": "INVALID_REQUEST"}))
    assert "bad input" in str(info.value)


def test_insufficient_balance_code() -> None:
    with pytest.raises(InsufficientCredits):
        P.parse_submit(200, {}, body({"code": 406, "message": "no money", "data": None}))


@pytest.mark.parametrize(
    ("raw", "status"),
    [("queued", Status.QUEUED), ("handling", Status.RUNNING), ("archiving", Status.RUNNING),
     ("brand_new_state", Status.RUNNING)],
)
def test_running_statuses(raw: str, status: Status) -> None:
    state = P.parse_poll(200, {}, ok({"taskId": "t", "status": raw, "output": [],
                                      "created": 1700000000, "completed": 0}))
    assert state.status is status


def test_success_picks_the_video_output_and_expiry() -> None:
    state = P.parse_poll(200, {}, ok({
        "taskId": "t", "status": "success", "created": 1700000000, "completed": 1700000150,
        "output": [{"url": "https://cdn/f.png", "type": "first_frame", "expireAt": 1700086400},
                   {"url": "https://cdn/v.mp4", "type": "video", "expireAt": 1700086400}],
    }))
    assert state.status is Status.SUCCEEDED
    assert state.output_url == "https://cdn/v.mp4"
    assert state.expires_at == 1700086400
    assert state.urls["first_frame"] == "https://cdn/f.png"


def test_fail_carries_the_error_message() -> None:
    state = P.parse_poll(200, {}, ok({"taskId": "t", "status": "fail", "output": [],
                                      "error": {"code": "CONTENT_POLICY", "message": "blocked"}}))
    assert state.status is Status.FAILED and state.error == "blocked"


def test_success_without_video_is_unexpected() -> None:
    with pytest.raises(UnexpectedAnswer):
        P.parse_poll(200, {}, ok({"taskId": "t", "status": "success", "output": []}))


def test_task_list() -> None:
    call = P.build_list(KEY, BASE, page=2, size=50)
    assert call.params == {"page": 2, "size": 50}
    tasks = P.parse_list(200, {}, ok({"items": [
        {"taskId": "tk-1", "model": "happyhorse-1.1/text-to-video", "status": "handling",
         "created": 1700000000, "output": []},
        {"taskId": "tk-2", "model": "happyhorse-1.1/image-to-video", "status": "success",
         "created": 1699999000, "output": []},
    ], "page": 2, "size": 50, "total": 52}))
    assert [t.provider_job_id for t in tasks] == ["tk-1", "tk-2"]
    assert tasks[0].created == 1700000000
    assert tasks[1].model == "happyhorse-1.1/image-to-video"
