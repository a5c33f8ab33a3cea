"""What the four provider front ends share: the request context, input checks,
image resolution and job creation."""

from __future__ import annotations

import ipaddress
import math
import re
import secrets
import string
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from .asgi import Request
from .clips import ClipSpec, decode_inline_image, image_problem
from .faults import FaultRule
from .render import ClipStore
from .state import Job, SandboxState, key_owner, price

SEED_MAX = 2147483647
MAX_IMAGE_BYTES = 10 * 1024 * 1024
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f]")


@dataclass
class Ctx:
    """Everything a handler needs about one request."""

    req: Request
    state: SandboxState
    store: ClipStore
    http: httpx.AsyncClient
    params: dict[str, str]
    fired: list[FaultRule] = field(default_factory=list)
    job_id: str | None = None  # set by handlers, for the request log

    def fault(self, kind: str) -> FaultRule | None:
        """The fired rule of this kind, if any."""
        return next((r for r in self.fired if r.kind == kind), None)


class Invalid(Exception):
    """A request the provider refuses; ``problems`` are human-readable lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def json_object(req: Request) -> tuple[dict[str, Any] | None, str]:
    """The request body as a JSON object, or (None, why not) in words every provider uses."""
    try:
        body = req.json()
    except ValueError:
        return None, "Request body is not valid JSON"
    if not isinstance(body, dict):
        return None, "Request body must be a JSON object"
    return body, ""


def is_int(value: Any) -> bool:
    """True for real integers (JSON numbers without a fraction), not booleans."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_prompt(prompt: Any, required: bool, problems: list[str], name: str = "prompt") -> str:
    """Prompt rules shared by all providers: a string, up to 5000 characters,
    2500 when it contains Chinese text."""
    if prompt is None or prompt == "":
        if required:
            problems.append(f"{name} is required")
        return ""
    if not isinstance(prompt, str):
        problems.append(f"{name} must be a string")
        return ""
    limit = 2500 if _CJK.search(prompt) else 5000
    if len(prompt) > limit:
        problems.append(f"{name} is {len(prompt)} characters; the limit is {limit}"
                        + (" for Chinese text" if limit == 2500 else ""))
    return prompt


def check_duration(value: Any, problems: list[str], name: str = "duration") -> int:
    """Whole seconds from 3 to 15."""
    if not is_int(value) or not 3 <= value <= 15:
        problems.append(f"{name} must be an integer from 3 to 15 (got {value!r})")
        return 5
    return int(value)


def check_seed(value: Any, problems: list[str], name: str = "seed") -> int | None:
    """None or an integer 0..2147483647."""
    if value is None:
        return None
    if not is_int(value) or not 0 <= value <= SEED_MAX:
        problems.append(f"{name} must be an integer from 0 to {SEED_MAX} (got {value!r})")
        return None
    return int(value)


