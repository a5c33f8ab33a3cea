"""Synthetic shots for the stitching tests, made with PyAV, and the measures the tests use.

Every picture is a function of a global frame number ``t`` (and a seed), so "chained" shots
are easy to make: shot k+1 starts at the ``t`` where shot k ended, and its first frame shows
the same picture as shot k's last one, as an image-to-video model would start from it. The
pattern moves several pixels per frame, so consecutive frames are far apart while a repeated
picture differs only by compression noise.

Each shot's tone is on a peak at every frame edge (whole periods per frame), with a sign that
alternates from shot to shot and a level that differs, so butting two shots' samples
together at any frame makes a step that no sample-to-sample difference inside a shot comes
near: a join that is not crossfaded clicks.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

TONE_HZ = 240.0  # whole periods per frame at 24 fps: a shot is on a peak at every frame edge


def picture(t: int, width: int, height: int, seed: int = 0) -> np.ndarray:
    """The RGB picture (uint8, height x width x 3) at global frame ``t``."""
    xs = np.arange(width, dtype=np.float32)[None, :] * (320.0 / width)
    ys = np.arange(height, dtype=np.float32)[:, None] * (180.0 / height)
    red = 128 + 90 * np.sin(2 * math.pi * (xs + 6 * t) / 48 + seed)
    green = 128 + 90 * np.sin(2 * math.pi * (ys + 4 * t) / 36 + 2 * seed)
    blue = 128 + 90 * np.sin(2 * math.pi * (xs + ys - 5 * t) / 60 + 3 * seed)
    rgb = np.stack(np.broadcast_arrays(red, green, blue), axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def tone(index: int, seconds: float, sample_rate: int, channels: int) -> np.ndarray:
    """Shot ``index``'s tone (float32, channels x samples): starts and ends on a peak whose
    sign alternates from shot to shot, at a level that differs per shot."""
    n = round(seconds * sample_rate)
    t = np.arange(n, dtype=np.float64) / sample_rate
    level = 0.25 + 0.1 * (index % 3)
    phase = math.pi / 2 if index % 2 == 0 else -math.pi / 2
    wave = level * np.sin(2 * math.pi * TONE_HZ * t + phase)
    return np.repeat(wave[None, :], channels, axis=0).astype(np.float32)


def write_shot(
    path: Path,
    *,
    start_t: int = 0,
    index: int = 0,
    seed: int = 0,
    width: int = 320,
    height: int = 180,
    fps: int = 24,
    seconds: float = 2.0,
    sample_rate: int | None = 48000,
    layout: str = "mono",
    bframes: int = 0,
    audio_seconds: float | None = None,
) -> Path:
    """Encode one H.264 (+ AAC unless ``sample_rate`` is None) MP4 shot and return its path.

    ``bframes=0`` gives a stream without B-frames, like the sandbox's clips; ``bframes=2``
    one whose decode order differs from its presentation order. ``audio_seconds`` makes the
    sound longer (or shorter) than the pictures.
    """
    n_frames = round(seconds * fps)
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.thread_count = 1
        video.options = {"preset": "veryfast", "crf": "16",
                         "x264-params": f"keyint=24:min-keyint=24:scenecut=0:bframes={bframes}"}
        audio = None
        if sample_rate is not None:
            audio = out.add_stream("aac", rate=sample_rate)
            audio.layout = layout
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(picture(start_t + i, width, height, seed), "rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if audio is not None:
            length = seconds if audio_seconds is None else audio_seconds
            _write_sound(out, audio, tone(index, length, audio.rate, audio.layout.nb_channels))
    return path


def _write_sound(out: av.container.OutputContainer, audio: av.AudioStream,
                 samples: np.ndarray) -> None:
    layout, rate = audio.layout.name, audio.rate
    for start in range(0, samples.shape[1], 1024):
        piece = np.ascontiguousarray(samples[:, start : start + 1024])
        frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout=layout)
        frame.sample_rate, frame.pts = rate, start
        out.mux(audio.encode(frame))
    out.mux(audio.encode(None))


def write_audio_only(path: Path, seconds: float = 1.0) -> Path:
    """An MP4 holding only an AAC tone: no video stream."""
    with av.open(str(path), "w", format="mp4") as out:
        audio = out.add_stream("aac", rate=48000)
        audio.layout = "mono"
        _write_sound(out, audio, tone(0, seconds, 48000, 1))
    return path


def with_sound(clip: Path, out: Path, samples: np.ndarray, *, sample_rate: int,
               layout: str) -> Path:
    """A copy of ``clip`` whose sound is replaced by ``samples`` (float32, channels x
    samples) in another format; the video packets are copied as they are."""
    with av.open(str(clip)) as source, av.open(str(out), "w", format="mp4") as target:
        video_in = source.streams.video[0]
        video = target.add_stream_from_template(video_in)
        audio = target.add_stream("aac", rate=sample_rate)
        audio.layout = layout
        for packet in source.demux(video_in):
            if packet.size:
                packet.stream = video
                target.mux(packet)
        _write_sound(target, audio, samples)
    return out


def chained_shots(folder: Path, count: int = 3, *, prefix: str = "chained", fps: int = 24,
                  seconds: float = 2.0, bframes: int = 0) -> list[Path]:
    """``count`` shots where each one's first frame shows the previous one's last picture."""
    n_frames = round(seconds * fps)
    return [write_shot(folder / f"{prefix}{k}.mp4", start_t=k * (n_frames - 1), index=k,
                       fps=fps, seconds=seconds, bframes=bframes) for k in range(count)]


def independent_shots(folder: Path, count: int = 3, *, prefix: str = "shot") -> list[Path]:
    """``count`` unrelated shots (different seeds): no picture repeats at the joins."""
    return [write_shot(folder / f"{prefix}{k}.mp4", start_t=1000 * k, index=k, seed=k + 1)
            for k in range(count)]


# --- measures -----------------------------------------------------------------------------


def decode_frames(path: Path) -> list[np.ndarray]:
    """Every frame of the first video stream, fully decoded, as RGB arrays in display order."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def decode_audio(path: Path) -> tuple[np.ndarray, int]:
    """The first audio stream as float32 (channels x samples) and its sample rate, cut where
    its packets say the sound ends (a decoder also outputs the encoder's final padding)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        pieces = [f.to_ndarray() for f in container.decode(stream)]
        samples = np.concatenate(pieces, axis=1).astype(np.float32)
    rate = stream.codec_context.sample_rate
    return samples[:, : round(audio_end(path) * rate)], rate


def audio_end(path: Path) -> float:
    """When the first audio stream ends by its packets' timestamps and durations, seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        ends = [(p.pts + (p.duration or 0)) * p.time_base for p in container.demux(stream)
                if p.size and p.pts is not None and p.time_base is not None]
    return float(max(ends))


