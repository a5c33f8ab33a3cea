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
from .media import ImageData, check_image, check_url, is_url, load_image
from .present import safe_repr, short_path
from .request_text import check_text, is_chinese

if TYPE_CHECKING:
    from .request import GenerationRequest

__all__ = ["Findings", "find_problems", "find_warnings", "image_tokens", "is_chinese"]

_IMAGE_TOKEN = re.compile(r"\[\s*image\s*(\d+)\s*\]", re.IGNORECASE)
_MODE_LABELS = {"t2v": "text-to-video", "i2v": "image-to-video", "r2v": "reference-to-video"}


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
    last_frame: ImageData | None = None
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
    if provider == catalog.SANDBOX:  # the local sandbox takes what Segmind takes
        provider = catalog.SANDBOX_PROTOCOL
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
    found.problems += _check_audio(request)
    _check_images(request, limits, found)
    if provider is not None and request.model in (None, *catalog.versions(provider)):
        found.problems += _check_path(request, provider, str(found.version), mode,
                                      found.contract)
    return found


def provider_error(provider: object) -> FieldError:
    """The problem of an unknown provider name (with the name meant, when it is guessable)."""
    names = [*catalog.PROVIDERS, catalog.SANDBOX]
    message = f"unknown provider {safe_repr(provider)!r}"
    if isinstance(provider, str) and not provider.strip():
        message = "the provider name is empty (leave it out, or None, for the default)"
    elif isinstance(provider, str):
        guess = difflib.get_close_matches(provider.strip().lower(), names, n=1)
        message += f"; did you mean {guess[0]!r}?" if guess else ""
    allowed = ", ".join(catalog.PROVIDERS) + f" (or {catalog.SANDBOX!r}: the local sandbox)"
    return FieldError("provider", safe_repr(provider), allowed, message)


def _check_prompt(request: GenerationRequest, limits: _Limits, mode: str) -> list[FieldError]:
    errors: list[FieldError] = []
    prompt = request.prompt
    if not isinstance(prompt, str):
        return [FieldError("prompt", safe_repr(prompt), "a string", "the prompt must be text")]
    if not prompt.strip() and limits.prompt_required:
        where = _MODE_LABELS[mode] if mode != "i2v" else f"{limits.provider}'s image-to-video"
        errors.append(FieldError("prompt", prompt, "non-empty text",
                                 f"a prompt is required for {where}"))
    elif prompt.strip() or limits.prompt_required:
        errors += check_text("prompt", prompt, catalog.MAX_PROMPT_CHARS,
                             catalog.MAX_PROMPT_CHARS_CHINESE)
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
    elif negative:
        errors += check_text("negative_prompt", negative, catalog.MAX_NEGATIVE_PROMPT_CHARS,
                             catalog.MAX_NEGATIVE_PROMPT_CHARS_CHINESE)
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
    if request.last_frame is not None:
        if request.image is None:
            found.problems.append(FieldError(
                "last_frame", safe_repr(request.last_frame), "an end frame together with image=",
                "last_frame is the end of a first-to-last-frame clip: it needs image= (the "
                "first frame) too"))
        found.last_frame = _check_one_image(request.last_frame, "last_frame", "last_frame",
                                            limits, found.problems)
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
        got = f"a local file {short_path(value)!r}"
    else:
        got = f"an in-memory image ({safe_repr(value)})"
    inline = sorted({c.provider for c in catalog.CONTRACTS.values() if c.inline_images})
    return FieldError(
        field_name, safe_repr(value), "an http(s) URL",
        f"the {provider} provider takes image URLs only; got {got}. Host it somewhere "
        f"reachable (http/https) or use {' or '.join(inline)}, which accepts base64",
    )


def _check_audio(request: GenerationRequest) -> list[FieldError]:
    audio = request.audio
    if audio is None:
        return []
    low, high = catalog.AUDIO_SECONDS
    allowed = (f"an http(s) URL of an MP3 or WAV speech file, {low} to {high} s, at most "
               f"{catalog.AUDIO_MAX_BYTES // (1024 * 1024)} MB")
    if not isinstance(audio, str):
        return [FieldError("audio", safe_repr(audio), allowed,
                           "audio must be the URL of a speech file (text)")]
    if is_url(audio):
        problem = check_url(audio, "audio")
        return [] if problem is None else [problem]
    where = "a local file" if os.path.exists(os.path.expanduser(audio)) else "not a URL"
    shown = short_path(audio) if where == "a local file" else safe_repr(audio)
    return [FieldError("audio", shown, allowed,
                       f"the provider fetches the speech file itself, so audio must be an "
                       f"http(s) URL ({where}): upload it somewhere reachable and pass its URL")]


