"""One request model for every HappyHorse provider.

A :class:`GenerationRequest` carries every parameter the providers document. Its
:attr:`~GenerationRequest.mode` is inferred from the inputs the way the providers infer it
(no image: text-to-video; a first-frame ``image``: image-to-video; ``reference_images``:
reference-to-video), and :meth:`~GenerationRequest.validate` checks it against the limits in
:mod:`hh_notebook.catalog`, for one provider or for all of them, before anything is sent or
paid for; :meth:`~GenerationRequest.check` does it once and carries the result onward::

    >>> req = GenerationRequest(prompt="A white horse gallops at sunset", duration=6)
    >>> req.mode
    <Mode.T2V: 't2v'>
    >>> req.validate("segmind")
    >>> GenerationRequest(prompt="x", duration=2, aspect_ratio="21:9").validate("segmind")
    Traceback (most recent call last):
    ...
    hh_notebook.errors.ValidationError: 2 problems with this request:
      - duration: ...

What is checked (each limit per provider, model version and mode, from the catalog): the
duration (a whole number of seconds), the resolution (any case; normalised to upper case),
the aspect ratio (image-to-video ignores it: the first frame decides the shape), the seed,
the prompt and negative prompt (see :mod:`hh_notebook.request_text`; the prompt is required
except for some image-to-video paths), ``[Image N]`` tokens against the images given, the
number of references, every image (decoded in full: format, size, sides, aspect; local images
are sent inline only where the provider takes them; URLs normalised), the audio URL, the
model version and the reference type.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Union

from . import catalog
from .catalog import Contract
from .errors import FieldError, UnknownParameter, ValidationError
from .media import ImageData, StoredImage, normalise_url
from .present import safe_repr
from .request_checks import (
    Findings,
    describe_image,
    find_problems,
    find_warnings,
    image_tokens,
    is_chinese,
    is_int,
    unknown_parameter_message,
)

if TYPE_CHECKING:
    import numpy
    import PIL.Image

__all__ = [
    "ASPECT_RATIOS",
    "DEFAULT_MODELS",
    "MODEL_VERSIONS",
    "PROVIDERS",
    "RESOLUTIONS",
    "CheckedRequest",
    "GenerationRequest",
    "ImageInput",
    "Mode",
    "default_model",
    "image_tokens",
    "is_chinese",
]


class Mode(str, Enum):
    """The three HappyHorse tasks, as inferred from a request's inputs."""

    T2V = "t2v"
    I2V = "i2v"
    R2V = "r2v"

    @property
    def label(self) -> str:
        """A human name: ``Mode.I2V.label == "image-to-video"``."""
        return {"t2v": "text-to-video", "i2v": "image-to-video", "r2v": "reference-to-video"}[
            self.value
        ]


#: A first frame or reference image: a local path (``str``/``PathLike``), an
#: ``http(s)://`` URL (``str``), encoded bytes, a PIL image or a uint8 numpy array.
# (numpy and PIL stay unimported until an image is actually loaded.)
ImageInput = Union[str, os.PathLike, bytes, "PIL.Image.Image", "numpy.ndarray"]

#: Provider names ("openai" is the OpenAI-style aggregator), from the catalog.
PROVIDERS: tuple[str, ...] = catalog.PROVIDERS
#: Model versions each provider serves; the first is its default.
MODEL_VERSIONS: dict[str, tuple[str, ...]] = {p: catalog.versions(p) for p in PROVIDERS}
#: The model version used when ``model`` is None.
DEFAULT_MODELS: dict[str, str] = {p: catalog.default_version(p) for p in PROVIDERS}
RESOLUTIONS: tuple[str, ...] = catalog.RESOLUTIONS
#: Aspect ratios each provider accepts for text- and reference-to-video.
ASPECT_RATIOS: dict[str, tuple[str, ...]] = {p: catalog.aspect_ratios(p) for p in PROVIDERS}


def default_model(provider: str) -> str:
    """The model version a provider runs when none is asked for.

    >>> default_model("openai")
    '1.0'
    """
    try:
        return catalog.default_version(provider)
    except KeyError:
        raise ValueError(f"unknown provider {provider!r}; one of {', '.join(PROVIDERS)}") from None


def _is_present(image: object) -> bool:
    return image is not None and not (isinstance(image, str) and not image.strip())


def _normal_image(image: Any) -> Any:
    """An image input as it is checked and sent: URLs normalised, a blank string None."""
    if not _is_present(image):
        return None
    return normalise_url(image) if isinstance(image, str) else image


