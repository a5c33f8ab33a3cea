"""The small interface every provider module fills, and the shared vocabulary.

A provider module is pure translation: it turns a :class:`GenerationRequest`
into an :class:`HttpCall` and an HTTP answer ``(status, headers, body)`` into a
normalized :class:`JobState` (or raises a :class:`ProviderError` subclass).
It never touches the network, sleeps or retries: that is the job lifecycle's
business (``hh_notebook.jobs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

from .. import catalog
from ..errors import FieldError, ProviderError, ValidationError
from ..media import ImageData, to_data_url
from ..request import CheckedRequest, GenerationRequest
from .parsing import error_from_answer, error_message, join_url, parse_json, same_origin, short_text

__all__ = [
    "TERMINAL_STATUSES",
    "HttpCall",
    "JobState",
    "ListedTask",
    "Provider",
    "Status",
    "UnexpectedAnswer",
    "build_body",
    "image_strings",
]

#: Headers whose values are secrets and must never be shown.
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization"})


class Status(str, Enum):
    """Normalized job status shared by every provider."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


#: Statuses after which the provider will not change its mind.
TERMINAL_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.EXPIRED})


@dataclass(frozen=True)
class JobState:
    """One provider answer, normalized.

    ``progress`` is a percentage (0–100) when the provider reports one.
    ``urls`` keeps provider URLs exactly as returned (e.g. Segmind's
    ``status_url`` and ``response_url``). ``expires_at`` is a Unix time after
    which the output is gone, when the provider says so.
    """

    status: Status
    progress: float | None = None
    provider_job_id: str | None = None
    output_url: str | None = None
    error: str | None = None
    raw_status: str | None = None
    cost: float | None = None
    expires_at: float | None = None
    urls: dict[str, str] = field(default_factory=dict)
    created: float | None = None


@dataclass(frozen=True)
class HttpCall:
    """An HTTP request to make, described as plain data.

    Its ``repr`` hides secret header values, so an ``HttpCall`` can be logged.
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: Any | None = None
    params: dict[str, Any] | None = None

    def __repr__(self) -> str:
        shown = {
            k: ("***" if k.lower() in SECRET_HEADERS else v) for k, v in self.headers.items()
        }
        return (
            f"HttpCall(method={self.method!r}, url={self.url!r}, headers={shown!r}, "
            f"params={self.params!r}, json={'...' if self.json is not None else None})"
        )


class UnexpectedAnswer(ProviderError):
    """A 2xx answer that could not be understood (missing id, not JSON...).

    On a submit this means the job may exist: the lifecycle marks it unknown.
    """


@dataclass(frozen=True)
class ListedTask:
    """One entry of a provider's task list, used to reconcile a lost submit."""

    provider_job_id: str
    created: float | None
    prompt: str | None
    model: str | None
    status: Status
    raw_status: str | None = None
    #: The parameters the list shows (None: not shown, so not compared).
    duration: int | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    image_urls: tuple[str, ...] | None = None


