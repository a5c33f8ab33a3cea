"""A table of bad requests: each must fail validation naming exactly the expected fields.

``BAD_REQUESTS`` is importable (``from test_validation_table import BAD_REQUESTS``)
so that the front doors replay it — the Python API (``test_client.py``), the magic and
the command (``test_validation_doors.py``) — and assert that no HTTP request reaches the
sandbox and no journal row is written. Every entry is ``(id, provider, kwargs,
expected_fields)``; ``expected_fields`` lists every field the ValidationError
must name (as a multiset: one entry per expected FieldError), so a request with
several problems must report all of them at once. :func:`as_options` turns an entry into
the options of the magic and the command, where they can express it.
"""

from __future__ import annotations

import io
import pathlib
import struct
import zlib
from typing import Any

import numpy as np
import pytest
from core_fixtures import URL, URL2, image_bytes, padded_png
from PIL import Image

from hh_notebook.catalog import IMAGE_RULES
from hh_notebook.errors import ValidationError
from hh_notebook.media import StoredImage
from hh_notebook.request import GenerationRequest

PNG = image_bytes(640, 360)
GIF = image_bytes(640, 360, "GIF")
BMP = image_bytes(640, 360, "BMP")
TIFF = image_bytes(640, 360, "TIFF")
NARROW = image_bytes(299, 400)  # one side under 300 px
THIN = image_bytes(320, 900)  # 1:2.81, beyond 1:2.5
WIDE_AND_SMALL = image_bytes(800, 200)  # 4:1 and under 300 px tall: two problems
OVERSIZED = padded_png(IMAGE_RULES.max_bytes + 1)
PIL_IMAGE = Image.open(io.BytesIO(PNG))
PIL_IMAGE.load()
ARRAY = np.zeros((360, 640, 3), dtype=np.uint8)
REFS_10 = [f"https://example.com/ref{i}.png" for i in range(10)]


def png_claiming(width: int, height: int) -> bytes:
    """A real PNG whose header is rewritten to claim ``width`` x ``height`` (CRC fixed)."""
    data = bytearray(image_bytes(320, 320))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


