"""Segmind's v2 async API: ``POST /v2/{slug}``, ``/v2/requests/{id}[/status]``, ``/v1/requests/{id}``.

Auth is ``x-api-key`` only. Errors carry ``{"error": message}``; a FAILED request is
served as HTTP 422 whose body keeps ``status`` and ``error``; wrong methods get an
HTML 405 page, as Segmind's gateway does.

Two slugs, each with the fields of its own page; anything else in the body is a 400:

- ``happyhorse-1.1`` (seed 000): ``prompt`` (required), ``aspect_ratio`` (5 values),
  ``duration`` 3-15, ``image`` (URL or base64: image-to-video), ``negative_prompt``,
  ``prompt_extend``, ``reference_images`` (up to 9: reference-to-video), ``resolution``
  (720P/1080P), ``seed``, ``watermark``.
- ``happyhorse`` is HappyHorse 1.0 (segmind.com/models/happyhorse/api, in SUPPLEMENT.md;
  ``happyhorse-1.0`` is no Segmind slug and answers 404): ``prompt`` (required),
  ``aspect_ratio`` (5 values, text-to-video only), ``duration`` **2**-15, ``resolution``,
  ``image`` (first frame), ``last_frame`` (end frame; needs ``image``), ``audio_url`` (MP3/WAV
  speech, 3-30 s, <= 15 MB: lip-sync), ``negative_prompt``, ``prompt_extend``, ``watermark``.
  No ``reference_images`` (reference-to-video arrived with 1.1, seed 001) and, reading the
  page strictly, no ``seed``: it lists none for 1.0.
"""

from __future__ import annotations

import datetime as _dt
import html
from typing import Any

from .asgi import Answer, Response, html_response, json_response
from .common import (
    Ctx,
    ImageRules,
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
    resolve_audio,
    resolve_image,
    unknown_fields,
)
from .state import SEGMIND_RESERVATION, Job

PROVIDER = "segmind"
# slug -> the model it serves
SLUGS = {"happyhorse-1.1": "happyhorse-1.1", "happyhorse": "happyhorse-1.0"}
RESOLUTIONS = ("720P", "1080P")
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")
_COMMON = frozenset({"prompt", "negative_prompt", "resolution", "duration", "aspect_ratio",
                     "image", "prompt_extend", "watermark"})
FIELDS = {"happyhorse-1.1": _COMMON | {"reference_images", "seed"},  # seed 000
          "happyhorse": _COMMON | {"last_frame", "audio_url"}}  # Segmind's 1.0 page
MIN_DURATION = {"happyhorse-1.1": 3, "happyhorse": 2}
HINTS = {
    "happyhorse-1.1": {"last_frame": "a HappyHorse 1.0 field: slug happyhorse",
                       "audio_url": "a HappyHorse 1.0 field: slug happyhorse; 1.1 makes its "
                                    "own audio"},
    "happyhorse": {"reference_images": "reference-to-video needs happyhorse-1.1",
                   "seed": "Segmind's HappyHorse 1.0 page lists no seed"},
}
# Seed 000: image "URL or base64", reference_images "URLs or uploads"; the page gives no
# size limits, so the shared HappyHorse ones apply.
IMAGES = ImageRules(inline=True, source="Segmind's page takes a URL or base64")
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
    if slug not in SLUGS:  # happyhorse-1.0 included: 1.0's slug is happyhorse
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
                     echo={k: body[k] for k in sorted(body)},
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
    unknown = unknown_fields(body, FIELDS[slug], "field", HINTS[slug])
    if unknown:
        problems.append(unknown)
    prompt = check_prompt(body.get("prompt"), True, problems)
    negative = check_prompt(body.get("negative_prompt"), False, problems, "negative_prompt")
    resolution = check_choice(body.get("resolution", "720P"), RESOLUTIONS, problems, "resolution")
    ratio = check_choice(body.get("aspect_ratio", "16:9"), RATIOS, problems, "aspect_ratio")
    duration = check_duration(body.get("duration", 5), problems, low=MIN_DURATION[slug])
    seed = check_seed(body.get("seed"), problems) if "seed" in FIELDS[slug] else None
    check_bool(body.get("prompt_extend"), problems, "prompt_extend")
    check_bool(body.get("watermark"), problems, "watermark")
    params = JobParams(model=SLUGS[slug], mode="t2v", prompt=prompt, resolution=resolution,
                       aspect_ratio=ratio, duration=duration, seed=seed,
                       negative_prompt=negative, takes_seed="seed" in FIELDS[slug])
    await _check_images(ctx, slug, body, params, problems)
    if "last_frame" in FIELDS[slug]:
        await _check_v10_inputs(ctx, body, params, problems)
    if problems:
        raise Invalid(problems)
    return params


def _given(value: Any) -> bool:
    return value not in (None, "", [])


async def _check_images(ctx: Ctx, slug: str, body: dict[str, Any], params: JobParams,
                        problems: list[str]) -> None:
    """The mode follows the payload (seed 001): ``image`` is image-to-video,
    ``reference_images`` (1.1 only) reference-to-video, neither text-to-video."""
    image = body.get("image")
    refs = body.get("reference_images") if "reference_images" in FIELDS[slug] else None
    if _given(image) and _given(refs):
        problems.append("image and reference_images cannot be combined "
                        "(image-to-video or reference-to-video, not both)")
    elif _given(image):
        params.mode = "i2v"
        params.first_frame = await resolve_image(ctx, image, "image", problems, IMAGES)
    elif _given(refs):
        params.mode = "r2v"
        if not isinstance(refs, list) or not 1 <= len(refs) <= 9:
            problems.append("reference_images must be a list of 1 to 9 images")
            return
        for i, ref in enumerate(refs):
            got = await resolve_image(ctx, ref, f"reference_images[{i}]", problems, IMAGES)
            if got:
                params.references.append(got)


async def _check_v10_inputs(ctx: Ctx, body: dict[str, Any], params: JobParams,
                            problems: list[str]) -> None:
    """HappyHorse 1.0's ``last_frame`` (image-to-video only: it needs ``image``) and
    ``audio_url`` (lip-sync), from Segmind's 1.0 page."""
    last = body.get("last_frame")
    if _given(last):
        if params.mode != "i2v":
            problems.append("last_frame needs image: first and last frame is image-to-video")
        else:
            params.last_frame = await resolve_image(ctx, last, "last_frame", problems, IMAGES)
    if _given(body.get("audio_url")):
        params.audio = await resolve_audio(ctx, body["audio_url"], "audio_url", problems)


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
