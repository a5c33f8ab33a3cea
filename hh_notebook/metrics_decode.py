"""Read a clip once for clip metrics: one demux loop feeds the picture and the sound passes.

Video and audio packets are demuxed together, so the file is read a single time;
each decoded video frame goes to :class:`~hh_notebook.metrics_video.VideoAnalyser`
and each audio frame to :class:`~hh_notebook.metrics_audio.AudioCollector`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hh_notebook.errors import MediaError
from hh_notebook.metrics_audio import AudioCollector, AudioFacts, measure_audio, sync_lag
from hh_notebook.metrics_video import VideoAnalyser, VideoFacts, require

__all__ = ["ClipFacts", "read_clip"]

_FALLBACK_FPS = Fraction(24)


@dataclass(frozen=True)
class ClipFacts:
    """Everything measured on one clip, before it becomes a ``ClipMetrics``."""

    duration_s: float
    video: VideoFacts
    audio: AudioFacts | None
    sync_lag_ms: float | None
    sync_corr: float | None


def read_clip(path: str | os.PathLike[str]) -> ClipFacts:
    """Decode ``path`` once and measure it; MediaError when it is not a readable video."""
    av = require("av")
    shown = os.fspath(path)
    try:
        container = av.open(shown)
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot read {shown!r} as a video: {exc}") from None
    with container:
        if not container.streams.video:
            raise MediaError(f"{shown!r} has no video stream")
        try:
            return _read(container)
        except av.FFmpegError as exc:
            raise MediaError(f"cannot decode {shown!r}: {exc}") from None


def _read(container: Any) -> ClipFacts:
    video_stream = container.streams.video[0]
    audio_stream = container.streams.audio[0] if container.streams.audio else None
    # One thread per clip: parallelism comes from measuring clips in separate processes.
    video_stream.codec_context.thread_count = 1
    fps = video_stream.average_rate or video_stream.guessed_rate or _FALLBACK_FPS
    duration = _duration(container, video_stream)
    start = float(video_stream.start_time * video_stream.time_base) \
        if video_stream.start_time is not None and video_stream.time_base else 0.0
    ctx = video_stream.codec_context
    picture = VideoAnalyser(ctx.width, ctx.height, Fraction(fps), duration, start)
    sound = AudioCollector(audio_stream) if audio_stream is not None else None
    streams = [video_stream] + ([audio_stream] if audio_stream is not None else [])
    for packet in container.demux(*streams):
        if packet.stream is video_stream:
            for frame in packet.decode():
                picture.feed(frame)
        elif sound is not None:
            for frame in packet.decode():
                sound.feed(frame)
    video = picture.finish()
    if video.frames == 0:
        raise MediaError(f"{container.name!r} has no decodable video frame")
    audio = lag = corr = None
    if sound is not None:
        audio = measure_audio(sound.samples(), sound.rate, sound.start or 0.0)
        lag, corr = sync_lag(video.motion_times, video.motion_envelope,
                             audio.onset_envelope, audio.onset_start)
    return ClipFacts(duration or video.frames / float(fps), video, audio, lag, corr)


def _duration(container: Any, stream: Any) -> float:
    """Seconds, from the video stream or else the container; 0.0 when neither says."""
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # AV_TIME_BASE
    if stream.frames and stream.average_rate:
        return float(stream.frames / stream.average_rate)
    return 0.0
