"""Wall time of a large sweep on the sandbox against the ideal for its concurrency limit.

    .venv/bin/python benchmarks/sweep_walltime.py --clips 200 --concurrency 20 --time-scale 0.02

The sandbox runs every provider duration ``--time-scale`` times faster (a 145 s job takes
2.9 s at 0.02). Clips are cheap (3 s, 720P, one seed per cell) and encoded once in a warm-up
pass into ``--cache-dir``, so the measured run waits on the simulated generation, not on
this machine's video encoder. The measured run uses a fresh journal (no clip is served
from it) and submits every cell.

Ideal wall time: after the run each job's real generation time (queue + inference, from
Segmind's ``metrics`` in the status answer) is read back from the sandbox; with ``C`` jobs
at a time no schedule can finish before ``max(sum(d) / C, max(d))``. The script prints the
measured wall time, that bound and their ratio, plus the largest number of jobs the sandbox
saw in flight at once, and with ``--append`` adds a row to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import platform
import sys
import tempfile
import time
from typing import Any

import httpx

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from sweep_fixtures import max_in_flight  # the same count the concurrency test uses

from hh_notebook.client import Client
from hh_notebook.sandbox import Sandbox
from hh_notebook.sweep import sweep

PROMPT = "a kestrel hovering over a windy ridge, wings beating, wind roaring"
RESULTS = pathlib.Path(__file__).with_name("RESULTS.md")
HEADING = "## Sweep wall time (200 clips on the sandbox)"


def run_sweep(
    sb: Sandbox, data_dir: pathlib.Path, clips: int, concurrency: int
) -> tuple[float, Any, Client]:
    client = Client(provider="segmind", base_url=sb.base_url, data_dir=data_dir)
    sw = sweep(PROMPT, client=client, seed=f"1-{clips}", duration=3, resolution="720P",
               concurrency=concurrency)  # fmt: skip
    started = time.perf_counter()
    result = sw.run(confirm=True, timeout=3600)
    return time.perf_counter() - started, result, client


def generation_seconds(sb: Sandbox, client: Client, result: Any) -> list[float]:
    """Real seconds each job spent at the provider (queue + inference), from its metrics."""
    out = []
    with httpx.Client(base_url=sb.base_url, timeout=30, headers={"x-api-key": "SG_bench"}) as http:
        for row in result.rows:
            record = client.journal.get(row.job_id)
            answer = http.get(f"/v2/requests/{record.provider_job_id}/status").json()
            metrics = answer["metrics"]
            out.append((metrics["queue_time"] + metrics["inference_time"]) * sb.time_scale)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--time-scale", type=float, default=0.02)
    parser.add_argument(
        "--cache-dir",
        type=pathlib.Path,
        default=pathlib.Path(tempfile.gettempdir()) / "hh-bench-clips",
    )
    parser.add_argument("--append", action="store_true", help="add the figures to RESULTS.md")
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        # Warm-up: encode every clip once (a fast clock: jobs end as soon as clips exist).
        with Sandbox(time_scale=0.005, cache_dir=args.cache_dir) as warm:
            t0 = time.perf_counter()
            _, warmed, client = run_sweep(warm, pathlib.Path(tmp) / "warm", args.clips, 50)
            client.close()
            if not warm.wait_encoded(timeout=1800):
                raise SystemExit("warm-up: clips still encoding after 30 min")
            print(
                f"warm-up: {time.perf_counter() - t0:.1f} s ({warm.encodes} clips encoded, "
                f"{len(warmed.succeeded)} cells succeeded)"
            )
        with Sandbox(time_scale=args.time_scale, cache_dir=args.cache_dir) as sb:
            wall, result, client = run_sweep(sb, pathlib.Path(tmp) / "run", args.clips,
                                             args.concurrency)  # fmt: skip
            try:
                statuses = {r.status for r in result.rows}
                # Before the metrics calls below, which would extend every job's span.
                peak = max_in_flight(sb.request_log())
                encodes = sb.encodes
                durations = generation_seconds(sb, client, result)
            finally:
                client.close()
    bound = max(sum(durations) / args.concurrency, max(durations))
    waves = -(-args.clips // args.concurrency) * (sum(durations) / len(durations))
    ratio = wall / bound
    print(
        f"{args.clips} clips, concurrency {args.concurrency}, time scale {args.time_scale}: "
        f"statuses {sorted(statuses)}, encodes during the run {encodes}"
    )
    print(
        f"wall {wall:.2f} s; ideal (work / concurrency) {bound:.2f} s -> {ratio:.3f}x; "
        f"waves x mean job {waves:.2f} s -> {wall / waves:.3f}x; max in flight {peak}"
    )
    ok = statuses == {"succeeded"} and ratio <= 1.15 and peak <= args.concurrency
    print("PASS" if ok else "FAIL", "(limit 1.15x)")
    if args.append:
        append(args, wall, bound, waves, peak, encodes)
    return 0 if ok else 1


def append(args: argparse.Namespace, wall: float, bound: float, waves: float, peak: int,
           encodes: int) -> None:  # fmt: skip
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    command = (f"`.venv/bin/python benchmarks/sweep_walltime.py --clips {args.clips} "
               f"--concurrency {args.concurrency} --time-scale {args.time_scale}`")  # fmt: skip
    if HEADING not in text:
        text += (
            f"\n{HEADING}\n\n"
            "A seed sweep of cheap clips (3 s, 720P) through `hh.sweep(...).run()` against the "
            "sandbox, clips pre-encoded in a warm-up pass so the run waits on the simulated "
            "generation only. Ideal = max(sum of the jobs' real generation times / concurrency, "
            "longest job), the generation times read back from the sandbox's Segmind `metrics`; "
            "'waves' = ceil(clips / concurrency) × mean job time.\n\n"
            "| date | clips | concurrency | time scale | wall | ideal | wall / ideal | "
            "wall / waves | max in flight | limit |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        )
    row = (
        f"| {datetime.date.today()} | {args.clips} | {args.concurrency} | {args.time_scale} | "
        f"{wall:.2f} s | {bound:.2f} s | **{wall / bound:.3f}×** | {wall / waves:.3f}× | {peak} | "
        "≤ 1.15× |\n"
    )
    lines = text.split("\n")
    start = lines.index(HEADING)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    table_end = max(i for i in range(start, end) if lines[i].startswith("|")) + 1
    lines.insert(table_end, row.rstrip("\n"))
    note = (f"Command: {command} (2 shared cores, Python {platform.python_version()}, "
            f"{encodes} encodes during the measured run)")  # fmt: skip
    if note not in lines[start : end + 1]:
        lines.insert(table_end + 1, "")
        lines.insert(table_end + 2, note)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
