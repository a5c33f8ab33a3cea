"""The ``happyhorse`` command: the same public API as Python users, from a shell.

::

    happyhorse sandbox --port 8765            # serve every provider's protocol on 127.0.0.1
    happyhorse demo --out out                 # clips, a sweep and a report, on the sandbox
    happyhorse generate "a fox in the snow" -d 5 -s 7
    happyhorse sweep "a fox in the snow" --sweep seed=1-4 --sweep aspect=16:9,9:16 --report out/fox
    happyhorse jobs                           # the journal, newest first

With no provider key in the environment every command runs on the local
sandbox (synthetic clips, nothing is paid).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import HHError
from .options import add_options, request_fields

__all__ = ["main"]


def _client(args: argparse.Namespace) -> Any:
    from .client import Client

    return Client(provider=args.provider, data_dir=args.data_dir)


def _request_params(args: argparse.Namespace) -> dict[str, Any]:
    params = request_fields(args)
    params.pop("provider", None)
    return params


def _cmd_sandbox(argv: Sequence[str]) -> int:
    from .sandbox.__main__ import main as sandbox_main

    return int(sandbox_main(list(argv)) or 0)


def _cmd_generate(args: argparse.Namespace) -> int:
    client = _client(args)
    prepared = client.prepare(args.prompt, **_request_params(args))
    request = prepared.request
    print(f"{request.mode.value} on {client.provider}, estimated {prepared.estimate}")
    for warning in request.warnings(client.provider):
        print(f"warning: {warning}")
    if args.dry_run:
        return 0
    job = asyncio.run(_submit_and_wait(client, prepared, args.force))
    print(f"{job.status.value}: {job.video_path or job.error}")
    return 0 if job.video_path else 1


async def _submit_and_wait(client: Any, request: Any, force: bool) -> Any:
    from .present import TextProgress

    job = await client.submit(request, force=force)
    unsubscribe = job.subscribe(TextProgress())
    try:
        await job.wait()
    finally:
        unsubscribe()
    return job


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import sweep_from_magic_args

    client = _client(args)
    sweep = sweep_from_magic_args(args.prompt, args.sweep or [], client=client, budget=args.budget,
                                  concurrency=args.concurrency, fixed=_request_params(args))
    print(sweep.preview_text())
    if args.dry_run:
        return 0
    result = sweep.run(confirm=args.confirm, force=args.force)
    counts: dict[str, int] = {}
    for row in result.rows:
        counts[str(row.status)] = counts.get(str(row.status), 0) + 1
    print("clips:", ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if args.report:
        print(f"report: {result.export_report(args.report)}")
    if args.csv:
        result.to_csv(args.csv)
        print(f"table: {args.csv}")
    return 0 if all(str(row.status) == "succeeded" for row in result.rows) else 1


def _cmd_jobs(args: argparse.Namespace) -> int:
    from .config import default_data_dir
    from .journal import Journal

    path = default_data_dir(args.data_dir) / "journal.sqlite3"
    if not path.exists():
        print(f"no journal at {path}")
        return 0
    records = Journal(path).jobs()[: args.limit]
    for record in records:
        prompt = " ".join(str(record.request.get("prompt", "")).split())
        if len(prompt) > 50:
            prompt = prompt[:49] + "…"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created_at))
        print(f"{record.id[:12]}  {when}  {record.provider:<8} {record.status!s:<10} {prompt}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``happyhorse`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "sandbox":
        return _cmd_sandbox(argv[1:])

    parser = argparse.ArgumentParser(prog="happyhorse", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sandbox", help="serve every provider's protocol on 127.0.0.1 (see --help)")

    demo = sub.add_parser("demo", help="the main job on the sandbox: clips, a sweep, a report")
    demo.add_argument("--out", default="out", help="folder for everything it writes")
    demo.add_argument("--time-scale", type=float, default=None,
                      help="sandbox speed (default HH_SANDBOX_TIME_SCALE or 0.03)")

    gen = sub.add_parser("generate", help="one clip, blocking, with a text progress line")
    gen.add_argument("prompt")
    add_options(gen, "generate")

    sw = sub.add_parser("sweep", help="a grid of clips over up to three axes")
    sw.add_argument("prompt")
    add_options(sw, "sweep")

    jobs = sub.add_parser("jobs", help="list the journal")
    jobs.add_argument("--data-dir", default=None)
    jobs.add_argument("--limit", type=int, default=50)

    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(Path(args.out), time_scale=args.time_scale)
        if args.command == "generate":
            return _cmd_generate(args)
        if args.command == "sweep":
            return _cmd_sweep(args)
        if args.command == "jobs":
            return _cmd_jobs(args)
    except HHError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

