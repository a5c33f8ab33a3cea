"""HiAPI's unified async API: reading its answers (endpoints, fields and limits are in the
catalog).

Every answer is wrapped as ``{code, message, data}``. A submit returns ``data.taskId``; a
task reports ``data.status`` (queued, handling, archiving — generation done, output being
prepared: still running — success, fail) with ``data.output[]`` entries
``{url, type, expireAt}``. The task list (newest first) is how a submit whose answer was
lost gets reconciled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ProviderError
from .base import HttpCall, JobState, ListedTask, Provider, Status, UnexpectedAnswer
from .parsing import (
    error_from_answer,
    join_url,
    parse_json,
    parse_progress,
    parse_timestamp,
    short_text,
)

__all__ = ["HiAPIProvider"]

_OK_CODES = (0, 200)


def _envelope_ok(data: Any) -> bool:
    return isinstance(data, dict) and data.get("code") in _OK_CODES


def _envelope_failed(data: Any) -> bool:
    """A 2xx answer whose envelope code says the call failed."""
    return isinstance(data, dict) and "code" in data and data.get("code") not in _OK_CODES


class HiAPIProvider(Provider):
    """HiAPI: bearer auth, ``{code, message, data}`` envelope, task list for reconcile."""

    name = "hiapi"

    def _envelope_error(
        self, status: int, headers: Mapping[str, str], data: Any, body: bytes
    ) -> ProviderError:
        message = data.get("message") if isinstance(data, dict) else None
        code = data.get("error_code") if isinstance(data, dict) else None
        inner = data.get("code") if isinstance(data, dict) else None
        effective = status
        if 200 <= status < 300 and isinstance(inner, int) and 400 <= inner <= 599:
            effective = inner
        if not message:
            snippet = short_text(body)
            message = f"HTTP {status}" + (f": {snippet}" if snippet else "")
        return error_from_answer(
            self.name, effective, headers, str(message), str(code) if code else None
        )

    def parse_submit(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        data = parse_json(body)
        if not 200 <= status < 300 or _envelope_failed(data):
            raise self._envelope_error(status, headers, data, body)
        inner = data.get("data") if isinstance(data, dict) else None
        task_id = inner.get("taskId") or inner.get("id") if isinstance(inner, dict) else None
        if not isinstance(task_id, str) or not task_id:
            raise UnexpectedAnswer(
                self.name, status, None, f"submit answer without taskId: {short_text(body)}"
            )
        assert isinstance(inner, dict)
        raw = str(inner.get("status") or "queued")
        return JobState(
            status=self.status_of(raw, Status.QUEUED),
            provider_job_id=task_id,
            raw_status=raw,
            created=parse_timestamp(inner.get("created")),
        )

    def build_poll(self, state: JobState, key: str, base: str) -> HttpCall:
        return HttpCall(
            "GET", join_url(base, self.endpoint("status", state.provider_job_id)), self._headers(key)
        )

    def parse_poll(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        data = parse_json(body)
        if status == 404:
            return JobState(
                status=Status.EXPIRED, raw_status="not_found",
                error="HiAPI no longer knows this task",
            )
        if not 200 <= status < 300 or _envelope_failed(data):
            raise self._envelope_error(status, headers, data, body)
        task = data.get("data") if isinstance(data, dict) else None
        if not isinstance(task, dict) or not isinstance(task.get("status"), str):
            raise UnexpectedAnswer(self.name, status, None, f"unreadable task: {short_text(body)}")
        return self._task_state(task)

    def _task_state(self, task: dict[str, Any]) -> JobState:
        raw = str(task["status"])
        mapped = self.status_of(raw)
        output_url = None
        expires_at = None
        urls: dict[str, str] = {}
        outputs = task.get("output")
        if isinstance(outputs, list):
            for item in outputs:
                if not isinstance(item, dict) or not isinstance(item.get("url"), str):
                    continue
                kind = str(item.get("type") or "")
                if kind == "video" and output_url is None:
                    output_url = item["url"]
                    expires_at = parse_timestamp(item.get("expireAt"))
                elif kind:
                    urls.setdefault(kind, item["url"])
        error = None
        if mapped is Status.FAILED:
            err = task.get("error")
            if isinstance(err, dict):
                err = err.get("message") or err.get("code")
            error = str(err) if err else "the task failed at HiAPI"
        if mapped is Status.SUCCEEDED and output_url is None:
            raise UnexpectedAnswer(self.name, 200, None, "success without a video output")
        return JobState(
            status=mapped,
            progress=parse_progress(task.get("progress")),
            provider_job_id=_task_id(task),
            output_url=output_url if mapped is Status.SUCCEEDED else None,
            error=error,
            raw_status=raw,
            expires_at=expires_at,
            urls=urls,
            created=parse_timestamp(task.get("created")),
        )

    def build_list(self, key: str, base: str, page: int = 1, size: int = 50) -> HttpCall:
        return HttpCall(
            "GET", join_url(base, self.endpoint("list")), self._headers(key),
            params={"page": page, "size": size},
        )

    def parse_list(
        self, status: int, headers: Mapping[str, str], body: bytes
    ) -> list[ListedTask]:
        data = parse_json(body)
        if not 200 <= status < 300 or not _envelope_ok(data):
            raise self._envelope_error(status, headers, data, body)
        assert isinstance(data, dict)
        inner = data.get("data")
        items: Any = inner
        if isinstance(inner, dict):
            items = next(
                (inner[k] for k in ("list", "items", "tasks", "records", "data")
                 if isinstance(inner.get(k), list)),
                [],
            )
        if not isinstance(items, list):
            raise UnexpectedAnswer(self.name, status, None, "task list without a list")
        tasks = []
        for item in items:
            if not isinstance(item, dict) or not _task_id(item):
                continue
            inp = item.get("input")
            prompt = inp.get("prompt") if isinstance(inp, dict) else None
            raw = str(item.get("status") or "")
            tasks.append(
                ListedTask(
                    provider_job_id=str(_task_id(item)),
                    created=parse_timestamp(item.get("created")),
                    prompt=prompt if isinstance(prompt, str) else item.get("prompt"),
                    model=item.get("model") if isinstance(item.get("model"), str) else None,
                    status=self.status_of(raw),
                    raw_status=raw or None,
                    **_listed_input(inp if isinstance(inp, dict) else {}),
                )
            )
        return tasks


def _listed_input(inp: dict[str, Any]) -> dict[str, Any]:
    """The parameters a listed task shows in its ``input`` (the list's shape is not
    documented: read what is there, compare nothing that is not)."""
    found: dict[str, Any] = {}
    duration = inp.get("duration")
    if isinstance(duration, int) and not isinstance(duration, bool):
        found["duration"] = duration
    for name in ("resolution", "aspect_ratio"):
        if isinstance(inp.get(name), str):
            found[name] = inp[name]
    urls = inp.get("image_urls", inp.get("reference_image"))
    if isinstance(urls, list) and all(isinstance(u, str) for u in urls):
        found["image_urls"] = tuple(urls)
    return found


def _task_id(task: dict[str, Any]) -> str | None:
    value = task.get("taskId") or task.get("id") or task.get("task_id")
    return str(value) if value else None
