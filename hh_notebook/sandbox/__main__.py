"""``python -m hh_notebook.sandbox``: run the provider sandbox until interrupted."""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from collections.abc import Sequence

from .faults import load_fault_file


def _time_scale(text: str) -> float:
    """``--time-scale``: a finite number above 0 (NaN or infinity would never end a job)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number greater than 0")
    return value


def build_parser(prog: str = "python -m hh_notebook.sandbox",
                 parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser,
                 ) -> argparse.ArgumentParser:
    """The sandbox's command-line options (``prog``: how it was called, for ``--help``;
    ``parser_class``: the caller's own way of reporting a mistake)."""
    parser = parser_class(
        prog=prog,
        description="Local HappyHorse provider sandbox (Segmind, OpenAI-style aggregator, "
                    "Apiframe, HiAPI) on one loopback port. Clips are synthetic.")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    parser.add_argument("--time-scale", type=_time_scale, default=0.03,
                        help="real seconds per provider second (default 0.03: a 150 s job "
                             "takes 4.5 s)")
    parser.add_argument("--faults", metavar="FILE", default=None,
                        help="JSON file with a fault rule or a list of them")
    parser.add_argument("--cache-dir", default=None,
                        help="keep clips here (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sandbox's own draws")
    parser.add_argument("--gen-seconds", type=float, nargs=2, metavar=("LOW", "HIGH"),
                        default=None, help="generation time range in provider seconds "
                                           "(default 100 180)")
    parser.add_argument("--encoders", type=int, default=None,
                        help="clip encoder threads (default: one per spare core)")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None,
         parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> int:
    """Run the sandbox until SIGINT/SIGTERM; returns the exit status."""
    from .server import Sandbox

    args = build_parser(prog or "python -m hh_notebook.sandbox", parser_class).parse_args(argv)
    try:
        faults = load_fault_file(args.faults) if args.faults else None
        sandbox = Sandbox(time_scale=args.time_scale, port=args.port, faults=faults,
                          seed=args.seed, host=args.host, cache_dir=args.cache_dir,
                          encode_workers=args.encoders,
                          gen_range=tuple(args.gen_seconds) if args.gen_seconds else None)
    except (OSError, TypeError, ValueError) as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            sandbox.start()
        except OSError as exc:
            print(f"sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 2
        print(f"sandbox listening on {sandbox.base_url}", flush=True)
        stop.wait()
    finally:
        sandbox.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    print("sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
