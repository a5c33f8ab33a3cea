"""The sandbox's memory: jobs and their wall-clock timeline, keys, balances, the request log.

A job stores only timestamps; its state is computed from them on each request
(:func:`phase`), so hundreds of jobs in flight cost nothing between requests.
"""

from __future__ import annotations

import collections
import hashlib
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .clips import ClipSpec
from .faults import PROVIDERS, FaultBook

# Provider-time constants (seconds), all multiplied by time_scale in real time.
GEN_RANGE = (100.0, 180.0)
QUEUE_RANGE = (2.0, 8.0)
ARCHIVE_S = 4.0
RECORD_TTL = {"segmind": 3600.0}
FILE_TTL = {"segmind": 7 * 86400.0, "hiapi": 86400.0, "openai": 86400.0, "apiframe": 7 * 86400.0}
DEFAULT_BALANCE = {"segmind": 100.0, "apiframe": 10_000.0, "hiapi": 100.0, "openai": 100.0}
# Segmind reserves the model's *average* cost before running (mean duration 9 s,
# mean of the 720P and 1080P per-second prices); a balance below it gets 406.
SEGMIND_RESERVATION = {"happyhorse-1.1": 9 * 0.16, "happyhorse": 9 * 0.20}
PRICE_PER_S = {
    ("segmind", "720P"): 0.14, ("segmind", "1080P"): 0.18,
    ("apiframe", "720P"): 24.0, ("apiframe", "1080P"): 31.0,
    ("hiapi", "720P"): 0.14, ("hiapi", "1080P"): 0.18,
    ("openai", "720P"): 0.14, ("openai", "1080P"): 0.24,
}
LOG_LIMIT = 100_000


@dataclass
class Job:
    """One generation job as the sandbox remembers it (times are sandbox-clock seconds)."""

    id: str
    provider: str
    model: str
    mode: str
    spec: ClipSpec
    created: float
    queue_s: float
    gen_s: float
    cost: float
    owner: str
    seq: int
    echo: dict[str, Any] = field(default_factory=dict)
    fail_reason: str | None = None
    expire_early: bool = False
    notify_url: str | None = None
    notify_status: str | None = None  # None | PENDING | DELIVERED | FAILED
    notify_attempts: int = 0
    notify_next: float = 0.0  # sandbox-clock time of the next delivery attempt
    clip_ready_at: float | None = None
    clip_error: str | None = None


@dataclass(frozen=True)
class Phase:
    """A job's state at one instant: state is queued|running|archiving|succeeded|failed."""

    state: str
    progress: float
    started: float | None
    finished: float | None
    error: str | None = None


def phase(job: Job, now: float, time_scale: float) -> Phase:
    """Compute the job's state at ``now`` from its timestamps."""
    e = (now - job.created) / time_scale
    started = job.created + job.queue_s * time_scale
    if job.fail_reason is not None:
        fail_at = job.queue_s + 0.3 * job.gen_s
        if e >= fail_at:
            return Phase("failed", 30.0, started, job.created + fail_at * time_scale,
                         job.fail_reason)
    if e < job.queue_s:
        return Phase("queued", 0.0, None, None)
    end = job.queue_s + job.gen_s
    if e < end - ARCHIVE_S:
        return Phase("running", min(99.0, 100.0 * (e - job.queue_s) / job.gen_s), started, None)
    if job.clip_error is not None and e >= end:
        return Phase("failed", 99.0, started, job.created + end * time_scale,
                     "internal error while rendering the clip")
    if e < end or job.clip_ready_at is None:
        return Phase("archiving", 99.0, started, None)
    finished = max(job.created + end * time_scale, job.clip_ready_at)
    return Phase("succeeded", 100.0, started, finished)


def _check_range(value: tuple[float, float], name: str) -> tuple[float, float]:
    lo, hi = (float(v) for v in value)
    if not 0 <= lo <= hi:
        raise ValueError(f"{name} must be (low, high) provider seconds with 0 <= low <= high")
    return lo, hi


