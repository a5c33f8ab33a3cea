"""HiAPI's unified async API: ``POST /v1/tasks``, ``GET /v1/tasks/{id}``, ``GET /v1/tasks?page=&size=``.

Auth is ``Authorization: Bearer``. Every answer is ``{code, message, data}``;
errors add ``error_code`` and carry ``data: null``. Terminal callbacks are
POSTed to ``callback.url`` (loopback URLs only; others are accepted, not called).

Image inputs (documented only by model name): ``happyhorse-1.1/image-to-video``
takes ``input.image_url`` (alias ``input.image``); ``happyhorse-1.1/reference-to-video``
takes ``input.reference_images`` (alias ``input.image_urls``), 1 to 9 URLs.
"""

from __future__ import annotations

import math
from typing import Any

from .asgi import Answer, Response, json_response
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
    file_url,
    find_job,
    json_object,
    new_id,
    resolve_image,
    retry_after,
)
from .state import Job, key_owner, price

PROVIDER = "hiapi"
MODELS = {"happyhorse-1.1/text-to-video": "t2v", "happyhorse-1.1/image-to-video": "i2v",
          "happyhorse-1.1/reference-to-video": "r2v"}
RESOLUTIONS = {"720p": "720P", "1080p": "1080P"}
RATIOS = ("16:9", "9:16", "3:4", "4:3", "4:5", "5:4", "1:1", "9:21", "21:9")
INPUT_FIELDS = {"prompt", "negative_prompt", "resolution", "aspect_ratio", "duration", "seed",
                "prompt_extend", "watermark", "image_url", "image", "reference_images",
                "image_urls"}
STATUS = {"queued": "queued", "running": "handling", "archiving": "archiving",
          "succeeded": "success", "failed": "fail"}
