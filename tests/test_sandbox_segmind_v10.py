"""Segmind's HappyHorse 1.0 on the sandbox: its own slug ``happyhorse`` and the fields of its
page (segmind.com/models/happyhorse/api, summarised in SUPPLEMENT.md)."""

from __future__ import annotations

import base64

import httpx
import pytest
from sandbox_fixtures import (
    AUTH,
    SEGMIND_KEY,
    Receiver,
    client,
    data_url,
    mp3_bytes,
    png_bytes,
    wav_bytes,
)
from segmind import SegmindClient

from hh_notebook.sandbox import Sandbox

H = AUTH["segmind"]
FIRST, LAST = "https://cdn.example.com/first.png", "https://cdn.example.com/last.png"
SPEECH = "https://cdn.example.com/speech.mp3"
BODY = {"prompt": "A presenter speaks to camera in a bright studio", "resolution": "720P",
        "duration": 3, "aspect_ratio": "4:3", "negative_prompt": "blurry",
        "prompt_extend": False, "watermark": False}


def submit(c: httpx.Client, body: dict, slug: str = "happyhorse") -> httpx.Response:
    return c.post(f"/v2/{slug}", json=body, headers=H)


def assert_refused(r: httpx.Response, *words: str) -> None:
    assert r.status_code == 400 and set(r.json()) == {"error"}
    for word in words:
        assert word in r.json()["error"]


@pytest.mark.parametrize("change, mode, lip_sync", [
    ({}, "t2v", False),
    ({"image": FIRST}, "i2v", False),
    ({"image": FIRST, "last_frame": LAST}, "i2v", False),
    ({"image": data_url(png_bytes(640, 480)),
      "last_frame": base64.b64encode(png_bytes(640, 480, (0, 0, 200))).decode()}, "i2v", False),
    ({"audio_url": SPEECH}, "t2v", True),
    ({"image": FIRST, "last_frame": LAST, "audio_url": SPEECH}, "i2v", True),
], ids=["t2v", "i2v", "i2v-last-frame", "i2v-last-frame-inline", "lip-sync",
        "i2v-last-frame-lip-sync"])
def test_documented_1_0_bodies_are_accepted(sandbox: Sandbox, change: dict, mode: str,
                                            lip_sync: bool) -> None:
    with client(sandbox) as c:
        r = submit(c, {**BODY, **change})
    assert r.status_code == 200, r.text
    spec = sandbox._state.jobs[r.json()["request_id"]].spec
    assert (spec.model, spec.mode, spec.lip_sync) == ("happyhorse-1.0", mode, lip_sync)
    assert spec.has_last_frame == ("last_frame" in change)


def test_only_the_prompt_is_required(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        r = submit(c, {"prompt": "minimal"})
    assert r.status_code == 200
    spec = sandbox._state.jobs[r.json()["request_id"]].spec
    assert (spec.resolution, spec.aspect_ratio, spec.duration) == ("720P", "16:9", 5)


def test_duration_2_is_accepted_on_1_0_and_refused_on_1_1(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        v10 = submit(c, {**BODY, "duration": 2})
        v11 = submit(c, {**BODY, "duration": 2}, slug="happyhorse-1.1")
    assert v10.status_code == 200
    assert_refused(v11, "duration", "3 to 15")


@pytest.mark.parametrize("change, words", [
    ({"duration": 1}, ("duration", "2 to 15")),
    ({"duration": 16}, ("duration", "2 to 15")),
    ({"seed": 7}, ("unknown field", "seed")),
    ({"reference_images": [FIRST]}, ("unknown field", "reference_images")),
    ({"last_frame": LAST}, ("last_frame needs image",)),
    ({"audio_url": "data:audio/wav;base64,UklGRg=="}, ("audio_url", "http(s) URL")),
    ({"audio_url": 42}, ("audio_url", "http(s) URL")),
    ({"aspect_ratio": "21:9"}, ("aspect_ratio",)),
    ({"resolution": "720p"}, ("resolution",)),
    ({"image": FIRST, "last_frame": "not an image"}, ("last_frame",)),
    ({"voice": "alloy"}, ("unknown field", "voice")),
], ids=["duration-1", "duration-16", "seed", "reference_images", "last-frame-alone",
        "audio-base64", "audio-number", "ratio", "resolution-case", "last-frame-garbage",
        "unknown"])
def test_1_0_refusals_are_400(sandbox: Sandbox, change: dict, words: tuple[str, ...]) -> None:
    with client(sandbox) as c:
        r = submit(c, {**BODY, **change})
    assert_refused(r, *words)


@pytest.mark.parametrize("name, data", [
    ("speech.wav", wav_bytes(4)),
    ("speech.mp3", mp3_bytes(4)),
    ("short.wav", wav_bytes(3)),
    ("long.wav", wav_bytes(30)),
])
def test_loopback_audio_within_limits_is_fetched_and_accepted(
        sandbox: Sandbox, name: str, data: bytes) -> None:
    with Receiver(files={f"/{name}": data}) as srv, client(sandbox) as c:
        r = submit(c, {**BODY, "audio_url": f"{srv.url}/{name}"})
        assert srv.gets == [f"/{name}"]
    assert r.status_code == 200, r.text
    assert sandbox._state.jobs[r.json()["request_id"]].spec.audio == data


@pytest.mark.parametrize("data, words", [
    (wav_bytes(2), ("2.00 s", "3 to 30 seconds")),
    (wav_bytes(31), ("31.00 s", "3 to 30 seconds")),
    (png_bytes(), ("MP3 or WAV",)),
    (b"not audio at all " * 100, ("MP3 or WAV",)),
    (wav_bytes(4) + b"\0" * (15 * 1024 * 1024), ("15 MB",)),
], ids=["too-short", "too-long", "an-image", "garbage", "over-15-mb"])
def test_loopback_audio_outside_limits_is_400(sandbox: Sandbox, data: bytes,
                                              words: tuple[str, ...]) -> None:
    with Receiver(files={"/a": data}) as srv, client(sandbox) as c:
        r = submit(c, {**BODY, "audio_url": srv.url + "/a"})
    assert_refused(r, "audio_url", *words)


def test_loopback_audio_that_cannot_be_fetched_is_400(sandbox: Sandbox) -> None:
    with Receiver() as srv, client(sandbox) as c:
        r = submit(c, {**BODY, "audio_url": srv.url + "/missing.mp3"})
    assert_refused(r, "audio_url", "could not be downloaded", "404")


def test_official_sdk_drives_slug_happyhorse(sandbox: Sandbox) -> None:
    sdk = SegmindClient(api_key=SEGMIND_KEY, base_url=sandbox.base_url + "/v1")
    job = sdk.submit_async("happyhorse", prompt="A horse on a beach", resolution="720P",
                           duration=2, aspect_ratio="1:1")
    result = job.wait(timeout=60, interval=0.05)
    assert result["status"] == "COMPLETED"
    assert result["output"].startswith(f"{sandbox.base_url}/files/segmind/{job.request_id}")
