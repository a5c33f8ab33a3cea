"""A table of bad requests: each must fail validation naming exactly the expected fields.

``BAD_REQUESTS`` is importable (``from test_validation_table import BAD_REQUESTS``)
so that lifecycle tests can replay it through the client and assert that no
HTTP request reaches the sandbox. Every entry is ``(id, provider, kwargs,
expected_fields)``; ``expected_fields`` lists every field the ValidationError
must name (as a multiset: one entry per expected FieldError), so a request with
several problems must report all of them at once.
"""

from __future__ import annotations

import io
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
    # provider names
    ("provider-sandbox", "sandbox", {"prompt": "p"}, ["provider"]),
    ("provider-unknown", "runway", {"prompt": "p"}, ["provider"]),
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
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)


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
