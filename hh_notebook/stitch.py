"""Join shots into one clip, and take the last frame of a shot to start the next one from.

A storyboard chains shots: the last frame of shot k becomes the first frame of shot k+1
(image-to-video), then the shots are joined. :func:`last_frame` gives that frame exactly;
:func:`stitch` joins the shots without the three faults of a naive concatenation: the
boundary picture shown twice, a jump when the shots differ in format, a click in the sound.

    >>> from hh_notebook.stitch import last_frame_png, stitch
    >>> png = last_frame_png("shot1.mp4")                      # doctest: +SKIP
    >>> result = stitch(["shot1.mp4", "shot2.mp4"], "film.mp4")  # doctest: +SKIP
    >>> result.mode, result.frames, result.dropped_frames      # doctest: +SKIP
    ('copy', 239, 1)

**When the video is copied.** Stream copy (no re-encoding, no quality loss, a fraction of a
second) is used when every rule of :func:`copy_blockers` holds: all shots are H.264 with the
same size, frame rate, pixel format, time base and codec configuration (SPS/PPS bytes, since
an MP4 track carries one), at a constant frame rate, each starting on a keyframe, with
timestamps that stay in decode order once laid end to end. Dropping a boundary frame is safe
without re-encoding exactly when that frame, the last one shown of shot k, is also the last
packet of shot k in decode order: nothing decoded after it in shot k can refer to it, and
shot k+1 starts on a keyframe that refers to nothing before it. This always holds for
streams without B-frames (decode order = display order) and usually fails with B-frames (the
last frame shown is a P-frame decoded before the B-frames that precede it on screen, and
they refer to it). Otherwise the whole video is re-encoded (libx264, yuv420p, faststart).
The sound is always re-encoded to AAC: a crossfade needs samples.
"""

from __future__ import annotations

import io
import json
import os
import queue
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Literal, TypeVar

from hh_notebook.errors import MediaError, MissingDependency

try:
    import av
except ImportError:  # pragma: no cover - av comes with the stitch extra
    raise MissingDependency(
        "stitching clips needs PyAV: pip install 'av>=15' (or pip install 'hh_notebook[stitch]')"
    ) from None

from PIL import Image

from hh_notebook import stitch_audio
from hh_notebook.stitch_probe import (
    AudioSpec,
    ShotProbe,
    VideoSpec,
    final_frame,
    probe_shot,
    similarity,
)
from hh_notebook.stitch_video import ShotCut, copied_packets, reencoded_packets

__all__ = ["ShotBoundary", "StitchResult", "copy_blockers", "last_frame", "last_frame_png",
           "stitch"]

DEFAULT_AUDIO = AudioSpec(48000, "stereo")  # for a stitch of shots that are all silent
CAN_WRITE_CHAPTERS = hasattr(av.container.OutputContainer, "set_chapters")  # PyAV >= 16
T = TypeVar("T")


def last_frame(path: str | os.PathLike[str]) -> Image.Image:
    """The final decoded frame of a clip, in presentation order, at full resolution (RGB).

    Seeks to the last keyframe and decodes to the end of the file, so it costs one group of
    pictures, not the whole clip, and stays right when the container's duration is not.

    >>> last_frame("shot1.mp4").size  # doctest: +SKIP
    (1280, 720)
    """
    return final_frame(path).to_image()


def last_frame_png(path: str | os.PathLike[str]) -> bytes:
    """:func:`last_frame` as lossless PNG bytes, ready to send as the next shot's first frame.

    >>> png = last_frame_png("shot1.mp4")  # doctest: +SKIP
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"  # doctest: +SKIP
    True
    """
    buffer = io.BytesIO()
    last_frame(path).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class ShotBoundary:
    """Where one shot lies in the stitched clip.

    Frames ``frame_start`` to ``frame_end - 1`` (``frame_end`` excluded, like a Python
    range) come from ``source``; ``start``/``end`` are the same bounds in seconds.
    ``dropped_last_frame`` says whether the shot's last frame was left out because the next
    shot starts on the same picture.
    """

    index: int
    source: str
    start: float
    end: float
    frame_start: int
    frame_end: int
    dropped_last_frame: bool