ERROR_CODES = {400: "INVALID_REQUEST", 401: "UNAUTHORIZED", 402: "INSUFFICIENT_BALANCE",
               404: "NOT_FOUND", 429: "RATE_LIMITED", 500: "INTERNAL_ERROR",
               502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT"}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """HiAPI's error envelope."""
    return json_response(status, {"code": status, "message": message, "data": None,
                                  "error_code": ERROR_CODES.get(status, "ERROR")}, headers)


def ok(data: Any) -> Response:
    """HiAPI's success envelope."""
    return json_response(200, {"code": 200, "message": "success", "data": data})


def authenticate(ctx: Ctx) -> tuple[str | None, Response | None]:
    """(owner, None) for a valid bearer token, else (None, 401 answer)."""
    token = bearer(ctx.req)
    if not token:
        return None, error(401, "Missing bearer token in the Authorization header")
    if not ctx.state.key_ok(PROVIDER, token):
        return None, error(401, "Invalid API key")
    return key_owner(token), None


async def submit(ctx: Ctx) -> Answer:
    """``POST /v1/tasks``."""
    owner, denied = authenticate(ctx)
    if denied:
        return denied
    body, why = json_object(ctx.req)
    if body is None:
        return error(400, why)
    try:
        params, callback = await _check(ctx, body)
    except Invalid as exc:
        return error(400, "; ".join(exc.problems))
    if ctx.state.balance[PROVIDER] < price(PROVIDER, params.resolution, params.duration):
        return error(402, "Insufficient balance")
    job = create_job(ctx, PROVIDER, new_id("hiapi"), params, owner or "",
                     echo={"model": body["model"]}, notify_url=callback,
                     fail_message="Content moderation rejected the request")
    return ok({"taskId": job.id})


async def _check(ctx: Ctx, body: dict[str, Any]) -> tuple[JobParams, str | None]:
    problems: list[str] = []
    model = body.get("model")
    if not isinstance(model, str) or model not in MODELS:
        raise Invalid([f"model must be one of {', '.join(MODELS)} (got {model!r})"])
    mode = MODELS[model]
    inp = body.get("input")
    if not isinstance(inp, dict):
        raise Invalid(["input is required and must be an object"])
    unknown = sorted(set(inp) - INPUT_FIELDS)
    if unknown:
        problems.append(f"unknown input field(s): {', '.join(unknown)}")
    prompt = check_prompt(inp.get("prompt"), mode != "i2v", problems, "input.prompt")
    negative = check_prompt(inp.get("negative_prompt"), False, problems, "input.negative_prompt")
    res = check_choice(inp.get("resolution", "1080p"), tuple(RESOLUTIONS), problems,
                       "input.resolution")
    ratio = check_choice(inp.get("aspect_ratio", "16:9"), RATIOS, problems, "input.aspect_ratio")
    duration = check_duration(inp.get("duration", 5), problems, "input.duration")
    seed = check_seed(inp.get("seed"), problems, "input.seed")
    check_bool(inp.get("prompt_extend"), problems, "input.prompt_extend")
    check_bool(inp.get("watermark"), problems, "input.watermark")
    image = inp.get("image_url", inp.get("image"))
    refs_in = inp.get("reference_images", inp.get("image_urls"))
    first = None
    refs = []
    if mode == "t2v" and (image or refs_in):
        problems.append(f"{model} takes no images; use happyhorse-1.1/image-to-video or "
                        "happyhorse-1.1/reference-to-video")
    if mode == "i2v":
        if refs_in:
            problems.append("image-to-video takes one input.image_url, not reference images")
        if not image:
            problems.append("input.image_url is required for happyhorse-1.1/image-to-video")
        else:
            first = await resolve_image(ctx, image, "input.image_url", problems)
    if mode == "r2v":
        if image:
            problems.append("reference-to-video takes input.reference_images, not image_url")
        if not isinstance(refs_in, list) or not 1 <= len(refs_in) <= 9:
            problems.append("input.reference_images must be a list of 1 to 9 image URLs")
        else:
            for i, url in enumerate(refs_in):
                got = await resolve_image(ctx, url, f"input.reference_images[{i}]", problems)
                if got:
                    refs.append(got)
    callback = body.get("callback")
    url = None
    if callback is not None:
        if not isinstance(callback, dict) or not isinstance(callback.get("url"), str) \
                or not callback["url"].startswith(("http://", "https://")):
            problems.append("callback.url is required when callback is set (an http(s) URL)")
        elif callback.get("when", "final") != "final":
            problems.append("callback.when must be 'final'")
        else:
            url = callback["url"]
    if problems:
        raise Invalid(problems)
    params = JobParams(model="happyhorse-1.1", mode=mode, prompt=prompt,
                       resolution=RESOLUTIONS[res], aspect_ratio=ratio, duration=duration,
                       seed=seed, negative_prompt=negative, first_frame=first, references=refs)
    return params, url


def task_body(ctx: Ctx, job: Job) -> dict[str, Any]:
    """The task document (``data`` of ``GET /v1/tasks/{id}``, list items, callbacks)."""
    ph = ctx.state.phase(job)
    output: list[dict[str, Any]] = []
    if ph.state == "succeeded":
        expire = ctx.state.file_expires_at(job, ph)
        expire_at = math.floor(expire) if expire is not None else 0
        output = [
            {"url": file_url(ctx, job), "type": "video", "expireAt": expire_at},
            {"url": file_url(ctx, job, "png"), "type": "first_frame", "expireAt": expire_at},
        ]
    return {
        "taskId": job.id,
        "model": job.echo["model"],
        "status": STATUS[ph.state],
        "output": output,
        "error": {"code": "CONTENT_POLICY" if job.fail_reason else "INTERNAL_ERROR",
                  "message": ph.error} if ph.state == "failed" else None,
        "created": int(job.created),
        "completed": int(ph.finished) if ph.finished is not None else 0,
    }


async def poll(ctx: Ctx) -> Answer:
    """``GET /v1/tasks/{id}``."""
    owner, denied = authenticate(ctx)
    if denied:
        return denied
    job = find_job(ctx, PROVIDER)
    if job is None or job.owner != owner:
        return error(404, "Task not found")
    return ok(task_body(ctx, job))


async def list_tasks(ctx: Ctx) -> Answer:
    """``GET /v1/tasks?page=&size=``: the account's tasks, newest first."""
    owner, denied = authenticate(ctx)
    if denied:
        return denied
    q = ctx.req.query
    try:
        page = int(q.get("page", "1"))
        size = int(q.get("size", "20"))
    except ValueError:
        return error(400, "page and size must be integers")
    if page < 1 or not 1 <= size <= 100:
        return error(400, "page must be >= 1 and size between 1 and 100")
    mine = [j for j in list(ctx.state.jobs.values())
            if j.provider == PROVIDER and j.owner == owner]
    mine.sort(key=lambda j: j.seq, reverse=True)
    chunk = mine[(page - 1) * size: page * size]
    return ok({"items": [task_body(ctx, j) for j in chunk], "page": page, "size": size,
               "total": len(mine)})


def fault_answer(ctx: Ctx, status: int, reset_after_s: float) -> Response:
    """Injected errors in HiAPI's envelope (429 carries Retry-After)."""
    if status == 429:
        return error(429, "Too many requests", retry_after(ctx, reset_after_s))
    if status == 503:
        return error(503, "Service busy, retry later with backoff")
    return error(status, f"Server error {status}")
