"""Speed of clip metrics: ours against a naive full-resolution pass, and measure_many's scaling.

    .venv/bin/python benchmarks/metrics_speed.py --clips 3 --set 200 --duration 5

(a) On ``--clips`` sandbox clips (720P 16:9, ``--duration`` s, 24 fps, one seed each), pinned
    to one core: :func:`hh_notebook.metrics.measure` (``--repeat`` runs per clip) against a
    naive pass that decodes every frame at 1280x720, runs Farneback optical flow at full
    resolution, takes the Laplacian variance of every frame, lets scenedetect open and decode
    the file itself, and decodes the audio for pyloudnorm. Both compute the same kinds of
    figures; the script prints each one's CPU and wall seconds per clip (medians), times real
    time (from CPU time) and their ratio.
(b) On ``--set`` clips (seeds 1..N): :func:`hh_notebook.metrics.measure_many` with every core
    against one worker, same clips, same run, no cache.

Clips are rendered by the sandbox's own renderer (``render_clip``) once into ``--cache-dir``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import numpy as np

from hh_notebook.metrics import measure, measure_many
from hh_notebook.sandbox.clips import RENDERER_VERSION, ClipSpec, render_clip

PROMPT = "a white horse galloping along a beach at sunset, hooves splashing"


def clip_path(folder: pathlib.Path, seed: int, duration: int) -> pathlib.Path:
    return folder / f"seed{seed:04d}-{duration}s-720p-r{RENDERER_VERSION}.mp4"


def render(folder: pathlib.Path, seed: int, duration: int) -> str:
    path = clip_path(folder, seed, duration)
    if not path.exists():
        spec = ClipSpec(provider="segmind", model="happyhorse-1.1", mode="t2v", prompt=PROMPT,
                        seed=seed, resolution="720P", aspect_ratio="16:9", duration=duration)
        render_clip(spec, str(path))
    return str(path)


def corpus(folder: pathlib.Path, seeds: range, duration: int) -> list[str]:
    """Render the clips not yet in ``folder`` (in parallel) and return every path in order."""
    missing = [s for s in seeds if not clip_path(folder, s, duration).exists()]
    if missing:
        print(f"rendering {len(missing)} clips into {folder} ...", flush=True)
        with ProcessPoolExecutor(mp_context=get_context("spawn")) as pool:
            list(pool.map(render, [folder] * len(missing), missing, [duration] * len(missing)))
    return [str(clip_path(folder, s, duration)) for s in seeds]


def naive(path: str) -> dict[str, Any]:
    """Every frame decoded at full size; flow, sharpness and flicker on full frames."""
    import av
    import cv2
    import imagehash
    import pyloudnorm
    import scenedetect
    from PIL import Image

    motion, sharp, flicker, hashes = [], [], [], []
    previous = None
    with av.open(path) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    for i, bgr in enumerate(frames):
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        sharp.append(cv2.Laplacian(grey, cv2.CV_32F).var())
        if previous is not None:
            flow = cv2.calcOpticalFlowFarneback(previous, grey, None, 0.5, 3, 15, 3, 5, 1.2, 0)
            motion.append(float(np.linalg.norm(flow, axis=2).mean()))
            flicker.append(float(np.abs(cv2.GaussianBlur(grey, (0, 0), 20).astype(np.float32)
                                        - cv2.GaussianBlur(previous, (0, 0), 20)).mean()))
        if i % max(1, len(frames) // 4) == 0:
            hashes.append(str(imagehash.phash(Image.fromarray(grey))))
        previous = grey
    cuts = scenedetect.detect(path, scenedetect.ContentDetector(), show_progress=False)
    with av.open(path) as container:
        audio = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
        rate = container.streams.audio[0].rate
    lufs = pyloudnorm.Meter(rate).integrated_loudness(audio.T.astype(np.float64))
    return {"motion": np.mean(motion), "sharpness": np.median(sharp), "cuts": len(cuts) - 1,
            "flicker": np.mean(flicker), "lufs": lufs, "hashes": hashes}


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def cpu_and_wall(fn: Callable[[], object]) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) spent in ``fn``.

    Pinned to one core, CPU time is what the wall time would be on an idle core; on a
    shared machine it is the steadier of the two (other work only stretches wall time)."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def single_core(paths: list[str], duration: int, repeat: int) -> dict[str, float]:
    """Part (a), on the first core this process may use."""
    allowed = os.sched_getaffinity(0)
    core = min(allowed)
    os.sched_setaffinity(0, {core})
    try:
        measure(paths[0])  # imports and first-call setup, outside the timings
        ours = [cpu_and_wall(lambda p=p: measure(p)) for p in paths for _ in range(repeat)]
        slow = [cpu_and_wall(lambda p=p: naive(p)) for p in paths]
    finally:
        os.sched_setaffinity(0, allowed)
    out: dict[str, float] = {"core": core}
    for name, runs in (("ours", ours), ("naive", slow)):
        out[f"{name}_cpu"] = statistics.median(r[0] for r in runs)
        out[f"{name}_wall"] = statistics.median(r[1] for r in runs)
        out[f"{name}_xrt"] = duration / out[f"{name}_cpu"]
    out["ours_cpu_max"] = max(r[0] for r in ours)
    out["ratio_cpu"] = out["naive_cpu"] / out["ours_cpu"]
    out["ratio_wall"] = out["naive_wall"] / out["ours_wall"]
    return out


def many(paths: list[str]) -> dict[str, float]:
    """Part (b): every core against one worker on the same clips."""
    cores = len(os.sched_getaffinity(0))
    one_cpu, one = cpu_and_wall(lambda: measure_many(paths, workers=1))
    results: list[Any] = []
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_cpu, every = cpu_and_wall(lambda: results.extend(measure_many(paths)))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers, reaped at shutdown
    all_cpu = own_cpu + (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    failed = sum(not r.ok for r in results)
    ranges(results)
    return {"cores": cores, "one_s": one, "all_s": every, "speedup": one / every,
            "clips_per_s": len(paths) / every, "failed": failed,
            "one_cpu": one_cpu, "all_cpu": all_cpu}


def ranges(results: list[Any]) -> None:
    """Min / median / max of each figure over the set (the typical ranges in docs/METRICS.md)."""
    from hh_notebook.metrics import seed_diversity

    print(f"\nranges over {len(results)} sandbox clips (min / median / max):")
    for key in ("motion_px", "dynamic_degree", "flicker", "sharpness", "cuts", "lufs",
                "peak_dbfs", "silence_share", "av_sync_lag_ms", "av_sync_corr"):
        values = [v for r in results if (v := r.to_dict()[key]) is not None]
        if values:
            low, mid, high = min(values), statistics.median(values), max(values)
            print(f"  {key}: {low:.4g} / {mid:.4g} / {high:.4g}")
    print(f"  seed_diversity: {seed_diversity(results):.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=3, help="clips for part (a); 0 skips it")
    parser.add_argument("--set", type=int, default=200, help="clips for part (b); 0 skips it")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache-dir", type=pathlib.Path,
                        default=pathlib.Path(tempfile.gettempdir()) / "hh-metrics-bench")
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    paths = corpus(args.cache_dir, range(1, max(args.clips, args.set) + 1), args.duration)
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)

    if args.clips:
        a = single_core(paths[: args.clips], args.duration, args.repeat)
        print(f"\n(a) {args.clips} clips of {args.duration} s 720P, one core (core {a['core']:.0f}), "
              f"medians; x real time from CPU time")
        print("| pass | CPU s per clip | wall s per clip | x real time |")
        print("|---|---:|---:|---:|")
        print(f"| measure() | {a['ours_cpu']:.3f} (max {a['ours_cpu_max']:.3f}) "
              f"| {a['ours_wall']:.3f} | {a['ours_xrt']:.1f}x |")
        print(f"| naive full-resolution pass | {a['naive_cpu']:.2f} | {a['naive_wall']:.2f} "
              f"| {a['naive_xrt']:.2f}x |")
        print(f"| naive / measure() | {a['ratio_cpu']:.0f}x | {a['ratio_wall']:.0f}x | |", flush=True)

    if args.set:
        b = many(paths[: args.set])
        print(f"\n(b) {args.set} clips, measure_many, load average {os.getloadavg()[0]:.1f}")
        print("| workers | wall time, s | clips/s | CPU s, all processes |")
        print("|---|---:|---:|---:|")
        print(f"| 1 (in this process) | {b['one_s']:.1f} | {args.set / b['one_s']:.2f} "
              f"| {b['one_cpu']:.1f} |")
        print(f"| all ({b['cores']:.0f}, spawned) | {b['all_s']:.1f} | {b['clips_per_s']:.2f} "
              f"| {b['all_cpu']:.1f} |")
        print(f"| speed-up | {b['speedup']:.2f}x | | | (errors: {b['failed']:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