@dataclass(frozen=True)
class StitchResult:
    """What :func:`stitch` made: the clip, how (``"copy"`` or ``"reencode"``, and why not a
    copy), its length, and where each shot lies in it (also written to ``sidecar``).
    ``chapters`` says whether the clip holds them (PyAV writes chapters from version 16)."""

    path: Path
    mode: Literal["copy", "reencode"]
    duration: float
    frames: int
    fps: Fraction
    shots: tuple[ShotBoundary, ...]
    dropped_frames: int
    sidecar: Path
    chapters: bool
    reencode_reasons: tuple[str, ...] = ()


def stitch(
    shots: Sequence[str | os.PathLike[str]],
    out_path: str | os.PathLike[str],
    *,
    crossfade_ms: float = 30,
    drop_boundary_frame: bool = True,
    chapters: bool = True,
    duplicate_similarity: float = 0.98,
    mode: Literal["auto", "copy", "reencode"] = "auto",
    preset: str = "veryfast",
    crf: int = 18,
) -> StitchResult:
    """Join MP4 shots into one H.264 + AAC MP4 at ``out_path``; return what was made.

    - Shots in different formats are normalised to the most common one (the first shot's on
      a tie): scaled into its size with black bars, converted to its frame rate, sample rate
      and channel layout.
    - With ``drop_boundary_frame``, shot k's last frame is left out where shot k+1 starts on
      the same picture: where the two frames' grey 64x36 signatures correlate at
      ``duplicate_similarity`` or more (re-encoded copies of one picture score above 0.99,
      unrelated shots far lower; -1 drops at every join).
    - The sound is joined with equal-power crossfades of ``crossfade_ms``; shots without
      sound give silence, and it lasts exactly as long as the video.
    - The video is copied when the shots allow it (see the module's documentation), else
      re-encoded with libx264 at ``preset`` and ``crf``; ``mode`` forces either (``"copy"``
      raises MediaError, with the reasons, when a copy is not possible).
    - Shot bounds go into MP4 chapters (``chapters=True``, where PyAV can write them) and
      always into a sidecar, ``<out_path without .mp4>.shots.json``.

    >>> result = stitch(["a.mp4", "b.mp4", "c.mp4"], "film.mp4")  # doctest: +SKIP
    >>> [(s.start, s.end) for s in result.shots]  # doctest: +SKIP
    [(0.0, 4.958333), (4.958333, 9.916667), (9.916667, 14.916667)]
    """
    if mode not in ("auto", "copy", "reencode"):
        raise ValueError(f"mode must be 'auto', 'copy' or 'reencode', not {mode!r}")
    if not 0 <= crossfade_ms <= 1000:
        raise ValueError(f"crossfade_ms must be from 0 to 1000, not {crossfade_ms!r}")
    paths, target = _checked_paths(shots, out_path)
    with ThreadPoolExecutor(max_workers=min(len(paths), os.cpu_count() or 1, 4)) as pool:
        probes = list(pool.map(probe_shot, paths))  # FFmpeg decodes without the GIL
    spec = _most_common([p.video for p in probes])
    sound = _most_common([p.audio for p in probes if p.audio is not None] or [DEFAULT_AUDIO])
    drops = _boundary_drops(probes, duplicate_similarity) if drop_boundary_frame else None
    drops = drops or [False] * len(probes)
    blockers = copy_blockers(probes, drops)
    if mode == "copy" and blockers:
        raise MediaError("these shots cannot be stream-copied: " + "; ".join(blockers))
    chosen: Literal["copy", "reencode"] = "reencode" if blockers or mode == "reencode" else "copy"
    cuts = [ShotCut(_frames_in(p, spec), drop) for p, drop in zip(probes, drops)]
    bounds = _boundaries(paths, cuts, spec.fps)
    chapters = chapters and CAN_WRITE_CHAPTERS
    _write(probes, cuts, spec, sound, target, chosen, bounds if chapters else None,
           crossfade_ms=crossfade_ms, preset=preset, crf=crf)
    frames = sum(cut.kept for cut in cuts)
    result = StitchResult(
        path=target, mode=chosen, duration=float(frames / spec.fps), frames=frames, fps=spec.fps,
        shots=tuple(bounds), dropped_frames=sum(drops), sidecar=target.with_suffix(".shots.json"),
        chapters=chapters, reencode_reasons=tuple(blockers),
    )
    _write_sidecar(result)
    return result


