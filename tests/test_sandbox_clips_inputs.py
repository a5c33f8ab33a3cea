"""Clips show what was asked: Segmind 1.0's first+last-frame clips start and end on the given
images, and lip-sync clips say so and play the given speech."""

from __future__ import annotations

import dataclasses
import io

import av
import numpy as np
import pytest
from PIL import Image, ImageOps
from sandbox_fixtures import (
    AUTH,
    Receiver,
    client,
    data_url,
    finish,
    pattern_png,
    wav_bytes,
)

from hh_notebook.sandbox import Sandbox
from hh_notebook.sandbox.clips import SAMPLE_RATE, ClipSpec

H = AUTH["segmind"]
MATCH = 6.0  # mean absolute RGB difference left by lossy encoding (measured: about 2)
FIRST, LAST = pattern_png(960, 720, seed=1), pattern_png(800, 800, seed=2)


def v10_clip(sb: Sandbox, **body: object) -> tuple[bytes, ClipSpec]:
    """Submit to Segmind's 1.0 slug, finish, download; the clip and the spec it was made of."""
    payload = {"prompt": "A presenter speaks to camera", "duration": 3, **body}
    with client(sb) as c:
        r = c.post("/v2/happyhorse", json=payload, headers=H)
        assert r.status_code == 200, r.text
        rid = r.json()["request_id"]
        finish(sb)
        out = c.get(f"/v2/requests/{rid}", headers=H).json()["output"]
        return c.get(out).content, sb._state.jobs[rid].spec


def video_frames(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in container.decode(video=0)]


def audio_samples(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data)) as container:
        return np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])


def comment(data: bytes) -> str:
    with av.open(io.BytesIO(data)) as container:
        return str(container.metadata.get("comment", ""))


def covered(image: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """The image cover-cropped (scaled to fill, centred) to a frame of ``shape``."""
    with Image.open(io.BytesIO(image)) as im:
        fitted = ImageOps.fit(im.convert("RGB"), (shape[1], shape[0]), Image.Resampling.BICUBIC)
    return np.asarray(fitted).astype(np.int16)


def mad(a: np.ndarray, b: np.ndarray, rows: slice = slice(None)) -> float:
    return float(np.abs(a[rows] - b[rows]).mean())


def peak_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(samples.size, 1 / SAMPLE_RATE)[int(np.argmax(spectrum))])


def test_first_last_frame_clip_starts_and_ends_on_the_given_images(sandbox: Sandbox) -> None:
    data, _ = v10_clip(sandbox, image=data_url(FIRST), last_frame=data_url(LAST))
    frames = video_frames(data)
    assert frames[0].shape[:2] == (720, 960)  # the first image's 4:3 shape
    first, last = covered(FIRST, frames[0].shape), covered(LAST, frames[0].shape)
    assert mad(frames[0], first) < MATCH and mad(frames[-1], last) < MATCH
    # and the comparison can tell images apart
    assert mad(frames[0], last) > 5 * MATCH and mad(frames[-1], first) > 5 * MATCH


def test_first_last_frames_by_loopback_url(sandbox: Sandbox) -> None:
    with Receiver(files={"/first.png": FIRST, "/last.png": LAST}) as srv:
        data, _ = v10_clip(sandbox, image=srv.url + "/first.png",
                           last_frame=srv.url + "/last.png", prompt="by URL")
        assert sorted(srv.gets) == ["/first.png", "/last.png"]
    frames = video_frames(data)
    assert mad(frames[0], covered(FIRST, frames[0].shape)) < MATCH
    assert mad(frames[-1], covered(LAST, frames[0].shape)) < MATCH


