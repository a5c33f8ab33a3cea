"""The OpenAI-style aggregator (HappyHorse 1.0): ``/v1/video/generations`` (alias ``/v1/videos``),
``GET /v1/videos/{id}`` (alias ``/v1/video/generations/{id}``), ``/v1/videos/{id}/content``.

Auth is ``Authorization: Bearer``. Business failures come back as HTTP 200 with
``{"error": {message, type, code}}`` instead of the receipt; transport-level
problems (auth, unknown task, rate limit, 5xx) use real HTTP statuses with the
same error object.
"""

from __future__ import annotations

from typing import Any

from .asgi import Answer, FileAnswer, Response, json_response
from .common import (
    Ctx,
    Invalid,
    JobParams,
    bearer,
    check_bool,
    check_choice,
    check_duration,
    check_prompt,
    check_seed,
    create_job,
    find_job,
    json_object,
    key_owner_of,
    new_id,
    resolve_image,
    retry_after,
)
from .state import Job, price

PROVIDER = "openai"
MODELS = {"happyhorse-1.0-t2v": "t2v", "happyhorse-1.0-i2v": "i2v", "happyhorse-1.0-r2v": "r2v"}
SIZES = ("720P", "1080P")
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "4:5", "5:4", "9:21", "21:9")
STATUS = {"queued": "QUEUED", "running": "IN_PROGRESS", "archiving": "IN_PROGRESS",
          "succeeded": "SUCCESS", "failed": "FAILURE"}


def error(status: int, message: str, type_: str, code: str,
          headers: dict[str, str] | None = None) -> Response:
    """The aggregator's error object."""
    return json_response(status, {"error": {"message": message, "type": type_, "code": code}},
                         headers)


def authenticate(ctx: Ctx) -> Response | None:
    """401 unless a valid bearer token is present."""
    token = bearer(ctx.req)
    if not token:
        return error(401, "Missing bearer token in the Authorization header",
                     "authentication_error", "missing_api_key")
    if not ctx.state.key_ok(PROVIDER, token):
        return error(401, "Invalid API key", "authentication_error", "invalid_api_key")
    return None


async def submit(ctx: Ctx) -> Answer:
    """``POST /v1/video/generations`` (and ``/v1/videos``)."""
    denied = authenticate(ctx)
    if denied:
        return denied
    body, why = json_object(ctx.req)
    if body is None:
        return error(400, why, "invalid_request_error", "invalid_json")
    model = body.get("model")
    if not isinstance(model, str) or model not in MODELS:
        return error(200, f"Unknown model {model!r}; use one of {', '.join(MODELS)}",
                     "invalid_request_error", "model_not_found")
    try:
        params = await _check(ctx, model, body)
    except Invalid as exc:
        return error(200, "; ".join(exc.problems), "invalid_request_error", "invalid_parameter")
    if ctx.state.balance[PROVIDER] < price(PROVIDER, params.resolution, params.duration):
        return error(200, "Insufficient account balance for this task", "insufficient_quota",
                     "insufficient_quota")
    job = create_job(ctx, PROVIDER, new_id("openai"), params, key_owner_of(ctx, "bearer"),
                     echo={"model": model},
                     fail_message="Output rejected by content moderation")
    return json_response(200, {
        "id": job.id,
        "task_id": job.id,
        "object": "video",
        "model": model,
        "status": "QUEUED",
        "progress": 0,
        "created_at": int(job.created),
    })


