"""One option table for the two front doors: the ``%%happyhorse`` magic and the
``happyhorse`` command take the same options, spelled and explained once here, with every
limit read from :mod:`hh_notebook.catalog`.

>>> [o.flags for o in OPTIONS if o.param == "duration"]
[('-d', '--duration')]
"""

from __future__ import annotations

import argparse
import difflib
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import catalog
from .request_checks import takers

__all__ = ["OPTIONS", "Option", "add_options", "budget_refusal", "did_you_mean",
           "magic_options", "parse_magic_line", "request_fields", "sweep_settings",
           "wants_help"]


def _duration_help() -> str:
    common = catalog.duration_range()
    others = sorted({(c.durations, f"{c.provider} {c.version}") for c in catalog.CONTRACTS.values()
                     if c.durations != common})
    extra = "".join(f"; {lo}–{hi} at {where}" for (lo, hi), where in others)
    return (f"clip length, whole seconds {common[0]}–{common[1]}{extra} "
            f"(default {catalog.DEFAULT_DURATION})")


def _aspect_help() -> str:
    common = catalog.aspect_ratios("segmind")
    more = [r for r in catalog.RATIOS_9 if r not in common]
    return (f"aspect ratio: {', '.join(common)}; also {', '.join(more)} where the provider "
            f"takes them (default {catalog.DEFAULT_ASPECT_RATIO})")


@dataclass(frozen=True)
class Option:
    """One option: its flags, argparse settings, the request field it fills (``param``, if
    any) and the
    front doors that offer it (``"magic"``, ``"generate"``, ``"sweep"``)."""

    flags: tuple[str, ...]
    help: str | Callable[[], str]
    doors: frozenset[str]
    param: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def dest(self) -> str:
        """Where argparse stores it."""
        return str(self.settings.get("dest") or self.flags[-1].lstrip("-").replace("-", "_"))

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``add_argument`` (help text made now)."""
        text = self.help() if callable(self.help) else self.help
        return {**self.settings, "help": text}


_ALL = frozenset({"magic", "generate", "sweep"})
_RUNS = frozenset({"magic", "generate"})
_SWEEPS = frozenset({"magic", "sweep"})
_CLI = frozenset({"generate", "sweep"})

#: Every option of the magic and the command, in the order ``--help`` lists them.
OPTIONS: tuple[Option, ...] = (
    Option(("-d", "--duration"), _duration_help, _ALL, "duration", {"type": int}),
    Option(("-r", "--resolution"),
           f"{' or '.join(catalog.RESOLUTIONS)} (default {catalog.DEFAULT_RESOLUTION})",
           _ALL, "resolution"),
    Option(("-a", "--aspect"), _aspect_help, _ALL, "aspect_ratio",
           {"metavar": "RATIO", "dest": "aspect_ratio"}),
    Option(("-s", "--seed"), f"seed 0–{catalog.MAX_SEED} (default: random)", _ALL, "seed",
           {"type": int}),
    Option(("--image",), "first frame: image-to-video (a path, an http(s) URL, or in a "
           "notebook a variable holding a path, bytes, a PIL image or an array)", _ALL,
           "image", {"metavar": "PATH|URL|VAR"}),
    Option(("--last-frame",), "end frame of a first-to-last-frame clip, with --image (a path, "
           f"an http(s) URL or a notebook variable; taken by {takers('last_frame')})", _ALL,
           "last_frame", {"metavar": "PATH|URL|VAR"}),
    Option(("--audio",), "http(s) URL of a speech file (MP3/WAV) the clip is lip-synced to "
           f"(taken by {takers('audio')})", _ALL, "audio", {"metavar": "URL"}),
    Option(("--ref",), f"reference image (repeat up to {catalog.MAX_REFERENCES} times): "
           "reference-to-video; cite them as [Image N]", _ALL, "reference_images",
           {"action": "append", "metavar": "PATH|URL|VAR", "dest": "reference_images"}),
    Option(("--reference-type",), "reference-to-video: how references are used "
           f"({' or '.join(catalog.REFERENCE_TYPES)}; the aggregator only)", _ALL,
           "reference_type", {"choices": catalog.REFERENCE_TYPES}),
    Option(("-n", "--negative"), "negative prompt (quote it)", _ALL, "negative_prompt",
           {"metavar": "TEXT", "dest": "negative_prompt"}),
    Option(("--no-extend",), "don't let the provider rewrite the prompt", _ALL,
           "prompt_extend", {"action": "store_true"}),
    Option(("--watermark",), "ask for the provider's watermark", _ALL, "watermark",
           {"action": "store_true"}),
    Option(("--provider",), f"{', '.join(catalog.PROVIDERS)}, or {catalog.SANDBOX} for the "
           "local sandbox (default: HH_PROVIDER, the first provider whose key is set, else the "
           "sandbox); a provider named without its key is an error", _ALL),
    Option(("--sandbox",), "run on the local sandbox, speaking --provider's protocol "
           "(synthetic clips, nothing is paid)", _ALL, None, {"action": "store_true"}),
    Option(("--model",), "HappyHorse version (default: the provider's)", _ALL, "model",
           {"choices": catalog.versions()}),
    Option(("-o", "--output"), "bind the job (the request on --dry-run, the sweep with "
           "--sweep, the board with --storyboard) to this notebook variable", frozenset({"magic"}), None,
           {"metavar": "VAR"}),
    Option(("--wait",), "block until the clip is on disk", frozenset({"magic"}), None,
           {"action": "store_true"}),
    Option(("--dry-run",), "validate, show the mode and the estimated cost, spend nothing",
           _ALL, None, {"action": "store_true"}),
    Option(("--force",), "pay again even if this exact seeded clip was paid", _ALL, None,
           {"action": "store_true"}),
    Option(("--sweep",), "a sweep axis (repeatable), e.g. seed=1-4 or aspect=16:9,9:16: a "
           "comparison grid", _SWEEPS, None, {"action": "append", "metavar": "NAME=VALUES"}),
    Option(("--storyboard",), "the cell holds several shots separated by lines such as "
           "'--- 5s seed=3'; each starts from the previous shot's last frame, then the shots "
           "are stitched into one scene (the options above apply to every shot; --image and "
           "--ref to the first)", frozenset({"magic"}), None, {"action": "store_true"}),
    Option(("--budget",), "sweep or storyboard: refuse to start above this estimated cost: "
           "dollars (10), one cap per currency (USD=10,credits=200), or none (default: "
           "HH_BUDGET, else 10)", _SWEEPS, None, {"metavar": "CAP"}),
    Option(("--confirm",), "sweep or storyboard: run even above the budget", _SWEEPS, None,
           {"action": "store_true"}),
    Option(("--concurrency",), "sweep or storyboard: jobs in flight at once (per provider), "
           "at least 1 (default: HH_SWEEP_CONCURRENCY, else 4)", _SWEEPS, None,
           {"type": int, "metavar": "N"}),
    Option(("--report",), "sweep: write a report folder here", frozenset({"sweep"})),
    Option(("--csv",), "sweep: write the result table here", frozenset({"sweep"})),
    Option(("--data-dir",), "journal and clips (default HH_DATA_DIR, else the per-user data "
           "directory)", _CLI),
)


def sweep_settings(args: argparse.Namespace) -> dict[str, Any]:
    """``--budget`` and ``--concurrency`` checked and read (not given: None, the defaults):
    a :class:`~hh_notebook.errors.ValidationError` naming the option otherwise."""
    from .sweep.estimate import check_concurrency, parse_budget

    budget = None if args.budget is None else parse_budget(args.budget, "--budget")
    if args.budget is not None and budget is None:
        budget = {}  # "none": no cap, not the default
    concurrency = None if args.concurrency is None else check_concurrency(args.concurrency,
                                                                            "--concurrency")
    return {"budget": budget, "concurrency": concurrency}


def budget_refusal(exc: Any) -> str:
    """A :class:`~hh_notebook.errors.BudgetExceeded` in the options' own words (``--confirm``,
    ``--budget USD=10,credits=200``) rather than Python's."""
    from .sweep.estimate import budget_advice

    needed = getattr(exc, "needed", None)
    if not needed and not getattr(exc, "unknown", 0):
        return " ".join(str(exc).split())
    return f"{exc.summary} {budget_advice(needed or {}, exc.unknown, 'cli')}"


