"""The aggregator's request body on the sandbox: the fields seed 002 documents and nothing
else, images by URL; a refusal is a business error (HTTP 200 with an error object)."""

from __future__ import annotations

import base64

import httpx
import pytest
from sandbox_fixtures import AUTH, client, data_url, png_bytes

from hh_notebook.sandbox import Sandbox

H = AUTH["openai"]
URL = "https://cdn.example.com/frame.png"
T2V = {"model": "happyhorse-1.0-t2v", "prompt": "A neon street at night after rain",
       "size": "720P", "duration": 3,
       "metadata": {"ratio": "21:9", "seed": 4, "watermark": False}}
I2V = {"model": "happyhorse-1.0-i2v", "prompt": "the lantern sways", "size": "720P",
       "duration": 3, "input_reference": URL, "metadata": {"watermark": True, "seed": 1}}
R2V = {"model": "happyhorse-1.0-r2v", "prompt": "[Image 1] meets [Image 2]", "size": "720P",
       "duration": 3,
       "metadata": {"ratio": "4:5", "seed": 2, "reference_type": "style",
                    "input": {"media": [{"type": "reference_image", "url": URL},
                                        {"type": "reference_image", "url": URL}]}}}


def submit(c: httpx.Client, body: dict) -> httpx.Response:
    return c.post("/v1/video/generations", json=body, headers=H)


def assert_business_error(r: httpx.Response, *words: str) -> None:
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "code"}
    for word in words:
        assert word in body["error"]["message"]


@pytest.mark.parametrize("body", [
    T2V, I2V, R2V,
    {"model": "happyhorse-1.0-t2v", "prompt": "only the prompt"},
    {"model": "happyhorse-1.0-i2v",
     "metadata": {"input": {"media": [{"type": "first_frame", "url": URL}]}}},
    {**I2V, "metadata": {"ratio": "16:9"}},  # documented as ignored on i2v
], ids=["t2v", "i2v", "r2v", "t2v-minimal", "i2v-media", "i2v-ratio"])
def test_documented_bodies_are_accepted(sandbox: Sandbox, body: dict) -> None:
    with client(sandbox) as c:
        r = submit(c, body)
    assert r.status_code == 200 and "error" not in r.json(), r.text
    assert r.json()["status"] == "QUEUED"


@pytest.mark.parametrize("field", ["aspect_ratio", "resolution", "seed", "image",
                                   "negative_prompt", "watermark"])
def test_undocumented_top_level_fields_are_business_errors(sandbox: Sandbox,
                                                           field: str) -> None:
    with client(sandbox) as c:
        r = submit(c, {**T2V, field: "x"})
    assert_business_error(r, "unknown field", field)


@pytest.mark.parametrize("field", ["aspect_ratio", "negative_prompt", "prompt_extend",
                                   "duration", "media"])
def test_undocumented_metadata_fields_are_business_errors(sandbox: Sandbox,
                                                          field: str) -> None:
    with client(sandbox) as c:
        r = submit(c, {**T2V, "metadata": {**T2V["metadata"], field: 1}})
    assert_business_error(r, "unknown metadata field", field)


@pytest.mark.parametrize("change, words", [
    ({"input": {"media": R2V["metadata"]["input"]["media"], "images": [URL]}},
     ("unknown metadata.input field", "images")),
    ({"input": {"media": [{"type": "reference_image", "url": URL, "weight": 1}]}},
     ("metadata.input.media[0]",)),
])
def test_undocumented_media_fields_are_business_errors(sandbox: Sandbox, change: dict,
                                                       words: tuple[str, ...]) -> None:
    with client(sandbox) as c:
        r = submit(c, {**R2V, "metadata": {**R2V["metadata"], **change}})
    assert_business_error(r, *words)


@pytest.mark.parametrize("image", [
    data_url(png_bytes(640, 480)),
    base64.b64encode(png_bytes(640, 480)).decode(),
], ids=["data-url", "bare-base64"])
def test_images_are_urls_only(sandbox: Sandbox, image: str) -> None:
    media = {"input": {"media": [{"type": "reference_image", "url": image}]}}
    with client(sandbox) as c:
        i2v = submit(c, {**I2V, "input_reference": image})
        r2v = submit(c, {**R2V, "metadata": media})
    assert_business_error(i2v, "input_reference", "http(s) URL")
    assert_business_error(r2v, "metadata.input.media[0].url", "http(s) URL")
