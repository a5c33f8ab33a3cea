"""Synthetic clips for the clip-metrics tests, made on the fly with PyAV and numpy.

Each clip is small (320x180, 24 fps, a few seconds) and built so that one
property is known: how far the picture pans, how it flickers, how blurred it is,
where it cuts, how loud its tone is, and when its sound comes relative to its
motion.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path

import av
import cv2
import numpy as np
import pyloudnorm

WIDTH, HEIGHT, FPS = 320, 180, 24
RATE = 48000


def texture(seed: int = 0, width: int = WIDTH, height: int = HEIGHT, blur: float = 2.0
            ) -> np.ndarray:
    """A grey-level random texture (uint8, height x width): structure for flow and sharpness."""
    rng = np.random.default_rng(seed)
    noise: np.ndarray = rng.uniform(0, 255, size=(height, width)).astype(np.float32)
    if blur > 0:
        noise = cv2.GaussianBlur(noise, (0, 0), blur)
    # stretch back to a full range after blurring flattened it
    stretched = (noise - noise.mean()) / max(float(noise.std()), 1e-6) * 50 + 128
    return np.clip(stretched, 16, 235).astype(np.uint8)


def rgb(grey: np.ndarray) -> np.ndarray:
    """A grey frame as RGB (uint8, height x width x 3)."""
    return np.repeat(grey[..., None], 3, axis=2)


def write_clip(path: Path, frames: Iterable[np.ndarray], audio: np.ndarray | None = None,
               fps: int = FPS, crf: int = 12) -> Path:
    """Encode RGB frames (H.264) and mono float audio at :data:`RATE` (AAC) into an MP4."""
    frames = list(frames)
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": str(crf)}
        sound = None
        if audio is not None:
            sound = out.add_stream("aac", rate=RATE)
            sound.layout = "mono"
        for i, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None and audio is not None:
            samples = audio.astype(np.float32)[None, :]
            for start in range(0, samples.shape[1], 1024):
                chunk = np.ascontiguousarray(samples[:, start : start + 1024])
                aframe = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                aframe.sample_rate, aframe.pts = RATE, start
                out.mux(sound.encode(aframe))
            out.mux(sound.encode(None))
    return path


def frames_of(count: int, make: Callable[[int], np.ndarray]) -> list[np.ndarray]:
    """``count`` RGB frames, frame ``i`` being ``make(i)``."""
    return [make(i) for i in range(count)]


def static_clip(path: Path, seconds: float = 2.0) -> Path:
    """The same textured frame throughout."""
    still = rgb(texture(1))
    return write_clip(path, frames_of(round(seconds * FPS), lambda i: still))


def panning_clip(path: Path, px_per_frame: int = 2, seconds: float = 2.0) -> Path:
    """A wide texture panned right to left by ``px_per_frame`` source pixels per frame."""
    count = round(seconds * FPS)
    wide = texture(1, width=WIDTH + px_per_frame * count)
    return write_clip(path, frames_of(
        count, lambda i: rgb(wide[:, i * px_per_frame : i * px_per_frame + WIDTH])))


def brightness_clip(path: Path, swing: float, seconds: float = 2.0) -> Path:
    """A still texture whose brightness alternates by +-``swing`` levels every frame."""
    base = texture(2).astype(np.float32)
    return write_clip(path, frames_of(round(seconds * FPS), lambda i: rgb(
        np.clip(base + (swing if i % 2 else -swing), 0, 255).astype(np.uint8))))


def blurred_clip(path: Path, sigma: float, seconds: float = 1.0) -> Path:
    """A fine texture blurred by a Gaussian of ``sigma`` pixels (0 = as sharp as it gets)."""
    fine = texture(3, blur=0.6)
    if sigma > 0:
        fine = cv2.GaussianBlur(fine, (0, 0), sigma)
    return write_clip(path, frames_of(round(seconds * FPS), lambda i: rgb(fine)))


def cuts_clip(path: Path, scenes: int, seconds_per_scene: float = 1.0) -> Path:
    """``scenes`` different still shots back to back: ``scenes - 1`` hard cuts."""
    per = round(seconds_per_scene * FPS)
    tints = [(1.0, 0.4, 0.3), (0.3, 1.0, 0.4), (0.4, 0.3, 1.0), (1.0, 1.0, 0.3)]
    shots = [(rgb(texture(10 + s)) * np.array(tints[s % len(tints)])).astype(np.uint8)
             for s in range(scenes)]
    return write_clip(path, frames_of(scenes * per, lambda i: shots[i // per]))


def tone(seconds: float, lufs: float | None, frequency: float = 997.0) -> tuple[np.ndarray, float]:
    """A mono sine scaled so that its BS.1770 loudness is ``lufs``; also its measured loudness.

    ``lufs=None`` gives digital silence (loudness -inf).
    """
    t = np.arange(round(seconds * RATE)) / RATE
    if lufs is None:
        return np.zeros(t.size), -math.inf
    wave = 0.1 * np.sin(2 * np.pi * frequency * t)
    meter = pyloudnorm.Meter(RATE)
    wave = wave * 10 ** ((lufs - meter.integrated_loudness(wave)) / 20)
    return wave, float(meter.integrated_loudness(wave.astype(np.float32).astype(np.float64)))


def tone_clip(path: Path, lufs: float | None, seconds: float = 2.0) -> tuple[Path, float]:
    """A static clip with a tone of ``lufs``; returns it and the tone's own loudness."""
    wave, known = tone(seconds, lufs)
    still = rgb(texture(4))
    write_clip(path, frames_of(round(seconds * FPS), lambda i: still), audio=wave)
    return path, known


def burst_clip(path: Path, lag_ms: float, bursts: tuple[float, ...] = (0.75, 1.5, 2.25),
               seconds: float = 3.0) -> Path:
    """A square that jumps at each of ``bursts`` (seconds), and a click ``lag_ms`` later.

    Between bursts the picture is still and the sound silent, so motion and onsets
    line up at exactly ``lag_ms`` (positive: the click comes after the jump).
    """
    count = round(seconds * FPS)
    background = texture(5)
    jump_frames = [round(b * FPS) for b in bursts]

    def make(i: int) -> np.ndarray:
        frame = background.copy()
        x = 40 + 60 * sum(i >= j for j in jump_frames)
        frame[60:120, x : x + 60] = 230
        return rgb(frame)

    audio = np.zeros(round(seconds * RATE))
    for j in jump_frames:
        at = round((j / FPS + lag_ms / 1000) * RATE)
        audio[at : at + 480] = 0.5 * np.sin(2 * np.pi * 1500 * np.arange(480) / RATE)
    return write_clip(path, frames_of(count, make), audio=audio)
