"""HiAPI's unified async API: ``POST /v1/tasks``, ``GET /v1/tasks/{id}``, ``GET /v1/tasks?page=&size=``.

Auth is ``Authorization: Bearer``. Every answer is ``{code, message, data}``;
errors add ``error_code`` and carry ``data: null``. Terminal callbacks are
POSTed to ``callback.url`` (loopback URLs only; others are accepted, not called).

HiAPI validates ``input`` strictly: a field the model's page does not list is a
``400 INVALID_REQUEST``, not ignored (HiAPI's R2V tutorial, in SUPPLEMENT.md). Per model:

- ``happyhorse-1.1/text-to-video`` (seed 004): ``prompt`` (required), ``resolution``
  (720p/1080p, default 1080p), ``aspect_ratio`` (9 values), ``duration`` (3-15). Nothing
  else: no ``seed``, ``negative_prompt``, ``prompt_extend`` or ``watermark``.
- ``happyhorse-1.1/image-to-video`` (docs.hiapi.ai/models/video/happyhorse-1-1-i2v/):
  ``image_urls``, an array of exactly one URL (JPEG/PNG/WEBP, shortest side >= 300 px,
  <= 20 MB), ``prompt`` (optional), ``resolution``, ``duration``. No ``aspect_ratio``: the
  image decides the shape.
- ``happyhorse-1.1/reference-to-video`` (docs.hiapi.ai/models/video/happyhorse-1-1-r2v/):
  ``reference_image`` (singular), an array of 1-9 URLs (shortest side >= 400 px, <= 20 MB
  each), ``prompt`` (required), ``resolution``, ``aspect_ratio``, ``duration``.

Images are URLs only: no base64 or ``data:`` URL is documented.
"""

from __future__ import annotations

import math
from typing import Any

from .asgi import Answer, Response, json_response
from .common import (
    MB,
    Ctx,
    ImageInput,
    ImageRules,
    Invalid,
    JobParams,
    bearer,
    check_choice,
    check_duration,
    check_prompt,
    create_job,
    file_url,
    find_job,
    json_object,
    new_id,
    resolve_image,
    retry_after,
    unknown_fields,
)
from .state import Job, key_owner, price

PROVIDER = "hiapi"
MODELS = {"happyhorse-1.1/text-to-video": "t2v", "happyhorse-1.1/image-to-video": "i2v",
          "happyhorse-1.1/reference-to-video": "r2v"}
RESOLUTIONS = {"720p": "720P", "1080p": "1080P"}
RATIOS = ("16:9", "9:16", "3:4", "4:3", "4:5", "5:4", "1:1", "9:21", "21:9")
INPUT_FIELDS = {
    "t2v": {"prompt", "resolution", "aspect_ratio", "duration"},
    "i2v": {"image_urls", "prompt", "resolution", "duration"},
    "r2v": {"reference_image", "prompt", "resolution", "aspect_ratio", "duration"},
}
# Where each model's images go, how many, and the limits its page sets.
IMAGE_INPUT = {
    "i2v": ("image_urls", 1, 1, ImageRules(max_bytes=20 * MB, min_side=300, max_ratio=None,
                                           source="HiAPI documents image URLs only")),
    "r2v": ("reference_image", 1, 9, ImageRules(max_bytes=20 * MB, min_side=400, max_ratio=None,
                                                source="HiAPI documents image URLs only")),
}
_NOT_AT_HIAPI = "HiAPI's HappyHorse models take no such input"
HINTS = {
    "t2v": {"image_urls": "images need happyhorse-1.1/image-to-video",
            "reference_image": "references need happyhorse-1.1/reference-to-video"},
    "i2v": {"image_url": "the first frame goes in image_urls, an array of one URL",
            "image": "the first frame goes in image_urls, an array of one URL",
            "aspect_ratio": "image-to-video takes the shape of its image"},
    "r2v": {"reference_images": "the field is reference_image (singular), an array of URLs",
            "image_urls": "references go in reference_image (singular), an array of URLs"},
}
COMMON_HINTS = {name: _NOT_AT_HIAPI
                for name in ("seed", "negative_prompt", "prompt_extend", "watermark")}
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
                     echo={"model": body["model"], "input": dict(body["input"])},
                     notify_url=callback,
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
    unknown = unknown_fields(inp, INPUT_FIELDS[mode], "input field",
                             {**COMMON_HINTS, **HINTS[mode]})
    if unknown:
        problems.append(f"{unknown} for {model}")
    prompt = check_prompt(inp.get("prompt"), mode != "i2v", problems, "input.prompt")
    res = check_choice(inp.get("resolution", "1080p"), tuple(RESOLUTIONS), problems,
                       "input.resolution")
    ratio = "16:9"
    if "aspect_ratio" in INPUT_FIELDS[mode]:
        ratio = check_choice(inp.get("aspect_ratio", "16:9"), RATIOS, problems,
                             "input.aspect_ratio")
    duration = check_duration(inp.get("duration", 5), problems, "input.duration")
    params = JobParams(model="happyhorse-1.1", mode=mode, prompt=prompt,
                       resolution=RESOLUTIONS[res], aspect_ratio=ratio, duration=duration,
                       seed=None, takes_seed=False)
    if mode in IMAGE_INPUT:
        images = await _images(ctx, inp, mode, problems)
        params.first_frame = images[0] if mode == "i2v" and images else None
        params.references = images if mode == "r2v" else []
    url = _callback_url(body.get("callback"), problems)
    if problems:
        raise Invalid(problems)
    return params, url


async def _images(ctx: Ctx, inp: dict[str, Any], mode: str, problems: list[str]
                  ) -> list[ImageInput]:
    """The model's image array: a JSON array of ``low``..``high`` http(s) URLs."""
    name, low, high, rules = IMAGE_INPUT[mode]
    value = inp.get(name)
    count = "exactly one URL" if low == high else f"{low} to {high} URLs"
    if not isinstance(value, list) or not low <= len(value) <= high:
        seen = f"{len(value)} items" if isinstance(value, list) else _kind(value)
        problems.append(f"input.{name} is required: an array of {count} (got {seen})")
        return []
    images = []
    for i, url in enumerate(value):
        got = await resolve_image(ctx, url, f"input.{name}[{i}]", problems, rules)
        if got:
            images.append(got)
    return images


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"a {type(value).__name__}"


def _callback_url(callback: Any, problems: list[str]) -> str | None:
    """``callback: {url, when: "final"}`` (seed 004), or None when there is none."""
    if callback is None:
        return None
    if not isinstance(callback, dict) or not isinstance(callback.get("url"), str) \
            or not callback["url"].startswith(("http://", "https://")):
        problems.append("callback.url is required when callback is set (an http(s) URL)")
    elif callback.get("when", "final") != "final":
        problems.append("callback.when must be 'final'")
    else:
        return str(callback["url"])
    return None


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
    """``GET /v1/tasks?page=&size=``: the account's tasks, newest first.

    No page we hold documents this answer's shape; the sandbox chose
    ``data: {items, page, size, total}``, each item a task document plus the ``input`` it
    was created with (as task lists usually show)."""
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
    items = [dict(task_body(ctx, j), input=j.echo.get("input", {})) for j in chunk]
    return ok({"items": items, "page": page, "size": size,
               "total": len(mine)})


def fault_answer(ctx: Ctx, status: int, reset_after_s: float) -> Response:
    """Injected errors in HiAPI's envelope (429 carries Retry-After)."""
    if status == 429:
        return error(429, "Too many requests", retry_after(ctx, reset_after_s))
    if status == 503:
        return error(503, "Service busy, retry later with backoff")
    return error(status, f"Server error {status}")
