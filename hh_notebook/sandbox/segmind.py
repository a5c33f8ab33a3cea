"""Segmind's v2 async API: ``POST /v2/{slug}``, ``/v2/requests/{id}[/status]``, ``/v1/requests/{id}``.

Auth is ``x-api-key`` only. Errors carry ``{"error": message}``; a FAILED request is
served as HTTP 422 whose body keeps ``status`` and ``error``; wrong methods get an
HTML 405 page, as Segmind's gateway does.
"""

from __future__ import annotations

import datetime as _dt
import html
from typing import Any

from .asgi import Answer, Response, html_response, json_response
from .common import (
    Ctx,
    Invalid,
    JobParams,
    check_bool,
    check_choice,
    check_duration,
    check_prompt,
    check_seed,
    create_job,
    file_url,
    find_job,
    json_object,
    key_owner_of,
    new_id,
    resolve_image,
)
from .state import SEGMIND_RESERVATION, Job

PROVIDER = "segmind"
SLUGS = ("happyhorse-1.1", "happyhorse-1.0")
RESOLUTIONS = ("720P", "1080P")
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")
FIELDS = {"prompt", "negative_prompt", "resolution", "duration", "aspect_ratio", "image",
          "reference_images", "prompt_extend", "seed", "watermark"}
STATUS = {"queued": "QUEUED", "running": "PROCESSING", "archiving": "PROCESSING",
          "succeeded": "COMPLETED", "failed": "FAILED"}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Segmind's error body."""
    return json_response(status, {"error": message}, headers)


def method_not_allowed(method: str, path: str) -> Response:
    """The gateway's HTML 405 page (not JSON: clients must not assume error bodies parse)."""
    return html_response(405, "<html><head><title>405 Not Allowed</title></head><body>"
                         f"<center><h1>405 Not Allowed</h1></center><hr><center>{html.escape(method)}"
                         f" {html.escape(path)}</center></body></html>")


def authenticate(ctx: Ctx) -> Response | None:
    """401 unless a valid ``x-api-key`` header is present (a bearer token is refused)."""
    key = ctx.req.headers.get("x-api-key", "").strip()
    if not key:
        if ctx.req.headers.get("authorization"):
            return error(401, "Unauthorized: send the API key in the x-api-key header; "
                              "bearer tokens are not accepted")
        return error(401, "Unauthorized: missing API key (x-api-key header)")
    if not ctx.state.key_ok(PROVIDER, key):
        return error(401, "Unauthorized: invalid API key")
    return None


async def submit(ctx: Ctx) -> Answer:
    """``POST /v2/{slug}``."""
    slug = ctx.params["slug"]
    if slug not in SLUGS:
        return error(404, f"Model not found: {slug}")
    denied = authenticate(ctx)
    if denied:
        return denied
    if not ctx.req.headers.get("content-type", "").lower().startswith("application/json"):
        return error(406, "Unsupported Content-Type: send application/json")
    body, why = json_object(ctx.req)
    if body is None:
        return error(400, why)
    try:
        params = await _check(ctx, slug, body)
    except Invalid as exc:
        return error(400, "Invalid parameters: " + "; ".join(exc.problems))
    if ctx.state.balance[PROVIDER] < SEGMIND_RESERVATION[slug]:
        return error(406, "Insufficient credits: your balance is below this model's "
                          f"average cost (${SEGMIND_RESERVATION[slug]:.2f}) reserved before "
                          "running. Please top up.")
    job = create_job(ctx, PROVIDER, new_id("uuid"), params, key_owner_of(ctx, "x-api-key"),
                     echo={k: body.get(k) for k in sorted(FIELDS) if k in body},
                     fail_message="Request blocked by content moderation (RAI policy)")
    origin = ctx.req.origin
    return json_response(200, {
        "request_id": job.id,
        "status": "QUEUED",
        "poll_url": f"{origin}/v1/requests/{job.id}",
        "status_url": f"{origin}/v2/requests/{job.id}/status",
        "response_url": f"{origin}/v2/requests/{job.id}",
    })


