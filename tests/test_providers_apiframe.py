"""Apiframe translation, on answer shapes taken from its API page (no network)."""

from __future__ import annotations

import json

import pytest

from hh_notebook.errors import AuthError, BadRequest, RateLimited, ServerError
from hh_notebook.providers import Status, get_provider
from hh_notebook.providers.base import UnexpectedAnswer
from hh_notebook.request import GenerationRequest

KEY = "afk_canary_0123456789"
BASE = "https://api.apiframe.ai"
P = get_provider("apiframe")


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def test_submit_shape() -> None:
    req = GenerationRequest(prompt="sunrise", resolution="1080P", seed=1, aspect_ratio="9:16")
    call = P.build_submit(req, KEY, BASE)
    assert call.url == f"{BASE}/v2/videos/generate"
    assert call.headers["X-API-Key"] == KEY
    assert call.json["model"] == "happyhorse-1.1"
    params = call.json["happyhorse11Params"]
    assert params["resolution"] == "1080p"
    assert params["aspect_ratio"] == "9:16"
    assert params["seed"] == 1
    assert "images" not in params


@pytest.mark.parametrize(
    ("kwargs", "count"),
    [({"image": "https://e.com/a.png"}, 1),
     ({"reference_images": ["https://e.com/a.png", "https://e.com/b.png"]}, 2)],
)
def test_mode_follows_image_count(kwargs: dict, count: int) -> None:
    params = P.build_submit(GenerationRequest(prompt="p [Image 1]", **kwargs), KEY,
                            BASE).json["happyhorse11Params"]
    assert len(params["images"]) == count


def test_submit_answer_202_job_id() -> None:
    state = P.parse_submit(202, {}, body({"jobId": "b2c3", "status": "QUEUED"}))
    assert state.provider_job_id == "b2c3"
    assert state.status is Status.QUEUED
    assert P.build_poll(state, KEY, BASE).url == f"{BASE}/v2/jobs/b2c3"


@pytest.mark.parametrize(
    "result",
    ["https://cdn.example/v.mp4", {"videoUrl": "https://cdn.example/v.mp4"},
     ["https://cdn.example/v.mp4"]],
)
def test_completed_result_string_or_object(result: object) -> None:
    state = P.parse_poll(200, {}, body({"id": "b2c3", "status": "COMPLETED", "progress": 100,
                                        "result": result, "creditCost": 120}))
    assert state.status is Status.SUCCEEDED
    assert state.output_url == "https://cdn.example/v.mp4"
    assert state.cost == 120


def test_processing_progress_and_unknown_status() -> None:
    state = P.parse_poll(200, {}, body({"id": "x", "status": "PROCESSING", "progress": 42}))
    assert (state.status, state.progress) == (Status.RUNNING, 42.0)
    state = P.parse_poll(200, {}, body({"id": "x", "status": "WARMING_UP"}))
    assert state.status is Status.RUNNING


def test_failed_carries_the_error() -> None:
    state = P.parse_poll(200, {}, body({"id": "x", "status": "FAILED",
                                        "error": "Content policy violation"}))
    assert state.status is Status.FAILED
    assert state.error == "Content policy violation"


def test_completed_without_result_is_unexpected() -> None:
    with pytest.raises(UnexpectedAnswer):
        P.parse_poll(200, {}, body({"id": "x", "status": "COMPLETED", "result": None}))


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, BadRequest), (401, AuthError), (429, RateLimited), (503, ServerError)],
)
def test_errors(status: int, error: type) -> None:
    with pytest.raises(error):
        P.parse_submit(status, {"retry-after": "3"}, body({"error": "nope"}))


def test_retry_after_header() -> None:
    with pytest.raises(RateLimited) as info:
        P.parse_poll(429, {"Retry-After": "7"}, body({"message": "slow"}))
    assert info.value.retry_after == 7.0


def test_local_image_is_refused_with_a_plain_message(tmp_path) -> None:
    from hh_notebook.errors import ValidationError

    with pytest.raises(ValidationError) as info:
        P.build_submit(GenerationRequest(prompt="p", image=b"\x89PNG..."), KEY, BASE)
    assert "URL" in str(info.value)
