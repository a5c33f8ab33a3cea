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

__all__ = ["main"]


def _add_request_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", "--duration", type=int, default=None, help="seconds, 3-15")
    parser.add_argument("-r", "--resolution", default=None, help="720P or 1080P")
    parser.add_argument("-a", "--aspect", dest="aspect_ratio", default=None, help="e.g. 16:9")
    parser.add_argument("-s", "--seed", type=int, default=None, help="0-2147483647")
    parser.add_argument("--image", default=None, help="first frame: a path or an http(s) URL")
    parser.add_argument("--ref", dest="reference_images", action="append", default=None,
                        help="reference image (repeatable, up to 9)")
    parser.add_argument("-n", "--negative", dest="negative_prompt", default=None)
    parser.add_argument("--model", default=None, help="1.1 or 1.0")
    parser.add_argument("--provider", default=None,
                        help="segmind, apiframe, hiapi or openai (default: HH_PROVIDER, "
                             "the first key set, else the sandbox)")
    parser.add_argument("--data-dir", default=None, help="journal and clips (default HH_DATA_DIR)")


def _request_params(args: argparse.Namespace) -> dict[str, Any]:
    names = ("duration", "resolution", "aspect_ratio", "seed", "image", "reference_images",
             "negative_prompt", "model")
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _client(args: argparse.Namespace) -> Any:
    from .client import Client

    return Client(provider=args.provider, data_dir=args.data_dir)


def _cmd_sandbox(argv: Sequence[str]) -> int:
    from .sandbox.__main__ import main as sandbox_main

    return int(sandbox_main(list(argv)) or 0)


def _cmd_generate(args: argparse.Namespace) -> int:
    from .pricing import estimate_cost
    from .request import GenerationRequest

    client = _client(args)
    request = GenerationRequest(prompt=args.prompt, **_request_params(args))
    request.validate(client.provider)
    cost = estimate_cost(request, client.provider)
    print(f"{request.mode.value} on {client.provider}, estimated {cost}")
    for warning in request.warnings(client.provider):
        print(f"warning: {warning}")
    if args.dry_run:
        return 0
    job = asyncio.run(_submit_and_wait(client, request, args.force))
    print(f"{job.status.value}: {job.video_path or job.error}")
    return 0 if job.video_path else 1


async def _submit_and_wait(client: Any, request: Any, force: bool) -> Any:
    from .display import TextProgress

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
    sweep = sweep_from_magic_args(args.prompt, args.sweep, client=client, budget=args.budget,
                                  concurrency=args.concurrency, fixed=_request_params(args))
    print(sweep.preview_text())
    if args.dry_run:
        return 0
    result = sweep.run(confirm=args.confirm)
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
    _add_request_options(gen)
    gen.add_argument("--dry-run", action="store_true", help="validate and price only")
    gen.add_argument("--force", action="store_true", help="pay again even if paid before")

    sw = sub.add_parser("sweep", help="a grid of clips over up to three axes")
    sw.add_argument("prompt")
    sw.add_argument("--sweep", action="append", default=[], metavar="NAME=VALUES",
                    help="an axis, e.g. seed=1-4 or aspect=16:9,9:16 (repeatable)")
    _add_request_options(sw)
    sw.add_argument("--budget", type=float, default=None, help="refuse above this estimate")
    sw.add_argument("--confirm", action="store_true", help="run even above the budget")
    sw.add_argument("--concurrency", type=int, default=None, help="jobs in flight per provider")
    sw.add_argument("--report", default=None, help="write a report folder here")
    sw.add_argument("--csv", default=None, help="write the result table here")
    sw.add_argument("--dry-run", action="store_true", help="show size and cost only")

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

