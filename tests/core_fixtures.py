"""Test inputs for the request side (images, clips), generated on the fly: no binary fixtures."""

from __future__ import annotations

import io
import pathlib
from fractions import Fraction

import numpy as np
from PIL import Image

URL = "https://example.com/frame.png"
URL2 = "https://example.com/other.webp"


def image_bytes(width: int = 640, height: int = 360, fmt: str = "PNG", color: int = 90) -> bytes:
    """An encoded image of the given size and format, with a gradient so content varies."""
    arr = np.zeros((height, width, 3), dtype=np.uint8)
    arr[..., 0] = color
    arr[..., 1] = (np.arange(width) % 256).astype(np.uint8)[None, :]
    arr[..., 2] = (np.arange(height) % 256).astype(np.uint8)[:, None]
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format=fmt)
    return buf.getvalue()


def padded_png(total_size: int) -> bytes:
    """A valid 640x360 PNG padded with trailing bytes to exactly ``total_size`` bytes."""
    data = image_bytes()
    return data + b"\0" * (total_size - len(data))


def write_image(
    directory: pathlib.Path, name: str, width: int = 640, height: int = 360, fmt: str = "PNG",
    color: int = 90,
) -> pathlib.Path:
    """Write an image file (the name's extension need not match the format)."""
    path = directory / name
    path.write_bytes(image_bytes(width, height, fmt, color))
    return path


def make_clip(
    path: pathlib.Path, *, seconds: int = 2, fps: int = 24, width: int = 320, height: int = 180,
    audio: bool = True,
) -> pathlib.Path:
    """Encode a small H.264 (+ AAC) MP4 whose frame ``i`` is a flat grey of level ``5 * i``."""
    import av

    frames = seconds * fps
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream("aac", rate=44100) if audio else None
        for i in range(frames):
            arr = np.full((height, width, 3), min(255, 5 * i), dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            samples = 44100 * seconds
            chunk = 1024
            for start in range(0, samples, chunk):
                tone = np.sin(np.arange(start, start + chunk) * 2 * np.pi * 440 / 44100)
                frame = av.AudioFrame.from_ndarray(
                    tone.astype(np.float32)[None, :], format="fltp", layout="mono"
                )
                frame.sample_rate = 44100
                frame.pts = start
                frame.time_base = Fraction(1, 44100)
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return path