def key_owner(key: str) -> str:
    """An account label derived from a key (never the key itself)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class SandboxState:
    """Shared state of one sandbox; safe to touch from the owner's thread."""

    def __init__(self, time_scale: float, seed: int = 0,
                 keys: dict[str, list[str] | None] | None = None,
                 gen_range: tuple[float, float] | None = None,
                 queue_range: tuple[float, float] | None = None) -> None:
        if not math.isfinite(time_scale) or time_scale <= 0:  # NaN would never finish a job
            raise ValueError(f"time_scale must be a finite number > 0, got {time_scale!r}")
        self.time_scale = float(time_scale)
        self.gen_range = _check_range(gen_range or GEN_RANGE, "gen_range")
        self.queue_range = _check_range(queue_range or QUEUE_RANGE, "queue_range")
        self.seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self.offset = 0.0
        self.jobs: dict[str, Job] = {}
        self._seq = 0
        self.keys: dict[str, list[str] | None] = {p: None for p in PROVIDERS}
        for provider, allowed in (keys or {}).items():
            self.set_keys(provider, allowed)
        self.balance: dict[str, float] = dict(DEFAULT_BALANCE)
        self.faults = FaultBook()
        self.log: collections.deque[dict[str, Any]] = collections.deque(maxlen=LOG_LIMIT)
        self.changed = threading.Condition()  # a clip, a notification or a request happened
        self.listeners: list[Callable[[], None]] = []  # told when a clip is done

    # clock ---------------------------------------------------------------
    def now(self) -> float:
        """Sandbox clock: wall clock plus any test offset (real seconds)."""
        return time.time() + self.offset

    def advance(self, provider_seconds: float) -> None:
        """Move the sandbox clock forward by ``provider_seconds`` (scaled)."""
        with self._lock:
            self.offset += provider_seconds * self.time_scale

    # accounts ------------------------------------------------------------
    def set_keys(self, provider: str, keys: list[str] | None) -> None:
        """Accept only these keys for ``provider``; None accepts any non-empty key."""
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}")
        if keys is not None and (not isinstance(keys, list)
                                 or not all(isinstance(k, str) and k for k in keys)):
            raise ValueError("keys must be a list of non-empty strings or None")
        self.keys[provider] = list(keys) if keys is not None else None

    def key_ok(self, provider: str, key: str | None) -> bool:
        """Whether ``key`` opens ``provider``."""
        if not key:
            return False
        allowed = self.keys[provider]
        return allowed is None or key in allowed

    def set_balance(self, provider: str, amount: float) -> None:
        """Set a provider account's balance (USD, or credits at Apiframe)."""
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}")
        self.balance[provider] = float(amount)

    def charge(self, provider: str, amount: float) -> None:
        """Take ``amount`` from the balance (refunds are negative amounts)."""
        with self._lock:
            self.balance[provider] = round(self.balance[provider] - amount, 6)

    # jobs ----------------------------------------------------------------
    def new_job(self, *, job_id: str, provider: str, model: str, mode: str, spec: ClipSpec,
                cost: float, owner: str, echo: dict[str, Any]) -> Job:
        """Create and store a job; its timing is drawn deterministically."""
        with self._lock:
            self._seq += 1
            seq = self._seq
        draw = random.Random(f"{self.seed}:{seq}:{spec.key()}")
        job = Job(
            id=job_id, provider=provider, model=model, mode=mode, spec=spec,
            created=self.now(), queue_s=draw.uniform(*self.queue_range),
            gen_s=draw.uniform(*self.gen_range), cost=cost, owner=owner, seq=seq, echo=echo,
        )
        with self._lock:
            self.jobs[job_id] = job
        return job

    def random_seed(self) -> int:
        """A seed for requests that gave none (deterministic per sandbox seed)."""
        with self._lock:
            return self._rng.randint(0, 2147483647)

    def phase(self, job: Job) -> Phase:
        """The job's state now."""
        return phase(job, self.now(), self.time_scale)

    def record_expired(self, job: Job, ph: Phase) -> bool:
        """Whether the provider has forgotten the job's record (Segmind: 1 h after the end)."""
        ttl = RECORD_TTL.get(job.provider)
        if ttl is None or ph.finished is None:
            return False
        limit = ph.finished + (0.0 if job.expire_early else ttl * self.time_scale)
        return self.now() > limit

    def file_expires_at(self, job: Job, ph: Phase) -> float | None:
        """Sandbox-clock time when the output file stops being served."""
        if ph.finished is None:
            return None
        if job.expire_early:
            return ph.finished
        return ph.finished + FILE_TTL[job.provider] * self.time_scale

    def clip_done(self, job: Job, error: str | None) -> None:
        """Called when the job's clip is encoded (or failed to be)."""
        with self.changed:
            if error is None:
                job.clip_ready_at = self.now()
            else:
                job.clip_error = error
            self.changed.notify_all()
        for listener in list(self.listeners):
            listener()

    # request log -----------------------------------------------------------
    def record(self, entry: dict[str, Any]) -> None:
        """Append one request to the log (and wake whoever waits for requests)."""
        with self.changed:
            self.log.append(entry)
            self.changed.notify_all()


def price(provider: str, resolution: str, duration: int) -> float:
    """What the provider charges for a clip (USD, or credits at Apiframe)."""
    return round(PRICE_PER_S[(provider, resolution.upper())] * duration, 4)
