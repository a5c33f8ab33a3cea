"""One exception hierarchy for hh_notebook.

Every error raised on purpose by the toolkit derives from :class:`HHError`, so
``except HHError`` catches them all. Invalid requests raise
:class:`ValidationError`, which is also a :class:`ValueError` and lists every
problem of the request at once (one :class:`FieldError` each)::

    >>> from hh_notebook.request import GenerationRequest
    >>> try:
    ...     GenerationRequest(prompt="", duration=2).validate()
    ... except ValidationError as exc:
    ...     sorted(e.field for e in exc.errors)
    ['duration', 'prompt']

Messages never contain API keys: provider errors carry the provider's own
message, and the code that builds them is responsible for not passing keys in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AuthError",
    "BadRequest",
    "BudgetExceeded",
    "ConfigError",
    "DownloadError",
    "FieldError",
    "HHError",
    "InsufficientCredits",
    "JobExpired",
    "JobFailed",
    "MediaError",
    "MissingDependency",
    "ProviderError",
    "RateLimited",
    "ServerError",
    "SubmitUncertain",
    "UnknownParameter",
    "ValidationError",
    "register_secret",
    "scrub",
]


#: Every API key this process holds (registered by :class:`hh_notebook.config.Secret`): no
#: error text ever shows one, even when a provider echoes it back.
_SECRETS: set[str] = set()
#: Shorter values are not secrets worth hiding (and would mangle ordinary words).
_MIN_SECRET = 6


def register_secret(value: str) -> None:
    """Hide ``value`` from every error message from now on."""
    if len(value) >= _MIN_SECRET:
        _SECRETS.add(value)


def scrub(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``.

    >>> register_secret("sk-canary-0042")
    >>> scrub("HTTP 401: Invalid API key: sk-canary-0042")
    'HTTP 401: Invalid API key: ***'
    """
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return text


class HHError(Exception):
    """Base class of every error hh_notebook raises on purpose. Its text never shows an API
    key (see :func:`scrub`)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(scrub(a) if isinstance(a, str) else a for a in args))

    def __str__(self) -> str:
        return scrub(super().__str__())


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a request.

    ``field`` names the field (``"duration"``, ``"reference_images[2]"``),
    ``value`` is what was given (a short, safe summary for images and long
    text: never raw bytes), ``allowed`` says what would be accepted and
    ``message`` explains the problem in a sentence.

    >>> str(FieldError("seed", -1, "a whole number, not negative", "seed is negative"))
    'seed: seed is negative (got -1; allowed: a whole number, not negative)'
    """

    field: str
    value: Any
    allowed: str
    message: str

    def __str__(self) -> str:
        return scrub(f"{self.field}: {self.message} (got {self.value!r}; allowed: "
                     f"{self.allowed})")


class ValidationError(HHError, ValueError):
    """A request is invalid; ``.errors`` lists every problem found, not just the first.

    ``str()`` gives one line per problem, so printing the exception is enough
    to fix the request::

        >>> err = ValidationError([FieldError("seed", -1, "a whole number, not negative",
        ...                                   "seed is negative")])
        >>> print(err)
        1 problem with this request:
          - seed: seed is negative (got -1; allowed: a whole number, not negative)
    """

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors: list[FieldError] = list(errors)
        super().__init__(self._render())

    def _render(self) -> str:
        count = len(self.errors)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{count} {noun} with this request:"]
        lines += [f"  - {error}" for error in self.errors]
        return "\n".join(lines)

    @property
    def fields(self) -> list[str]:
        """The names of the invalid fields, in the order they were found."""
        return [error.field for error in self.errors]

    def __str__(self) -> str:
        return scrub(self._render())

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errors,))


class UnknownParameter(HHError, TypeError):
    """A request was given a parameter HappyHorse does not have; ``.names`` lists them.

    The message suggests the right name (``ratio`` → ``aspect_ratio``) and
    explains the one users miss most: there is no audio input.
    """

    def __init__(self, names: Sequence[str], message: str) -> None:
        self.names = list(names)
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.names, str(self)))


