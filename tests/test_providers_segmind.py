"""Segmind translation, on answer shapes taken from its API page (no network)."""

from __future__ import annotations

import json

import pytest

from hh_notebook.errors import (
    AuthError,
    BadRequest,
    InsufficientCredits,
    RateLimited,
    ServerError,
)
from hh_notebook.providers import Status, get_provider
from hh_notebook.providers.base import JobState, UnexpectedAnswer
from hh_notebook.request import GenerationRequest

KEY = "SG_0123456789abcdef"
BASE = "https://api.segmind.com"
P = get_provider("segmind")


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def test_submit_uses_x_api_key_and_v2_slug() -> None:
    call = P.build_submit(GenerationRequest(prompt="a horse", seed=5), KEY, BASE)
    assert call.method == "POST"
    assert call.url == "https://api.segmind.com/v2/happyhorse-1.1"
    assert call.headers["x-api-key"] == KEY
    assert "Authorization" not in call.headers
    assert call.json["seed"] == 5
    assert call.json["watermark"] is False
    assert call.json["aspect_ratio"] == "16:9"


def test_submit_for_model_1_0_uses_its_own_slug() -> None:
    call = P.build_submit(GenerationRequest(prompt="a horse", model="1.0"), KEY, BASE)
    assert call.url.endswith("/v2/happyhorse")  # Segmind's 1.0 page: slug "happyhorse"


def test_i2v_sends_image_and_no_aspect_ratio() -> None:
    req = GenerationRequest(prompt="move", image="https://e.com/a.png")
    payload = P.build_submit(req, KEY, BASE).json
    assert payload["image"] == "https://e.com/a.png"
    assert "aspect_ratio" not in payload and "reference_images" not in payload


def test_r2v_sends_references_only_even_with_an_image() -> None:
    req = GenerationRequest(prompt="[Image 1] runs", image="https://e.com/a.png",
                            reference_images=["https://e.com/r.png"])
    payload = P.build_submit(req, KEY, BASE).json
    assert payload["reference_images"] == ["https://e.com/r.png"]
    assert "image" not in payload


def test_repr_of_call_hides_the_key() -> None:
    call = P.build_submit(GenerationRequest(prompt="a horse"), KEY, BASE)
    assert KEY not in repr(call)


def test_submit_answer_keeps_absolute_urls() -> None:
    state = P.parse_submit(200, {}, body({
        "request_id": "r1", "status": "QUEUED", "poll_url": f"{BASE}/v1/requests/r1",
        "status_url": f"{BASE}/v2/requests/r1/status", "response_url": f"{BASE}/v2/requests/r1",
    }))
    assert state.provider_job_id == "r1"
    assert state.status is Status.QUEUED
    assert state.urls["status_url"] == f"{BASE}/v2/requests/r1/status"
    poll = P.build_poll(state, KEY, BASE)
    assert poll.url == f"{BASE}/v2/requests/r1/status"
    assert P.build_result(state, KEY, BASE).url == f"{BASE}/v2/requests/r1"


def test_status_url_on_another_origin_is_not_sent_the_key() -> None:
    state = JobState(Status.QUEUED, provider_job_id="r1",
                     urls={"status_url": "https://evil.example/v2/requests/r1/status"})
    assert P.build_poll(state, KEY, BASE).url == f"{BASE}/v2/requests/r1/status"


def test_submit_answer_without_request_id_is_unexpected() -> None:
    with pytest.raises(UnexpectedAnswer):
        P.parse_submit(200, {}, b"<html>gateway</html>")


