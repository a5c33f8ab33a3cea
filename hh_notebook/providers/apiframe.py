"""Apiframe: reading its answers (endpoints, fields and limits are in the catalog).

The mode follows the number of images sent: none is text-to-video, one image-to-video,
several reference-to-video. A submit is answered ``{jobId, status}``; a job reports
``status``, ``progress``, ``result`` (a URL string or an object such as ``{videoUrl}``),
``error`` and ``creditCost``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import HttpCall, JobState, Provider, Status, UnexpectedAnswer
from .parsing import find_url, join_url, parse_json, parse_progress, short_text, str_or_none

__all__ = ["ApiframeProvider"]

_RESULT_KEYS = ("videoUrl", "video_url", "url", "video", "videos", "urls", "output")


def result_url(value: Any) -> str | None:
    """The video URL from Apiframe's ``result``: a string, a list, or an object."""
    return find_url(value, _RESULT_KEYS)


class ApiframeProvider(Provider):
    """Apiframe: ``X-API-Key`` auth, 202 ``{jobId}``, one status endpoint per job."""

    name = "apiframe"

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"X-API-Key": key}

    def parse_submit(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        if not 200 <= status < 300:
            raise self._error(status, headers, body)
        data = parse_json(body)
        job_id = None
        if isinstance(data, dict):
            job_id = data.get("jobId") or data.get("id") or data.get("job_id")
        if not isinstance(job_id, str) or not job_id:
            raise UnexpectedAnswer(
                self.name, status, None, f"submit answer without jobId: {short_text(body)}"
            )
        assert isinstance(data, dict)
        raw = str(data.get("status") or "QUEUED")
        return JobState(
            status=self.status_of(raw, Status.QUEUED),
            provider_job_id=job_id,
            raw_status=raw,
        )

    def build_poll(self, state: JobState, key: str, base: str) -> HttpCall:
        return HttpCall(
            "GET", join_url(base, self.endpoint("status", state.provider_job_id)), self._headers(key)
        )

    def parse_poll(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        if status == 404:
            return JobState(
                status=Status.EXPIRED,
                raw_status="NOT_FOUND",
                error="Apiframe no longer knows this job",
            )
        if not 200 <= status < 300:
            raise self._error(status, headers, body)
        data = parse_json(body)
        raw = data.get("status") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(raw, str):
            raise UnexpectedAnswer(self.name, status, None, f"unreadable job: {short_text(body)}")
        mapped = self.status_of(raw)
        error = None
        if mapped is Status.FAILED:
            err = data.get("error")
            if isinstance(err, dict):
                err = err.get("message") or err.get("detail")
            error = str(err) if err else "the job failed at Apiframe (credits are refunded)"
        cost = data.get("creditCost")
        output = result_url(data.get("result")) if mapped is Status.SUCCEEDED else None
        if mapped is Status.SUCCEEDED and not output:
            raise UnexpectedAnswer(
                self.name, status, None, f"COMPLETED job without a result URL: {short_text(body)}"
            )
        return JobState(
            status=mapped,
            progress=parse_progress(data.get("progress")),
            provider_job_id=str_or_none(data.get("id")),
            output_url=output,
            error=error,
            raw_status=raw,
            cost=float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool)
            else None,
        )
