"""The ``happyhorse`` command: the same public API as Python users, from a shell.

::

    happyhorse sandbox --port 8765            # serve every provider's protocol on 127.0.0.1
    happyhorse demo --out out                 # clips, a sweep and a report, on the sandbox
    happyhorse generate "a fox in the snow" -d 5 -s 7
    happyhorse sweep "a fox in the snow" --sweep seed=1-4 --sweep aspect=16:9,9:16 --report out/fox
    happyhorse jobs                           # the journal, newest first

With no provider key in the environment every command runs on the local
sandbox (synthetic clips, nothing is paid). A mistake (an option, a value, a
missing key, a budget) is one line on stderr and exit status 2, before anything
is sent.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .errors import BudgetExceeded, HHError
from .options import add_options, budget_refusal, did_you_mean, request_fields, sweep_settings
from .present import one_line

__all__ = ["main"]

_DESCRIPTION = ("HappyHorse video generation from a shell: the same public API as Python "
                "users. With no provider key set, everything runs on the local sandbox "
                "(synthetic clips, nothing is paid).")
_COMMANDS = ("sandbox", "demo", "generate", "sweep", "jobs")


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (with a guess at what was meant), exit status 2."""

    def error(self, message: str) -> NoReturn:
        door = self.prog.split()[-1]
        if message.startswith("unrecognized arguments: "):
            # (the top parser reports them: the subcommand's own options are not known here)
            message += did_you_mean(message.split(": ", 1)[1].split()[0])
        elif "invalid choice" in message and door == "happyhorse":
            word = message.split("'")[1] if "'" in message else ""
            guess = difflib.get_close_matches(word, _COMMANDS, n=1)
            message = f"unknown command {word!r}" + (f"; did you mean {guess[0]!r}?"
                                                      if guess else "")
        fail(f"{self.prog}: {message} (see {self.prog} --help)")


def fail(message: str) -> NoReturn:
    """Print one line to stderr and exit with status 2."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(2)


def _time_scale(text: str) -> float:
    from .config import check_number

    try:
        value: object = float(text)
    except ValueError:
        value = text
    problem = check_number("--time-scale", value)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem.message}")
    return float(text)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not at least 1")
    return value


def _client(args: argparse.Namespace) -> Any:
    from .client import Client

    return Client(provider=args.provider, data_dir=args.data_dir,
                  sandbox=True if args.sandbox else None)


def _request_params(args: argparse.Namespace) -> dict[str, Any]:
    params = request_fields(args)
    params.pop("provider", None)
    return params


def _check_paths(args: argparse.Namespace) -> None:
    """Refuse output paths that cannot be written, before anything is paid for."""
    if getattr(args, "data_dir", None) and Path(args.data_dir).is_file():
        fail(f"--data-dir: {args.data_dir} is a file, not a folder")
    report, table = getattr(args, "report", None), getattr(args, "csv", None)
    if report and Path(report).exists() and not Path(report).is_dir():
        fail(f"--report: {report} is a file; the report is a folder (give a new name)")
    if table and Path(table).is_dir():
        fail(f"--csv: {table} is a folder; give the name of the .csv file to write")
    for option, target in (("--report", report), ("--csv", table)):
        parent = Path(target).absolute().parent if target else None
        while parent is not None and not parent.exists():
            parent = parent.parent
        if parent is not None and not parent.is_dir():
            fail(f"{option}: {target} lies under {parent}, which is a file")


def _cmd_sandbox(argv: Sequence[str]) -> int:
    from .sandbox.__main__ import main as sandbox_main

    return int(sandbox_main(list(argv), prog="happyhorse sandbox", parser_class=_Parser) or 0)


def _cmd_generate(args: argparse.Namespace) -> int:
    client = _client(args)
    prepared = client.prepare(args.prompt, **_request_params(args))
    request = prepared.request
    print(f"{request.mode.value} on {client.provider}, estimated {prepared.estimate}")
    for warning in request.warnings(client.provider):
        print(f"warning: {warning}")
    if args.dry_run:
        print("dry run: nothing submitted")
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
    sweep = sweep_from_magic_args(args.prompt, args.sweep or [], client=client,
                                  fixed=_request_params(args), **sweep_settings(args))
    print(sweep.preview_text())
    if args.dry_run:
        print("dry run: nothing submitted")
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
    from .views.tables import JobTable

    path = default_data_dir(args.data_dir) / "journal.sqlite3"
    if not path.exists():
        print(f"no journal at {path}")
        return 0
    print(repr(JobTable(Journal(path).jobs(limit=args.limit))))
    return 0


def _parser() -> _Parser:
    parser = _Parser(prog="happyhorse", description=_DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("sandbox", help="serve every provider's protocol on 127.0.0.1 (see "
                                   "happyhorse sandbox --help)")

    demo = sub.add_parser("demo", help="the main job on the sandbox: clips, a sweep, a report")
    demo.add_argument("--out", default="out", help="folder for everything it writes")
    demo.add_argument("--time-scale", type=_time_scale, default=None,
                      help="sandbox speed (default HH_SANDBOX_TIME_SCALE or 0.03)")

    gen = sub.add_parser("generate", help="one clip, blocking, with a text progress line")
    gen.add_argument("prompt", help="what the clip shows and sounds like (quote it)")
    add_options(gen, "generate")

    sw = sub.add_parser("sweep", help="a grid of clips over up to three axes")
    sw.add_argument("prompt", help="the prompt shared by every clip (quote it)")
    add_options(sw, "sweep")

    jobs = sub.add_parser("jobs", help="list the journal, newest first")
    jobs.add_argument("--data-dir", default=None, help="journal and clips (default "
                      "HH_DATA_DIR, else the per-user data directory)")
    jobs.add_argument("--limit", type=_positive_int, default=50, metavar="N",
                      help="show the N newest jobs (default 50)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``happyhorse`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "sandbox":
        return _cmd_sandbox(argv[1:])
    args = _parser().parse_args(argv)
    _check_paths(args)
    try:
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(Path(args.out), time_scale=args.time_scale)
        if args.command == "generate":
            return _cmd_generate(args)
        if args.command == "sweep":
            return _cmd_sweep(args)
        return _cmd_jobs(args)
    except BudgetExceeded as exc:
        fail(budget_refusal(exc))
    except HHError as exc:
        fail(one_line(exc))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