class Provider:
    """Base class of the provider translations.

    Subclasses set :attr:`name` and implement the ``parse_*`` methods (and the ``build_*``
    ones whose endpoints differ). Every fact about the provider (endpoints, fields, limits,
    polling floors, typical durations, status names) comes from :mod:`hh_notebook.catalog`.
    Durations are in *provider seconds* (as documented); the lifecycle scales them when
    talking to a sandbox.
    """

    name: ClassVar[str] = ""

    # -- facts (from the catalog) ------------------------------------------
    @property
    def facts(self) -> catalog.ProviderFacts:
        """Everything the catalog knows about this provider."""
        return catalog.facts(self.name)

    @property
    def env_key(self) -> str:
        """The environment variable holding the API key."""
        return self.facts.env_key

    @property
    def base_url_env(self) -> str:
        """The environment variable overriding the base URL."""
        return self.facts.base_url_env

    @property
    def default_base_url(self) -> str:
        """The provider's own API root ("" when one must be configured)."""
        return self.facts.default_base_url

    @property
    def min_poll_interval(self) -> float:
        """Never poll more often than this (provider seconds)."""
        return self.facts.min_poll_interval

    @property
    def typical_duration(self) -> tuple[float, float]:
        """Typical generation time (provider seconds), from the provider's page."""
        return self.facts.typical_duration

    @property
    def models(self) -> tuple[str, ...]:
        """Model versions this provider serves; the first is the default."""
        return self.facts.versions

    @property
    def supports_list(self) -> bool:
        """True when :meth:`build_list` / :meth:`parse_list` can reconcile lost submits."""
        return self.facts.lists_tasks

    @property
    def download_needs_key(self) -> bool:
        """True when output downloads need the API key (same-origin only)."""
        return self.facts.download_needs_key

    def endpoint(self, which: str, job_id: str | None = None) -> str:
        """The path of one of the provider's endpoints (``status``, ``result``, ``list``,
        ``content``), for ``job_id``."""
        return self.facts.endpoints[which].replace("{id}", str(job_id))

    def status_of(self, raw: str, default: Status = Status.RUNNING) -> Status:
        """The normalised status of one of the provider's status names (unknown names:
        ``default``, i.e. still running, as unknown statuses must never end a job)."""
        table = self.facts.statuses
        value = table.get(raw) or table.get(raw.upper()) or table.get(raw.lower())
        return Status(value) if value else default

    # -- helpers -----------------------------------------------------------
    def checked(self, request: GenerationRequest | CheckedRequest) -> CheckedRequest:
        """``request`` checked for this provider (a request checked here already is kept)."""
        if isinstance(request, CheckedRequest) and request.provider == self.name:
            return request
        plain = request.request if isinstance(request, CheckedRequest) else request
        return plain.check(self.name)

    def model_for(self, request: GenerationRequest | CheckedRequest) -> str:
        """The model version this request runs on here ("1.1" / "1.0")."""
        if isinstance(request, CheckedRequest):
            return request.version
        return request.model or self.models[0]

    def model_id(self, request: GenerationRequest | CheckedRequest) -> str | None:
        """The provider's model id for this request (the ``model`` field it sends), if any."""
        return self.checked(request).contract.constants.get("model")

    def auth_headers(self, key: str) -> dict[str, str]:
        """Authentication headers for ``key``."""
        return {"Authorization": f"Bearer {key}"}

    def _headers(self, key: str, *, json_body: bool = False) -> dict[str, str]:
        headers = {"Accept": "application/json", **self.auth_headers(key)}
        if json_body:
            headers["Content-Type"] = "application/json"
        return headers

    def _error(self, status_code: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        data = parse_json(body)
        message, code = error_message(data)
        if message is None:
            snippet = short_text(body)
            message = f"HTTP {status_code}" + (f": {snippet}" if snippet else "")
        return error_from_answer(self.name, status_code, headers, message, code)

    # -- the translation interface ---------------------------------------
    def submit_body(self, request: GenerationRequest | CheckedRequest) -> dict[str, Any]:
        """The JSON body of the submit request: exactly the contract's fields."""
        return build_body(self.checked(request))

    def build_submit(self, request: GenerationRequest | CheckedRequest, key: str,
                     base: str) -> HttpCall:
        """The HTTP request that submits ``request``."""
        checked = self.checked(request)
        contract = checked.contract
        return HttpCall(contract.method, join_url(base, contract.path),
                        self._headers(key, json_body=True), json=self.submit_body(checked))

    def parse_submit(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        """The job state from a submit answer; raises :class:`ProviderError` on errors."""
        raise NotImplementedError

    def build_poll(self, state: JobState, key: str, base: str) -> HttpCall:
        """The HTTP request that asks for the status of ``state``'s job."""
        raise NotImplementedError

    def parse_poll(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        """The job state from a status answer; raises :class:`ProviderError` on errors."""
        raise NotImplementedError

    def needs_result(self, state: JobState) -> bool:
        """True when a succeeded state still lacks its output URL (fetch the result)."""
        return False

    def build_result(self, state: JobState, key: str, base: str) -> HttpCall:
        """The HTTP request that fetches the full result (Segmind ``response_url``)."""
        raise NotImplementedError(f"{self.name} has no separate result endpoint")

    def parse_result(self, status: int, headers: Mapping[str, str], body: bytes) -> JobState:
        """The job state from a result answer."""
        return self.parse_poll(status, headers, body)

    def build_download(self, url: str, key: str, base: str) -> HttpCall:
        """The HTTP request that downloads the clip at ``url``.

        The key is only attached when the provider requires it *and* the URL
        is on the provider's own origin: a CDN never sees it.
        """
        headers = {"Accept": "video/mp4,*/*"}
        if self.download_needs_key and same_origin(url, base):
            headers.update(self.auth_headers(key))
        return HttpCall("GET", url, headers)

    def build_list(self, key: str, base: str, page: int = 1, size: int = 50) -> HttpCall:
        """The HTTP request listing recent tasks (only if :attr:`supports_list`)."""
        raise NotImplementedError(f"{self.name} has no task list")

    def parse_list(
        self, status: int, headers: Mapping[str, str], body: bytes
    ) -> list[ListedTask]:
        """Tasks from a list answer (only if :attr:`supports_list`)."""
        raise NotImplementedError(f"{self.name} has no task list")


def image_strings(checked: CheckedRequest) -> dict[str, Any]:
    """The request's images as strings the provider takes (URLs as given, local images as
    ``data:`` URLs where the contract allows inline images): the first and last frames
    (image-to-video only) and the references."""
    inline = checked.contract.inline_images
    i2v = checked.mode.value == "i2v"

    def text(img: ImageData | None, name: str) -> str | None:
        return None if img is None else _image_string(img, name, checked.provider, inline)

    refs = [_image_string(img, f"reference_images[{i}]", checked.provider, inline)
            for i, img in enumerate(checked.references)]
    return {"image": text(checked.image, "image") if i2v else None,
            "last_frame": text(checked.last_frame, "last_frame") if i2v else None,
            "reference_images": refs or None}


def _image_string(img: ImageData, field_name: str, provider: str, inline: bool) -> str:
    if img.kind == "url" or inline:
        return to_data_url(img)
    raise ValidationError([FieldError(
        field=field_name, value=img.path or f"<{img.size} bytes>", allowed="an http(s) URL",
        message=f"{provider} only accepts images by http(s) URL; upload the image somewhere "
                "reachable and pass its URL")])


def build_body(checked: CheckedRequest) -> dict[str, Any]:
    """The submit body of ``checked``: its contract's constants, then every field of the
    contract whose value is set, written at its wire path in its encoding."""
    request = checked.request
    values: dict[str, Any] = {name: getattr(request, name) for name in catalog.REQUEST_PARAMS}
    values.update(image_strings(checked))
    body: dict[str, Any] = dict(checked.contract.constants)
    for wire in checked.contract.fields:
        value = values.get(wire.param)
        if value is None:
            continue
        _put(body, wire.wire, _encode(wire.encode, value))
    return body


def _encode(encoding: str, value: Any) -> Any:
    if encoding == "lower":
        return str(value).lower()
    if encoding == "list":
        return [value]
    if encoding.startswith("media:"):
        kind = encoding.split(":", 1)[1]
        return [{"type": kind, "url": url} for url in value]
    return value


def _put(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = body
    for name in parents:
        node = node.setdefault(name, {})
    node[leaf] = value