def did_you_mean(word: str, door: str | None = None) -> str:
    """`` (did you mean --duration?)`` for a mistyped option of ``door`` (None: of any door),
    or ``""``.

    >>> did_you_mean("--durations", "generate")
    ' (did you mean --duration?)'
    """
    offered = OPTIONS if door is None else options_for(door)
    flags = [f for o in offered for f in o.flags if f.startswith("--")]
    guess = difflib.get_close_matches(word.split("=")[0], flags, n=1, cutoff=0.7)
    return f" (did you mean {guess[0]}?)" if guess else ""


def parse_magic_line(parser: Any, line: str) -> Any:
    """Parse the magic's option line with shell quoting (``-n "blurry, text"`` is one value);
    a mistake is one ``UsageError`` line, with the option meant when it is guessable."""
    from IPython.core.error import UsageError

    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"options: {exc}") from None
    try:
        return parser.parse_args(words)
    except UsageError as exc:
        message = str(exc)
        if message.startswith("unrecognized arguments: "):
            message += did_you_mean(message.split(": ", 1)[1].split()[0], "magic")
        raise UsageError(message) from None


def wants_help(line: str) -> bool:
    """True when the magic's option line asks for ``-h``/``--help``."""
    try:
        return any(word in ("-h", "--help") for word in shlex.split(line))
    except ValueError:
        return False


def options_for(door: str) -> list[Option]:
    """The options one front door offers."""
    return [o for o in OPTIONS if door in o.doors]


def add_options(parser: argparse.ArgumentParser, door: str) -> None:
    """Add ``door``'s options to an argparse parser (the command's subcommands)."""
    for option in options_for(door):
        parser.add_argument(*option.flags, **option.kwargs())


def magic_options(func: Any) -> Any:
    """Decorate a magic with the magic's options (``magic_arguments``), in table order."""
    from IPython.core.magic_arguments import argument, magic_arguments

    for option in reversed(options_for("magic")):
        func = argument(*option.flags, **option.kwargs())(func)
    return magic_arguments()(func)


def request_fields(args: argparse.Namespace, options: Iterable[Option] = OPTIONS
                   ) -> dict[str, Any]:
    """The request fields the parsed options set (``--no-extend`` → ``prompt_extend=False``;
    options not given are left out)."""
    fields: dict[str, Any] = {}
    for option in options:
        if option.param is None or not hasattr(args, option.dest):
            continue
        value = getattr(args, option.dest)
        if option.param == "prompt_extend":
            if value:
                fields["prompt_extend"] = False
        elif option.param == "watermark":
            if value:
                fields["watermark"] = True
        elif value is not None:
            fields[option.param] = value
    return fields