@pytest.mark.parametrize(
    ("status", "payload", "headers", "error"),
    [
        (400, {"error": "Invalid parameters: duration"}, {}, BadRequest),
        (401, {"error": "Unauthorized: invalid API key"}, {}, AuthError),
        (403, {"error": "Forbidden"}, {}, AuthError),
        (406, {"error": "Insufficient credits"}, {}, InsufficientCredits),
        (429, {"error": "Rate limit exceeded"},
         {"x-rate-limit-reset-at-utc": "2099-01-01T00:00:00.000Z"}, RateLimited),
        (500, {"error": "Internal server error"}, {}, ServerError),
        (502, {"error": "Bad gateway"}, {}, ServerError),
        (504, {"error": "Gateway timeout"}, {}, ServerError),
    ],
)
def test_error_statuses_map_to_error_classes(status, payload, headers, error) -> None:
    with pytest.raises(error) as info:
        P.parse_submit(status, headers, body(payload))
    assert info.value.status_code == status
    assert info.value.provider == "segmind"
    assert payload["error"] in str(info.value)


def test_rate_limit_reset_header_gives_retry_after() -> None:
    with pytest.raises(RateLimited) as info:
        P.parse_submit(429, {"x-rate-limit-reset-at-utc": "2099-01-01T00:00:00Z"},
                       body({"error": "slow down"}))
    assert info.value.retry_after is not None and info.value.retry_after > 1e6


def test_html_405_error_body_does_not_break_parsing() -> None:
    html = b"<html><head><title>405 Not Allowed</title></head><body>405</body></html>"
    with pytest.raises(BadRequest) as info:
        P.parse_submit(405, {"content-type": "text/html"}, html)
    assert "405" in str(info.value)


@pytest.mark.parametrize(
    ("raw", "status"),
    [("QUEUED", Status.QUEUED), ("PROCESSING", Status.RUNNING),
     ("SOMETHING_NEW", Status.RUNNING)],
)
def test_status_values(raw: str, status: Status) -> None:
    state = P.parse_poll(200, {}, body({"request_id": "r1", "status": raw}))
    assert state.status is status
    assert state.raw_status == raw


def test_completed_status_needs_the_result_fetch() -> None:
    state = P.parse_poll(200, {}, body({"request_id": "r1", "status": "COMPLETED",
                                        "metrics": {"inference_time": 120}}))
    assert state.status is Status.SUCCEEDED
    assert P.needs_result(state)
    result = P.parse_result(200, {}, body({"status": "COMPLETED",
                                           "output": "https://cdn.example/v.mp4"}))
    assert result.output_url == "https://cdn.example/v.mp4"
    assert not P.needs_result(result)


def test_failed_is_served_as_422_with_the_error() -> None:
    state = P.parse_poll(422, {}, body({"request_id": "r1", "status": "FAILED",
                                        "error": "Request blocked by content moderation"}))
    assert state.status is Status.FAILED
    assert state.error == "Request blocked by content moderation"


def test_unknown_or_expired_id_is_404_expired() -> None:
    state = P.parse_poll(404, {}, body({"error": "Request not found"}))
    assert state.status is Status.EXPIRED


def test_result_without_output_is_unexpected() -> None:
    with pytest.raises(UnexpectedAnswer):
        P.parse_result(200, {}, body({"status": "COMPLETED", "output": None}))


def test_download_of_a_cdn_url_never_carries_the_key() -> None:
    call = P.build_download("https://cdn.example/v.mp4", KEY, BASE)
    assert KEY not in json.dumps(call.headers)


def test_406_explains_the_balance_reservation() -> None:
    from hh_notebook.providers.segmind import RESERVATION_NOTE

    with pytest.raises(InsufficientCredits) as info:
        P.parse_submit(406, {}, body({"error": "Not enough credits to process request"}))
    text = str(info.value)
    assert text.startswith("segmind: HTTP 406: Not enough credits to process request — ")
    assert RESERVATION_NOTE in text and "reserves the model's average cost" in text


def test_406_for_a_wrong_content_type_is_not_about_credits_text() -> None:
    with pytest.raises(InsufficientCredits) as info:
        P.parse_submit(406, {}, body({"error": "Unsupported Content-Type: send application/json"}))
    assert "reserves" not in str(info.value)
