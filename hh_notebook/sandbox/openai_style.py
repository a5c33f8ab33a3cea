"""The OpenAI-style aggregator (HappyHorse 1.0): ``/v1/video/generations`` (alias ``/v1/videos``),
``GET /v1/videos/{id}`` (alias ``/v1/video/generations/{id}``), ``/v1/videos/{id}/content``.

Auth is ``Authorization: Bearer``. Business failures come back as HTTP 200 with
``{"error": {message, type, code}}`` instead of the receipt; transport-level
problems (auth, unknown task, rate limit, 5xx) use real HTTP statuses with the
same error object.

The body takes the fields seed 002 documents and nothing else (an undocumented one is a
business error): ``model``, ``prompt``, ``size``, ``duration``, ``input_reference`` and
``metadata`` with ``ratio``, ``watermark``, ``seed``, ``reference_type`` and
``input.media[]`` of ``{type, url}``. Images are "image URL"s and "media file URL"s:
http(s) URLs, no base64. The poll answer's ``result_url`` is the documented relative path
``/v1/videos/{task_id}/content``, resolved by the client against the base URL. Besides the
documented ``status``, ``progress``, ``result_url`` and ``fail_reason`` it repeats the
receipt's fields and adds ``completed_at`` (Unix seconds) once the task has ended: the
full task schema is on a page we do not hold.
"""

from __future__ import annotations

from typing import Any

from .asgi import Answer, FileAnswer, Response, json_response
from .common import (
    Ctx,
    ImageRules,
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
    unknown_fields,
)
from .state import Job, price

PROVIDER = "openai"
MODELS = {"happyhorse-1.0-t2v": "t2v", "happyhorse-1.0-i2v": "i2v", "happyhorse-1.0-r2v": "r2v"}
SIZES = ("720P", "1080P")
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "4:5", "5:4", "9:21", "21:9")
FIELDS = {"model", "prompt", "size", "duration", "input_reference", "metadata"}
METADATA_FIELDS = {"ratio", "watermark", "seed", "reference_type", "input"}
MEDIA_TYPES = ("reference_image", "first_frame", "video")
# Seed 002: JPEG/JPG/PNG/WEBP, both sides >= 300 px, <= 10 MB, 1:2.5..2.5:1, by URL.
IMAGES = ImageRules(source="the aggregator documents image URLs")
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
    unknown = unknown_fields(body, FIELDS, "field")
    if unknown:
        problems.append(unknown)
    prompt = check_prompt(body.get("prompt"), mode != "i2v", problems)
    size = check_choice(body.get("size", "1080P"), SIZES, problems, "size")
    duration = check_duration(body.get("duration", 5), problems)
    meta = body.get("metadata") or {}
    if not isinstance(meta, dict):
        raise Invalid(["metadata must be an object"])
    ratio, seed = _check_metadata(meta, mode, problems)
    media = _media(meta, problems)
    params = JobParams(model="happyhorse-1.0", mode=mode, prompt=prompt, resolution=size,
                       aspect_ratio=ratio, duration=duration, seed=seed)
    await _check_images(ctx, model, body.get("input_reference"), media, params, problems)
    if problems:
        raise Invalid(problems)
    return params


def _check_metadata(meta: dict[str, Any], mode: str, problems: list[str]
                    ) -> tuple[str, int | None]:
    """``metadata``'s documented fields; returns (ratio, seed)."""
    unknown = unknown_fields(meta, METADATA_FIELDS, "metadata field")
    if unknown:
        problems.append(unknown)
    ratio = "16:9"
    if mode != "i2v":  # i2v ignores the ratio: the first frame decides the shape
        ratio = check_choice(meta.get("ratio", "16:9"), RATIOS, problems, "metadata.ratio")
    check_bool(meta.get("watermark"), problems, "metadata.watermark")
    seed = check_seed(meta.get("seed"), problems, "metadata.seed")
    if meta.get("reference_type") is not None:
        if mode != "r2v":
            problems.append("metadata.reference_type applies to happyhorse-1.0-r2v only")
        else:
            check_choice(meta["reference_type"], ("subject", "style"), problems,
                         "metadata.reference_type")
    return ratio, seed


def _media(meta: dict[str, Any], problems: list[str]) -> list[dict[str, Any]]:
    """``metadata.input.media[]``: ``{type, url}`` items (nothing else), or [] when absent
    or refused."""
    given = meta.get("input")
    if given is None:
        return []
    if not isinstance(given, dict):
        problems.append("metadata.input must be an object")
        return []
    unknown = unknown_fields(given, {"media"}, "metadata.input field")
    if unknown:
        problems.append(unknown)
    media = given.get("media")
    if media is None:
        return []
    if not isinstance(media, list):
        problems.append("metadata.input.media must be a list")
        return []
    for i, item in enumerate(media):
        if not isinstance(item, dict) or set(item) - {"type", "url"} \
                or item.get("type") not in MEDIA_TYPES or not item.get("url"):
            problems.append(f"metadata.input.media[{i}] must be {{type: reference_image|"
                            "first_frame|video, url}}")
            return []
    return media


async def _check_images(ctx: Ctx, model: str, input_reference: Any,
                        media: list[dict[str, Any]], params: JobParams,
                        problems: list[str]) -> None:
    """t2v takes no images; i2v exactly one first frame (``input_reference`` or one
    ``first_frame`` media item); r2v 1-9 ``reference_image`` media items."""
    if params.mode == "t2v":
        if input_reference or media:
            problems.append(f"{model} takes no images; use the i2v or r2v model")
    elif params.mode == "i2v":
        frames = [m["url"] for m in media if m["type"] == "first_frame"]
        if input_reference:
            frames.insert(0, input_reference)
        if len(frames) != 1 or any(m["type"] != "first_frame" for m in media):
            problems.append(f"{model} needs exactly one first-frame image "
                            "(input_reference or one metadata.input.media first_frame)")
        else:
            params.first_frame = await resolve_image(ctx, frames[0], "input_reference",
                                                     problems, IMAGES)
    else:
        images = [m["url"] for m in media if m["type"] == "reference_image"]
        if input_reference:
            problems.append(f"input_reference is for happyhorse-1.0-i2v; {model} takes "
                            "metadata.input.media reference_image items")
        if not 1 <= len(images) <= 9:
            problems.append(f"{model} needs 1 to 9 metadata.input.media "
                            f"reference_image items (got {len(images)})")
            return
        for i, url in enumerate(images):
            got = await resolve_image(ctx, url, f"metadata.input.media[{i}].url", problems,
                                      IMAGES)
            if got:
                params.references.append(got)


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
        body["result_url"] = f"/v1/videos/{job.id}/content"  # relative, as seed 002 says
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