def check_choice(value: Any, allowed: tuple[str, ...], problems: list[str], name: str) -> str:
    """One of ``allowed``, matched exactly (case included)."""
    if value not in allowed:
        problems.append(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
        return allowed[0]
    return str(value)


def check_bool(value: Any, problems: list[str], name: str) -> None:
    """None or a JSON boolean."""
    if value is not None and not isinstance(value, bool):
        problems.append(f"{name} must be a boolean (got {value!r})")


def is_loopback_url(url: str) -> bool:
    """Whether an http(s) URL points at this machine (the only place the sandbox may fetch)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class ImageInput:
    """An input image: its bytes when the sandbox could read it, else the URL's host."""

    data: bytes | None
    label: str | None


async def resolve_image(ctx: Ctx, value: Any, name: str, problems: list[str]) -> ImageInput | None:
    """Turn an image field (URL, data URL or base64) into an ImageInput, checking limits.

    Only loopback URLs are fetched; any other http(s) URL is accepted as the provider
    would, and the clip shows a placeholder labelled with its host.
    """
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{name} must be a URL or a base64 image")
        return None
    text = value.strip()
    if text.startswith(("http://", "https://")):
        host = urlsplit(text).hostname
        if not host:
            problems.append(f"{name} is not a valid URL")
            return None
        if not is_loopback_url(text):
            return ImageInput(None, host)
        fetched = await _fetch_capped(ctx, text)
        if isinstance(fetched, str):
            problems.append(f"{name} could not be downloaded ({fetched})")
            return None
        data = fetched
    else:
        decoded = decode_inline_image(text)
        if decoded is None:
            problems.append(f"{name} must be an http(s) URL, a data: URL or base64 image data")
            return None
        data = decoded
    problem, _ = image_problem(data)
    if problem:
        problems.append(f"{name}: {problem}")
        return None
    return ImageInput(data, None)


async def _fetch_capped(ctx: Ctx, url: str) -> bytes | str:
    """GET a loopback URL, reading at most one byte past the 10 MB image limit.
    Returns the bytes, or a short reason."""
    limit = MAX_IMAGE_BYTES + 1
    try:
        async with ctx.http.stream("GET", url, timeout=10.0) as resp:
            if resp.status_code != 200:
                return f"HTTP {resp.status_code}"
            data = bytearray()
            async for chunk in resp.aiter_bytes():
                data += chunk
                if len(data) >= limit:
                    break
            return bytes(data[:limit])
    except httpx.HTTPError as exc:
        return type(exc).__name__


def new_id(kind: str) -> str:
    """A fresh provider-style job id (random: ids never repeat across sandbox runs)."""
    if kind == "uuid":
        return str(uuid.uuid4())
    if kind == "openai":
        alphabet = string.ascii_letters + string.digits
        return "task_" + "".join(secrets.choice(alphabet) for _ in range(24))
    if kind == "hiapi":
        alphabet = string.ascii_lowercase + string.digits
        return "tk-hiapi-" + "".join(secrets.choice(alphabet) for _ in range(26))
    raise ValueError(kind)


@dataclass
class JobParams:
    """Checked parameters, in the sandbox's own (provider-neutral) terms."""

    model: str
    mode: str
    prompt: str
    resolution: str  # "720P" | "1080P"
    aspect_ratio: str
    duration: int
    seed: int | None
    negative_prompt: str = ""
    first_frame: ImageInput | None = None
    references: list[ImageInput] = field(default_factory=list)


def create_job(ctx: Ctx, provider: str, job_id: str, p: JobParams, owner: str,
               echo: dict[str, Any], notify_url: str | None = None,
               fail_message: str = "content blocked by the safety policy") -> Job:
    """Create the job, charge for it, and start encoding its clip."""
    seed = p.seed if p.seed is not None else ctx.state.random_seed()
    refs = [r for r in p.references if r.data is not None]
    spec = ClipSpec(
        provider=provider, model=p.model, mode=p.mode, prompt=p.prompt, seed=seed,
        resolution=p.resolution, aspect_ratio=p.aspect_ratio, duration=p.duration,
        negative_prompt=p.negative_prompt,
        first_frame=p.first_frame.data if p.first_frame else None,
        first_frame_label=p.first_frame.label if p.first_frame else None,
        references=tuple(r.data for r in refs if r.data is not None),
        reference_labels=tuple(r.label for r in p.references if r.label),
    )
    cost = price(provider, p.resolution, p.duration)
    job = ctx.state.new_job(job_id=job_id, provider=provider, model=p.model, mode=p.mode,
                            spec=spec, cost=cost, owner=owner, echo=dict(echo, seed=seed))
    if ctx.fault("fail_job"):
        job.fail_reason = fail_message
    if ctx.fault("expire_early"):
        job.expire_early = True
    if notify_url:
        job.notify_url = notify_url
        job.notify_status = "PENDING"
    ctx.job_id = job.id
    if job.fail_reason is None:  # blocked requests are not charged
        ctx.state.charge(provider, cost)
        ctx.store.request(spec, lambda _path, error: ctx.state.clip_done(job, error))
    return job


def find_job(ctx: Ctx, provider: str) -> Job | None:
    """The job named by the path's ``id`` if it belongs to ``provider``; records the id
    for the request log either way."""
    ctx.job_id = ctx.params["id"]
    job = ctx.state.jobs.get(ctx.job_id)
    return job if job is not None and job.provider == provider else None


def file_url(ctx: Ctx, job: Job, ext: str = "mp4") -> str:
    """Absolute URL of a job's output file on this sandbox."""
    return f"{ctx.req.origin}/files/{job.provider}/{job.id}.{ext}"


def retry_after(ctx: Ctx, reset_after_s: float) -> dict[str, str]:
    """A ``Retry-After`` header for a rate limit lifting in ``reset_after_s`` provider
    seconds: whole real seconds (scaled), at least 1."""
    return {"retry-after": str(max(1, math.ceil(reset_after_s * ctx.state.time_scale)))}


def bearer(req: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header."""
    value = req.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def key_owner_of(ctx: Ctx, header: str) -> str:
    """The account label of the key in ``header`` (``"bearer"`` for Authorization)."""
    key = bearer(ctx.req) if header == "bearer" else ctx.req.headers.get(header, "").strip()
    return key_owner(key or "")
