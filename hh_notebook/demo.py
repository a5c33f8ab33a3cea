"""``happyhorse demo``: the toolkit's main job end to end on the local sandbox.

It writes, under one folder (``out/`` by default):

- ``inputs/``: a first and a last frame and three reference images drawn for the demo;
- ``data/``: the journal and every clip (text, image and reference to video at
  Segmind, first frame to last frame on Segmind's HappyHorse 1.0; the same prompt at
  Apiframe, HiAPI and the OpenAI-style aggregator);
- ``report/``: a 2 × 2 seed × aspect-ratio sweep as a self-contained report;
- ``summary.json``: every clip with its mode, provider, cost, size and codecs.

Everything goes through the public API (:class:`~hh_notebook.Client`,
:func:`~hh_notebook.sweep`), exactly as a notebook user would call it.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from .client import Client
from .media import probe_clip
from .present import status_value
from .request import GenerationRequest
from .sweep import sweep

__all__ = ["run_demo"]

PROMPT = ("A white horse gallops along a misty beach at dawn, waves crashing, "
          "hooves thundering on wet sand")
I2V_PROMPT = "The horse in the picture turns its head and neighs softly, wind in its mane"
R2V_PROMPT = ("[Image 1] walks past [Image 2] while [Image 3] glows on the horizon, "
              "gentle piano music")


def _draw_inputs(folder: Path) -> dict[str, Any]:
    """A first frame and three reference images, drawn so the demo needs no files."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Any] = {}
    frame = Image.new("RGB", (1280, 720), (30, 60, 110))
    draw = ImageDraw.Draw(frame)
    draw.ellipse((480, 200, 800, 520), fill=(240, 240, 235))
    draw.rectangle((0, 560, 1280, 720), fill=(200, 180, 120))
    paths["image"] = folder / "first_frame.png"
    frame.save(paths["image"])
    draw.ellipse((480, 200, 800, 520), fill=(240, 140, 60))  # the sun has set
    paths["last_frame"] = folder / "last_frame.png"
    frame.save(paths["last_frame"])
    refs = []
    for index, color in enumerate([(200, 60, 50), (60, 170, 90), (230, 190, 40)], start=1):
        ref = Image.new("RGB", (640, 640), color)
        ImageDraw.Draw(ref).rectangle((160, 160, 480, 480), outline=(255, 255, 255), width=12)
        path = folder / f"reference_{index}.png"
        ref.save(path)
        refs.append(path)
    paths["reference_images"] = refs
    return paths


async def _run_clips(clients: dict[str, Client], inputs: dict[str, Any]) -> list[Any]:
    segmind = clients["segmind"]
    requests = [
        (segmind, GenerationRequest(prompt=PROMPT, duration=5, seed=7)),
        (segmind, GenerationRequest(prompt=I2V_PROMPT, image=inputs["image"], duration=4, seed=7)),
        (segmind, GenerationRequest(prompt=R2V_PROMPT,
                                    reference_images=inputs["reference_images"],
                                    duration=4, aspect_ratio="1:1", seed=7)),
    ]
    # First frame to last frame: HappyHorse 1.0 at Segmind (local images go inline).
    requests.append((segmind, GenerationRequest(prompt=I2V_PROMPT, image=inputs["image"],
                                                last_frame=inputs["last_frame"], duration=3,
                                                model="1.0")))
    for name in ("apiframe", "hiapi", "openai"):
        # HiAPI's pages list no seed: every HiAPI clip is a fresh draw.
        seed = None if name == "hiapi" else 7
        requests.append((clients[name], GenerationRequest(prompt=PROMPT, duration=5, seed=seed)))
    jobs = [await client.submit(request) for client, request in requests]
    await asyncio.gather(*(job.wait() for job in jobs))
    return jobs


def _describe(job: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "job_id": job.id,
        "provider": job.provider,
        "model": job.model,
        "mode": job.request.mode.value,
        "status": status_value(job.status),
        "provider_job_id": job.provider_job_id,
        "estimated_cost": str(job.cost),  # on the sandbox: "sandbox — not paid (...)"
        "from_cache": bool(job.from_cache),
        "video_path": str(job.video_path) if job.video_path else None,
        "error": job.error,
    }
    if job.video_path:
        info = probe_clip(job.video_path)
        entry.update(width=info.width, height=info.height, duration=round(info.duration, 3),
                     video_codec=info.video_codec, audio_codec=info.audio_codec,
                     bytes=Path(job.video_path).stat().st_size)
    return entry


def run_demo(out: Path, *, time_scale: float | None = None) -> int:
    """Run the demo into ``out``; returns a process exit code (0 when every clip was made)."""
    started = time.monotonic()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if time_scale is not None:
        os.environ["HH_SANDBOX_TIME_SCALE"] = str(time_scale)
    inputs = _draw_inputs(out / "inputs")
    data_dir = out / "data"
    clients = {name: Client(provider=name, data_dir=data_dir, sandbox=True)
               for name in ("segmind", "apiframe", "hiapi", "openai")}
    print(f"sandbox: {clients['segmind'].base_url} (synthetic clips, nothing is paid)")

    jobs = asyncio.run(_run_clips(clients, inputs))
    clips = [_describe(job) for job in jobs]
    for clip in clips:
        size = f"{clip.get('width')}x{clip.get('height')}" if clip.get("width") else "-"
        print(f"  {clip['mode']:<4} {clip['provider']:<9} {clip['status']:<10} {size:<10} "
              f"{clip['estimated_cost']} {clip['video_path'] or clip['error']}")

    planned = sweep(PROMPT, client=clients["segmind"], seed=[1, 2],
                    aspect_ratio=["16:9", "9:16"], duration=3)
    print(planned.preview_text())
    result = planned.run(budget=5.0)
    report = result.export_report(out / "report", title="Demo: seed × aspect ratio")
    sweep_rows = [{"seed": row.request.seed, "aspect_ratio": row.request.aspect_ratio,
                   "status": str(row.status), "video_path": str(row.video_path)}
                  for row in result.rows]
    print(f"report: {report}")

    summary = {"clips": clips, "sweep": sweep_rows, "report": str(report),
               "seconds": round(time.monotonic() - started, 1)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    ok = all(c["status"] == "succeeded" for c in clips) and all(
        r["status"] == "succeeded" for r in sweep_rows)
    print(f"{'done' if ok else 'FAILED'} in {summary['seconds']} s: {out / 'summary.json'}")
    return 0 if ok else 1