def _checked_paths(shots: Sequence[str | os.PathLike[str]], out_path: str | os.PathLike[str]
                   ) -> tuple[list[Path], Path]:
    if isinstance(shots, (str, os.PathLike)):
        raise TypeError("shots must be a list of paths, not one path")
    paths = [Path(shot) for shot in shots]
    if not paths:
        raise MediaError("nothing to stitch: the list of shots is empty")
    target = Path(out_path)
    if any(p.resolve() == target.resolve() for p in paths):
        raise MediaError(f"the output {str(target)!r} is also one of the shots")
    if not target.parent.is_dir():
        raise MediaError(f"the folder of {str(target)!r} does not exist")
    return paths, target


def _most_common(items: Sequence[T]) -> T:
    """The most frequent item; on a tie, the one that comes first."""
    counts = Counter(items)
    return max(items, key=lambda item: counts[item])  # max keeps the first of equals


def _boundary_drops(probes: Sequence[ShotProbe], threshold: float) -> list[bool]:
    """For each shot, whether its last frame repeats the next shot's first picture."""
    drops = []
    for previous, following in pairwise(probes):
        alike = similarity(previous.last_look, following.first_look)
        drops.append(previous.frames > 1 and alike >= threshold)
    return [*drops, False]


def copy_blockers(probes: Sequence[ShotProbe], drops: Sequence[bool]) -> list[str]:
    """Why the shots' video cannot be stream-copied (empty: it can).

    The rule, shot by shot: H.264; the first shot's size, frame rate, pixel format, time
    base and codec configuration bytes; a constant frame duration matching the frame rate;
    a keyframe first in decode order; where its last frame is dropped, that frame last in
    decode order too; and decode timestamps still increasing across each join.
    """
    first = probes[0]
    reasons: list[str] = []
    for k, probe in enumerate(probes):
        name = f"shot {k + 1} ({probe.path.name})"
        if probe.codec != "h264":
            reasons.append(f"{name} is {probe.codec}, not h264")
        if probe.video != first.video:
            reasons.append(f"{name} differs in format: {_describe(probe.video)} "
                           f"vs {_describe(first.video)}")
        elif probe.extradata != first.extradata or probe.time_base != first.time_base:
            reasons.append(f"{name} has another codec configuration or time base")
        ticks = probe.frame_ticks
        if probe.frames > 1 and (ticks is None or ticks * probe.time_base * probe.video.fps != 1):
            reasons.append(f"{name} has no constant frame rate")
        if not probe.keyframes[0]:
            reasons.append(f"{name} does not start on a keyframe")
        if drops[k] and not probe.last_presented_is_last_decoded:
            reasons.append(f"{name}: its last frame is not last in decode order (B-frames), "
                           "so it cannot be dropped without re-encoding")
    if not reasons:
        reasons += _timestamp_blockers(probes, drops)
    return reasons


def _timestamp_blockers(probes: Sequence[ShotProbe], drops: Sequence[bool]) -> list[str]:
    """Decode timestamps must keep increasing when the shots are laid end to end."""
    offset, previous_end = 0, None
    for k, (probe, drop) in enumerate(zip(probes, drops)):
        base = int(probe.pts.min())
        dts = probe.dts[:-1] if drop else probe.dts
        if previous_end is not None and int(dts.min()) - base + offset <= previous_end:
            return [f"shot {k + 1} would decode before the end of shot {k}"]
        previous_end = int(dts.max()) - base + offset
        offset += (probe.frames - int(drop)) * (probe.frame_ticks or 0)
    return []


def _describe(spec: VideoSpec) -> str:
    return f"{spec.width}x{spec.height} {float(spec.fps):g} fps {spec.pix_fmt}"


def _frames_in(probe: ShotProbe, spec: VideoSpec) -> int:
    """How many frames the shot gives at the output's frame rate (its own count if equal)."""
    if probe.video.fps == spec.fps:
        return probe.frames
    return max(1, round(probe.frames / probe.video.fps * spec.fps))


def _boundaries(paths: Sequence[Path], cuts: Sequence[ShotCut], fps: Fraction
                ) -> list[ShotBoundary]:
    bounds, start = [], 0
    for k, (path, cut) in enumerate(zip(paths, cuts)):
        end = start + cut.kept
        bounds.append(ShotBoundary(k, str(path), round(float(start / fps), 6),
                                   round(float(end / fps), 6), start, end, cut.drop_last))
        start = end
    return bounds