@dataclass(eq=False)
class GenerationRequest:
    """Everything one HappyHorse generation needs, for any provider.

    The mode follows from the inputs (``image`` → image-to-video,
    ``reference_images`` → reference-to-video, neither → text-to-video).
    Nothing is checked at construction: call :meth:`validate` (the client does
    it before any HTTP request) or :meth:`problems`. ``resolution`` is
    normalised to upper case; ``watermark`` defaults to False and is always
    sent, because the aggregator's own default is True.

    >>> req = GenerationRequest(
    ...     prompt="[Image 1] rides [Image 2] along a beach at dawn",
    ...     reference_images=["https://example.com/rider.png", "https://example.com/horse.png"],
    ...     resolution="1080p", duration=8, aspect_ratio="9:16", seed=42,
    ... )
    >>> req.mode.value, req.resolution
    ('r2v', '1080P')
    """

    prompt: str = ""
    negative_prompt: str | None = None
    image: ImageInput | None = None
    reference_images: list[ImageInput] = field(default_factory=list)
    resolution: str = catalog.DEFAULT_RESOLUTION
    duration: int = catalog.DEFAULT_DURATION
    aspect_ratio: str = catalog.DEFAULT_ASPECT_RATIO
    seed: int | None = None
    prompt_extend: bool = True
    watermark: bool = False
    reference_type: str | None = None
    model: str | None = None
    #: An http(s) URL of a speech file the clip is lip-synced to (Segmind's HappyHorse 1.0).
    audio: str | None = None
    #: The end frame of a first-to-last-frame clip, with ``image`` (Segmind's HappyHorse 1.0).
    last_frame: ImageInput | None = None

    def __post_init__(self) -> None:
        if self.prompt is None:
            self.prompt = ""
        if isinstance(self.resolution, str) and self.resolution.strip().upper() in RESOLUTIONS:
            self.resolution = self.resolution.strip().upper()
        if isinstance(self.aspect_ratio, str):
            self.aspect_ratio = self.aspect_ratio.strip()
        if is_int(self.duration):
            self.duration = int(self.duration)
        if is_int(self.seed):
            self.seed = int(self.seed)  # type: ignore[arg-type]
        if isinstance(self.reference_type, str):
            self.reference_type = self.reference_type.strip().lower()
        if isinstance(self.model, str):
            self.model = self.model.strip()
        refs = self.reference_images
        if isinstance(refs, (list, tuple)):  # URLs are checked, recorded and sent as normalised
            self.reference_images = [normalise_url(r) if isinstance(r, str) else r for r in refs]
        elif refs is None:
            self.reference_images = []
        self.image = _normal_image(self.image)
        self.last_frame = _normal_image(self.last_frame)
        if isinstance(self.audio, str):
            self.audio = self.audio.strip() or None

    # ------------------------------------------------------------------ mode

    @property
    def mode(self) -> Mode:
        """The task the providers will run: ``Mode.R2V`` if there are references,
        else ``Mode.I2V`` if there is an image, else ``Mode.T2V``.

        With both an image and references the request is reference-to-video and
        the image is not sent (see :meth:`warnings`).
        """
        if self.reference_count():
            return Mode.R2V
        if _is_present(self.image):
            return Mode.I2V
        return Mode.T2V

    @property
    def effective_image(self) -> ImageInput | None:
        """The first frame that is actually sent: ``image`` in image-to-video, else None."""
        return self.image if self.mode is Mode.I2V else None

    def reference_count(self) -> int:
        """How many reference images the request holds."""
        refs = self.reference_images
        if isinstance(refs, list):
            return len(refs)
        return 1 if _is_present(refs) else 0

    # ------------------------------------------------------------------ warnings

    def warnings(self, provider: str | None = None) -> list[str]:
        """Things that are valid but probably not what was meant.

        Covers an image *and* references together (which wins, per provider),
        an aspect ratio that image-to-video ignores, and parameters the chosen
        provider does not document (they may have no effect there).

        >>> GenerationRequest(prompt="p", image="https://e.com/a.png",
        ...                   aspect_ratio="9:16").warnings()[0][:60]
        'aspect_ratio 9:16 is ignored in image-to-video: the first fr'
        """
        return find_warnings(self, provider)

    # ------------------------------------------------------------------ validation

    def validate(self, provider: str | None = None) -> None:
        """Raise :class:`ValidationError` listing every problem, or return None.

        With ``provider`` the provider's own limits apply (aspect ratios, model
        versions, URL-only image fields); without it, the limits shared by all.
        Local images are read and checked (format, size, sides, aspect).

        >>> GenerationRequest(prompt="ok").validate("hiapi")
        """
        errors = self.problems(provider)
        if errors:
            raise ValidationError(errors)

    def problems(self, provider: str | None = None) -> list[FieldError]:
        """Every problem :meth:`validate` would raise, as a list (empty when valid).

        Useful for showing validation messages while a form is being filled in.

        >>> [e.field for e in GenerationRequest(prompt="", duration=20).problems()]
        ['prompt', 'duration']
        """
        return find_problems(self, provider).problems

    def check(self, provider: str) -> CheckedRequest:
        """Validate for ``provider`` once and keep the result: the checked request carries the
        model version, the contract, the loaded images, the record and the fingerprint onward,
        so nothing is read, checked or hashed twice on the way to the provider.

        >>> GenerationRequest(prompt="a fox", seed=3).check("segmind").version
        '1.1'
        """
        found = find_problems(self, provider)
        if found.problems:
            raise ValidationError(found.problems)
        assert found.contract is not None and found.version is not None
        record = self._record(found)
        fingerprint = _fingerprint(record, provider, found.version)
        return CheckedRequest(self, provider, found.version, found.contract, record,
                              fingerprint, found.image, tuple(found.references),
                              found.last_frame)

    # ------------------------------------------------------------------ copies and records

    def replace(self, **changes: Any) -> GenerationRequest:
        """A copy with some fields changed (unknown field names raise TypeError).

        >>> GenerationRequest(prompt="a", seed=1).replace(seed=2).seed
        2
        """
        if isinstance(self.reference_images, list):
            changes.setdefault("reference_images", list(self.reference_images))
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe record of the request, for the journal and reports.

        Images never travel as bytes: URLs as ``{"kind": "url", "url"}``, local
        files as ``{"kind": "file", "sha256", "path", "size", ...}``, in-memory
        images (bytes, PIL, arrays) as ``{"kind": "bytes", "sha256", "size", ...}``.

        >>> GenerationRequest(prompt="hi", seed=3).to_dict()["seed"]
        3
        """
        return self._record(None)

    def _record(self, found: Findings | None) -> dict[str, Any]:
        refs = self.reference_images if isinstance(self.reference_images, list) else [
            self.reference_images
        ]
        loaded = found.references if found is not None else []
        image = found.image if found is not None else None
        last = found.last_frame if found is not None else None
        return {
            "prompt": _json_safe(self.prompt),
            "negative_prompt": _json_safe(self.negative_prompt),
            "image": describe_image(self.image, image) if _is_present(self.image) else None,
            "reference_images": [
                describe_image(ref, loaded[i] if i < len(loaded) else None)
                for i, ref in enumerate(refs)
            ],
            "resolution": _json_safe(self.resolution),
            "duration": _json_safe(self.duration),
            "aspect_ratio": _json_safe(self.aspect_ratio),
            "seed": _json_safe(self.seed),
            "prompt_extend": _json_safe(self.prompt_extend),
            "watermark": _json_safe(self.watermark),
            "reference_type": _json_safe(self.reference_type),
            "model": _json_safe(self.model),
            "audio": _json_safe(self.audio),
            "last_frame": (describe_image(self.last_frame, last)
                           if _is_present(self.last_frame) else None),
            "mode": self.mode.value,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GenerationRequest:
        """Rebuild a request from :meth:`to_dict` output.

        URL and file images come back as the URL and the path. In-memory images
        (bytes, PIL, arrays) were stored only as their sha256, so they come back
        as :class:`~hh_notebook.media.StoredImage` placeholders: the mode and the
        fingerprint are preserved, but such a request cannot be sent again
        without giving the image anew (validation says so).

        >>> d = GenerationRequest(prompt="hi", image="https://e.com/a.png").to_dict()
        >>> GenerationRequest.from_dict(d).image
        'https://e.com/a.png'
        """
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in names}
        for name in ("image", "last_frame"):
            if kwargs.get(name) is not None:
                kwargs[name] = _restore_image(kwargs[name])
        kwargs["reference_images"] = [
            _restore_image(ref) for ref in kwargs.get("reference_images") or []
        ]
        return cls(**kwargs)

    def fingerprint(self, provider: str, model: str | None = None) -> str:
        """A stable sha256 (hex) of everything that determines the clip.

        Covers the provider, the model version (``None``: this request's model
        or the provider's default), the mode and every parameter in normalised
        form; images count by content (sha256 of the bytes), URL images by URL,
        so the same picture under two file names gives the same fingerprint.
        Used to avoid paying twice for an identical seeded request. Raises
        :class:`ValidationError` if an image cannot be read.

        >>> a = GenerationRequest(prompt="horse", seed=7, resolution="720p")
        >>> a.fingerprint("segmind", "1.1") == a.replace(resolution="720P").fingerprint("segmind")
        True
        """
        if model is None:
            model = self.model or default_model(provider)
        return _fingerprint(self.to_dict(), provider, model)

    def __eq__(self, other: object) -> bool:
        """Requests are equal when their records are: same parameters, same images
        (URLs by URL, files by path and content, in-memory images by content)."""
        if not isinstance(other, GenerationRequest):
            return NotImplemented
        return self is other or self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable, like any dataclass with eq

    def __repr__(self) -> str:
        parts = [f"mode={self.mode.value}", f"prompt={safe_repr(self.prompt, 60)!r}"]
        for name, width in (("negative_prompt", 40), ("image", 60), ("last_frame", 60)):
            if getattr(self, name) is not None:
                parts.append(f"{name}={safe_repr(getattr(self, name), width)!r}")
        if self.reference_images:
            parts.append(f"reference_images={safe_repr(self.reference_images)}")
        for name in ("resolution", "duration", "aspect_ratio", "seed", "prompt_extend",
                     "watermark", "reference_type", "model", "audio"):
            parts.append(f"{name}={safe_repr(getattr(self, name))!r}")
        return f"GenerationRequest({', '.join(parts)})"


@dataclass(frozen=True)
class CheckedRequest:
    """A request validated for one provider (see :meth:`GenerationRequest.check`): what the
    client records, prices and sends, with nothing checked, read or hashed twice."""

    request: GenerationRequest
    provider: str
    #: The model version it runs on ("1.1" / "1.0").
    version: str
    #: The provider's contract for this version and mode (fields, limits, endpoint).
    contract: Contract
    #: The JSON-safe record of the request (:meth:`GenerationRequest.to_dict`).
    record: dict[str, Any]
    #: What identifies the clip: identical seeded requests share it.
    fingerprint: str
    image: ImageData | None = None
    references: tuple[ImageData, ...] = ()
    last_frame: ImageData | None = None

    @property
    def mode(self) -> Mode:
        """The request's mode."""
        return self.request.mode


# ---------------------------------------------------------------------- unknown parameters

_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(GenerationRequest))
def _reject_unknown_parameters(init: Any) -> Any:
    @functools.wraps(init)
    def __init__(self: GenerationRequest, *args: Any, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - _FIELD_NAMES)
        if unknown:
            raise UnknownParameter(unknown, unknown_parameter_message(unknown, _FIELD_NAMES))
        init(self, *args, **kwargs)

    return __init__