def inner_jump(path: Path, margin: float = 0.010) -> float:
    """The largest sample-to-sample jump of a clip's sound away from its two ends (where
    the sound starts from and stops into silence)."""
    samples, rate = decode_audio(path)
    edge = round(margin * rate)
    return largest_jump(samples[:, edge:-edge])


def frame_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two RGB frames (0-255)."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def largest_jump(samples: np.ndarray) -> float:
    """The largest sample-to-sample difference, over all channels."""
    return float(np.abs(np.diff(samples, axis=1)).max()) if samples.shape[1] > 1 else 0.0


def largest_jump_near(samples: np.ndarray, sample_rate: int, at: float,
                      window: float = 0.010) -> float:
    """The largest sample-to-sample difference within ``window`` seconds of ``at`` seconds."""
    lo = max(0, round((at - window) * sample_rate))
    hi = min(samples.shape[1], round((at + window) * sample_rate) + 1)
    return largest_jump(samples[:, lo:hi])


def video_packets(path: Path) -> list[tuple[int, bytes]]:
    """The video packets' (presentation time stamp, bytes), in decode order."""
    with av.open(str(path)) as container:
        return [(p.pts, bytes(p)) for p in container.demux(video=0)
                if p.size and p.pts is not None]


def last_shown_is_last_decoded(path: Path) -> bool:
    """Whether the frame shown last is the final video packet in decode order."""
    stamps = [pts for pts, _ in video_packets(path)]
    return stamps[-1] == max(stamps)


def stream_info(path: Path) -> dict[str, object]:
    """Codec names, size, frame rate and sample rate of a clip's first video and audio streams."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        return {
            "video_codec": video.codec_context.name,
            "size": (video.codec_context.width, video.codec_context.height),
            "fps": video.average_rate,
            "audio_codec": audio.codec_context.name if audio else None,
            "sample_rate": audio.codec_context.sample_rate if audio else None,
            "channels": audio.codec_context.layout.nb_channels if audio else None,
        }


def naive_concat(shots: Sequence[str | os.PathLike[str]], out_path: str | os.PathLike[str]
                 ) -> Path:
    """Join MP4 shots the way ``ffmpeg -f concat -i list.txt -c copy`` does.

    Every packet of every stream is remuxed back to back, each shot's timestamps shifted by
    the time the previous shots lasted: no frame dropped, no crossfade, no re-encoding. Like
    ffmpeg, a decode timestamp that would go backwards (the AAC priming packet that starts
    each shot) is moved to just after the previous one.
    """
    with av.open(str(shots[0])) as first:
        templates = [s for s in first.streams if s.type in ("video", "audio")]
        with av.open(str(out_path), "w", format="mp4") as out:
            outs: dict[str, av.stream.Stream] = {
                s.type: out.add_stream_from_template(s) for s in templates}
            last_dts: dict[str, int] = {}
            offset = Fraction(0)
            for shot in shots:
                offset += _remux_shifted(str(shot), out, outs, offset, last_dts)
    return Path(out_path)


def _remux_shifted(path: str, out: av.container.OutputContainer,
                   outs: dict[str, av.stream.Stream], offset: Fraction,
                   last_dts: dict[str, int]) -> Fraction:
    """Mux ``path``'s packets shifted by ``offset`` seconds; return how long the shot lasts."""
    with av.open(path) as container:
        duration = Fraction(container.duration or 0, 1_000_000)
        streams = [s for s in container.streams if s.type in outs]
        for packet in container.demux(streams):
            if not packet.size or packet.dts is None or packet.time_base is None:
                continue
            kind, tb = packet.stream.type, packet.time_base
            shift = round(offset / tb)
            packet.dts += shift
            packet.pts = (packet.pts if packet.pts is not None else packet.dts) + shift
            if kind in last_dts and packet.dts <= last_dts[kind]:
                packet.dts = last_dts[kind] + 1
                packet.pts = max(packet.pts, packet.dts)
            last_dts[kind] = packet.dts
            packet.stream = outs[kind]
            packet.time_base = tb
            out.mux(packet)
    return duration
