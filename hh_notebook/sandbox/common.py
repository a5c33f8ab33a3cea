"""What the four provider front ends share: the request context, input checks,
image and audio resolution, and job creation."""

from __future__ import annotations

import asyncio
import dataclasses
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
from .audio import MAX_AUDIO_BYTES, audio_problem
from .clips import ClipSpec, decode_inline_image, image_problem
from .faults import FaultRule
from .render import ClipStore
from .state import Job, SandboxState, key_owner, price

SEED_MAX = 2147483647
MB = 1024 * 1024
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


def check_duration(value: Any, problems: list[str], name: str = "duration", low: int = 3) -> int:
    """Whole seconds from ``low`` (3 for HappyHorse 1.1 everywhere; 2 for 1.0 at Segmind) to 15."""
    if not is_int(value) or not low <= value <= 15:
        problems.append(f"{name} must be an integer from {low} to 15 (got {value!r})")
        return 5
    return int(value)


def unknown_fields(given: dict[str, Any], allowed: set[str] | frozenset[str], where: str,
                   hints: dict[str, str] | None = None) -> str | None:
    """The problem line for fields the provider does not document, or None.

    >>> unknown_fields({"prompt": "x", "seed": 1}, {"prompt"}, "input field",
    ...                {"seed": "HiAPI takes no seed"})
    'unknown input field(s): seed (HiAPI takes no seed)'
    """
    unknown = sorted(set(given) - set(allowed))
    if not unknown:
        return None
    notes = [hints[name] for name in unknown if hints and name in hints]
    return (f"unknown {where}(s): {', '.join(unknown)}"
            + (f" ({'; '.join(notes)})" if notes else ""))


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


@dataclass(frozen=True)
class ImageRules:
    """What one provider documents about an image input.

    The defaults are the HappyHorse image limits as the aggregator's page (seed 002)
    states them: JPEG/PNG/WEBP, both sides >= 300 px, <= 10 MB, ratio 1:2.5 to 2.5:1,
    by URL. Segmind's and Apiframe's pages give no limits, so these apply there too.
    """

    max_bytes: int = 10 * MB
    min_side: int = 300
    max_ratio: float | None = 2.5  # long:short bound; None where the provider's page sets none
    inline: bool = False  # whether base64 / data: URLs are taken besides http(s) URLs
    source: str = "the provider's page documents image URLs"


@dataclass
class ImageInput:
    """An input image: its bytes when the sandbox could read it, else the URL's host."""

    data: bytes | None
    label: str | None


@dataclass
class AudioInput:
    """A lip-sync audio file: its bytes when the sandbox could read it, else the URL's host."""

    data: bytes | None
    label: str | None


def _http_host(text: str) -> str | None:
    """The host of an http(s) URL, or None when ``text`` is not one."""
    if not text.startswith(("http://", "https://")):
        return None
    try:
        return urlsplit(text).hostname or None
    except ValueError:
        return None


async def resolve_image(ctx: Ctx, value: Any, name: str, problems: list[str],
                        rules: ImageRules) -> ImageInput | None:
    """Turn an image field (an http(s) URL, or where ``rules.inline`` a data URL or
    base64) into an ImageInput, checking the provider's limits.

    Only loopback URLs are fetched; any other http(s) URL is accepted as the provider
    would, and the clip shows a placeholder labelled with its host.
    """
    text = value.strip() if isinstance(value, str) else ""
    host = _http_host(text)
    if host is not None and not is_loopback_url(text):
        return ImageInput(None, host)
    if host is not None:
        fetched = await fetch_capped(ctx, text, rules.max_bytes + 1)
        if isinstance(fetched, str):
            problems.append(f"{name} could not be downloaded ({fetched})")
            return None
        data = fetched
    elif rules.inline:
        decoded = decode_inline_image(text)
        if decoded is None:
            problems.append(f"{name} must be an http(s) URL, a data: URL or base64 image data")
            return None
        data = decoded
    else:
        problems.append(f"{name} must be an http(s) URL (images are taken by URL only; "
                        f"{rules.source}), got {_describe(value)}")
        return None
    problem, _ = image_problem(data, rules.max_bytes, rules.min_side, rules.max_ratio)
    if problem:
        problems.append(f"{name}: {problem}")
        return None
    return ImageInput(data, None)


