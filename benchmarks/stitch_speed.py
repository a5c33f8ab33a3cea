"""How fast does a storyboard's shots join: stream copy and re-encode vs a naive concat.

Renders a chain of 1280x720 24 fps shots with the sandbox's clip renderer (H.264 ultrafast
without B-frames + mono AAC, like the sandbox serves): shot 1 from text, every next one
image-to-video from the previous shot's last frame (``last_frame_png``), so each join
repeats a picture. The shots are cached in a temp folder keyed by their parameters.
``--sound 48000:stereo`` swaps their sound for a voice-like one in that format.

Then, side by side in one run, median of ``--repeat`` runs each:

* ``naive``    — what ``ffmpeg -f concat -c copy`` does, with PyAV: every packet remuxed back
  to back (no frame dropped, no crossfade; ``tests/stitch_fixtures.naive_concat``);
* ``copy``     — ``stitch()``: video packets copied, boundary frames dropped, sound decoded,
  crossfaded and re-encoded to AAC, chapters and sidecar written;
* ``reencode`` — ``stitch(mode="reencode")``: the same with the video decoded and encoded
  again (libx264 ``veryfast``, CRF 18, x264's own threads);
* ``last_frame`` — ``last_frame()`` on one shot vs decoding every frame to reach the last.

Usage::

    .venv/bin/python benchmarks/stitch_speed.py [--shots 8] [--seconds 5] [--repeat 3]
                                                [--sound 48000:stereo]
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import pathlib
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import TypeVar

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import av
import numpy as np

from hh_notebook import stitch_audio
from hh_notebook.sandbox.clips import ClipSpec, render_clip
from hh_notebook.stitch import StitchResult, last_frame, last_frame_png, stitch
from hh_notebook.stitch_probe import probe_shot
from tests.stitch_fixtures import naive_concat, with_sound

T = TypeVar("T")


def render_shots(folder: pathlib.Path, count: int, seconds: int) -> list[pathlib.Path]:
    """A chain of ``count`` shots: each next one starts from the previous one's last frame."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[pathlib.Path] = []
    first: bytes | None = None
    for k in range(count):
        spec = ClipSpec(
            provider="segmind", model="happyhorse-1.1", mode="i2v" if first else "t2v",
            prompt=f"Shot {k + 1}: a red fox trots across fresh snow at dawn", seed=100 + k,
            resolution="720P", aspect_ratio="16:9", duration=seconds, first_frame=first,
        )
        path = folder / f"{spec.key()}.mp4"
        if not path.exists():
            render_clip(spec, str(path))
        paths.append(path)
        first = last_frame_png(path)
    return paths


def voice_like(seconds: float, rate: int, channels: int, seed: int) -> np.ndarray:
    """A synthetic sound closer to speech than a pure tone (which FFmpeg's AAC encoder finds
    two to three times slower): harmonics with vibrato, a syllable rhythm, a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    pitch = 110 + 20 * seed
    wobble = t + 0.002 * np.sin(2 * np.pi * 5 * t)
    voice = sum(0.1 / h * np.sin(2 * np.pi * pitch * h * wobble) for h in range(1, 12))
    rhythm = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    wave = voice * rhythm + 0.01 * rng.standard_normal(t.size)
    return np.repeat(wave[None, :], channels, axis=0).astype(np.float32)


def resounded(shots: list[pathlib.Path], sound: str, seconds: int) -> list[pathlib.Path]:
    """The shots with their sound replaced by :func:`voice_like` sound at ``sound``
    ("48000:stereo"), cached beside them."""
    rate, layout = sound.split(":")
    channels = av.AudioLayout(layout).nb_channels
    paths = []
    for k, shot in enumerate(shots):
        path = shot.with_name(f"{shot.stem}-{rate}-{layout}.mp4")
        if not path.exists():
            with_sound(shot, path, voice_like(seconds, int(rate), channels, k),
                       sample_rate=int(rate), layout=layout)
        paths.append(path)
    return paths


def timed(run: Callable[[], T], repeat: int) -> tuple[float, float, T]:
    """The median wall time and median CPU time (all threads) of ``repeat`` runs, and the
    last run's result. CPU time shows the work itself when other jobs share the cores."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    assert result is not None
    return statistics.median(walls), statistics.median(cpus), result


