"""The OpenAI-style aggregator (HappyHorse 1.0): reading its answers (endpoints, fields and
limits are in the catalog).

The ``model`` field picks the task. Business failures come back as HTTP 200 with
``{"error": {...}}`` instead of the receipt. ``progress`` is a string such as ``"50%"``; on
success ``result_url`` points at the content endpoint, which needs the key and supports
Range. The aggregator's own watermark default is on, so the catalog always sends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ProviderError
from .base import HttpCall, JobState, Provider, Status, UnexpectedAnswer
from .parsing import (
    error_from_answer,
    error_message,
    join_url,
    parse_json,
    parse_progress,
    parse_timestamp,
    short_text,
    str_or_none,
)

__all__ = ["OpenAIStyleProvider"]

# Business error codes inside HTTP 200 that mean something more specific.
_CODE_STATUS = {
    "insufficient_quota": 406,
    "insufficient_balance": 406,
    "rate_limit_exceeded": 429,
    "invalid_api_key": 401,
    "unauthorized": 401,
}


class OpenAIStyleProvider(Provider):
    """The aggregator: bearer auth, per-mode model ids, errors inside HTTP 200."""

    name = "openai"

    def _business_error(
        self, status: int, headers: Mapping[str, str], data: Any
    ) -> ProviderError:
        message, code = error_message(data)
        effective = _CODE_STATUS.get((code or "").lower(), 400)
        return error_from_answer(
            self.name, effective, headers, message or "request rejected", code
        )

    def parse_submit(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        if not 200 <= status < 300:
            raise self._error(status, headers, body)
        data = parse_json(body)
        if isinstance(data, dict) and data.get("error"):
            raise self._business_error(status, headers, data)
        task_id = None
        if isinstance(data, dict):
            task_id = data.get("task_id") or data.get("id")
        if not isinstance(task_id, str) or not task_id:
            raise UnexpectedAnswer(
                self.name, status, None, f"submit answer without a task id: {short_text(body)}"
            )
        assert isinstance(data, dict)
        raw = str(data.get("status") or "QUEUED")
        return JobState(
            status=self.status_of(raw, Status.QUEUED),
            progress=parse_progress(data.get("progress")),
            provider_job_id=task_id,
            raw_status=raw,
            created=parse_timestamp(data.get("created_at")),
        )

    def build_poll(self, state: JobState, key: str, base: str) -> HttpCall:
        return HttpCall(
            "GET", join_url(base, self.endpoint("status", state.provider_job_id)), self._headers(key)
        )

    def parse_poll(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        if status == 404:
            return JobState(
                status=Status.EXPIRED, raw_status="NOT_FOUND",
                error="the aggregator no longer knows this task",
            )
        if not 200 <= status < 300:
            raise self._error(status, headers, body)
        data = parse_json(body)
        if isinstance(data, dict) and data.get("error") and not data.get("status"):
            raise self._business_error(status, headers, data)
        raw = data.get("status") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(raw, str):
            raise UnexpectedAnswer(self.name, status, None, f"unreadable task: {short_text(body)}")
        mapped = self.status_of(raw)
        output = None
        if mapped is Status.SUCCEEDED:
            task_id = data.get("task_id") or data.get("id")
            output = data.get("result_url") or data.get("url") or (
                self.endpoint("content", task_id) if task_id else None
            )
            if not isinstance(output, str) or not output:
                raise UnexpectedAnswer(self.name, status, None, "SUCCESS without a result_url")
        error = None
        if mapped is Status.FAILED:
            reason = data.get("fail_reason") or data.get("error")
            if isinstance(reason, dict):
                reason = reason.get("message")
            error = str(reason) if reason else "the task failed at the aggregator"
        return JobState(
            status=mapped,
            progress=parse_progress(data.get("progress")),
            provider_job_id=str_or_none(data.get("task_id") or data.get("id")),
            output_url=output,
            error=error,
            raw_status=raw,
        )

    def build_download(self, url: str, key: str, base: str) -> HttpCall:
        # result_url is documented as a path on the aggregator: resolve it on the base.
        return super().build_download(join_url(base, url), key, base)
