"""One request model for every HappyHorse provider.

A :class:`GenerationRequest` carries every parameter the providers document.
Its :attr:`~GenerationRequest.mode` is inferred from the inputs the way the
providers infer it (no image: text-to-video; a first-frame ``image``:
image-to-video; ``reference_images``: reference-to-video), and
:meth:`~GenerationRequest.validate` checks it against the documented limits,
for one provider or for all of them, before anything is sent or paid for::

    >>> req = GenerationRequest(prompt="A white horse gallops at sunset", duration=6)
    >>> req.mode
    <Mode.T2V: 't2v'>
    >>> req.validate("segmind")
    >>> GenerationRequest(prompt="x", duration=2, aspect_ratio="21:9").validate("segmind")
    Traceback (most recent call last):
    ...
    hh_notebook.errors.ValidationError: 2 problems with this request:
      - duration: ...

Limits, shared by all providers unless said otherwise:

* ``duration``: a whole number of seconds (an ``int``), 3 to 15.
* ``resolution``: ``"720P"`` or ``"1080P"`` (``"720p"`` is accepted and normalised).
* ``aspect_ratio``: ``16:9 9:16 1:1 4:3 3:4`` at Segmind and Apiframe; also
  ``4:5 5:4 9:21 21:9`` at HiAPI and the OpenAI-style aggregator. Image-to-video
  ignores it (the first frame decides the shape).
* ``seed``: an ``int`` from 0 to 2147483647, or ``None`` for a random one.
* ``prompt``: required for text- and reference-to-video (and for image-to-video
  at Segmind and Apiframe, whose pages mark it required); at most 5000
  characters, or 2500 when the prompt is Chinese. hh_notebook counts a prompt
  as Chinese when it contains at least one CJK unified ideograph (U+3400–U+4DBF,
  U+4E00–U+9FFF, U+F900–U+FAFF, U+20000–U+2FA1F): the stricter limit then
  applies to the whole prompt, so a mixed prompt is never rejected by a provider
  that counts differently.
* ``reference_images``: 1 to 9 images (2 to 9 at Apiframe, which reads one image
  as image-to-video); ``[Image N]`` in the prompt must point at one of them.
* images: JPEG/JPG/PNG/WEBP, both sides at least 300 px, at most 10 MB, aspect
  ratio between 1:2.5 and 2.5:1. Local images (paths, bytes, PIL images, numpy
  arrays) are sent inline (base64) only where the provider accepts that
  (Segmind); Apiframe, HiAPI and the aggregator take image URLs only.
* ``model``: ``"1.1"`` or ``"1.0"`` at Segmind, ``"1.1"`` at Apiframe and HiAPI,
  ``"1.0"`` at the aggregator; ``None`` picks the provider's default.
* ``reference_type``: ``"subject"`` or ``"style"`` (used by the aggregator's r2v).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import json
import numbers
import os
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Union

from hh_notebook.errors import FieldError, UnknownParameter, ValidationError
from hh_notebook.media import (
    ImageData,
    StoredImage,
    check_image,
    is_url,
    load_image,
    safe_repr,
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

#: Provider names, as used everywhere in hh_notebook ("openai" is the OpenAI-style aggregator).
PROVIDERS: tuple[str, ...] = ("segmind", "apiframe", "hiapi", "openai")
#: Model versions each provider serves; the first is its default.
MODEL_VERSIONS: dict[str, tuple[str, ...]] = {
    "segmind": ("1.1", "1.0"),
    "apiframe": ("1.1",),
    "hiapi": ("1.1",),
    "openai": ("1.0",),
}
#: The model version used when ``model`` is None.
DEFAULT_MODELS: dict[str, str] = {name: versions[0] for name, versions in MODEL_VERSIONS.items()}

RESOLUTIONS: tuple[str, ...] = ("720P", "1080P")
_RATIOS_5 = ("16:9", "9:16", "1:1", "4:3", "3:4")
_RATIOS_9 = _RATIOS_5 + ("4:5", "5:4", "9:21", "21:9")
#: Aspect ratios each provider accepts for text- and reference-to-video.
ASPECT_RATIOS: dict[str, tuple[str, ...]] = {
    "segmind": _RATIOS_5,
    "apiframe": _RATIOS_5,
    "hiapi": _RATIOS_9,
    "openai": _RATIOS_9,
}
DEFAULT_ASPECT_RATIO = "16:9"
MIN_DURATION, MAX_DURATION = 3, 15
MAX_SEED = 2_147_483_647
MAX_PROMPT_CHARS = 5000
MAX_PROMPT_CHARS_CHINESE = 2500
MAX_REFERENCES = 9
REFERENCE_TYPES: tuple[str, ...] = ("subject", "style")

# Where a provider takes inline (base64) images, per image field. The others
# only take URLs: Apiframe's `images` is "string[] (URLs)", the aggregator's
# `input_reference` and `media[].url` are URLs, and HiAPI's image tasks do not
# document inline images, so hh_notebook only sends them URLs.
_INLINE_IMAGE_FIELDS: dict[str, frozenset[str]] = {
    "segmind": frozenset({"image", "reference_images"}),
    "apiframe": frozenset(),
    "hiapi": frozenset(),
    "openai": frozenset(),
}
# Providers whose page marks the prompt as required even for image-to-video.
_PROMPT_REQUIRED_FOR_I2V = frozenset({"segmind", "apiframe"})

_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_IMAGE_TOKEN = re.compile(r"\[\s*image\s*(\d+)\s*\]", re.IGNORECASE)


def is_chinese(text: str) -> bool:
    """True when ``text`` holds at least one CJK unified ideograph (then 2500 chars max).

    >>> is_chinese("一匹白马"), is_chinese("a white horse"), is_chinese("horse 马")
    (True, False, True)
    """
    return bool(_CJK.search(text))


def image_tokens(prompt: str) -> list[int]:
    """The numbers of the ``[Image N]`` tokens in a prompt, in order of appearance.

    >>> image_tokens("[Image 1] walks through the gate of [image 2]")
    [1, 2]
    """
    return [int(match) for match in _IMAGE_TOKEN.findall(prompt)]


def default_model(provider: str) -> str:
    """The model version a provider runs when none is asked for.

    >>> default_model("openai")
    '1.0'
    """
    try:
        return DEFAULT_MODELS[provider]
    except KeyError:
        raise ValueError(f"unknown provider {provider!r}; one of {', '.join(PROVIDERS)}") from None


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_present(image: object) -> bool:
    return image is not None and not (isinstance(image, str) and not image.strip())


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
    resolution: str = "720P"
    duration: int = 5
    aspect_ratio: str = DEFAULT_ASPECT_RATIO
    seed: int | None = None
    prompt_extend: bool = True
    watermark: bool = False
    reference_type: str | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        if self.prompt is None:
            self.prompt = ""
        if isinstance(self.resolution, str) and self.resolution.strip().upper() in RESOLUTIONS:
            self.resolution = self.resolution.strip().upper()
        if isinstance(self.aspect_ratio, str):
            self.aspect_ratio = self.aspect_ratio.strip()
        if _is_int(self.duration):
            self.duration = int(self.duration)
        if _is_int(self.seed):
            self.seed = int(self.seed)  # type: ignore[arg-type]
        if isinstance(self.reference_type, str):
            self.reference_type = self.reference_type.strip().lower()
        if isinstance(self.model, str):
            self.model = self.model.strip()
        if self.reference_images is None:
            self.reference_images = []
        elif isinstance(self.reference_images, tuple):
            self.reference_images = list(self.reference_images)
        if not _is_present(self.image):
            self.image = None

    # ------------------------------------------------------------------ mode

    @property
    def mode(self) -> Mode:
        """The task the providers will run: ``Mode.R2V`` if there are references,
        else ``Mode.I2V`` if there is an image, else ``Mode.T2V``.

        With both an image and references the request is reference-to-video and
        the image is not sent (see :meth:`warnings`).
        """
        if self._reference_count():
            return Mode.R2V
        if _is_present(self.image):
            return Mode.I2V
        return Mode.T2V

    @property
    def effective_image(self) -> ImageInput | None:
        """The first frame that is actually sent: ``image`` in image-to-video, else None."""
        return self.image if self.mode is Mode.I2V else None

    def _reference_count(self) -> int:
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
        notes: list[str] = []
        mode = self.mode
        if self.image is not None and self._reference_count():
            notes.append(self._both_inputs_warning(provider))
        if mode is Mode.I2V and self.aspect_ratio != DEFAULT_ASPECT_RATIO:
            notes.append(
                f"aspect_ratio {self.aspect_ratio} is ignored in image-to-video: the first frame "
                "decides the shape of the clip. Crop the image to the shape you want."
            )
        if provider in PROVIDERS:
            notes += self._ignored_parameter_warnings(provider, mode)
        return notes

    def _both_inputs_warning(self, provider: str | None) -> str:
        how = {
            "segmind": "segmind does not document which field wins when both are sent, so "
            "hh_notebook sends reference_images only",
            "apiframe": "apiframe counts images (one = i2v, two to nine = r2v); sending the "
            "first frame too would make it [Image 1] and shift your [Image N] numbering, so "
            "hh_notebook sends the references only",
            "hiapi": "hiapi picks the task by model id; hh_notebook uses "
            "happyhorse-1.1/reference-to-video and does not send the image",
            "openai": "openai (the aggregator) picks the task by model id; hh_notebook uses "
            "happyhorse-1.0-r2v and does not send input_reference",
        }
        chosen = [how[provider]] if provider in how else [how[name] for name in PROVIDERS]
        return (
            "both image (a first frame) and reference_images are set: this is probably a "
            "mistake (a stray field changes the mode). Reference-to-video wins and the image "
            "is dropped: " + "; ".join(chosen) + ". Clear one of the two."
        )

    def _ignored_parameter_warnings(self, provider: str, mode: Mode) -> list[str]:
        notes: list[str] = []

        def undocumented(name: str, consequence: str) -> None:
            notes.append(
                f"{provider} does not document {name}, so it may have no effect there "
                f"({consequence})."
            )

        if provider != "segmind":
            if self.negative_prompt:
                undocumented("negative_prompt", "describe what to avoid in the prompt instead")
            if self.prompt_extend is False:
                undocumented("prompt_extend", "the provider may still rewrite short prompts")
        if provider in ("apiframe", "hiapi") and self.watermark is True:
            undocumented("watermark", "the clip may come without one")
        if provider == "hiapi" and self.seed is not None:
            undocumented("seed", "the same seed may not give the same clip")
        if self.reference_type is not None:
            if provider != "openai":
                undocumented("reference_type", "only the aggregator's reference-to-video uses it")
            elif mode is not Mode.R2V:
                notes.append(
                    "openai uses reference_type for reference-to-video only; it has no effect "
                    f"on {mode.label}."
                )
        if provider == "segmind" and self.model == "1.0" and mode is Mode.R2V:
            notes.append(
                "segmind documents reference-to-video as new in HappyHorse 1.1; the 1.0 model "
                "may reject reference_images. Use model='1.1'."
            )
        return notes

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
        errors: list[FieldError] = []
        if provider is not None and provider not in PROVIDERS:
            errors.append(_provider_error(provider))
            provider = None
        mode = self.mode
        errors += self._check_prompt(provider, mode)
        errors += self._check_scalars(provider)
        errors += self._check_images(provider)
        return errors

    def _check_prompt(self, provider: str | None, mode: Mode) -> list[FieldError]:
        errors: list[FieldError] = []
        prompt = self.prompt
        if not isinstance(prompt, str):
            return [FieldError("prompt", safe_repr(prompt), "a string", "the prompt must be text")]
        if not prompt.strip():
            required = mode is not Mode.I2V or provider in _PROMPT_REQUIRED_FOR_I2V
            if required:
                where = f"{mode.label}" if mode is not Mode.I2V else f"{provider}'s image-to-video"
                errors.append(
                    FieldError(
                        "prompt", prompt, "non-empty text",
                        f"a prompt is required for {where}",
                    )
                )
        limit = MAX_PROMPT_CHARS_CHINESE if is_chinese(prompt) else MAX_PROMPT_CHARS
        if len(prompt) > limit:
            kind = "Chinese prompt (it contains CJK ideographs)" if limit < 5000 else "prompt"
            errors.append(
                FieldError(
                    "prompt", safe_repr(prompt), f"at most {limit} characters",
                    f"the {kind} is {len(prompt)} characters long",
                )
            )
        available = {Mode.T2V: 0, Mode.I2V: 1, Mode.R2V: self._reference_count()}[mode]
        bad = sorted({n for n in image_tokens(prompt) if n < 1 or n > available})
        if bad:
            tokens = ", ".join(f"[Image {n}]" for n in bad)
            if available == 0:
                allowed = "no [Image N] tokens without reference_images"
                message = f"{tokens} refers to an image, but this request has none"
            else:
                allowed = f"[Image 1] to [Image {available}]"
                noun = "image" if available == 1 else "images"
                message = f"{tokens} points past the {available} {noun} given"
            errors.append(FieldError("prompt", tokens, allowed, message))
        if self.negative_prompt is not None and not isinstance(self.negative_prompt, str):
            errors.append(
                FieldError(
                    "negative_prompt", safe_repr(self.negative_prompt), "text or None",
                    "the negative prompt must be text",
                )
            )
        return errors

    def _check_scalars(self, provider: str | None) -> list[FieldError]:
        errors: list[FieldError] = []
        res = self.resolution
        if not (isinstance(res, str) and res.strip().upper() in RESOLUTIONS):
            errors.append(
                FieldError(
                    "resolution", safe_repr(res), "720P or 1080P (any case)",
                    "unsupported resolution",
                )
            )
        errors += _check_duration(self.duration)
        ratios = ASPECT_RATIOS[provider] if provider else _RATIOS_9
        if self.aspect_ratio not in ratios:
            where = f" at {provider}" if provider else ""
            errors.append(
                FieldError(
                    "aspect_ratio", safe_repr(self.aspect_ratio), " ".join(ratios),
                    f"unsupported aspect ratio{where}",
                )
            )
        seed = self.seed
        if seed is not None and (not _is_int(seed) or not 0 <= int(seed) <= MAX_SEED):  # type: ignore[call-overload]
            errors.append(
                FieldError(
                    "seed", safe_repr(seed), "None or an int from 0 to 2147483647",
                    "seed must be a whole number" if not _is_int(seed) else "seed out of range",
                )
            )
        for name in ("prompt_extend", "watermark"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                errors.append(
                    FieldError(name, safe_repr(value), "True or False", f"{name} must be a bool")
                )
        if self.reference_type is not None and self.reference_type not in REFERENCE_TYPES:
            errors.append(
                FieldError(
                    "reference_type", safe_repr(self.reference_type), "subject, style or None",
                    "unknown reference type",
                )
            )
        errors += self._check_model(provider)
        return errors

    def _check_model(self, provider: str | None) -> list[FieldError]:
        if self.model is None:
            return []
        versions = MODEL_VERSIONS[provider] if provider else ("1.1", "1.0")
        if self.model in versions:
            return []
        where = f"{provider} serves" if provider else "HappyHorse versions are"
        return [
            FieldError(
                "model", safe_repr(self.model), " or ".join(versions) + " (or None: default)",
                f"{where} {', '.join(versions)} only",
            )
        ]

    def _check_images(self, provider: str | None) -> list[FieldError]:
        errors: list[FieldError] = []
        if self.image is not None:
            errors += _check_one_image(self.image, "image", "image", provider)
        refs = self.reference_images
        if not isinstance(refs, list):
            return errors + [
                FieldError(
                    "reference_images", safe_repr(refs), "a list of 1 to 9 images",
                    "reference_images must be a list (wrap a single image in [ ])",
                )
            ]
        count = len(refs)
        if count > MAX_REFERENCES:
            errors.append(
                FieldError(
                    "reference_images", f"{count} images", "1 to 9 images",
                    f"{count} reference images given; at most 9 are accepted",
                )
            )
        if provider == "apiframe" and count == 1:
            errors.append(
                FieldError(
                    "reference_images", "1 image", "2 to 9 images at apiframe",
                    "apiframe reads a single image as image-to-video; give at least two "
                    "references, or pass the image as image=",
                )
            )
        for index, ref in enumerate(refs):
            errors += _check_one_image(ref, f"reference_images[{index}]", "reference_images",
                                       provider)
        return errors

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
        refs = self.reference_images if isinstance(self.reference_images, list) else [
            self.reference_images
        ]
        return {
            "prompt": _json_safe(self.prompt),
            "negative_prompt": _json_safe(self.negative_prompt),
            "image": _describe_image(self.image) if _is_present(self.image) else None,
            "reference_images": [_describe_image(ref) for ref in refs],
            "resolution": _json_safe(self.resolution),
            "duration": _json_safe(self.duration),
            "aspect_ratio": _json_safe(self.aspect_ratio),
            "seed": _json_safe(self.seed),
            "prompt_extend": _json_safe(self.prompt_extend),
            "watermark": _json_safe(self.watermark),
            "reference_type": _json_safe(self.reference_type),
            "model": _json_safe(self.model),
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
        if kwargs.get("image") is not None:
            kwargs["image"] = _restore_image(kwargs["image"])
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
        record = self.to_dict()
        failures: list[FieldError] = []
        record["image"] = _image_identity(record["image"], "image", failures)
        record["reference_images"] = [
            _image_identity(ref, f"reference_images[{i}]", failures)
            for i, ref in enumerate(record["reference_images"])
        ]
        if failures:
            raise ValidationError(failures)
        if isinstance(record["resolution"], str):
            record["resolution"] = record["resolution"].strip().upper()
        record["model"] = model
        canonical = {"v": 1, "provider": provider, "request": record}
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def __eq__(self, other: object) -> bool:
        """Requests are equal when their records are: same parameters, same images
        (URLs by URL, files by path and content, in-memory images by content)."""
        if not isinstance(other, GenerationRequest):
            return NotImplemented
        return self is other or self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable, like any dataclass with eq

    def __repr__(self) -> str:
        parts = [f"mode={self.mode.value}", f"prompt={safe_repr(self.prompt, 60)!r}"]
        if self.negative_prompt is not None:
            parts.append(f"negative_prompt={safe_repr(self.negative_prompt, 40)!r}")
        if self.image is not None:
            parts.append(f"image={safe_repr(self.image, 60)!r}")
        if self.reference_images:
            parts.append(f"reference_images={safe_repr(self.reference_images)}")
        for name in ("resolution", "duration", "aspect_ratio", "seed", "prompt_extend",
                     "watermark", "reference_type", "model"):
            parts.append(f"{name}={safe_repr(getattr(self, name))!r}")
        return f"GenerationRequest({', '.join(parts)})"


# ---------------------------------------------------------------------- unknown parameters

_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(GenerationRequest))
# Names people reach for (often another provider's wording) -> the field meant.
_ALIASES = {
    "ratio": "aspect_ratio", "aspect": "aspect_ratio", "size": "resolution",
    "res": "resolution", "length": "duration", "seconds": "duration",
    "first_frame": "image", "image_url": "image", "input_reference": "image",
    "images": "reference_images", "references": "reference_images", "refs": "reference_images",
    "negative": "negative_prompt", "version": "model", "model_version": "model",
}
_AUDIO_WORDS = frozenset({"audio", "audio_file", "audio_url", "sound", "music", "voice"})


def _unknown_parameter_message(names: list[str]) -> str:
    lines = []
    for name in names:
        if name in _AUDIO_WORDS:
            lines.append(
                f"{name!r}: HappyHorse takes no audio input; it generates synchronized audio "
                "itself. Describe the sound (dialogue, music, ambience) in the prompt instead."
            )
            continue
        guess = _ALIASES.get(name) or next(
            iter(difflib.get_close_matches(name, sorted(_FIELD_NAMES), n=1)), None
        )
        hint = f"; did you mean {guess!r}?" if guess else ""
        lines.append(f"{name!r} is not a GenerationRequest parameter{hint}")
    return "\n".join(lines)


def _reject_unknown_parameters(init: Any) -> Any:
    @functools.wraps(init)
    def __init__(self: GenerationRequest, *args: Any, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - _FIELD_NAMES)
        if unknown:
            raise UnknownParameter(unknown, _unknown_parameter_message(unknown))
        init(self, *args, **kwargs)

    return __init__


# Wrapped rather than hand-written so the dataclass stays the single list of fields;
# replace() goes through it too.
GenerationRequest.__init__ = _reject_unknown_parameters(GenerationRequest.__init__)  # type: ignore[method-assign]


# ---------------------------------------------------------------------- helpers


def _check_duration(duration: object) -> list[FieldError]:
    allowed = "a whole number of seconds from 3 to 15 (int)"
    if not _is_int(duration):
        kind = type(duration).__name__
        return [FieldError("duration", safe_repr(duration), allowed,
                           f"duration must be an int number of seconds, not a {kind}")]
    seconds = int(duration)  # type: ignore[call-overload]
    if seconds < MIN_DURATION:
        return [FieldError("duration", seconds, allowed,
                           f"{seconds} s is too short: providers reject clips under 3 s "
                           "(generate 3 s and trim it)")]
    if seconds > MAX_DURATION:
        return [FieldError("duration", seconds, allowed,
                           f"{seconds} s is too long: 15 s is the longest clip")]
    return []


def _provider_error(provider: object) -> FieldError:
    message = f"unknown provider {safe_repr(provider)!r}"
    if provider == "sandbox":
        message = (
            "'sandbox' is not a provider: the sandbox is a base URL that speaks every "
            "provider's protocol; pick one of the providers and point its base URL at it"
        )
    return FieldError("provider", safe_repr(provider), ", ".join(PROVIDERS), message)


def _check_one_image(
    value: object, field_name: str, kind: str, provider: str | None
) -> list[FieldError]:
    try:
        img = load_image(value, field=field_name)
    except ValidationError as exc:
        return exc.errors
    errors = check_image(img, field=field_name)
    if provider is not None and img.kind != "url" and kind not in _INLINE_IMAGE_FIELDS[provider]:
        errors.append(_url_only_error(value, img, field_name, provider))
    return errors


def _url_only_error(value: object, img: ImageData, field_name: str, provider: str) -> FieldError:
    if img.kind == "file":
        got = f"a local file {safe_repr(value)!r}"
    else:
        got = f"an in-memory image ({safe_repr(value)})"
    return FieldError(
        field_name,
        safe_repr(value),
        "an http(s) URL",
        f"the {provider} provider takes image URLs only; got {got}. Host it somewhere "
        "reachable (http/https) or use segmind, which accepts base64",
    )


def _describe_image(value: object) -> dict[str, Any]:
    if isinstance(value, StoredImage):
        return value.describe()
    if is_url(value):
        return {"kind": "url", "url": str(value).strip()}
    try:
        return load_image(value).describe()
    except ValidationError as exc:
        if isinstance(value, (str, os.PathLike)):
            return {"kind": "file", "path": os.fspath(value), "sha256": None,
                    "error": exc.errors[0].message}
        return {"kind": "invalid", "repr": safe_repr(value), "sha256": None}


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