def last_by_full_decode(path: pathlib.Path) -> object:
    """The baseline for ``last_frame``: decode every frame, keep the last."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frame = None
        for frame in container.decode(stream):
            pass
        assert frame is not None
        return frame.to_image()


def copy_phases(shots: list[pathlib.Path], result: StitchResult) -> tuple[float, float]:
    """CPU seconds, one thread each, of a stream copy's two big parts: reading the shots
    (done on two threads in ``stitch``) and encoding the joined sound to AAC (on its own
    thread while the video is muxed)."""
    start = time.process_time()
    probes = [probe_shot(shot) for shot in shots]
    reading = time.process_time() - start
    spec = next(p.audio for p in probes if p.audio is not None)
    kept = [b.frame_end - b.frame_start for b in result.shots]
    start = time.process_time()
    samples = stitch_audio.joined(probes, kept, result.fps, spec, 30)
    with av.open(io.BytesIO(), "w", format="mp4") as out:
        for _ in stitch_audio.encode(samples, stitch_audio.add_stream(out, spec), spec):
            pass
    return reading, time.process_time() - start


def describe(result: object) -> str:
    assert isinstance(result, StitchResult)
    return (f"{result.mode}, {result.frames} frames, {result.duration:.3f} s, "
            f"{result.dropped_frames} dropped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shots", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sound", default=None, metavar="RATE:LAYOUT",
                        help="replace the shots' sound (24 kHz mono) by a voice-like sound "
                             "in this format, e.g. 48000:stereo")
    parser.add_argument("--cache", type=pathlib.Path,
                        default=pathlib.Path(tempfile.gettempdir()) / "hh_stitch_bench")
    args = parser.parse_args()

    start = time.perf_counter()
    shots = render_shots(args.cache, args.shots, args.seconds)
    if args.sound:
        shots = resounded(shots, args.sound, args.seconds)
    print(f"{len(shots)} shots ready in {time.perf_counter() - start:.1f} s ({args.cache})")
    video_seconds = args.shots * args.seconds

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as work:
        out = pathlib.Path(work)
        naive = timed(lambda: naive_concat(shots, out / "naive.mp4"), args.repeat)
        copy = timed(lambda: stitch(shots, out / "copy.mp4"), args.repeat)
        encode = timed(lambda: stitch(shots, out / "reencode.mp4", mode="reencode"), args.repeat)
        sizes = {name: (out / f"{name}.mp4").stat().st_size / 1e6
                 for name in ("naive", "copy", "reencode")}
    reading, sound_encode = copy_phases(shots, copy[2])
    last = timed(lambda: last_frame(shots[-1]), args.repeat)
    full = timed(lambda: last_by_full_decode(shots[-1]), args.repeat)
    load = max(load, os.getloadavg()[0])

    sound = args.sound or "24000:mono"
    print(f"\n{args.shots} shots x {args.seconds} s, 1280x720 24 fps, sound {sound}, "
          f"{video_seconds} s of video; "
          f"median of {args.repeat}; {datetime.date.today()}, {os.cpu_count()} cores "
          f"(load average up to {load:.1f}), Python {platform.python_version()}, "
          f"PyAV {av.__version__}\n")
    print("| join | wall s | CPU s | wall vs naive | wall vs real time | target | output |")
    print("|---|---:|---:|---:|---:|---:|---|")
    rows = [
        ("naive concat (packets back to back)", naive, "-",
         f"{sizes['naive']:.1f} MB, no drop, no crossfade"),
        ("`stitch()`: stream copy", copy, "<= 1 s",
         f"{sizes['copy']:.1f} MB, {describe(copy[2])}"),
        ('`stitch(mode="reencode")`', encode, f"<= 1x ({video_seconds} s)",
         f"{sizes['reencode']:.1f} MB, {describe(encode[2])}"),
    ]
    for name, (wall, cpu, _), target, output in rows:
        print(f"| {name} | {wall:.3f} | {cpu:.3f} | {wall / naive[0]:.1f}x | "
              f"{wall / video_seconds:.4f}x | {target} | {output} |")
    print(f"\nStream copy's parts, CPU s on one thread each: reading the shots {reading:.3f}, "
          f"encoding the joined sound to AAC {sound_encode:.3f}.")
    print(f"\n| last frame of a {args.seconds} s shot | wall s | CPU s | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| decode every frame | {full[0]:.3f} | {full[1]:.3f} | 1.00x |")
    print(f"| `last_frame()`: seek to the last keyframe, decode to the end | {last[0]:.3f} | "
          f"{last[1]:.3f} | {last[0] / full[0]:.2f}x |")


if __name__ == "__main__":
    main()
