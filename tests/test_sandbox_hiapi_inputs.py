"""HiAPI's strict ``input`` on the sandbox: each model takes exactly the fields its page lists
(seed 004 for text-to-video, HiAPI's i2v and r2v pages via SUPPLEMENT.md), by URL only."""

from __future__ import annotations

import base64

import httpx
import pytest
from sandbox_fixtures import AUTH, Receiver, client, data_url, png_bytes

from hh_notebook.sandbox import Sandbox

H = AUTH["hiapi"]
URL = "https://cdn.example.com/first.png"
T2V = {"model": "happyhorse-1.1/text-to-video",
       "input": {"prompt": "A neon street at night after rain", "resolution": "720p",
                 "aspect_ratio": "9:16", "duration": 3}}
I2V = {"model": "happyhorse-1.1/image-to-video",
       "input": {"image_urls": [URL], "prompt": "the lantern sways", "resolution": "720p",
                 "duration": 3}}
R2V = {"model": "happyhorse-1.1/reference-to-video",
       "input": {"reference_image": [URL, "https://cdn.example.com/b.png"],
                 "prompt": "[Image 1] walks past [Image 2]", "resolution": "720p",
                 "aspect_ratio": "21:9", "duration": 3}}


def submit(c: httpx.Client, body: dict) -> httpx.Response:
    return c.post("/v1/tasks", json=body, headers=H)


def change(body: dict, drop: tuple[str, ...] = (), **fields: object) -> dict:
    """``body`` with some input fields set and others dropped."""
    inp = {k: v for k, v in body["input"].items() if k not in drop}
    return {**body, "input": {**inp, **fields}}


def assert_invalid_request(r: httpx.Response, *words: str) -> None:
    assert r.status_code == 400
    err = r.json()
    assert err["code"] == 400 and err["data"] is None and err["error_code"] == "INVALID_REQUEST"
    for word in words:
        assert word in err["message"]


@pytest.mark.parametrize("body", [
    T2V, I2V, R2V,
    {"model": T2V["model"], "input": {"prompt": "only the prompt"}},
    {"model": I2V["model"], "input": {"image_urls": [URL]}},  # the prompt is optional
    {"model": R2V["model"], "input": {"reference_image": [URL], "prompt": "[Image 1] waves"}},
    change(R2V, reference_image=[f"https://cdn.example.com/{i}.png" for i in range(9)]),
], ids=["t2v", "i2v", "r2v", "t2v-minimal", "i2v-minimal", "r2v-one-reference", "r2v-nine"])
def test_documented_bodies_are_accepted(sandbox: Sandbox, body: dict) -> None:
    with client(sandbox) as c:
        r = submit(c, body)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["taskId"].startswith("tk-hiapi-")


@pytest.mark.parametrize("name, value", [
    ("seed", 9), ("negative_prompt", "blurry"), ("prompt_extend", True), ("watermark", False),
    ("image_urls", [URL]), ("reference_image", [URL]),
])
def test_text_to_video_refuses_fields_its_page_does_not_list(
        sandbox: Sandbox, name: str, value: object) -> None:
    with client(sandbox) as c:
        r = submit(c, change(T2V, **{name: value}))
    assert_invalid_request(r, "unknown input field", name)


@pytest.mark.parametrize("body, words", [
    (change(I2V, drop=("image_urls",), image_url=URL), ("image_url", "image_urls")),
    (change(I2V, drop=("image_urls",), image=URL), ("unknown input field", "image")),
    (change(I2V, image_urls=URL), ("input.image_urls", "array", "str")),
    (change(I2V, image_urls=[URL, URL]), ("exactly one", "2 items")),
    (change(I2V, image_urls=[]), ("exactly one",)),
    (change(I2V, aspect_ratio="16:9"), ("unknown input field", "aspect_ratio")),
    (change(I2V, seed=1), ("unknown input field", "seed")),
    (change(I2V, image_urls=[data_url(png_bytes())]), ("http(s) URL",)),
    (change(I2V, image_urls=[base64.b64encode(png_bytes()).decode()]), ("http(s) URL",)),
    (change(I2V, image_urls=[42]), ("http(s) URL",)),
], ids=["image_url", "image", "string-not-array", "two-images", "no-image", "aspect_ratio",
        "seed", "data-url", "bare-base64", "not-a-string"])
def test_image_to_video_misreadings_are_invalid_requests(
        sandbox: Sandbox, body: dict, words: tuple[str, ...]) -> None:
    with client(sandbox) as c:
        r = submit(c, body)
    assert_invalid_request(r, *words)


@pytest.mark.parametrize("body, words", [
    (change(R2V, drop=("reference_image",), reference_images=[URL]),
     ("reference_images", "singular")),
    (change(R2V, drop=("reference_image",), image_urls=[URL]), ("image_urls",)),
    (change(R2V, image_urls=[URL]), ("unknown input field", "image_urls")),
    (change(R2V, reference_image=URL), ("input.reference_image", "array", "str")),
    (change(R2V, reference_image=[URL] * 10), ("1 to 9", "10 items")),
    (change(R2V, drop=("prompt",)), ("input.prompt is required",)),
    (change(R2V, watermark=True), ("unknown input field", "watermark")),
    (change(R2V, reference_image=[data_url(png_bytes(500, 500))]), ("http(s) URL",)),
], ids=["reference_images", "image_urls-only", "image_urls-extra", "string-not-array",
        "ten-images", "no-prompt", "watermark", "data-url"])
def test_reference_to_video_misreadings_are_invalid_requests(
        sandbox: Sandbox, body: dict, words: tuple[str, ...]) -> None:
    with client(sandbox) as c:
        r = submit(c, body)
    assert_invalid_request(r, *words)


@pytest.mark.parametrize("body, size, accepted", [
    (I2V, (300, 600), True),
    (I2V, (600, 299), False),
    (R2V, (400, 400), True),
    (R2V, (800, 399), False),
    (I2V, (1500, 300), True),  # 5:1: HiAPI's pages set no ratio bound
], ids=["i2v-300", "i2v-299", "r2v-400", "r2v-399", "i2v-wide"])
def test_shortest_side_limits_per_model(sandbox: Sandbox, body: dict, size: tuple[int, int],
                                        accepted: bool) -> None:
    name = "image_urls" if body is I2V else "reference_image"
    with Receiver(files={"/img.png": png_bytes(*size)}) as srv, client(sandbox) as c:
        r = submit(c, change(body, **{name: [srv.url + "/img.png"]}))
    if accepted:
        assert r.status_code == 200, r.text
    else:
        assert_invalid_request(r, f"at least {300 if body is I2V else 400} px")


@pytest.mark.parametrize("padding_mb, accepted", [(15, True), (21, False)])
def test_images_up_to_20_mb(sandbox: Sandbox, padding_mb: int, accepted: bool) -> None:
    # 15 MB is over the 10 MB other providers allow, and within HiAPI's 20 MB
    big = png_bytes() + b"\0" * (padding_mb * 1024 * 1024)
    with Receiver(files={"/big.png": big}) as srv, client(sandbox) as c:
        r = submit(c, change(I2V, image_urls=[srv.url + "/big.png"]))
    if accepted:
        assert r.status_code == 200, r.text
    else:
        assert_invalid_request(r, "20 MB")
