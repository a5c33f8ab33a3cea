"""The checks behind :meth:`GenerationRequest.validate` and :meth:`GenerationRequest.warnings`.

Every limit comes from :mod:`hh_notebook.catalog`: with a provider, the contract of the
provider's path for the request's model version and mode; without one, what every provider
accepts. Each problem is a :class:`~hh_notebook.errors.FieldError` naming the field, the value
and what is allowed.
"""

from __future__ import annotations

import difflib
import numbers
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import catalog
from .catalog import Contract
from .errors import FieldError, ValidationError
from .media import ImageData, check_image, is_url, load_image
from .present import safe_repr

if TYPE_CHECKING:
    from .request import GenerationRequest

__all__ = ["Findings", "find_problems", "find_warnings", "image_tokens", "is_chinese"]

_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_IMAGE_TOKEN = re.compile(r"\[\s*image\s*(\d+)\s*\]", re.IGNORECASE)
_MODE_LABELS = {"t2v": "text-to-video", "i2v": "image-to-video", "r2v": "reference-to-video"}


def is_chinese(text: str) -> bool:
    """True when ``text`` holds at least one CJK unified ideograph (then the shorter limit).

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


def is_int(value: object) -> bool:
    """True for integers (numpy's included), never for booleans."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass
class Findings:
    """What checking a request found: its problems, and the images it loaded on the way
    (so that fingerprinting and sending never read them again)."""

    problems: list[FieldError] = field(default_factory=list)
    image: ImageData | None = None
    references: list[ImageData] = field(default_factory=list)
    contract: Contract | None = None
    version: str | None = None


@dataclass(frozen=True)
class _Limits:
    """The limits that apply: one contract's, or the ones every provider shares."""

    provider: str | None
    durations: tuple[int, int]
    ratios: tuple[str, ...]
    prompt_required: bool
    references: tuple[int, int]
    inline_images: bool
    images: catalog.ImageRules


def _limits(provider: str | None, contract: Contract | None, mode: str) -> _Limits:
    if contract is not None:
        ratios = contract.aspect_ratios or catalog.aspect_ratios(provider)
        return _Limits(provider, contract.durations, ratios, contract.prompt_required,
                       contract.references or (1, catalog.MAX_REFERENCES),
                       contract.inline_images, contract.images)
    return _Limits(None, catalog.duration_range(None), catalog.RATIOS_9, mode != "i2v",
                   (1, catalog.MAX_REFERENCES), True, catalog.IMAGE_RULES)


def find_problems(request: GenerationRequest, provider: str | None = None) -> Findings:
    """Check ``request`` (for ``provider``, or against the limits every provider shares)."""
    found = Findings()
    if provider is not None and provider not in catalog.PROVIDERS:
        found.problems.append(provider_error(provider))
        provider = None
    mode = request.mode.value
    contract = None
    if provider is not None:
        found.version = request.model or catalog.default_version(provider)
        contract = catalog.CONTRACTS.get((provider, found.version, mode))
        found.contract = contract
        if contract is None:  # a version it does not serve: its default's limits still apply
            contract = catalog.CONTRACTS.get((provider, catalog.default_version(provider), mode))
    limits = _limits(provider, contract, mode)
    found.problems += _check_prompt(request, limits, mode)
    found.problems += _check_scalars(request, limits)
    found.problems += _check_model(request, provider)
    _check_images(request, limits, found)
    return found


def provider_error(provider: object) -> FieldError:
    """The problem of an unknown provider name."""
    message = f"unknown provider {safe_repr(provider)!r}"
    if provider == "sandbox":
        message = (
            "'sandbox' is not a provider: the sandbox is a base URL that speaks every "
            "provider's protocol; pick one of the providers and point its base URL at it"
        )
    return FieldError("provider", safe_repr(provider), ", ".join(catalog.PROVIDERS), message)


def _check_prompt(request: GenerationRequest, limits: _Limits, mode: str) -> list[FieldError]:
    errors: list[FieldError] = []
    prompt = request.prompt
    if not isinstance(prompt, str):
        return [FieldError("prompt", safe_repr(prompt), "a string", "the prompt must be text")]
    if not prompt.strip() and limits.prompt_required:
        where = _MODE_LABELS[mode] if mode != "i2v" else f"{limits.provider}'s image-to-video"
        errors.append(FieldError("prompt", prompt, "non-empty text",
                                 f"a prompt is required for {where}"))
    chinese = is_chinese(prompt)
    limit = catalog.MAX_PROMPT_CHARS_CHINESE if chinese else catalog.MAX_PROMPT_CHARS
    if len(prompt) > limit:
        kind = "Chinese prompt (it contains CJK ideographs)" if chinese else "prompt"
        errors.append(FieldError("prompt", safe_repr(prompt), f"at most {limit} characters",
                                 f"the {kind} is {len(prompt)} characters long"))
    available = {"t2v": 0, "i2v": 1, "r2v": request.reference_count()}[mode]
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
    negative = request.negative_prompt
    if negative is not None and not isinstance(negative, str):
        errors.append(FieldError("negative_prompt", safe_repr(negative), "text or None",
                                 "the negative prompt must be text"))
    return errors


def _check_scalars(request: GenerationRequest, limits: _Limits) -> list[FieldError]:
    errors: list[FieldError] = []
    res = request.resolution
    if not (isinstance(res, str) and res.strip().upper() in catalog.RESOLUTIONS):
        errors.append(FieldError("resolution", safe_repr(res), "720P or 1080P (any case)",
                                 "unsupported resolution"))
    errors += check_duration(request.duration, limits.durations)
    if request.aspect_ratio not in limits.ratios:
        where = f" at {limits.provider}" if limits.provider else ""
        errors.append(FieldError("aspect_ratio", safe_repr(request.aspect_ratio),
                                 " ".join(limits.ratios), f"unsupported aspect ratio{where}"))
    seed = request.seed
    if seed is not None and (not is_int(seed) or not 0 <= int(seed) <= catalog.MAX_SEED):  # type: ignore[call-overload]
        errors.append(FieldError(
            "seed", safe_repr(seed), f"None or an int from 0 to {catalog.MAX_SEED}",
            "seed must be a whole number" if not is_int(seed) else "seed out of range"))
    for name in ("prompt_extend", "watermark"):
        value = getattr(request, name)
        if not isinstance(value, bool):
            errors.append(FieldError(name, safe_repr(value), "True or False",
                                     f"{name} must be a bool"))
    kind = request.reference_type
    if kind is not None and kind not in catalog.REFERENCE_TYPES:
        errors.append(FieldError("reference_type", safe_repr(kind),
                                 " or ".join(catalog.REFERENCE_TYPES) + " or None",
                                 "unknown reference type"))
    return errors


def check_duration(duration: object, durations: tuple[int, int]) -> list[FieldError]:
    """The problem with a clip length, if any, for the range ``(shortest, longest)``."""
    low, high = durations
    allowed = f"a whole number of seconds from {low} to {high} (int)"
    if not is_int(duration):
        kind = type(duration).__name__
        return [FieldError("duration", safe_repr(duration), allowed,
                           f"duration must be an int number of seconds, not a {kind}")]
    seconds = int(duration)  # type: ignore[call-overload]
    if seconds < low:
        return [FieldError("duration", seconds, allowed,
                           f"{seconds} s is too short: providers reject clips under {low} s "
                           f"(generate {low} s and trim it)")]
    if seconds > high:
        return [FieldError("duration", seconds, allowed,
                           f"{seconds} s is too long: {high} s is the longest clip")]
    return []


def _check_model(request: GenerationRequest, provider: str | None) -> list[FieldError]:
    if request.model is None:
        return []
    served = catalog.versions(provider)
    if request.model in served:
        return []
    where = f"{provider} serves" if provider else "HappyHorse versions are"
    return [FieldError("model", safe_repr(request.model),
                       " or ".join(served) + " (or None: default)",
                       f"{where} {', '.join(served)} only")]


def _check_images(request: GenerationRequest, limits: _Limits, found: Findings) -> None:
    if request.image is not None:
        found.image = _check_one_image(request.image, "image", "image", limits, found.problems)
    refs = request.reference_images
    if not isinstance(refs, list):
        found.problems.append(FieldError(
            "reference_images", safe_repr(refs), "a list of 1 to 9 images",
            "reference_images must be a list (wrap a single image in [ ])"))
        return
    count = len(refs)
    low, high = limits.references
    if count > high:
        found.problems.append(FieldError(
            "reference_images", f"{count} images", f"1 to {high} images",
            f"{count} reference images given; at most {high} are accepted"))
    if 0 < count < low:
        found.problems.append(FieldError(
            "reference_images", f"{count} image", f"{low} to {high} images at {limits.provider}",
            f"{limits.provider} reads a single image as image-to-video; give at least {low} "
            "references, or pass the image as image="))
    for index, ref in enumerate(refs):
        loaded = _check_one_image(ref, f"reference_images[{index}]", "reference_images",
                                  limits, found.problems)
        if loaded is not None:
            found.references.append(loaded)


def _check_one_image(value: object, field_name: str, kind: str, limits: _Limits,
                     problems: list[FieldError]) -> ImageData | None:
    url_only = limits.provider is not None and not limits.inline_images
    try:
        img = load_image(value, field=field_name)
    except ValidationError as exc:
        problems.extend(exc.errors)
        if url_only and not is_url(value):
            problems.append(_url_only_error(value, field_name, str(limits.provider)))
        return None
    problems.extend(check_image(img, field=field_name, rules=limits.images))
    if url_only and img.kind != "url":
        problems.append(_url_only_error(value, field_name, str(limits.provider)))
    return img


def _url_only_error(value: object, field_name: str, provider: str) -> FieldError:
    if isinstance(value, (str, os.PathLike)):
        got = f"a local file {safe_repr(value)!r}"
    else:
        got = f"an in-memory image ({safe_repr(value)})"
    inline = sorted({c.provider for c in catalog.CONTRACTS.values() if c.inline_images})
    return FieldError(
        field_name, safe_repr(value), "an http(s) URL",
        f"the {provider} provider takes image URLs only; got {got}. Host it somewhere "
        f"reachable (http/https) or use {' or '.join(inline)}, which accepts base64",
    )


# ------------------------------------------------------------------------------- warnings

#: What happens when a parameter a provider does not document is given anyway.
_CONSEQUENCES = {
    "negative_prompt": "describe what to avoid in the prompt instead",
    "prompt_extend": "the provider may still rewrite short prompts",
    "watermark": "the clip may come without one",
    "seed": "the same seed may not give the same clip",
}


def find_warnings(request: GenerationRequest, provider: str | None = None) -> list[str]:
    """Things that are valid but probably not what was meant (see
    :meth:`GenerationRequest.warnings`)."""
    notes: list[str] = []
    mode = request.mode.value
    if request.image is not None and request.reference_count():
        notes.append(_both_inputs_warning(provider))
    if mode == "i2v" and request.aspect_ratio != catalog.DEFAULT_ASPECT_RATIO:
        notes.append(
            f"aspect_ratio {request.aspect_ratio} is ignored in image-to-video: the first frame "
            "decides the shape of the clip. Crop the image to the shape you want."
        )
    if provider in catalog.PROVIDERS:
        notes += _parameter_warnings(request, provider, mode)
    return notes


def _both_inputs_warning(provider: str | None) -> str:
    named = [provider] if provider in catalog.PROVIDERS else list(catalog.PROVIDERS)
    chosen = [catalog.facts(name).both_inputs_note for name in named]  # type: ignore[arg-type]
    return (
        "both image (a first frame) and reference_images are set: this is probably a "
        "mistake (a stray field changes the mode). Reference-to-video wins and the image "
        "is dropped: " + "; ".join(chosen) + ". Clear one of the two."
    )


def _set_params(request: GenerationRequest) -> dict[str, Any]:
    """The optional parameters given a non-default value."""
    given: dict[str, Any] = {}
    if request.negative_prompt:
        given["negative_prompt"] = request.negative_prompt
    if request.prompt_extend is False:
        given["prompt_extend"] = False
    if request.watermark is True:
        given["watermark"] = True
    if request.seed is not None:
        given["seed"] = request.seed
    if request.reference_type is not None:
        given["reference_type"] = request.reference_type
    return given


def _parameter_warnings(request: GenerationRequest, provider: str, mode: str) -> list[str]:
    version = request.model or catalog.default_version(provider)
    contract = catalog.CONTRACTS.get((provider, version, mode))
    if contract is None:
        return []
    notes: list[str] = []
    for name in _set_params(request):
        wire = contract.field_for(name)
        if name == "reference_type" and wire is None and _takes_anywhere(provider, name):
            notes.append(f"{provider} uses reference_type for reference-to-video only; it has "
                         f"no effect on {_MODE_LABELS[mode]}.")
        elif name == "reference_type" and wire is None:
            notes.append(f"{provider} does not document reference_type, so it may have no "
                         "effect there (only the aggregator's reference-to-video uses it).")
        elif wire is None or not wire.documented:
            notes.append(f"{provider} does not document {name}, so it may have no effect there "
                         f"({_CONSEQUENCES[name]}).")
    if contract.note:
        notes.append(contract.note)
    return notes


def _takes_anywhere(provider: str, param: str) -> bool:
    return any(param in c.params for c in catalog.contracts_of(provider))


def describe_image(value: object, loaded: ImageData | None = None) -> dict[str, Any]:
    """The JSON-safe record of one image input (never its bytes)."""
    describe = getattr(value, "describe", None)
    if callable(describe):  # a StoredImage read back from the journal
        return dict(describe())
    if loaded is not None:
        return loaded.describe()
    try:
        return load_image(value).describe()
    except ValidationError as exc:
        if isinstance(value, (str, os.PathLike)):
            return {"kind": "file", "path": os.fspath(value), "sha256": None,
                    "error": exc.errors[0].message}
        return {"kind": "invalid", "repr": safe_repr(value), "sha256": None}


# Names people reach for (often another provider's wording) -> the field meant.
_ALIASES = {
    "ratio": "aspect_ratio", "aspect": "aspect_ratio", "size": "resolution",
    "res": "resolution", "length": "duration", "seconds": "duration",
    "first_frame": "image", "image_url": "image", "input_reference": "image",
    "images": "reference_images", "references": "reference_images", "refs": "reference_images",
    "negative": "negative_prompt", "version": "model", "model_version": "model",
}
_AUDIO_WORDS = frozenset({"audio", "audio_file", "audio_url", "sound", "music", "voice"})


def unknown_parameter_message(names: list[str], fields: frozenset[str]) -> str:
    """What to say about parameters a request does not have: the name meant, if guessable."""
    lines = []
    for name in names:
        if name in _AUDIO_WORDS:
            lines.append(
                f"{name!r}: HappyHorse takes no audio input; it generates synchronized audio "
                "itself. Describe the sound (dialogue, music, ambience) in the prompt instead."
            )
            continue
        guess = _ALIASES.get(name) or next(
            iter(difflib.get_close_matches(name, sorted(fields), n=1)), None
        )
        hint = f"; did you mean {guess!r}?" if guess else ""
        lines.append(f"{name!r} is not a GenerationRequest parameter{hint}")
    return "\n".join(lines)