def _write(probes: Sequence[ShotProbe], cuts: Sequence[ShotCut], spec: VideoSpec,
           sound: AudioSpec, target: Path, mode: str, bounds: Sequence[ShotBoundary] | None,
           *, crossfade_ms: float, preset: str, crf: int) -> None:
    """Write the clip to a temporary file beside ``target``, then move it into place."""
    fd, tmp = tempfile.mkstemp(suffix=".mp4", prefix=f".{target.stem}.", dir=target.parent)
    os.close(fd)
    try:
        with av.open(tmp, "w", format="mp4", options={"movflags": "+faststart"}) as out:
            out.metadata.clear()
            if mode == "copy":
                with av.open(str(probes[0].path)) as template:
                    video = out.add_stream_from_template(template.streams.video[0])
                packets: Iterator[av.Packet] = copied_packets(probes, cuts, video)
            else:
                video = _h264_stream(out, spec, preset, crf)
                packets = reencoded_packets(probes, cuts, spec, video)
            audio = stitch_audio.add_stream(out, sound)
            if bounds is not None:
                out.set_chapters(_chapters(bounds))
            kept = [cut.kept for cut in cuts]
            samples = stitch_audio.joined(probes, kept, spec.fps, sound, crossfade_ms)
            out.start_encoding()  # opens the encoders here, before a second thread uses one
            with _in_background(stitch_audio.encode(samples, audio, sound)) as sound_packets:
                _mux_interleaved(out, packets, sound_packets)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _h264_stream(out: av.container.OutputContainer, spec: VideoSpec, preset: str, crf: int
                 ) -> av.VideoStream:
    stream = out.add_stream("libx264", rate=spec.fps)
    stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
    stream.codec_context.thread_count = 0  # x264 picks its threads from the cores
    stream.options = {"preset": preset, "crf": str(crf)}
    return stream


@contextmanager
def _in_background(items: Iterable[T]) -> Iterator[Iterator[T]]:
    """Iterate ``items`` on a worker thread and hand them over in order.

    The sound is encoded while the video is copied or encoded: FFmpeg releases the GIL while
    it works. The queue is unbounded (AAC packets are small) so the worker never waits on
    it, and on exit it is told to stop and joined before the encoder it uses is closed.
    """
    handover: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                handover.put(("item", item))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            handover.put(("error", exc))
        handover.put(("end", None))

    def drain() -> Iterator[T]:
        while True:
            kind, value = handover.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]

    worker = threading.Thread(target=work, name="hh-stitch-audio", daemon=True)
    worker.start()
    try:
        yield drain()
    finally:
        stop.set()
        worker.join()


def _mux_interleaved(out: av.container.OutputContainer, video: Iterable[av.Packet],
                     audio: Iterable[av.Packet]) -> None:
    """Mux video and audio packets in time order, so the file plays while it downloads."""
    pending = iter(audio)
    upcoming = next(pending, None)
    for packet in video:
        now = _time(packet)
        while upcoming is not None and _time(upcoming) <= now:
            out.mux(upcoming)
            upcoming = next(pending, None)
        out.mux(packet)
    while upcoming is not None:
        out.mux(upcoming)
        upcoming = next(pending, None)


def _time(packet: av.Packet) -> float:
    stamp = packet.dts if packet.dts is not None else packet.pts or 0
    return float(stamp * packet.time_base) if packet.time_base else 0.0


def _chapters(bounds: Sequence[ShotBoundary]) -> list[av.container.Chapter]:
    millis = Fraction(1, 1000)
    return [
        {"id": b.index + 1, "start": round(b.start * 1000), "end": round(b.end * 1000),
         "time_base": millis, "metadata": {"title": f"{b.index + 1}. {Path(b.source).name}"}}
        for b in bounds
    ]


def _write_sidecar(result: StitchResult) -> None:
    """``<clip>.shots.json``: each shot's start/end time, frame range and source."""
    document = {
        "output": result.path.name,
        "mode": result.mode,
        "duration": result.duration,
        "frames": result.frames,
        "fps": str(result.fps),
        "dropped_frames": result.dropped_frames,
        "shots": [asdict(b) for b in result.shots],
    }
    result.sidecar.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