# Images that only look like images: the right magic bytes, nothing decodable behind them.
PNG_SIGNATURE_ONLY = b"\x89PNG\r\n\x1a\n"
PNG_TRUNCATED = PNG[: len(PNG) // 2]
JPEG_TRUNCATED = image_bytes(640, 360, "JPEG")[:400]
WEBP_GARBAGE = b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(range(64))
PNG_100000_SQUARED = png_claiming(100_000, 100_000)
PNG_12000_BY_9000 = png_claiming(12_000, 9_000)  # 108 MP: over the limit, under Pillow's error
HEIC_LOOKALIKE = b"\0\0\0\x18ftypheic" + bytes(32)
EMPTY_PIL = Image.new("RGB", (0, 0))
URL_9000 = "https://example.com/" + "a" * 8990 + ".png"
ZWSP = "\u200b"

#: (id, provider, GenerationRequest kwargs, every field the error must name)
BAD_REQUESTS: list[tuple[str, str | None, dict[str, Any], list[str]]] = [
    # prompt
    ("t2v-empty-prompt", "segmind", {"prompt": ""}, ["prompt"]),
    ("t2v-blank-prompt", None, {"prompt": "   \n"}, ["prompt"]),
    ("r2v-empty-prompt", "hiapi", {"prompt": "", "reference_images": [URL]}, ["prompt"]),
    ("i2v-empty-prompt-segmind", "segmind", {"prompt": "", "image": URL}, ["prompt"]),
    ("i2v-empty-prompt-apiframe", "apiframe", {"prompt": "", "image": URL}, ["prompt"]),
    ("prompt-5001-chars", "openai", {"prompt": "a" * 5001}, ["prompt"]),
    ("chinese-prompt-2501-chars", "hiapi", {"prompt": "马" * 2501}, ["prompt"]),
    ("mixed-chinese-prompt-3000-chars", "segmind", {"prompt": "白马" + "x" * 2998}, ["prompt"]),
    ("prompt-not-text", "segmind", {"prompt": 123}, ["prompt"]),
    ("negative-prompt-not-text", "segmind", {"prompt": "p", "negative_prompt": 42},
     ["negative_prompt"]),
    # [Image N] tokens
    ("token-past-references", "segmind",
     {"prompt": "[Image 1] meets [Image 3]", "reference_images": [URL, URL2]}, ["prompt"]),
    ("token-image-zero", "openai", {"prompt": "[Image 0] runs", "reference_images": [URL]},
     ["prompt"]),
    ("token-in-t2v", "hiapi", {"prompt": "[Image 1] on a beach"}, ["prompt"]),
    ("token-past-first-frame", "segmind", {"prompt": "[image 2] waves", "image": URL},
     ["prompt"]),
    # duration
    ("duration-2", "segmind", {"prompt": "p", "duration": 2}, ["duration"]),
    ("duration-16", "apiframe", {"prompt": "p", "duration": 16}, ["duration"]),
    ("duration-2.5", "hiapi", {"prompt": "p", "duration": 2.5}, ["duration"]),
    ("duration-5.0-float", "openai", {"prompt": "p", "duration": 5.0}, ["duration"]),
    ("duration-string", "segmind", {"prompt": "p", "duration": "5"}, ["duration"]),
    ("duration-bool", "segmind", {"prompt": "p", "duration": True}, ["duration"]),
    ("duration-none", None, {"prompt": "p", "duration": None}, ["duration"]),
    # resolution
    ("resolution-4k", "segmind", {"prompt": "p", "resolution": "4K"}, ["resolution"]),
    ("resolution-no-p", "hiapi", {"prompt": "p", "resolution": "720"}, ["resolution"]),
    ("resolution-int", "openai", {"prompt": "p", "resolution": 1080}, ["resolution"]),
    # aspect ratio per provider
    ("aspect-21:9-segmind", "segmind", {"prompt": "p", "aspect_ratio": "21:9"}, ["aspect_ratio"]),
    ("aspect-4:5-apiframe", "apiframe", {"prompt": "p", "aspect_ratio": "4:5"},
     ["aspect_ratio"]),
    ("aspect-2:1-hiapi", "hiapi", {"prompt": "p", "aspect_ratio": "2:1"}, ["aspect_ratio"]),
    ("aspect-slash-openai", "openai", {"prompt": "p", "aspect_ratio": "16/9"}, ["aspect_ratio"]),
    # seed
    ("seed-negative", "segmind", {"prompt": "p", "seed": -1}, ["seed"]),
    ("seed-too-big", "apiframe", {"prompt": "p", "seed": 2_147_483_648}, ["seed"]),
    ("seed-string", "openai", {"prompt": "p", "seed": "42"}, ["seed"]),
    ("seed-float", "segmind", {"prompt": "p", "seed": 1.5}, ["seed"]),
    ("seed-bool", "segmind", {"prompt": "p", "seed": False}, ["seed"]),
    # switches
    ("watermark-string", "segmind", {"prompt": "p", "watermark": "yes"}, ["watermark"]),
    ("prompt-extend-none", "segmind", {"prompt": "p", "prompt_extend": None}, ["prompt_extend"]),
    ("reference-type-unknown", "openai",
     {"prompt": "p", "reference_images": [URL], "reference_type": "face"}, ["reference_type"]),
    # model versions per provider
    ("model-1.0-apiframe", "apiframe", {"prompt": "p", "model": "1.0"}, ["model"]),
    ("model-1.0-hiapi", "hiapi", {"prompt": "p", "model": "1.0"}, ["model"]),
    ("model-1.1-openai", "openai", {"prompt": "p", "model": "1.1"}, ["model"]),
    ("model-2.0-segmind", "segmind", {"prompt": "p", "model": "2.0"}, ["model"]),
    # reference count and shape
    ("ten-references", "segmind", {"prompt": "p", "reference_images": REFS_10},
     ["reference_images"]),
    ("one-reference-apiframe", "apiframe", {"prompt": "p", "reference_images": [URL]},
     ["reference_images"]),
    ("references-not-a-list", "segmind", {"prompt": "p", "reference_images": URL},
     ["reference_images"]),
    # image limits (local images, checked before sending)
    ("image-gif", "segmind", {"prompt": "p", "image": GIF}, ["image"]),
    ("image-bmp", "segmind", {"prompt": "p", "image": BMP}, ["image"]),
    ("image-tiff", None, {"prompt": "p", "image": TIFF}, ["image"]),
    ("image-side-299", "segmind", {"prompt": "p", "image": NARROW}, ["image"]),
    ("image-aspect-1:2.8", "segmind", {"prompt": "p", "image": THIN}, ["image"]),
    ("image-4:1-and-short", "segmind", {"prompt": "p", "image": WIDE_AND_SMALL},
     ["image", "image"]),
    ("image-over-10mb", "segmind", {"prompt": "p", "image": OVERSIZED}, ["image"]),
    ("image-not-an-image", "segmind", {"prompt": "p", "image": b"hello, world"}, ["image"]),
    ("image-missing-file", "segmind", {"prompt": "p", "image": "/nonexistent/hh/frame.png"},
     ["image"]),
    ("image-float-array", "segmind", {"prompt": "p", "image": np.zeros((400, 400, 3))},
     ["image"]),
    ("image-2-channel-array", "segmind",
     {"prompt": "p", "image": np.zeros((400, 400, 2), dtype=np.uint8)}, ["image"]),
    ("image-url-without-host", "segmind", {"prompt": "p", "image": "https://"}, ["image"]),
    ("image-ftp-url", "segmind", {"prompt": "p", "image": "ftp://example.com/a.png"}, ["image"]),
    ("image-bad-data-url", "segmind", {"prompt": "p", "image": "data:image/png;base64,@@@"},
     ["image"]),
    ("image-not-stored-in-journal", "segmind",
     {"prompt": "p", "image": StoredImage(sha256="0" * 64, size=10)}, ["image"]),
    ("image-wrong-type", "segmind", {"prompt": "p", "image": 3.14}, ["image"]),
    ("reference-too-small", "segmind",
     {"prompt": "[Image 2] smiles", "reference_images": [URL, NARROW]}, ["reference_images[1]"]),
    # URL-only providers refuse local images
    ("openai-local-first-frame", "openai", {"prompt": "p", "image": PNG}, ["image"]),
    ("openai-local-references", "openai",
     {"prompt": "p", "reference_images": [PIL_IMAGE, URL, ARRAY]},
     ["reference_images[0]", "reference_images[2]"]),
    ("apiframe-local-first-frame", "apiframe", {"prompt": "p", "image": ARRAY}, ["image"]),
    ("apiframe-local-references", "apiframe",
     {"prompt": "p", "reference_images": [URL, PNG]}, ["reference_images[1]"]),
    ("hiapi-local-first-frame", "hiapi", {"prompt": "p", "image": PIL_IMAGE}, ["image"]),
    # provider names ("sandbox" is one: the local sandbox, speaking Segmind's protocol)
    ("provider-unknown", "runway", {"prompt": "p"}, ["provider"]),
    ("provider-empty", "", {"prompt": "p"}, ["provider"]),
    ("provider-blank", "  ", {"prompt": "p"}, ["provider"]),
    ("provider-typo", "segmnd", {"prompt": "p"}, ["provider"]),
    # images that only look like images, and other unreadable inputs
    ("png-signature-only", "segmind", {"prompt": "p", "image": PNG_SIGNATURE_ONLY}, ["image"]),
    ("png-truncated", "segmind", {"prompt": "p", "image": PNG_TRUNCATED}, ["image"]),
    ("jpeg-truncated", "segmind", {"prompt": "p", "image": JPEG_TRUNCATED}, ["image"]),
    ("webp-riff-garbage", "segmind", {"prompt": "p", "image": WEBP_GARBAGE}, ["image"]),
    ("png-claims-100000x100000", "segmind", {"prompt": "p", "image": PNG_100000_SQUARED},
     ["image"]),
    ("png-claims-108-megapixels", None, {"prompt": "p", "image": PNG_12000_BY_9000}, ["image"]),
    ("heic-lookalike", "segmind", {"prompt": "p", "image": HEIC_LOOKALIKE}, ["image"]),
    ("fake-png-reference", "segmind",
     {"prompt": "p", "reference_images": [URL, PNG_SIGNATURE_ONLY]}, ["reference_images[1]"]),
    ("fake-png-data-url", "segmind",
     {"prompt": "p", "image": "data:image/png;base64,iVBORw0KGgo="}, ["image"]),
    ("truncated-last-frame", "segmind",
     {"prompt": "p", "model": "1.0", "image": URL, "last_frame": PNG_TRUNCATED}, ["last_frame"]),
    ("empty-pil-image", "segmind", {"prompt": "p", "image": EMPTY_PIL}, ["image"]),
    ("empty-array", "segmind", {"prompt": "p", "image": np.zeros((0, 0, 3), dtype=np.uint8)},
     ["image"]),
    ("bool-array", "segmind", {"prompt": "p", "image": np.zeros((400, 400), dtype=bool)},
     ["image"]),
    ("empty-bytes", "segmind", {"prompt": "p", "image": b""}, ["image"]),
    ("image-dev-zero", "segmind", {"prompt": "p", "image": "/dev/zero"}, ["image"]),
    ("image-is-a-directory", "segmind", {"prompt": "p", "image": "/"}, ["image"]),
    ("image-path-with-nul", "segmind", {"prompt": "p", "image": "frame\0.png"}, ["image"]),
    ("image-path-too-long", "segmind", {"prompt": "p", "image": "f" * 5000 + ".png"}, ["image"]),
    ("reference-none", "segmind", {"prompt": "p", "reference_images": [None]},
     ["reference_images[0]"]),
    ("reference-empty-string", "segmind", {"prompt": "p", "reference_images": ["", URL]},
     ["reference_images[0]"]),
    ("references-a-dict", "segmind", {"prompt": "p", "reference_images": {"a": URL}},
     ["reference_images"]),
    # free text: sendable, visible, within length
    ("negative-prompt-5001-chars", "segmind", {"prompt": "p", "negative_prompt": "b" * 5001},
     ["negative_prompt"]),
    ("negative-prompt-chinese-2501", "segmind",
     {"prompt": "p", "negative_prompt": "模" * 2501}, ["negative_prompt"]),
    ("prompt-zero-width-only", "segmind", {"prompt": ZWSP * 3}, ["prompt"]),
    ("prompt-bom-and-joiners", "hiapi", {"prompt": "\ufeff\u2060\u200d"}, ["prompt"]),
    ("prompt-hangul-filler", "segmind", {"prompt": "\u3164\u3164"}, ["prompt"]),
    ("prompt-combining-marks-only", "openai", {"prompt": "\u0301\u0302"}, ["prompt"]),
    ("prompt-ideographic-space", "apiframe", {"prompt": "\u3000\u3000"}, ["prompt"]),
    ("prompt-lone-surrogate", "segmind", {"prompt": "a horse \ud800 at dawn"}, ["prompt"]),
    ("prompt-nul", "segmind", {"prompt": "a horse\0at dawn"}, ["prompt"]),
    ("prompt-escape-sequence", "hiapi", {"prompt": "a \x1b[31mred\x1b[0m horse"}, ["prompt"]),
    ("optional-prompt-invisible", "hiapi", {"prompt": ZWSP, "image": URL}, ["prompt"]),
    ("negative-prompt-surrogate", "segmind", {"prompt": "p", "negative_prompt": "\udfff"},
     ["negative_prompt"]),
    ("negative-prompt-invisible", "segmind", {"prompt": "p", "negative_prompt": ZWSP},
     ["negative_prompt"]),
    ("negative-prompt-control", "segmind", {"prompt": "p", "negative_prompt": "blur\x07"},
     ["negative_prompt"]),
    # URLs: checked as they are sent
    ("url-with-a-space", "hiapi", {"prompt": "p", "image": "https://example.com/my frame.png"},
     ["image"]),
    ("url-bad-port", "openai", {"prompt": "p", "image": "https://example.com:port/a.png"},
     ["image"]),
    ("url-control-char", "apiframe", {"prompt": "p", "image": "https://example.com/a\x01.png"},
     ["image"]),
    ("url-9000-chars", "segmind", {"prompt": "p", "image": URL_9000}, ["image"]),
    ("url-only-scheme", "hiapi", {"prompt": "p", "image": "http://"}, ["image"]),
    ("url-no-host", "segmind", {"prompt": "p", "image": "https://user@/a.png"}, ["image"]),
    ("url-broken-ipv6", "segmind", {"prompt": "p", "image": "https://[::1/a.png"}, ["image"]),
    ("reference-url-malformed", "openai",
     {"prompt": "p", "reference_images": [URL, "https://exa mple.com/b.png"]},
     ["reference_images[1]"]),
    ("audio-url-with-space", "segmind",
     {"prompt": "p", "model": "1.0", "audio": "https://example.com/my song.mp3"}, ["audio"]),
    ("audio-url-too-long", "segmind", {"prompt": "p", "model": "1.0", "audio": URL_9000},
     ["audio"]),
    ("audio-local-file", "segmind", {"prompt": "p", "model": "1.0", "audio": "speech.mp3"},
     ["audio"]),
    ("audio-not-text", "segmind", {"prompt": "p", "model": "1.0", "audio": 123}, ["audio"]),
    ("audio-at-segmind-1.1", "segmind", {"prompt": "p", "audio": "https://e.com/a.mp3"},
     ["audio"]),
    ("audio-at-apiframe", "apiframe", {"prompt": "p", "audio": "https://e.com/a.mp3"},
     ["audio"]),
    ("last-frame-without-image", "segmind", {"prompt": "p", "model": "1.0", "last_frame": URL},
     ["last_frame"]),
    ("last-frame-at-segmind-1.1", "segmind", {"prompt": "p", "image": URL, "last_frame": URL2},
     ["last_frame"]),
    # numbers: finite, whole and in range
    ("duration-nan", "segmind", {"prompt": "p", "duration": float("nan")}, ["duration"]),
    ("duration-inf", "segmind", {"prompt": "p", "duration": float("inf")}, ["duration"]),
    ("duration-negative", "hiapi", {"prompt": "p", "duration": -5}, ["duration"]),
    ("duration-zero", "apiframe", {"prompt": "p", "duration": 0}, ["duration"]),
    ("duration-huge", "openai", {"prompt": "p", "duration": 10**20}, ["duration"]),
    ("duration-numpy-float", "segmind", {"prompt": "p", "duration": np.float64(5.0)},
     ["duration"]),
    ("duration-words", "segmind", {"prompt": "p", "duration": "five"}, ["duration"]),
    ("seed-nan", "segmind", {"prompt": "p", "seed": float("nan")}, ["seed"]),
    ("seed-inf", "apiframe", {"prompt": "p", "seed": float("-inf")}, ["seed"]),
    ("seed-numpy-negative", "segmind", {"prompt": "p", "seed": np.int64(-3)}, ["seed"]),
    ("seed-2-pow-63", "openai", {"prompt": "p", "seed": 2**63}, ["seed"]),
    # other fields: empty, wrong type, not taken where asked
    ("resolution-empty", "segmind", {"prompt": "p", "resolution": ""}, ["resolution"]),
    ("resolution-none", "hiapi", {"prompt": "p", "resolution": None}, ["resolution"]),
    ("aspect-empty", "segmind", {"prompt": "p", "aspect_ratio": ""}, ["aspect_ratio"]),
    ("aspect-none", "openai", {"prompt": "p", "aspect_ratio": None}, ["aspect_ratio"]),
    ("reference-type-empty", "openai",
     {"prompt": "p", "reference_images": [URL], "reference_type": ""}, ["reference_type"]),
    ("model-empty", "segmind", {"prompt": "p", "model": ""}, ["model"]),
    ("model-float", "segmind", {"prompt": "p", "model": 1.1}, ["model"]),
    ("prompt-extend-string", "segmind", {"prompt": "p", "prompt_extend": "false"},
     ["prompt_extend"]),
    ("watermark-int", "openai", {"prompt": "p", "watermark": 1}, ["watermark"]),
    ("segmind-1.0-references", "segmind",
     {"prompt": "p", "model": "1.0", "reference_images": [URL]}, ["reference_images"]),
    ("hiapi-seed", "hiapi", {"prompt": "p", "seed": 7}, ["seed"]),
    ("hiapi-negative-prompt", "hiapi", {"prompt": "p", "negative_prompt": "blur"},
     ["negative_prompt"]),
    ("apiframe-watermark", "apiframe", {"prompt": "p", "watermark": True}, ["watermark"]),
    ("openai-no-extend", "openai", {"prompt": "p", "prompt_extend": False}, ["prompt_extend"]),
    ("segmind-reference-type", "segmind",
     {"prompt": "p", "reference_images": [URL], "reference_type": "style"}, ["reference_type"]),
    # several problems at once: all reported together
    ("four-problems-segmind", "segmind",
     {"prompt": "p", "duration": 1, "resolution": "8K", "seed": -5, "aspect_ratio": "7:3"},
     ["duration", "resolution", "seed", "aspect_ratio"]),
    ("four-problems-openai-r2v", "openai",
     {"prompt": "", "model": "1.1", "reference_images": [PNG], "duration": 20},
     ["prompt", "model", "duration", "reference_images[0]"]),
    ("image-problems-and-scalars", "segmind",
     {"prompt": "[Image 4]", "image": GIF, "seed": "x", "watermark": None},
     ["prompt", "image", "seed", "watermark"]),
]


def test_table_is_large_and_ids_are_unique() -> None:
    ids = [case[0] for case in BAD_REQUESTS]
    assert len(ids) >= 120
    assert len(set(ids)) == len(ids)


# ------------------------------------------------------------------------ front doors

_FLAGS = {"negative_prompt": "--negative", "aspect_ratio": "--aspect", "resolution": "-r",
          "model": "--model", "reference_type": "--reference-type", "audio": "--audio",
          "duration": "-d", "seed": "-s", "image": "--image", "last_frame": "--last-frame"}


def as_options(kwargs: dict[str, Any], folder: pathlib.Path | None, door: str,
               namespace: dict[str, Any] | None = None) -> tuple[str, list[str]] | None:
    """(prompt, options) saying ``kwargs`` at a front door (``"magic"`` or ``"cli"``), or
    None when that door cannot say it (a prompt that is not text, a switch set to a
    non-boolean...). Images the door cannot name are written to ``folder`` (the command) or
    put in ``namespace`` as notebook variables (the magic); with no ``folder``, nothing is
    written (only whether the door can say it matters)."""
    prompt = kwargs.get("prompt", "")
    if not isinstance(prompt, str) or (door == "magic" and prompt == ""):
        return None  # (IPython itself refuses a cell magic with an empty body)
    options: list[str] = []
    for name, value in kwargs.items():
        if name == "prompt":
            continue
        if name in ("image", "last_frame"):
            image = _image_option(value, folder, door, namespace, name)
            if image is None:
                return None
            options += [_FLAGS[name], image]
        elif name == "reference_images":
            if not isinstance(value, list):
                return None
            for index, ref in enumerate(value):
                image = _image_option(ref, folder, door, namespace, f"ref{index}")
                if image is None:
                    return None
                options += ["--ref", image]
        elif name in ("duration", "seed"):
            text = str(value)
            if value is None or (isinstance(value, str) and text.lstrip("-").isdigit()):
                return None  # the option would read it as the valid number it spells
            options += [_FLAGS[name], text]
        elif name == "prompt_extend" and value is False:
            options.append("--no-extend")
        elif name == "watermark" and value is True:
            options.append("--watermark")
        elif name in _FLAGS and isinstance(value, str) and "\n" not in value:
            options += [_FLAGS[name], value]
        else:
            return None
    return prompt, options


def _image_option(value: Any, folder: pathlib.Path | None, door: str,
                  namespace: dict[str, Any] | None, name: str) -> str | None:
    if isinstance(value, str):
        return value if "\n" not in value else None
    if door == "magic":
        if namespace is not None:
            namespace[f"hh_bad_{name}"] = value
        return f"hh_bad_{name}"
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    elif isinstance(value, Image.Image) and 0 not in value.size:
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        data = buffer.getvalue()
    elif (isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.size
          and (value.ndim == 2 or (value.ndim == 3 and value.shape[2] in (3, 4)))):
        buffer = io.BytesIO()
        Image.fromarray(value).save(buffer, format="PNG")
        data = buffer.getvalue()
    else:
        return None
    if folder is None:
        return "<file>"
    path = folder / f"{name}-{len(list(folder.iterdir()))}.img"
    path.write_bytes(data)
    return str(path)


def names_every_field(message: str, expected: list[str]) -> bool:
    """True when ``message`` names every expected field (as a field or as an option)."""
    bases = {field.split("[")[0] for field in expected}
    return all(base in message or base.replace("_", "-") in message for base in bases)


@pytest.mark.parametrize(
    ("provider", "kwargs", "expected"),
    [pytest.param(p, k, e, id=i) for i, p, k, e in BAD_REQUESTS],
)
def test_bad_request_names_exactly_the_expected_fields(
    provider: str | None, kwargs: dict[str, Any], expected: list[str]
) -> None:
    request = GenerationRequest(**kwargs)
    with pytest.raises(ValidationError) as info:
        request.validate(provider)
    error = info.value
    assert isinstance(error, ValueError)
    assert sorted(error.fields) == sorted(expected)
    for problem in error.errors:
        assert problem.allowed and problem.message
        assert len(repr(problem.value)) <= 300  # a safe summary, never raw bytes or a whole prompt
    rendered = str(error)
    assert rendered.splitlines()[0].startswith(f"{len(expected)} problem")
    assert len(rendered.splitlines()) == len(expected) + 1
    for name in expected:
        assert f"  - {name}: " in rendered
