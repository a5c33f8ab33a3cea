"""Segmind's serverless v2 async API: reading its answers (endpoints, fields and limits are
in the catalog).

A submit answers ``request_id``, ``status_url`` (light: status only) and ``response_url``
(the full result with ``output``). We poll the light ``status_url`` as returned and fetch
``response_url`` once, after COMPLETED. A FAILED request is served as HTTP 422 whose body
still says FAILED; an unknown or expired id is a 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InsufficientCredits
from .base import HttpCall, JobState, Provider, Status, UnexpectedAnswer
from .parsing import (
    find_url,
    is_http_url,
    join_url,
    parse_json,
    parse_progress,
    same_origin,
    short_text,
    str_or_none,
)

__all__ = ["RESERVATION_NOTE", "SegmindProvider"]

#: Added to Segmind's 406 answers, whose own text does not say why a cheap clip is refused.
RESERVATION_NOTE = (
    "Segmind reserves the model's average cost before running, so a balance below that "
    "reservation is refused even for a cheaper clip; top up (a balance above about $10 avoids it)"
)

_OUTPUT_KEYS = ("video", "video_url", "url", "output")


def _output_url(value: Any) -> str | None:
    """The video URL from Segmind's ``output`` (a string, a list or an object)."""
    return find_url(value, _OUTPUT_KEYS)


class SegmindProvider(Provider):
    """Segmind: ``x-api-key`` auth, v2 submit, ``status_url`` polling, ``response_url`` result."""

    name = "segmind"

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def parse_submit(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        if not 200 <= status < 300:
            error = self._error(status, headers, body)
            if isinstance(error, InsufficientCredits) and "content-type" not in error.message.lower():
                error = InsufficientCredits(
                    error.provider, error.status_code, error.code,
                    f"{error.message} — {RESERVATION_NOTE}", error.retry_after,
                )
            raise error
        data = parse_json(body)
        request_id = data.get("request_id") if isinstance(data, dict) else None
        if not isinstance(request_id, str) or not request_id:
            raise UnexpectedAnswer(
                self.name, status, None, f"submit answer without request_id: {short_text(body)}"
            )
        assert isinstance(data, dict)
        urls = {
            k: data[k]
            for k in ("status_url", "response_url", "poll_url")
            if isinstance(data.get(k), str) and data[k]
        }
        raw = str(data.get("status") or "QUEUED")
        return JobState(
            status=self.status_of(raw, Status.QUEUED),
            provider_job_id=request_id,
            raw_status=raw,
            urls=urls,
        )

    def _own_url(self, state: JobState, which: str, fallback: str, base: str) -> str:
        # The URL as returned, as long as it stays on the provider's origin:
        # the key is never sent anywhere else.
        url = state.urls.get(which)
        if url and is_http_url(url) and same_origin(url, base):
            return url
        return join_url(base, fallback)

    def build_poll(self, state: JobState, key: str, base: str) -> HttpCall:
        url = self._own_url(
            state, "status_url", self.endpoint("status", state.provider_job_id), base
        )
        return HttpCall("GET", url, self._headers(key))

    def parse_poll(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        data = parse_json(body)
        raw = data.get("status") if isinstance(data, dict) else None
        # FAILED comes as 422 with the body still saying FAILED.
        if isinstance(data, dict) and isinstance(raw, str) and (200 <= status < 300 or
                                                               raw.upper() == "FAILED"):
            mapped = self.status_of(raw)
            error = None
            if mapped is Status.FAILED:
                err = data.get("error") or data.get("detail") or data.get("message")
                error = str(err) if err else "the request failed at Segmind"
            return JobState(
                status=mapped,
                progress=parse_progress(data.get("progress")),
                provider_job_id=str_or_none(data.get("request_id") or data.get("id")),
                output_url=_output_url(data.get("output")) if mapped is Status.SUCCEEDED else None,
                error=error,
                raw_status=raw,
            )
        if status == 404:
            return JobState(
                status=Status.EXPIRED,
                raw_status="NOT_FOUND",
                error="Segmind no longer knows this request (records are kept one hour)",
            )
        if not 200 <= status < 300:
            raise self._error(status, headers, body)
        raise UnexpectedAnswer(self.name, status, None, f"unreadable answer: {short_text(body)}")

    def needs_result(self, state: JobState) -> bool:
        return state.status is Status.SUCCEEDED and not state.output_url

    def build_result(self, state: JobState, key: str, base: str) -> HttpCall:
        url = self._own_url(state, "response_url",
                            self.endpoint("result", state.provider_job_id), base)
        return HttpCall("GET", url, self._headers(key))

    def parse_result(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        state = self.parse_poll(status, headers, body)
        if state.status is Status.SUCCEEDED and not state.output_url:
            raise UnexpectedAnswer(
                self.name, status, None, f"result without an output URL: {short_text(body)}"
            )
        return state