async def _check(ctx: Ctx, model: str, body: dict[str, Any]) -> JobParams:
    mode = MODELS[model]
    problems: list[str] = []
    prompt = check_prompt(body.get("prompt"), mode != "i2v", problems)
    size = check_choice(body.get("size", "1080P"), SIZES, problems, "size")
    duration = check_duration(body.get("duration", 5), problems)
    meta = body.get("metadata") or {}
    if not isinstance(meta, dict):
        raise Invalid(["metadata must be an object"])
    ratio = "16:9"
    if mode != "i2v":
        ratio = check_choice(meta.get("ratio", "16:9"), RATIOS, problems, "metadata.ratio")
    check_bool(meta.get("watermark"), problems, "metadata.watermark")
    seed = check_seed(meta.get("seed"), problems, "metadata.seed")
    if meta.get("reference_type") is not None:
        if mode != "r2v":
            problems.append("metadata.reference_type applies to happyhorse-1.0-r2v only")
        else:
            check_choice(meta["reference_type"], ("subject", "style"), problems,
                         "metadata.reference_type")
    media = (meta.get("input") or {}).get("media") if isinstance(meta.get("input"), dict) else None
    if media is not None and not isinstance(media, list):
        problems.append("metadata.input.media must be a list")
        media = None
    media = media or []
    for i, item in enumerate(media):
        if not isinstance(item, dict) or item.get("type") not in (
                "reference_image", "first_frame", "video") or not item.get("url"):
            problems.append(f"metadata.input.media[{i}] must be {{type: reference_image|"
                            "first_frame|video, url}}")
            media = []
            break
    first = None
    refs = []
    if mode == "t2v":
        if body.get("input_reference") or media:
            problems.append("happyhorse-1.0-t2v takes no images; use the i2v or r2v model")
    elif mode == "i2v":
        frames = [m["url"] for m in media if m["type"] == "first_frame"]
        if body.get("input_reference"):
            frames.insert(0, body["input_reference"])
        if len(frames) != 1 or any(m["type"] != "first_frame" for m in media):
            problems.append("happyhorse-1.0-i2v needs exactly one first-frame image "
                            "(input_reference or one metadata.input.media first_frame)")
        else:
            first = await resolve_image(ctx, frames[0], "input_reference", problems)
    else:
        images = [m["url"] for m in media if m["type"] == "reference_image"]
        if body.get("input_reference"):
            problems.append("input_reference is for happyhorse-1.0-i2v; r2v takes "
                            "metadata.input.media reference_image items")
        if not 1 <= len(images) <= 9:
            problems.append("happyhorse-1.0-r2v needs 1 to 9 metadata.input.media "
                            f"reference_image items (got {len(images)})")
        else:
            for i, url in enumerate(images):
                got = await resolve_image(ctx, url, f"metadata.input.media[{i}].url", problems)
                if got:
                    refs.append(got)
    if problems:
        raise Invalid(problems)
    return JobParams(model="happyhorse-1.0", mode=mode, prompt=prompt, resolution=size,
                     aspect_ratio=ratio, duration=duration, seed=seed, first_frame=first,
                     references=refs)


def _lookup(ctx: Ctx) -> Job | Response:
    """The caller's task, or the 401/404 answer."""
    denied = authenticate(ctx)
    if denied:
        return denied
    job = find_job(ctx, PROVIDER)
    if job is None:
        return error(404, f"Task {ctx.params['id']} not found", "invalid_request_error",
                     "task_not_found")
    return job


async def poll(ctx: Ctx) -> Answer:
    """``GET /v1/videos/{id}``: status, progress as "NN%", result_url or fail_reason."""
    job = _lookup(ctx)
    if isinstance(job, Response):
        return job
    ph = ctx.state.phase(job)
    body: dict[str, Any] = {
        "id": job.id, "task_id": job.id, "object": "video", "model": job.echo["model"],
        "status": STATUS[ph.state], "progress": f"{int(ph.progress)}%",
        "created_at": int(job.created),
    }
    if ph.finished is not None:
        body["completed_at"] = int(ph.finished)
    if ph.state == "succeeded":
        body["result_url"] = f"{ctx.req.origin}/v1/videos/{job.id}/content"
    if ph.state == "failed":
        body["fail_reason"] = ph.error
    return json_response(200, body)


async def content(ctx: Ctx) -> Answer:
    """``GET /v1/videos/{id}/content``: the MP4, with Range support."""
    job = _lookup(ctx)
    if isinstance(job, Response):
        return job
    ph = ctx.state.phase(job)
    if ph.state != "succeeded":
        return error(404, f"Task {job.id} has no content (status {STATUS[ph.state]})",
                     "invalid_request_error", "content_not_ready")
    expires = ctx.state.file_expires_at(job, ph)
    if expires is not None and ctx.state.now() > expires:
        return error(404, f"Content of task {job.id} has expired", "invalid_request_error",
                     "content_expired")
    return FileAnswer(ctx.store.path_for(job.spec.key()), "video/mp4", job.spec.key())


def fault_answer(ctx: Ctx, status: int, reset_after_s: float) -> Response:
    """Injected errors in the aggregator's shape (429 carries Retry-After)."""
    if status == 429:
        return error(429, "Rate limit reached; retry later", "rate_limit_error",
                     "rate_limit_exceeded", retry_after(ctx, reset_after_s))
    return error(status, f"Upstream error ({status}); retry later", "server_error",
                 "upstream_error")

