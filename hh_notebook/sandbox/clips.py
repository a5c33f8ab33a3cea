"""Synthetic clips: real H.264 + AAC MP4 files, deterministic in their parameters.

A clip is a function of a :class:`ClipSpec` only, so identical requests give
byte-identical files and the cache can key them by :meth:`ClipSpec.key`.
Frames are built cheaply: one still (Pillow, with the prompt's first words and
the seed drawn in) converted once to YUV 4:2:0, then a moving bar and a frame
counter stamped into the luma plane with numpy slicing.

Clips show what was asked: an image-to-video clip starts on the given image; a
first+last-frame clip (Segmind 1.0's ``last_frame``) also ends on the given last
image, both cover-cropped the same way, and cross-dissolves between them; a
lip-sync clip (Segmind 1.0's ``audio_url``) says so in its caption and plays the
given speech when the sandbox could fetch it, the seed's tone otherwise.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import io
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .audio import soundtrack

if TYPE_CHECKING:
    from av.audio.stream import AudioStream
    from av.container import OutputContainer

FPS = 24
SAMPLE_RATE = 24000  # mono 24 kHz AAC: a quarter of the encoding work of 48 kHz stereo
RENDERER_VERSION = 3

# Aspect ratios any provider accepts, as (width, height) units.
RATIOS: dict[str, tuple[int, int]] = {
    "16:9": (16, 9),
    "9:16": (9, 16),
    "1:1": (1, 1),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "4:5": (4, 5),
    "5:4": (5, 4),
    "9:21": (9, 21),
    "21:9": (21, 9),
}


def frame_size(resolution: str, aspect_ratio: str | None, image_size: tuple[int, int] | None = None
               ) -> tuple[int, int]:
    """Return (width, height) for a resolution tier ("720P"/"1080P", any case) and a ratio.

    The short side is the tier's number; the long side follows the ratio, rounded
    to an even number (H.264 4:2:0 needs even sizes). When ``image_size`` is given
    (image-to-video), the ratio comes from the image, clamped to 1:2.5..2.5:1.

    >>> frame_size("720P", "16:9")
    (1280, 720)
    >>> frame_size("1080p", "3:4")
    (1080, 1440)
    """
    short = 1080 if resolution.upper() == "1080P" else 720
    if image_size is not None:
        rw, rh = image_size
        ratio = min(max(rw / rh, 1 / 2.5), 2.5)
    else:
        rw, rh = RATIOS.get(aspect_ratio or "16:9", (16, 9))
        ratio = rw / rh
    width, height = (short * ratio, float(short)) if ratio >= 1 else (float(short), short / ratio)
    return round(width / 2) * 2, round(height / 2) * 2


@dataclass(frozen=True)
class ClipSpec:
    """Everything a clip depends on. Images are carried as bytes (decoded inputs)
    or as a host label when the sandbox had no access to them (non-loopback URL)."""

    provider: str
    model: str
    mode: str
    prompt: str
    seed: int
    resolution: str
    aspect_ratio: str
    duration: int
    negative_prompt: str = ""
    first_frame: bytes | None = None
    first_frame_label: str | None = None
    references: tuple[bytes, ...] = ()
    reference_labels: tuple[str, ...] = ()
    last_frame: bytes | None = None
    last_frame_label: str | None = None
    audio: bytes | None = None  # lip-sync speech the sandbox fetched (MP3 or WAV)
    audio_label: str | None = None  # host of a lip-sync URL the sandbox did not fetch
    extra: tuple[tuple[str, str], ...] = field(default=())

    @property
    def lip_sync(self) -> bool:
        """Whether the clip is lip-synced to a given audio file."""
        return self.audio is not None or self.audio_label is not None

    @property
    def has_last_frame(self) -> bool:
        """Whether the clip must end on a given last frame."""
        return self.last_frame is not None or self.last_frame_label is not None

    def key(self) -> str:
        """A hash of every parameter (image bytes by digest), used as the cache file name."""
        return self._key

    @functools.cached_property
    def _key(self) -> str:
        # computed once: it hashes the image bytes, and every file request asks for it
        d = asdict(self)
        for name in ("first_frame", "last_frame", "audio"):
            d[name] = _digest(d[name])
        d["references"] = [_digest(r) for r in self.references]
        d["renderer"] = RENDERER_VERSION
        blob = json.dumps(d, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:32]


def _digest(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def decode_inline_image(value: str) -> bytes | None:
    """Decode a ``data:`` URL or a bare base64 string into bytes; None if it is neither."""
    text = value.strip()
    if text.startswith("data:"):
        head, _, payload = text.partition(",")
        if ";base64" not in head:
            return None
        text = payload
    elif text.startswith(("http://", "https://")) or len(text) < 64:
        return None
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return None


def image_problem(data: bytes, max_bytes: int = 10 * 1024 * 1024, min_side: int = 300,
                  max_ratio: float | None = 2.5) -> tuple[str | None, tuple[int, int] | None]:
    """Check an input image against one provider's documented limits: size in bytes,
    JPEG/PNG/WEBP, shortest side, and (when the provider sets one) the long:short ratio.

    Returns (problem, (width, height)); problem is None when the image is fine.
    """
    if len(data) > max_bytes:
        return f"image larger than {max_bytes // (1024 * 1024)} MB", None
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = (im.format or "").upper()
            size = im.size
    except Exception:  # noqa: BLE001 - any decoder failure means "not an image"
        return "image could not be decoded (JPEG, PNG or WEBP expected)", None
    if fmt not in {"JPEG", "PNG", "WEBP"}:
        return f"image format {fmt or 'unknown'} not supported (JPEG, PNG or WEBP)", size
    w, h = size
    if min(w, h) < min_side:
        return f"image is {w}x{h}; both sides must be at least {min_side} px", size
    if max_ratio is not None and not (1 / max_ratio <= w / h <= max_ratio):
        return f"image aspect ratio {w}:{h} outside 1:{max_ratio:g} .. {max_ratio:g}:1", size
    return None, size


# ---------------------------------------------------------------------------
# rendering (runs in an encoder thread, see render.py)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType scaling
        return ImageFont.load_default()


def _palette(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed & 0xFFFFFFFF)
    a = rng.integers(30, 200, size=3)
    b = rng.integers(30, 200, size=3)
    return a.astype(np.float32), b.astype(np.float32)


def _background(spec: ClipSpec, width: int, height: int) -> Image.Image:
    a, b = _palette(spec.seed)
    rng = np.random.default_rng((spec.seed * 7919 + 17) & 0xFFFFFFFF)
    angle = float(rng.uniform(0, 2 * math.pi))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (xs / width) * math.cos(angle) + (ys / height) * math.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    img = a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]
    # A few seed-placed discs so two seeds differ in shape, not only in colour.
    im = Image.fromarray(img.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(im)
    for _ in range(5):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.05, 0.2) * min(width, height)
        col = tuple(int(c) for c in rng.integers(0, 255, size=3))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=col)
    return im


def _cover(data: bytes, width: int, height: int) -> Image.Image:
    with Image.open(io.BytesIO(data)) as src:
        im = src.convert("RGB")
    scale = max(width / im.width, height / im.height)
    im = im.resize((max(width, round(im.width * scale)), max(height, round(im.height * scale))))
    left, top = (im.width - width) // 2, (im.height - height) // 2
    return im.crop((left, top, left + width, top + height))


def _placeholder(width: int, height: int, label: str) -> Image.Image:
    im = Image.new("RGB", (width, height), (60, 60, 70))
    draw = ImageDraw.Draw(im)
    draw.rectangle((8, 8, width - 9, height - 9), outline=(200, 200, 200), width=4)
    draw.text((width // 2, height // 2), f"image from {label}", fill=(240, 240, 240),
              font=_font(max(16, height // 20)), anchor="mm")
    return im


def _reference_board(spec: ClipSpec, width: int, height: int) -> Image.Image:
    im = _background(spec, width, height)
    items: list[Image.Image] = []
    n = max(len(spec.references) + len(spec.reference_labels), 1)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    cell_w, cell_h = width // cols, (height * 3 // 4) // rows
    for data in spec.references:
        items.append(_cover(data, cell_w - 12, cell_h - 12))
    for label in spec.reference_labels:
        items.append(_placeholder(cell_w - 12, cell_h - 12, label))
    for i, tile in enumerate(items):
        r, c = divmod(i, cols)
        im.paste(tile, (c * cell_w + 6, r * cell_h + 6))
    return im


def caption_text(spec: ClipSpec, width: int, height: int) -> tuple[str, str]:
    """The two caption lines of a clip (drawn on it and kept as its MP4 comment): the
    prompt's first words, then what the clip is.

    >>> spec = ClipSpec(provider="segmind", model="happyhorse-1.0", mode="t2v",
    ...                 prompt="A speaker talks to camera", seed=1, resolution="720P",
    ...                 aspect_ratio="16:9", duration=3, audio_label="cdn.example.com")
    >>> caption_text(spec, 1280, 720)[1].split(" · ")[0]
    'lip-sync to audio from cdn.example.com (not fetched)'
    """
    words = " ".join(spec.prompt.split()[:8]) or "(no prompt)"
    facts: list[str] = []
    if spec.lip_sync:
        facts.append("lip-sync to the given audio" if spec.audio is not None
                     else f"lip-sync to audio from {spec.audio_label} (not fetched)")
    if spec.has_last_frame:
        facts.append("first+last frame")
    facts += [f"seed {spec.seed}", spec.mode, spec.model, f"{spec.resolution} {width}x{height}",
              f"{spec.duration}s", "synthetic sandbox clip"]
    return words[:80], " · ".join(facts)


def _caption(im: Image.Image, spec: ClipSpec) -> None:
    width, height = im.size
    title, facts = caption_text(spec, width, height)
    draw = ImageDraw.Draw(im)
    big = _font(max(18, height // 18))
    small = _font(max(14, height // 32))
    band = height // 5
    draw.rectangle((0, height - band, width, height), fill=(0, 0, 0))
    draw.text((20, height - band + 10), title, fill=(255, 255, 255), font=big)
    draw.text((20, height - band // 2), facts, fill=(210, 210, 210), font=small)


def _rgb_to_yuv420(im: Image.Image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.601 in limited range (Y 16-235, chroma 16-240): how players read H.264 that
    carries no range flag. Pillow's YCbCr is full range (JPEG's), so it is scaled down;
    written as is, every clip would play with stretched contrast."""
    ycbcr = np.asarray(im.convert("YCbCr"), dtype=np.float32)
    y = 16 + ycbcr[..., 0] * (219 / 255)
    chroma = 128 + (ycbcr[..., 1:] - 128) * (224 / 255)
    rows, cols = y.shape
    # 2x2 mean for chroma subsampling
    chroma = chroma.reshape(rows // 2, 2, cols // 2, 2, 2).mean(axis=(1, 3))
    planes = [np.rint(p).astype(np.uint8) for p in (y, chroma[..., 0], chroma[..., 1])]
    return planes[0], planes[1], planes[2]


def _planes(im: Image.Image) -> np.ndarray:
    """The frame as one yuv420p buffer (Y rows, then U and V), as PyAV takes it."""
    y, u, v = _rgb_to_yuv420(im)
    return np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(-1, im.width)


def _tone(spec: ClipSpec) -> np.ndarray:
    """A mono tone (two partials) whose pitch and pulse follow the seed (float32, planar)."""
    n = SAMPLE_RATE * spec.duration
    t = np.arange(n, dtype=np.float64) / SAMPLE_RATE
    base = 220.0 + (spec.seed % 440)
    pulse = 0.5 + 0.5 * np.sin(2 * math.pi * (1 + spec.seed % 3) * t)
    wave = 0.2 * (np.sin(2 * math.pi * base * t) + 0.5 * np.sin(2 * math.pi * base * 1.5 * t))
    return (wave * pulse)[None, :].astype(np.float32)


def _audio_track(spec: ClipSpec) -> np.ndarray:
    """The given lip-sync speech when the sandbox fetched it, else the seed's tone."""
    if spec.audio is not None:
        return soundtrack(spec.audio, SAMPLE_RATE * spec.duration, SAMPLE_RATE)
    return _tone(spec)


@dataclass
class _Frames:
    """The stills a clip is made of, as yuv420p buffers (see :func:`_planes`)."""

    first: np.ndarray  # frame 0, exactly
    still: np.ndarray  # what the frames after it show, captioned
    last: np.ndarray | None = None  # the final frame, exactly (first+last-frame clips)
    towards: np.ndarray | None = None  # captioned last minus ``still`` (float32): the dissolve


def _given_image(data: bytes | None, label: str | None, width: int, height: int) -> Image.Image:
    if data is not None:
        return _cover(data, width, height)
    return _placeholder(width, height, label or "remote URL")


def _stills(spec: ClipSpec, width: int, height: int) -> tuple[Image.Image, _Frames]:
    """The poster (the clip's first frame) and the frames to encode."""
    if spec.mode != "i2v":
        board = (_reference_board if spec.mode == "r2v" else _background)(spec, width, height)
        _caption(board, spec)
        planes = _planes(board)
        return board, _Frames(planes, planes)
    # i2v shows the given image uncaptioned on frame 0 (and the last one on the final frame)
    first = _given_image(spec.first_frame, spec.first_frame_label, width, height)
    still = first.copy()
    _caption(still, spec)
    frames = _Frames(_planes(first), _planes(still))
    if spec.has_last_frame:
        last = _given_image(spec.last_frame, spec.last_frame_label, width, height)
        last_still = last.copy()
        _caption(last_still, spec)
        frames.last = _planes(last)
        frames.towards = _planes(last_still).astype(np.float32) - frames.still
    return first, frames


def _video_frame(frames: _Frames, i: int, n: int, width: int, height: int) -> np.ndarray:
    """Frame ``i`` of ``n``: the stills, cross-dissolving when there is a last frame, with
    a moving bar and a frame counter stamped into the luma plane."""
    if i == 0:
        return frames.first
    if frames.last is not None and i == n - 1:
        return frames.last
    if frames.towards is None:
        buf = frames.still.copy()
    else:
        buf = (frames.still + frames.towards * (i / (n - 1))).astype(np.uint8)
    bar_w = max(8, width // 40)
    x = int((i / n) * (width - bar_w))
    buf[: height // 12, x : x + bar_w] = 235
    cx = 12 + (i % 24) * (bar_w + 2)
    buf[height // 12 + 6 : height // 12 + 6 + bar_w, cx : cx + bar_w] = 16
    return buf


def _encode_audio(out: OutputContainer, astream: AudioStream, track: np.ndarray) -> None:
    """Mux a mono float32 track, 1024 samples (one AAC frame) at a time."""
    import av

    chunk = 1024
    for start in range(0, track.shape[1], chunk):
        piece = np.ascontiguousarray(track[:, start : start + chunk])
        aframe = av.AudioFrame.from_ndarray(piece, format="fltp", layout="mono")
        aframe.sample_rate = SAMPLE_RATE
        aframe.pts = start
        for packet in astream.encode(aframe):
            out.mux(packet)
    for packet in astream.encode(None):
        out.mux(packet)


def _first_image_size(spec: ClipSpec) -> tuple[int, int] | None:
    """An image-to-video clip takes the shape of its first frame, when the sandbox has it."""
    if spec.mode != "i2v" or spec.first_frame is None:
        return None
    with Image.open(io.BytesIO(spec.first_frame)) as probe:
        return probe.size


def render_clip(spec: ClipSpec, path: str) -> dict[str, object]:
    """Encode ``spec`` to an MP4 at ``path`` (written atomically); return facts about it.

    Also writes ``<path minus .mp4>.png``: the first frame, used as a poster/thumbnail.
    """
    import av  # imported here so the parent process never needs it to serve HTTP

    width, height = frame_size(spec.resolution, spec.aspect_ratio, _first_image_size(spec))
    poster, frames = _stills(spec, width, height)
    target = Path(path)
    fd, tmp = tempfile.mkstemp(suffix=".mp4", dir=target.parent)
    os.close(fd)
    n_frames = FPS * spec.duration
    try:
        with av.open(tmp, "w", format="mp4", options={"movflags": "+faststart"}) as out:
            out.metadata.clear()
            out.metadata["comment"] = " / ".join(caption_text(spec, width, height))
            vstream = out.add_stream("libx264", rate=FPS)
            vstream.width, vstream.height = width, height
            vstream.pix_fmt = "yuv420p"
            vstream.codec_context.thread_count = 1
            vstream.options = {"preset": "ultrafast", "tune": "stillimage", "crf": "28",
                               "x264-params": "keyint=48:min-keyint=48:scenecut=0"}
            astream = out.add_stream("aac", rate=SAMPLE_RATE)
            astream.layout = "mono"
            astream.codec_context.thread_count = 1
            for i in range(n_frames):
                frame = av.VideoFrame.from_ndarray(
                    _video_frame(frames, i, n_frames, width, height), format="yuv420p")
                frame.pts = i
                for packet in vstream.encode(frame):
                    out.mux(packet)
            for packet in vstream.encode(None):
                out.mux(packet)
            _encode_audio(out, astream, _audio_track(spec))
        # the poster first, so that an existing .mp4 always has its .png beside it
        png = Path(tmp).with_suffix(".png")
        poster.save(png, format="PNG")
        os.replace(png, target.with_suffix(".png"))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        Path(tmp).with_suffix(".png").unlink(missing_ok=True)
        raise
    return {"width": width, "height": height, "frames": n_frames, "bytes": target.stat().st_size}