async def _check(ctx: Ctx, slug: str, body: dict[str, Any]) -> JobParams:
    problems: list[str] = []
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        problems.append(f"unknown field(s): {', '.join(unknown)}")
    prompt = check_prompt(body.get("prompt"), True, problems)
    negative = check_prompt(body.get("negative_prompt"), False, problems, "negative_prompt")
    resolution = check_choice(body.get("resolution", "720P"), RESOLUTIONS, problems, "resolution")
    ratio = check_choice(body.get("aspect_ratio", "16:9"), RATIOS, problems, "aspect_ratio")
    duration = check_duration(body.get("duration", 5), problems)
    seed = check_seed(body.get("seed"), problems)
    check_bool(body.get("prompt_extend"), problems, "prompt_extend")
    check_bool(body.get("watermark"), problems, "watermark")
    image, refs = body.get("image"), body.get("reference_images")
    mode = "t2v"
    first = None
    references = []
    if image not in (None, "") and refs not in (None, []):
        problems.append("image and reference_images cannot be combined "
                        "(image-to-video or reference-to-video, not both)")
    elif image not in (None, ""):
        mode = "i2v"
        first = await resolve_image(ctx, image, "image", problems)
    elif refs not in (None, []):
        mode = "r2v"
        if slug == "happyhorse-1.0":
            problems.append("reference_images is not supported by happyhorse-1.0 "
                            "(reference-to-video needs happyhorse-1.1)")
        elif not isinstance(refs, list) or not 1 <= len(refs) <= 9:
            problems.append("reference_images must be a list of 1 to 9 images")
        else:
            for i, ref in enumerate(refs):
                got = await resolve_image(ctx, ref, f"reference_images[{i}]", problems)
                if got:
                    references.append(got)
    if problems:
        raise Invalid(problems)
    return JobParams(model=slug, mode=mode, prompt=prompt, resolution=resolution,
                     aspect_ratio=ratio, duration=duration, seed=seed,
                     negative_prompt=negative, first_frame=first, references=references)


def _metrics(ctx: Ctx, job: Job, started: float | None, finished: float | None) -> dict[str, Any]:
    ts = ctx.state.time_scale
    now = ctx.state.now()
    queue = ((started or now) - job.created) / ts
    run = ((finished or now) - started) / ts if started else 0.0
    return {"queue_time": round(queue, 2), "inference_time": round(run, 2)}


async def status(ctx: Ctx) -> Answer:
    """``GET /v2/requests/{id}/status``: status and metrics, no output."""
    return _record(ctx, with_output=False)


async def result(ctx: Ctx) -> Answer:
    """``GET /v2/requests/{id}`` and the older ``GET /v1/requests/{id}``: the full result."""
    return _record(ctx, with_output=True)


def _record(ctx: Ctx, with_output: bool) -> Response:
    denied = authenticate(ctx)
    if denied:
        return denied
    job = find_job(ctx, PROVIDER)
    if job is None:
        return error(404, "Request not found")
    ph = ctx.state.phase(job)
    if ctx.state.record_expired(job, ph):
        return error(404, "Request not found (records are kept for 1 hour)")
    body: dict[str, Any] = {"request_id": job.id, "status": STATUS[ph.state]}
    if with_output:
        body["output"] = file_url(ctx, job) if ph.state == "succeeded" else None
    body["metrics"] = _metrics(ctx, job, ph.started, ph.finished)
    if ph.state == "failed":
        body["error"] = ph.error
        return json_response(422, body)
    return json_response(200, body)


def fault_answer(ctx: Ctx, status: int, reset_after_s: float) -> Response:
    """Injected errors in Segmind's shape (429 carries x-rate-limit-reset-at-utc)."""
    if status == 429:
        reset = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(
            seconds=reset_after_s * ctx.state.time_scale)
        return error(429, "Rate limit exceeded",
                     {"x-rate-limit-reset-at-utc": reset.isoformat(timespec="milliseconds")
                      .replace("+00:00", "Z")})
    messages = {500: "Internal server error", 502: "Bad gateway: service temporarily unavailable",
                503: "Service unavailable", 504: "Gateway timeout"}
    return error(status, messages.get(status, f"Error {status}"))