def given_params(request: GenerationRequest) -> dict[str, Any]:
    """The optional parameters a request sets (defaults are not 'given')."""
    given: dict[str, Any] = {}
    if request.negative_prompt:
        given["negative_prompt"] = request.negative_prompt
    if request.prompt_extend is False:
        given["prompt_extend"] = False
    if request.watermark is True:
        given["watermark"] = True
    for name in ("seed", "reference_type", "audio", "last_frame"):
        if getattr(request, name) is not None:
            given[name] = getattr(request, name)
    return given


#: What to do instead when a provider does not take a parameter.
_INSTEAD = {
    "negative_prompt": "describe what to avoid in the prompt instead",
    "prompt_extend": "keep the prompt short and exact if it must not be rewritten",
    "watermark": "the clip comes without one",
    "seed": "without a seed every clip is a fresh draw",
    "reference_type": "",
    "audio": "HappyHorse makes its own synchronized sound: describe it in the prompt",
    "last_frame": "",
}


def takers(param: str, mode: str | None = None) -> str:
    """Who takes ``param`` (in ``mode``, if given): ``"segmind 1.1, apiframe and openai"``."""
    found: dict[str, set[str]] = {}
    for c in catalog.CONTRACTS.values():
        if param in c.params and (mode is None or c.mode == mode):
            found.setdefault(c.provider, set()).add(c.version)
    names = []
    for provider in catalog.PROVIDERS:
        served = found.get(provider)
        if not served:
            continue
        every = set(catalog.versions(provider))
        names.append(provider if served == every else
                     f"{provider} {' and '.join(sorted(served, reverse=True))}")
    if not names:
        return "no provider"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _check_path(request: GenerationRequest, provider: str, version: str, mode: str,
                contract: Contract | None) -> list[FieldError]:
    """Refuse what this provider, version and mode do not take: nothing undocumented is
    ever sent (no page here says unknown fields are ignored)."""
    label = f"{provider}'s HappyHorse {version}"
    if contract is None:
        others = takers("reference_images" if mode == "r2v" else "image", mode)
        return [FieldError(
            "reference_images" if mode == "r2v" else "image", mode,
            f"{_MODE_LABELS[mode]} at {others}",
            f"{label} has no {_MODE_LABELS[mode]}; it is offered by {others}")]
    errors = []
    for name, value in given_params(request).items():
        if name in contract.params or (name == "last_frame" and request.image is None):
            continue  # taken here; or a last frame without a first one, reported already
        who = takers(name, mode)
        if who == "no provider":
            modes = sorted({_MODE_LABELS[c.mode] for c in catalog.CONTRACTS.values()
                            if name in c.params})
            who = f"{takers(name)}, for {' and '.join(modes)} only"
        instead = _INSTEAD.get(name, "")
        errors.append(FieldError(
            name, safe_repr(value), f"{name} left unset at {provider} {version}",
            f"{label} does not take {name} for {_MODE_LABELS[mode]}; it is taken by {who}"
            + (f" ({instead})" if instead else "")))
    return errors


# ------------------------------------------------------------------------------- warnings

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
    return notes


def _both_inputs_warning(provider: str | None) -> str:
    named = [provider] if provider in catalog.PROVIDERS else list(catalog.PROVIDERS)
    chosen = [catalog.facts(name).both_inputs_note for name in named]  # type: ignore[arg-type]
    return (
        "both image (a first frame) and reference_images are set: this is probably a "
        "mistake (a stray field changes the mode). Reference-to-video wins and the image "
        "is dropped: " + "; ".join(chosen) + ". Clear one of the two."
    )


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
    "end_frame": "last_frame", "end_image": "last_frame", "last_image": "last_frame",
}
_AUDIO_WORDS = frozenset({"audio_file", "audio_url", "sound", "music", "voice", "speech"})
#: Where things go that are not part of a request.
_ELSEWHERE = {name: f"{name}= belongs to the client, not the request: hh.Client({name}=...)"
              + (", or hh.generate(prompt, provider=...) for one call" if name == "provider"
                 else "")
              for name in ("provider", "api_key", "base_url", "sandbox", "data_dir")}


def unknown_parameter_message(names: list[str], fields: frozenset[str]) -> str:
    """What to say about parameters a request does not have: the name meant, if guessable."""
    lines = []
    for name in names:
        if name in _ELSEWHERE:
            lines.append(f"{name!r} is not a GenerationRequest parameter: {_ELSEWHERE[name]}")
            continue
        if name in _AUDIO_WORDS:
            lines.append(
                f"{name!r} is not a GenerationRequest parameter: HappyHorse generates "
                "synchronized audio itself (describe the sound in the prompt); a speech file "
                f"to lip-sync to is audio= (an http(s) URL), taken by {takers('audio')} only."
            )
            continue
        guess = _ALIASES.get(name) or next(
            iter(difflib.get_close_matches(name, sorted(fields), n=1)), None
        )
        hint = f"; did you mean {guess!r}?" if guess else ""
        lines.append(f"{name!r} is not a GenerationRequest parameter{hint}")
    return "\n".join(lines)