# Wrapped rather than hand-written so the dataclass stays the single list of fields;
# replace() goes through it too.
GenerationRequest.__init__ = _reject_unknown_parameters(GenerationRequest.__init__)  # type: ignore[method-assign]


def _fingerprint(record: dict[str, Any], provider: str, model: str) -> str:
    record = dict(record)
    failures: list[FieldError] = []
    record["image"] = _image_identity(record["image"], "image", failures)
    record["reference_images"] = [
        _image_identity(ref, f"reference_images[{i}]", failures)
        for i, ref in enumerate(record["reference_images"])
    ]
    if record.get("last_frame") is not None:
        record["last_frame"] = _image_identity(record["last_frame"], "last_frame", failures)
    for name in ("audio", "last_frame"):  # unset: the fingerprint of older records holds
        if record.get(name) is None:
            record.pop(name, None)
    if failures:
        raise ValidationError(failures)
    if isinstance(record["resolution"], str):
        record["resolution"] = record["resolution"].strip().upper()
    record["model"] = model
    canonical = {"v": 1, "provider": provider, "request": record}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _restore_image(desc: object) -> Any:
    if not isinstance(desc, dict):
        return desc
    kind = desc.get("kind")
    if kind == "url":
        return desc["url"]
    if kind == "file" and desc.get("path"):
        return desc["path"]
    if desc.get("sha256"):
        return StoredImage(
            sha256=desc["sha256"], size=desc.get("size"), mime=desc.get("mime"),
            width=desc.get("width"), height=desc.get("height"),
        )
    raise ValueError(f"cannot restore an image from {safe_repr(desc)}")


def _image_identity(
    desc: dict[str, Any] | None, field_name: str, failures: list[FieldError]
) -> dict[str, Any] | None:
    if desc is None:
        return None
    if desc.get("kind") == "url":
        return {"url": desc["url"]}
    if not desc.get("sha256"):
        failures.append(
            FieldError(field_name, desc.get("path") or desc.get("repr"), "a readable image",
                       desc.get("error", "the image cannot be read"))
        )
        return None
    return {"sha256": desc["sha256"]}


def _json_safe(value: object) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return safe_repr(value)
