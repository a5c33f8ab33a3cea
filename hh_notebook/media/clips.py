"""Clips out: probe a clip, take a poster frame, a contact sheet of frames.

Everything here reads MP4 files with PyAV (``pip install av``), imported only when called.
"""

from __future__ import annotations

import io
import os
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..errors import MediaError, MissingDependency

__all__ = ["ClipInfo", "clip_problem", "contact_sheet", "poster_frame", "poster_jpeg", "probe_clip"]


@dataclass(frozen=True)
class ClipInfo:
    """What :func:`probe_clip` found in a clip: size, length, rate and codecs."""

    width: int
    height: int
    duration: float
    fps: float
    video_codec: str
    audio_codec: str | None
    has_audio: bool


def _av() -> Any:
    try:
        import av
    except ImportError:
        raise MissingDependency(
            "reading clips needs PyAV: pip install 'av>=12' (or pip install 'hh_notebook[sandbox]')"
        ) from None
    return av


def _open_clip(path: str | os.PathLike[str]) -> Any:
    av = _av()
    try:
        return av.open(os.fspath(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot read {os.fspath(path)!r} as a video: {exc}") from None


def _video_stream(container: Any, path: str | os.PathLike[str]) -> Any:
    """The clip's first video stream; MediaError when it has none."""
    if not container.streams.video:
        raise MediaError(f"{os.fspath(path)!r} has no video stream")
    return container.streams.video[0]


def probe_clip(path: str | os.PathLike[str]) -> ClipInfo:
    """Describe a clip: resolution, duration (s), frame rate and codecs.

    >>> info = probe_clip("clip.mp4")  # doctest: +SKIP
    >>> (info.width, info.height, info.video_codec, info.audio_codec)  # doctest: +SKIP
    (1280, 720, 'h264', 'aac')
    """
    with _open_clip(path) as container:
        video = _video_stream(container, path)
        audio = container.streams.audio[0] if container.streams.audio else None
        fps = float(video.average_rate or video.guessed_rate or 0)
        duration = _duration_seconds(container, video)
        return ClipInfo(
            width=video.codec_context.width,
            height=video.codec_context.height,
            duration=duration,
            fps=fps,
            video_codec=video.codec_context.name,
            audio_codec=audio.codec_context.name if audio is not None else None,
            has_audio=audio is not None,
        )


def _duration_seconds(container: Any, video: Any) -> float:
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return 0.0


def _video_frames_at(path: str | os.PathLike[str], fractions: list[float]) -> Iterator[Any]:
    """Yield one decoded frame (PyAV ``VideoFrame``) per fraction of the clip's length."""
    with _open_clip(path) as container:
        video = _video_stream(container, path)
        duration = _duration_seconds(container, video)
        for fraction in fractions:
            target = max(0.0, min(fraction, 1.0)) * duration
            yield _frame_near(container, video, target)


def _frames_at(path: str | os.PathLike[str], fractions: list[float]) -> Iterator[Any]:
    """Yield one decoded frame (PIL image) per fraction of the clip's length, in order."""
    for frame in _video_frames_at(path, fractions):
        yield frame.to_image()


def _frame_near(container: Any, video: Any, target: float) -> Any:
    """Decode the first frame at or after ``target`` seconds (the last one if past the end)."""
    time_base = video.time_base
    container.seek(int(target / time_base) if time_base else 0, stream=video, backward=True)
    last = None
    for frame in container.decode(video):
        last = frame
        if frame.time is not None and frame.time + 1e-6 >= target:
            break
    if last is None:
        raise MediaError("the clip has no decodable video frame")
    return last


def poster_frame(path: str | os.PathLike[str], at: float = 0.5, fmt: str = "JPEG") -> bytes:
    """One frame of the clip as an image, ``at`` a fraction of its length (0.0–1.0).

    Returns JPEG bytes by default (``fmt="PNG"`` for PNG): small enough to
    serve as a ``<video poster>``.

    >>> jpeg = poster_frame("clip.mp4", at=0.0)  # doctest: +SKIP
    """
    if fmt.upper() not in ("JPEG", "PNG"):
        raise ValueError("fmt must be 'JPEG' or 'PNG'")
    (frame,) = list(_frames_at(path, [at]))
    buf = io.BytesIO()
    options: dict[str, Any] = {"quality": 85} if fmt.upper() == "JPEG" else {}
    frame.convert("RGB").save(buf, format=fmt.upper(), **options)
    return buf.getvalue()


def contact_sheet(path: str | os.PathLike[str], n: int = 8, height: int = 180) -> bytes:
    """A strip of ``n`` evenly spaced frames of the clip, side by side, as one PNG.

    Frames are taken at the middle of ``n`` equal slices of the clip and
    scaled to ``height`` pixels (aspect kept), so the strip prints well.

    >>> png = contact_sheet("clip.mp4", n=6)  # doctest: +SKIP
    """
    from PIL import Image

    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 100:
        raise ValueError("n must be an int from 1 to 100")
    fractions = [(i + 0.5) / n for i in range(n)]
    frames = []
    for frame in _frames_at(path, fractions):
        width = max(1, round(frame.width * height / frame.height))
        frames.append(frame.convert("RGB").resize((width, height)))
    sheet = Image.new("RGB", (sum(f.width for f in frames), height))
    x = 0
    for frame in frames:
        sheet.paste(frame, (x, 0))
        x += frame.width
    buf = io.BytesIO()
    sheet.save(buf, format="PNG")
    return buf.getvalue()


def poster_jpeg(path: str | os.PathLike[str], *, at: float = 0.0, box: int = 480,
                quality: int = 80) -> bytes:
    """A small JPEG of one frame (``at`` a fraction of the clip) fitting in ``box`` × ``box``
    pixels: the poster of grids, static views and reports. Cached per file version."""
    file = pathlib.Path(path)
    stat = file.stat()
    return _poster_jpeg(str(file.resolve()), stat.st_mtime_ns, stat.st_size, at, box, quality)


@lru_cache(maxsize=256)
def _poster_jpeg(path: str, _mtime_ns: int, _size: int, at: float, box: int,
                 quality: int) -> bytes:
    (frame,) = list(_video_frames_at(path, [at]))
    # Scaled by FFmpeg straight from the decoded picture (area averaging), converted once.
    scale = min(1.0, box / max(frame.width, frame.height, 1))
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    image = frame.reformat(width=width, height=height, format="rgb24",
                           interpolation="AREA").to_image()
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def clip_problem(path: str | os.PathLike[str], seconds: float | None = None) -> str | None:
    """What keeps a clip from playing, or None when it plays: PyAV opens it, its first video
    frame and its first audio frame decode, and (when ``seconds`` is given) its length is
    that many seconds within one frame.

    >>> clip_problem("clip.mp4", 5)   # doctest: +SKIP
    """
    with open(path, "rb") as head:
        if head.read(12)[4:8] != b"ftyp":
            return "it is not an MP4 (no ftyp box)"
    av = _av()
    try:
        with av.open(os.fspath(path)) as container:
            if not container.streams.video:
                return "it has no video stream"
            if not container.streams.audio:
                return "it has no audio stream"
            video = container.streams.video[0]
            if next(iter(container.decode(video)), None) is None:
                return "no video frame decodes"
            container.seek(0)
            if next(iter(container.decode(container.streams.audio[0])), None) is None:
                return "no audio frame decodes"
            length = _duration_seconds(container, video)
            fps = float(video.average_rate or video.guessed_rate or 0) or 24.0
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
        reason = str(exc).replace(os.fspath(path), "the file").split(": 'the file'")[0]
        return f"it cannot be decoded ({type(exc).__name__}: {reason})"
    if seconds is not None and abs(length - seconds) > 1.0 / fps + 1e-3:
        return f"it lasts {length:.3f} s, not the {seconds} s asked for"
    return None
