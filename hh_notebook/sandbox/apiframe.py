"""Apiframe: ``POST /v2/videos/generate`` (HTTP 202 ``{jobId, status}``) and ``GET /v2/jobs/{id}``.

Auth is ``X-API-Key``. The mode follows the number of images in
``happyhorse11Params.images`` (0 t2v, 1 i2v, 2-9 r2v). Apiframe does not document
its HTTP error bodies; the sandbox answers ``{"error": message, "code": CODE}``
(``error`` is a human-readable string, as in a FAILED job).

The body takes what seed 003 lists and nothing else: ``prompt``, ``model``
(``happyhorse-1.1``), ``happyhorse11Params`` and the optional ``webhook_url``; inside the
params, ``images`` (``string[] (URLs)``: http(s) URLs, no base64), ``resolution``
(720p/1080p, default 1080p), ``aspect_ratio`` (5 values) and ``seed``. The page's input
table has no duration, but its Capabilities list 3 s to 15 s, so the sandbox reads
``happyhorse11Params.duration`` (3-15, default 5) as the way to ask for one.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

from .asgi import Answer, Response, json_response
from .common import (
    Ctx,
    ImageRules,
    Invalid,
    JobParams,
    check_choice,
    check_duration,
    check_prompt,
    check_seed,
    create_job,
    file_url,
    find_job,
    is_loopback_url,
    json_object,
    key_owner_of,
    new_id,
    resolve_image,
    retry_after,
    unknown_fields,
)
from .state import Job, price

PROVIDER = "apiframe"
MODEL = "happyhorse-1.1"
RESOLUTIONS = {"720p": "720P", "1080p": "1080P"}
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")
FIELDS = {"prompt", "model", "happyhorse11Params", "webhook_url"}
PARAM_FIELDS = {"images", "resolution", "aspect_ratio", "seed", "duration"}
# Seed 003 types images as "string[] (URLs)" and sets no limits: the shared ones apply.
IMAGES = ImageRules(source="Apiframe's page types images as string[] (URLs)")
STATUS = {"queued": "QUEUED", "running": "PROCESSING", "archiving": "PROCESSING",
          "succeeded": "COMPLETED", "failed": "FAILED"}


def error(status: int, message: str, code: str, headers: dict[str, str] | None = None
          ) -> Response:
    """The sandbox's Apiframe error body."""
    return json_response(status, {"error": message, "code": code}, headers)


def iso(ts: float | None) -> str | None:
    """ISO 8601 UTC with milliseconds, as Apiframe timestamps."""
    if ts is None:
        return None
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def authenticate(ctx: Ctx) -> Response | None:
    """401 unless a valid ``X-API-Key`` header is present."""
    key = ctx.req.headers.get("x-api-key", "").strip()
    if not key:
        return error(401, "Missing API key: send it in the X-API-Key header", "UNAUTHORIZED")
    if not ctx.state.key_ok(PROVIDER, key):
        return error(401, "Invalid API key", "UNAUTHORIZED")
    return None


async def submit(ctx: Ctx) -> Answer:
    """``POST /v2/videos/generate``."""
    denied = authenticate(ctx)
    if denied:
        return denied
    body, why = json_object(ctx.req)
    if body is None:
        return error(400, why, "INVALID_REQUEST")
    try:
        params, webhook = await _check(ctx, body)
    except Invalid as exc:
        return error(400, "; ".join(exc.problems), "INVALID_REQUEST")
    cost = price(PROVIDER, params.resolution, params.duration)
    if ctx.state.balance[PROVIDER] < cost:
        return error(402, f"Insufficient credits: this job needs {cost:g} credits",
                     "INSUFFICIENT_CREDITS")
    job = create_job(ctx, PROVIDER, new_id("uuid"), params, key_owner_of(ctx, "x-api-key"),
                     echo={}, notify_url=webhook,
                     fail_message="The prompt or images were flagged by the content policy; "
                                  "credits have been refunded.")
    return json_response(202, {"jobId": job.id, "status": "QUEUED"})