def test_in_between_frames_dissolve_from_first_to_last(sandbox: Sandbox) -> None:
    data, _ = v10_clip(sandbox, image=data_url(FIRST), last_frame=data_url(LAST))
    frames = video_frames(data)
    first, last = covered(FIRST, frames[0].shape), covered(LAST, frames[0].shape)
    body = slice(frames[0].shape[0] // 4, frames[0].shape[0] * 3 // 4)  # no bar, no caption
    n = len(frames)
    to_first = [mad(frames[i], first, body) for i in (n // 4, n // 2, 3 * n // 4)]
    to_last = [mad(frames[i], last, body) for i in (n // 4, n // 2, 3 * n // 4)]
    assert to_first == sorted(to_first) and to_last == sorted(to_last, reverse=True)
    assert min(to_first + to_last) > MATCH  # really in between, neither image


def test_lip_sync_clip_plays_the_fetched_audio_trimmed(sandbox: Sandbox) -> None:
    speech = wav_bytes(4, freq=1000.0)  # longer than the 3 s clip
    with Receiver(files={"/speech.wav": speech}) as srv:
        data, spec = v10_clip(sandbox, audio_url=srv.url + "/speech.wav")
    samples = audio_samples(data)
    assert 220 + spec.seed % 440 != pytest.approx(1000, abs=20)  # the seed tone is elsewhere
    assert peak_hz(samples) == pytest.approx(1000, abs=5)
    assert samples.size == pytest.approx(3 * SAMPLE_RATE, abs=2048)  # trimmed to the clip
    assert "lip-sync to the given audio" in comment(data)


def test_lip_sync_audio_shorter_than_the_clip_is_padded_with_silence(sandbox: Sandbox) -> None:
    with Receiver(files={"/speech.wav": wav_bytes(3, freq=800.0)}) as srv:
        data, _ = v10_clip(sandbox, audio_url=srv.url + "/speech.wav", duration=5)
    samples = audio_samples(data)
    rms = [float(np.sqrt(np.mean(samples[s * SAMPLE_RATE:(s + 1) * SAMPLE_RATE] ** 2)))
           for s in (1, 4)]
    assert rms[0] > 0.2 and rms[1] < 0.01


def test_lip_sync_to_a_remote_url_says_so_and_keeps_the_seed_tone(sandbox: Sandbox) -> None:
    data, spec = v10_clip(sandbox, audio_url="https://cdn.example.com/speech.mp3")
    assert "lip-sync to audio from cdn.example.com (not fetched)" in comment(data)
    assert peak_hz(audio_samples(data)) == pytest.approx(220 + spec.seed % 440, abs=5)


def test_a_plain_clip_does_not_claim_lip_sync(sandbox: Sandbox) -> None:
    data, spec = v10_clip(sandbox, prompt="no audio given")
    assert "lip-sync" not in comment(data) and "first+last frame" not in comment(data)
    assert not spec.lip_sync and not spec.has_last_frame


def test_same_1_0_request_gives_the_same_clip(sandbox: Sandbox) -> None:
    # 1.0 takes no seed: the sandbox derives it from the request, so the clip is repeatable
    a, spec_a = v10_clip(sandbox, prompt="repeatable", image=data_url(FIRST))
    b, spec_b = v10_clip(sandbox, prompt="repeatable", image=data_url(FIRST))
    c, spec_c = v10_clip(sandbox, prompt="repeatable", image=data_url(LAST))
    assert a == b and spec_a.seed == spec_b.seed
    assert c != a and spec_c.key() != spec_a.key()


def test_clip_key_covers_last_frame_and_audio() -> None:
    base = ClipSpec(provider="segmind", model="happyhorse-1.0", mode="i2v", prompt="p", seed=1,
                    resolution="720P", aspect_ratio="16:9", duration=3, first_frame=FIRST)
    variants = [base] + [dataclasses.replace(base, **change) for change in (
        {"last_frame": LAST}, {"last_frame": FIRST}, {"last_frame_label": "cdn.example.com"},
        {"audio": b"RIFF one"}, {"audio": b"RIFF two"}, {"audio_label": "cdn.example.com"})]
    assert len({v.key() for v in variants}) == len(variants)