async def resolve_audio(ctx: Ctx, value: Any, name: str, problems: list[str]) -> AudioInput | None:
    """Turn a lip-sync ``audio_url`` into an AudioInput. Loopback URLs are fetched and
    checked (MP3 or WAV, 3-30 s, <= 15 MB); other http(s) URLs are accepted unread."""
    text = value.strip() if isinstance(value, str) else ""
    host = _http_host(text)
    if host is None:
        problems.append(f"{name} must be an http(s) URL of an MP3 or WAV file, "
                        f"got {_describe(value)}")
        return None
    if not is_loopback_url(text):
        return AudioInput(None, host)
    fetched = await fetch_capped(ctx, text, MAX_AUDIO_BYTES + 1)
    if isinstance(fetched, str):
        problems.append(f"{name} could not be downloaded ({fetched})")
        return None
    problem = await asyncio.to_thread(audio_problem, fetched)  # FFmpeg reads off the loop
    if problem:
        problems.append(f"{name}: {problem}")
        return None
    return AudioInput(fetched, None)


def _describe(value: Any) -> str:
    """A short account of a refused value (never a whole base64 image)."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return type(value).__name__


async def fetch_capped(ctx: Ctx, url: str, limit: int) -> bytes | str:
    """GET a loopback URL, reading at most ``limit`` bytes (one past the provider's size
    limit, so that too big is seen as too big). Returns the bytes, or a short reason."""
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
    last_frame: ImageInput | None = None
    audio: AudioInput | None = None
    takes_seed: bool = True  # False where the provider's API has no seed field


def create_job(ctx: Ctx, provider: str, job_id: str, p: JobParams, owner: str,
               echo: dict[str, Any], notify_url: str | None = None,
               fail_message: str = "content blocked by the safety policy") -> Job:
    """Create the job, charge for it, and start encoding its clip."""
    spec = _clip_spec(ctx, provider, p)
    cost = price(provider, p.resolution, p.duration)
    job = ctx.state.new_job(job_id=job_id, provider=provider, model=p.model, mode=p.mode,
                            spec=spec, cost=cost, owner=owner, echo=dict(echo, seed=spec.seed))
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


def _clip_spec(ctx: Ctx, provider: str, p: JobParams) -> ClipSpec:
    """The clip a request asks for. A request that could have set a seed and did not gets
    a fresh draw (Segmind: "leave empty for fresh random variations"); where the API takes
    no seed at all, the seed is derived from the request, so identical requests give the
    same clip and share one encode."""
    seed = p.seed
    if seed is None and p.takes_seed:
        seed = ctx.state.random_seed()
    refs = [r for r in p.references if r.data is not None]
    spec = ClipSpec(
        provider=provider, model=p.model, mode=p.mode, prompt=p.prompt, seed=seed or 0,
        resolution=p.resolution, aspect_ratio=p.aspect_ratio, duration=p.duration,
        negative_prompt=p.negative_prompt,
        first_frame=p.first_frame.data if p.first_frame else None,
        first_frame_label=p.first_frame.label if p.first_frame else None,
        references=tuple(r.data for r in refs if r.data is not None),
        reference_labels=tuple(r.label for r in p.references if r.label),
        last_frame=p.last_frame.data if p.last_frame else None,
        last_frame_label=p.last_frame.label if p.last_frame else None,
        audio=p.audio.data if p.audio else None,
        audio_label=p.audio.label if p.audio else None,
    )
    if seed is None:
        spec = dataclasses.replace(spec, seed=int(spec.key(), 16) % (SEED_MAX + 1))
    return spec


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