async def _check(ctx: Ctx, body: dict[str, Any]) -> tuple[JobParams, str | None]:
    problems: list[str] = []
    unknown = unknown_fields(body, FIELDS, "field")
    if unknown:
        problems.append(unknown)
    if body.get("model") != MODEL:
        problems.append(f"model must be {MODEL!r} (got {body.get('model')!r})")
    prompt = check_prompt(body.get("prompt"), True, problems)
    hp = body.get("happyhorse11Params") or {}
    if not isinstance(hp, dict):
        raise Invalid(["happyhorse11Params must be an object"])
    unknown = unknown_fields(hp, PARAM_FIELDS, "happyhorse11Params field")
    if unknown:
        problems.append(unknown)
    res = check_choice(hp.get("resolution", "1080p"), tuple(RESOLUTIONS), problems,
                       "happyhorse11Params.resolution")
    ratio = check_choice(hp.get("aspect_ratio", "16:9"), RATIOS, problems,
                         "happyhorse11Params.aspect_ratio")
    duration = check_duration(hp.get("duration", 5), problems, "happyhorse11Params.duration")
    seed = check_seed(hp.get("seed"), problems, "happyhorse11Params.seed")
    images = hp.get("images") or []
    webhook = body.get("webhook_url")
    if webhook is not None and (not isinstance(webhook, str)
                                or not webhook.startswith(("http://", "https://"))):
        problems.append("webhook_url must be an http(s) URL")
        webhook = None
    first = None
    refs = []
    mode = "t2v"
    if not isinstance(images, list) or len(images) > 9:
        problems.append("happyhorse11Params.images must be a list of at most 9 image URLs")
    elif len(images) == 1:
        mode = "i2v"
        first = await resolve_image(ctx, images[0], "happyhorse11Params.images[0]", problems,
                                    IMAGES)
    elif len(images) >= 2:
        mode = "r2v"
        for i, url in enumerate(images):
            got = await resolve_image(ctx, url, f"happyhorse11Params.images[{i}]", problems,
                                      IMAGES)
            if got:
                refs.append(got)
    if problems:
        raise Invalid(problems)
    params = JobParams(model=MODEL, mode=mode, prompt=prompt, resolution=RESOLUTIONS[res],
                       aspect_ratio=ratio, duration=duration, seed=seed, first_frame=first,
                       references=refs)
    return params, webhook


def job_body(ctx: Ctx, job: Job) -> dict[str, Any]:
    """The job document served by ``GET /v2/jobs/{id}`` and posted to webhooks."""
    ph = ctx.state.phase(job)
    done = ph.state == "succeeded"
    webhook = job.notify_status
    if job.notify_url and not is_loopback_url(job.notify_url):
        # never called: the sandbox does not reach beyond this machine
        webhook = "FAILED" if ph.state in ("succeeded", "failed") else "PENDING"
    return {
        "id": job.id,
        "status": STATUS[ph.state],
        "model": MODEL,
        "progress": math.floor(ph.progress),
        "result": {"videoUrl": file_url(ctx, job), "thumbnailUrl": file_url(ctx, job, "png")}
        if done else None,
        "error": ph.error if ph.state == "failed" else None,
        "creditCost": job.cost if ph.state != "failed" else 0,
        "webhookStatus": webhook,
        "createdAt": iso(job.created),
        "completedAt": iso(ph.finished),
    }


async def poll(ctx: Ctx) -> Answer:
    """``GET /v2/jobs/{id}``."""
    denied = authenticate(ctx)
    if denied:
        return denied
    job = find_job(ctx, PROVIDER)
    if job is None:
        return error(404, "Job not found", "NOT_FOUND")
    return json_response(200, job_body(ctx, job))


def fault_answer(ctx: Ctx, status: int, reset_after_s: float) -> Response:
    """Injected errors in the Apiframe shape (429 carries Retry-After)."""
    if status == 429:
        return error(429, "Too many requests", "RATE_LIMITED", retry_after(ctx, reset_after_s))
    return error(status, "Service temporarily unavailable" if status >= 500 else f"Error {status}",
                 "SERVER_ERROR" if status >= 500 else "ERROR")