class ConfigError(HHError):
    """The toolkit is not configured to do what was asked (no key, unknown provider...)."""


class ProviderError(HHError):
    """A provider answered with an error.

    ``provider`` is the provider name, ``status_code`` the HTTP status (None
    when the error came inside a 200 answer without one), ``code`` the
    provider's own error code if it gave one, ``message`` its explanation and
    ``retry_after`` how many seconds to wait before trying again, when known.

    >>> str(RateLimited("segmind", 429, None, "Too many requests", retry_after=12.0))
    'segmind: HTTP 429: Too many requests (retry after 12 s)'
    """

    def __init__(
        self,
        provider: str,
        status_code: int | None,
        code: str | None,
        message: str,
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        self.status_code = status_code
        self.code = code
        self.message = scrub(message)
        self.retry_after = retry_after
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.provider]
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.code:
            parts.append(str(self.code))
        text = ": ".join(parts) + f": {self.message}"
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g} s)"
        return text

    def __str__(self) -> str:
        return scrub(self._render())

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.provider, self.status_code, self.code, self.message, self.retry_after)
        return (type(self), args)


class AuthError(ProviderError):
    """The key was missing, invalid or not allowed to do this (HTTP 401/403)."""


class InsufficientCredits(ProviderError):
    """The account balance is too low (Segmind HTTP 406 reserves the average cost first)."""


class RateLimited(ProviderError):
    """Too many requests (HTTP 429); ``retry_after`` says how long to wait, when known."""


class BadRequest(ProviderError):
    """The provider rejected the request itself (HTTP 400 or a business error)."""


class ServerError(ProviderError):
    """The provider failed on its side (HTTP 5xx)."""


class _JobError(HHError):
    """An error about one job; ``.job`` is the job concerned when known."""

    def __init__(self, message: str, job: Any = None) -> None:
        self.job = job
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        # The job object may hold clients and locks: it does not travel.
        return (type(self), (str(self),))


class SubmitUncertain(_JobError):
    """The submit may have reached the provider but no answer came back.

    The job is recorded as ``unknown`` rather than resubmitted (creation is
    not idempotent: a blind retry could pay twice); reconcile it instead.
    """


class JobFailed(_JobError):
    """The job ended FAILED at the provider; the message carries the provider's reason."""


class JobExpired(_JobError):
    """The provider no longer has the job or its result (records and outputs expire)."""


class DownloadError(_JobError):
    """The clip could not be downloaded or is not a playable MP4."""


class MediaError(HHError, ValueError):
    """A local media file (a clip to probe, an image) is missing or cannot be read."""


class MissingDependency(HHError, ImportError):
    """An optional package is needed for this (e.g. PyAV for reading clips)."""


class BudgetExceeded(HHError):
    """A run would cost more than the budget allows and was not started.

    ``summary`` says what was refused and why; ``needed`` holds the cap per currency that
    would let it run and ``unknown`` the clips no cap can price, so that each front door can
    say how to go ahead in its own words (``--confirm``, ``--budget USD=10,credits=200``).

    >>> str(BudgetExceeded("12 clips cost $8.40, above the $5.00 budget"))
    '12 clips cost $8.40, above the $5.00 budget'
    """

    def __init__(self, message: str, *, summary: str = "",
                 needed: dict[str, float] | None = None, unknown: int = 0) -> None:
        self.summary = summary or message
        self.needed = dict(needed or {})
        self.unknown = unknown
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_budget_exceeded, (str(self), self.summary, self.needed, self.unknown))


def _budget_exceeded(message: str, summary: str, needed: dict[str, float],
                     unknown: int) -> BudgetExceeded:
    return BudgetExceeded(message, summary=summary, needed=needed, unknown=unknown)
