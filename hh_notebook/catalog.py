"""Every provider fact the client uses, in one place: pure data, no logic beyond look-ups.

Names, model versions and slugs, the modes each serves, the exact request fields each
provider takes per mode and version (with the page each comes from), limits, prices,
polling floors, typical generation times and status names. Validation, pricing, the
provider translations, the magic's and the CLI's help and the form all read this module;
nothing else on the client side states a provider fact. (The sandbox keeps its own reading
of the pages and does not import it: where the two disagree, a test fails.)

Sources are named by short ids (:data:`PAGES`): the copies of the providers' public pages in
``shared/reference/`` and the provider pages quoted in its ``SUPPLEMENT.md``.

>>> contract("segmind", "1.1", "t2v").path
'/v2/happyhorse-1.1'
>>> duration_range("openai", "1.0")
(3, 15)
>>> [f.wire for f in contract("hiapi", "1.1", "t2v").fields][:2]
['input.prompt', 'input.resolution']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "CONTRACTS",
    "MODES",
    "PAGES",
    "PROVIDERS",
    "REQUEST_PARAMS",
    "SANDBOX", "SANDBOX_PROTOCOL",
    "Contract",
    "ImageRules",
    "Price",
    "ProviderFacts",
    "WireField",
    "aspect_ratios",
    "contract",
    "default_version",
    "duration_range",
    "facts",
    "price",
    "protocol_of",
    "versions",
]

#: The pages facts come from (ids used in ``source=`` fields below).
PAGES: Mapping[str, str] = MappingProxyType({
    "segmind-1.1": "Segmind HappyHorse 1.1 serverless API page (reference/000)",
    "segmind-guide": "Segmind's HappyHorse 1.1 walkthrough (reference/001)",
    "segmind-1.0": "Segmind HappyHorse 1.0 API page, segmind.com/models/happyhorse/api "
                   "(SUPPLEMENT.md)",
    "aggregator": "the OpenAI-style aggregator's HappyHorse 1.0 page (reference/002)",
    "apiframe": "Apiframe's Happy Horse 1.1 page (reference/003)",
    "hiapi-t2v": "HiAPI's HappyHorse 1.1 text-to-video page (reference/004)",
    "hiapi-i2v": "docs.hiapi.ai/models/video/happyhorse-1-1-i2v/ (SUPPLEMENT.md)",
    "hiapi-r2v": "docs.hiapi.ai/models/video/happyhorse-1-1-r2v/ (SUPPLEMENT.md)",
    "protocols": "PROTOCOLS.md (working notes, where the pages agree)",
})

#: Provider names, in the order used to pick one from the environment.
#: ``"openai"`` is the OpenAI-style aggregator serving HappyHorse 1.0.
PROVIDERS: tuple[str, ...] = ("segmind", "apiframe", "hiapi", "openai")
#: ``provider="sandbox"``: the local sandbox speaking this protocol (synthetic, never paid).
SANDBOX, SANDBOX_PROTOCOL = "sandbox", "segmind"
#: The three HappyHorse tasks.
MODES: tuple[str, ...] = ("t2v", "i2v", "r2v")
#: The request parameters a contract can map (``GenerationRequest`` attribute names).
REQUEST_PARAMS: tuple[str, ...] = (
    "prompt", "negative_prompt", "image", "last_frame", "reference_images", "audio",
    "resolution", "duration", "aspect_ratio", "seed", "prompt_extend", "watermark",
    "reference_type",
)
#: Speech for lip-sync (Segmind 1.0, source: segmind-1.0): MP3/WAV, 3 to 30 s, at most 15 MB.
AUDIO_FORMATS: tuple[str, ...] = ("mp3", "wav")
AUDIO_SECONDS: tuple[int, int] = (3, 30)
AUDIO_MAX_BYTES = 15 * 1024 * 1024
RESOLUTIONS: tuple[str, ...] = ("720P", "1080P")
RATIOS_5: tuple[str, ...] = ("16:9", "9:16", "1:1", "4:3", "3:4")
RATIOS_9: tuple[str, ...] = RATIOS_5 + ("4:5", "5:4", "9:21", "21:9")
DEFAULT_ASPECT_RATIO = "16:9"
DEFAULT_RESOLUTION = "720P"
DEFAULT_DURATION = 5
MAX_SEED = 2_147_483_647
#: Prompt length: 5000 characters, 2500 when Chinese (source: aggregator).
MAX_PROMPT_CHARS = 5000
MAX_PROMPT_CHARS_CHINESE = 2500
#: The negative prompt (no page gives a limit): the prompt's, the only text limit documented;
#: URLs (no page either): RFC 9110 §4.1 asks for support of 8000 octets, no more.
MAX_NEGATIVE_PROMPT_CHARS, MAX_NEGATIVE_PROMPT_CHARS_CHINESE, MAX_URL_CHARS = 5000, 2500, 8000
#: Reference images per request (sources: segmind-1.1, apiframe, aggregator).
MAX_REFERENCES = 9
REFERENCE_TYPES: tuple[str, ...] = ("subject", "style")
ALL_VERSIONS: tuple[str, ...] = ("1.1", "1.0")  # every version any provider serves, newest first


@dataclass(frozen=True)
class ImageRules:
    """Limits on input images (source: aggregator; the other pages agree). ``max_aspect``
    0 means no aspect limit. ``max_pixels`` (no page gives one) is Pillow's decompression-bomb
    threshold: a header claiming more is refused before it is decoded."""

    formats: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp")
    min_side: int = 300
    max_bytes: int = 10 * 1024 * 1024
    max_aspect: float = 2.5
    max_pixels: int = 89_478_485


IMAGE_RULES = ImageRules()


@dataclass(frozen=True)
class Price:
    """A published price: ``per_second`` by resolution, in ``currency``."""

    currency: str
    per_second: Mapping[str, float]
    source: str


@dataclass(frozen=True)
class ProviderFacts:
    """What is true of a provider whatever the mode."""

    name: str
    label: str
    env_key: str
    base_url_env: str
    default_base_url: str
    #: Model versions served; the first is the default.
    versions: tuple[str, ...]
    #: Never poll more often than this (provider seconds).
    min_poll_interval: float
    #: Typical generation time (provider seconds), from the provider's page.
    typical_duration: tuple[float, float]
    #: The currency of its prices ("USD" or "credits").
    currency: str
    #: True when ``GET`` lists the account's tasks (used to reconcile a lost submit).
    lists_tasks: bool
    #: True when the result download needs the API key.
    download_needs_key: bool
    #: Provider status names -> normalised status value.
    statuses: Mapping[str, str]
    #: Endpoint paths other than the submit (``{id}``: the provider's job id): ``status``,
    #: and where they exist ``result``, ``list`` and ``content``.
    endpoints: Mapping[str, str] = field(default_factory=dict)
    #: How long the provider keeps a job's record and output, as its pages say.
    retention: str = ""
    #: What is sent when a request has both a first frame and references.
    both_inputs_note: str = ""
    #: Why there is no price, where none is published.
    unpublished_note: str = ""
    source: str = ""


@dataclass(frozen=True)
class WireField:
    """One request field as a provider takes it.

    ``param`` is the :class:`~hh_notebook.request.GenerationRequest` attribute it carries,
    ``wire`` its dotted path in the JSON body, ``kind`` its JSON type, ``encode`` how the
    value is written (``"lower"``: ``720p``; ``"list"``: one URL in an array;
    ``"media:<type>"``: ``[{type, url}]`` items) and ``source`` the page that documents it.
    A field is sent whenever the request sets it (None means not set).
    """

    param: str
    wire: str
    kind: str
    source: str
    encode: str = ""


@dataclass(frozen=True)
class Contract:
    """How one provider takes one mode of one model version: the endpoint, fixed body
    values, the exact fields, and the limits that apply."""

    provider: str
    version: str
    mode: str
    method: str
    path: str
    constants: Mapping[str, str]
    fields: tuple[WireField, ...]
    durations: tuple[int, int]
    resolutions: tuple[str, ...]
    aspect_ratios: tuple[str, ...]
    prompt_required: bool
    references: tuple[int, int] | None
    inline_images: bool
    source: str
    images: ImageRules = field(default=IMAGE_RULES)

    @property
    def params(self) -> frozenset[str]:
        """The request parameters this contract sends."""
        return frozenset(f.param for f in self.fields)

    def field_for(self, param: str) -> WireField | None:
        """The wire field carrying ``param``, if this contract takes it."""
        return next((f for f in self.fields if f.param == param), None)


# ------------------------------------------------------------------------------- providers

_SEGMIND_STATUSES = {"QUEUED": "queued", "PENDING": "queued", "PROCESSING": "running",
                     "RUNNING": "running", "COMPLETED": "succeeded", "SUCCEEDED": "succeeded",
                     "FAILED": "failed"}
_APIFRAME_STATUSES = {"QUEUED": "queued", "PENDING": "queued", "PROCESSING": "running",
                      "RUNNING": "running", "COMPLETED": "succeeded", "FAILED": "failed"}
_HIAPI_STATUSES = {"queued": "queued", "pending": "queued", "handling": "running",
                   "processing": "running", "archiving": "running", "success": "succeeded",
                   "succeeded": "succeeded", "fail": "failed", "failed": "failed"}
_AGGREGATOR_STATUSES = {"SUBMITTED": "queued", "QUEUED": "queued", "IN_PROGRESS": "running",
                        "PROCESSING": "running", "SUCCESS": "succeeded",
                        "COMPLETED": "succeeded", "FAILURE": "failed", "FAILED": "failed"}

_FACTS: dict[str, ProviderFacts] = {
    "segmind": ProviderFacts(
        name="segmind", label="Segmind", env_key="SEGMIND_API_KEY",
        base_url_env="HH_SEGMIND_BASE_URL", default_base_url="https://api.segmind.com",
        versions=("1.1", "1.0"),
        # Not documented; a status call is light, but a few seconds apart is plenty.
        min_poll_interval=3.0, typical_duration=(100.0, 180.0), currency="USD",
        lists_tasks=False, download_needs_key=False,
        statuses=MappingProxyType(_SEGMIND_STATUSES),
        endpoints=MappingProxyType({"status": "/v2/requests/{id}/status",
                                    "result": "/v2/requests/{id}"}),
        retention="Segmind keeps a request's record for 1 hour after it ends (its API page)",
        both_inputs_note="segmind does not document which field wins when both are sent, so "
                         "hh_notebook sends reference_images only",
        unpublished_note="price not published: segmind's pages price HappyHorse 1.1 only "
                         "(1.0 cost more at 1080P)",
        source="segmind-1.1",
    ),
    "apiframe": ProviderFacts(
        name="apiframe", label="Apiframe", env_key="APIFRAME_API_KEY",
        base_url_env="HH_APIFRAME_BASE_URL", default_base_url="https://api.apiframe.ai",
        versions=("1.1",), min_poll_interval=5.0, typical_duration=(100.0, 180.0),
        currency="credits", lists_tasks=False, download_needs_key=False,
        statuses=MappingProxyType(_APIFRAME_STATUSES), source="apiframe",
        endpoints=MappingProxyType({"status": "/v2/jobs/{id}"}),
        retention="Apiframe's page does not say how long it keeps a job",
        both_inputs_note="apiframe counts images (one = i2v, two to nine = r2v); sending the "
                         "first frame too would make it [Image 1] and shift your [Image N] "
                         "numbering, so hh_notebook sends the references only",
    ),
    "hiapi": ProviderFacts(
        name="hiapi", label="HiAPI", env_key="HIAPI_API_KEY",
        base_url_env="HH_HIAPI_BASE_URL", default_base_url="https://api.hiapi.ai",
        versions=("1.1",), min_poll_interval=5.0, typical_duration=(100.0, 180.0),
        currency="USD", lists_tasks=True, download_needs_key=False,
        statuses=MappingProxyType(_HIAPI_STATUSES),
        endpoints=MappingProxyType({"status": "/v1/tasks/{id}", "list": "/v1/tasks"}),
        retention="HiAPI gives each output its own expiry time (expireAt)",
        both_inputs_note="hiapi picks the task by model id; hh_notebook uses "
                         "happyhorse-1.1/reference-to-video and does not send the image",
        unpublished_note="price not published: hiapi bills per second by resolution (1080p "
                         "costs more) but its page only points to its pricing page",
        source="hiapi-t2v",
    ),
    "openai": ProviderFacts(
        name="openai", label="OpenAI-style aggregator", env_key="HH_OPENAI_API_KEY",
        # An aggregator has no single well-known host: a base URL must be set.
        base_url_env="HH_OPENAI_BASE_URL", default_base_url="",
        versions=("1.0",), min_poll_interval=5.0, typical_duration=(100.0, 150.0),
        currency="USD", lists_tasks=False, download_needs_key=True,
        statuses=MappingProxyType(_AGGREGATOR_STATUSES),
        endpoints=MappingProxyType({"status": "/v1/videos/{id}",
                                    "content": "/v1/videos/{id}/content"}),
        retention="the aggregator's page does not say how long it keeps a task",
        both_inputs_note="openai (the aggregator) picks the task by model id; hh_notebook uses "
                         "happyhorse-1.0-r2v and does not send input_reference",
        unpublished_note="price not published: the aggregator's page gives no price",
        source="aggregator",
    ),
}

#: Published prices: (provider, version) -> Price. Missing: no published price.
PRICES: Mapping[tuple[str, str], Price] = MappingProxyType({
    ("segmind", "1.1"): Price("USD", MappingProxyType({"720P": 0.14, "1080P": 0.18}),
                              "segmind-guide"),
    ("apiframe", "1.1"): Price("credits", MappingProxyType({"720P": 24, "1080P": 31}),
                               "apiframe"),
})


# ------------------------------------------------------------------------------- contracts


def _f(param: str, wire: str, kind: str, source: str, encode: str = "") -> WireField:
    return WireField(param, wire, kind, source, encode)


#: HiAPI's own image limits (SUPPLEMENT.md quoting its i2v and r2v pages): larger files, and
#: references need a 400 px shortest side; no aspect bound is given.
_HIAPI_I2V_IMAGES = ImageRules(min_side=300, max_bytes=20 * 1024 * 1024, max_aspect=0.0)
_HIAPI_R2V_IMAGES = ImageRules(min_side=400, max_bytes=20 * 1024 * 1024, max_aspect=0.0)


def _segmind(version: str, mode: str) -> Contract:
    src = "segmind-1.1" if version == "1.1" else "segmind-1.0"
    fields = [
        _f("prompt", "prompt", "string", src),
        _f("negative_prompt", "negative_prompt", "string", src),
        _f("resolution", "resolution", "string", src),
        _f("duration", "duration", "integer", src),
        _f("prompt_extend", "prompt_extend", "boolean", src),
        _f("watermark", "watermark", "boolean", src),
    ]
    if version == "1.1":  # Segmind's 1.0 page lists no seed
        fields.append(_f("seed", "seed", "integer", src))
    if mode != "i2v":  # "text-to-video only, ignored with an image"
        fields.append(_f("aspect_ratio", "aspect_ratio", "string", src))
    if mode == "i2v":
        fields.append(_f("image", "image", "string", src))
    if mode == "i2v" and version == "1.0":  # the end frame: image-to-video only
        fields.append(_f("last_frame", "last_frame", "string", src))
    if version == "1.0":  # a speech file the clip is lip-synced to
        fields.append(_f("audio", "audio_url", "string", src))
    if mode == "r2v":
        fields.append(_f("reference_images", "reference_images", "string[]", src))
    return Contract(
        provider="segmind", version=version, mode=mode, method="POST",
        # Segmind's 1.0 page: slug "happyhorse" (1.1 lives on "happyhorse-1.1").
        path="/v2/happyhorse-1.1" if version == "1.1" else "/v2/happyhorse",
        constants=MappingProxyType({}), fields=tuple(fields),
        durations=(3, 15) if version == "1.1" else (2, 15), resolutions=RESOLUTIONS,
        aspect_ratios=RATIOS_5 if mode != "i2v" else (), prompt_required=True,
        references=(1, MAX_REFERENCES) if mode == "r2v" else None, inline_images=True,
        source=src,
    )


def _apiframe(mode: str) -> Contract:
    src = "apiframe"
    fields = [
        _f("prompt", "prompt", "string", src),
        _f("resolution", "happyhorse11Params.resolution", "string", src, encode="lower"),
        # The input schema table omits it; the page's Capabilities list 3 s to 15 s.
        _f("duration", "happyhorse11Params.duration", "integer", src),
        _f("seed", "happyhorse11Params.seed", "integer", src),
    ]
    if mode != "i2v":
        fields.append(_f("aspect_ratio", "happyhorse11Params.aspect_ratio", "string", src))
    if mode == "i2v":
        fields.append(_f("image", "happyhorse11Params.images", "string[]", src, encode="list"))
    if mode == "r2v":
        fields.append(_f("reference_images", "happyhorse11Params.images", "string[]", src))
    return Contract(
        provider="apiframe", version="1.1", mode=mode, method="POST",
        path="/v2/videos/generate", constants=MappingProxyType({"model": "happyhorse-1.1"}),
        fields=tuple(fields), durations=(3, 15), resolutions=RESOLUTIONS,
        aspect_ratios=RATIOS_5 if mode != "i2v" else (), prompt_required=True,
        # One image means image-to-video at Apiframe: references start at two.
        references=(2, MAX_REFERENCES) if mode == "r2v" else None, inline_images=False,
        source=src,
    )


_HIAPI_TASKS = {"t2v": "text-to-video", "i2v": "image-to-video", "r2v": "reference-to-video"}


def _hiapi(mode: str) -> Contract:
    # HiAPI validates input strictly: an unknown field is a 400, so only these are sent.
    src = {"t2v": "hiapi-t2v", "i2v": "hiapi-i2v", "r2v": "hiapi-r2v"}[mode]
    fields = [
        _f("prompt", "input.prompt", "string", src),
        _f("resolution", "input.resolution", "string", src, encode="lower"),
        _f("duration", "input.duration", "integer", src),
    ]
    if mode != "i2v":
        fields.append(_f("aspect_ratio", "input.aspect_ratio", "string", src))
    if mode == "i2v":  # an array of exactly one URL
        fields.append(_f("image", "input.image_urls", "string[]", src, encode="list"))
    if mode == "r2v":  # singular name, an array of 1 to 9 URLs
        fields.append(_f("reference_images", "input.reference_image", "string[]", src))
    return Contract(
        provider="hiapi", version="1.1", mode=mode, method="POST", path="/v1/tasks",
        constants=MappingProxyType({"model": f"happyhorse-1.1/{_HIAPI_TASKS[mode]}"}),
        fields=tuple(fields), durations=(3, 15), resolutions=RESOLUTIONS,
        aspect_ratios=RATIOS_9 if mode != "i2v" else (), prompt_required=mode != "i2v",
        references=(1, MAX_REFERENCES) if mode == "r2v" else None, inline_images=False,
        source=src, images=_HIAPI_R2V_IMAGES if mode == "r2v" else _HIAPI_I2V_IMAGES,
    )


def _aggregator(mode: str) -> Contract:
    src = "aggregator"
    fields = [
        _f("prompt", "prompt", "string", src),
        _f("resolution", "size", "string", src),
        _f("duration", "duration", "integer", src),
        # Its default is True: always sent, so a clip never gets an unasked watermark.
        _f("watermark", "metadata.watermark", "boolean", src),
        _f("seed", "metadata.seed", "integer", src),
    ]
    if mode != "i2v":
        fields.append(_f("aspect_ratio", "metadata.ratio", "string", src))
    if mode == "i2v":
        fields.append(_f("image", "input_reference", "string", src))
    if mode == "r2v":
        fields.append(_f("reference_images", "metadata.input.media", "object[]", src,
                         encode="media:reference_image"))
        fields.append(_f("reference_type", "metadata.reference_type", "string", src))
    return Contract(
        provider="openai", version="1.0", mode=mode, method="POST",
        path="/v1/video/generations",
        constants=MappingProxyType({"model": f"happyhorse-1.0-{mode}"}),
        fields=tuple(fields), durations=(3, 15), resolutions=RESOLUTIONS,
        aspect_ratios=RATIOS_9 if mode != "i2v" else (), prompt_required=mode != "i2v",
        references=(1, MAX_REFERENCES) if mode == "r2v" else None, inline_images=False,
        source=src,
    )


def _build_contracts() -> dict[tuple[str, str, str], Contract]:
    table: dict[tuple[str, str, str], Contract] = {}
    for mode in MODES:
        table[("segmind", "1.1", mode)] = _segmind("1.1", mode)
        if mode != "r2v":  # reference-to-video is new in 1.1 (segmind-guide)
            table[("segmind", "1.0", mode)] = _segmind("1.0", mode)
        table[("apiframe", "1.1", mode)] = _apiframe(mode)
        table[("hiapi", "1.1", mode)] = _hiapi(mode)
        table[("openai", "1.0", mode)] = _aggregator(mode)
    return table


#: (provider, version, mode) -> Contract: every path a request can take.
CONTRACTS: Mapping[tuple[str, str, str], Contract] = MappingProxyType(_build_contracts())


# ------------------------------------------------------------------------------- look-ups


def protocol_of(provider: str) -> str:
    """The provider whose protocol, limits and prices a name stands for (``"sandbox"``: Segmind).

    >>> protocol_of("sandbox"), protocol_of("hiapi")
    ('segmind', 'hiapi')
    """
    return SANDBOX_PROTOCOL if provider == SANDBOX else provider


def facts(provider: str) -> ProviderFacts:
    """The :class:`ProviderFacts` of ``provider``; ``KeyError`` for an unknown name."""
    return _FACTS[provider]


def versions(provider: str | None = None) -> tuple[str, ...]:
    """Model versions ``provider`` serves (default first), or every version.

    >>> versions("segmind"), versions()
    (('1.1', '1.0'), ('1.1', '1.0'))
    """
    return _FACTS[provider].versions if provider else ALL_VERSIONS


def default_version(provider: str) -> str:
    """The version a provider runs when none is asked for."""
    return _FACTS[provider].versions[0]


def contract(provider: str, version: str, mode: str) -> Contract:
    """The :class:`Contract` of one path; ``KeyError`` when the provider does not offer it."""
    return CONTRACTS[(provider, version, mode)]


def contracts_of(provider: str | None = None) -> list[Contract]:
    """Every contract (of one provider, or of all)."""
    return [c for c in CONTRACTS.values() if provider is None or c.provider == provider]


def duration_range(provider: str | None = None, version: str | None = None) -> tuple[int, int]:
    """(shortest, longest) clip in whole seconds at ``provider`` for ``version`` (its default
    version when None or not served), or the range every provider accepts when ``provider``
    is None."""
    if provider is None:
        every = list(CONTRACTS.values())
        return max(c.durations[0] for c in every), min(c.durations[1] for c in every)
    if version not in versions(provider):
        version = default_version(provider)
    chosen = [c for c in contracts_of(provider) if c.version == version]
    return min(c.durations[0] for c in chosen), max(c.durations[1] for c in chosen)


def aspect_ratios(provider: str | None = None) -> tuple[str, ...]:
    """Aspect ratios for text- and reference-to-video at ``provider`` (every known one if None)."""
    if provider is None:
        return RATIOS_9
    return contract(provider, default_version(provider), "t2v").aspect_ratios


def price(provider: str, version: str) -> Price | None:
    """The published price of ``provider``'s ``version``, or None."""
    return PRICES.get((provider, version))
