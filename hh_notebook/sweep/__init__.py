"""Sweeps: one idea across seeds, durations, aspect ratios, prompt variants and providers.

A sweep takes a base request (or a prompt) and up to three *axes*, expands them
into one request per cell (rows × columns × pages), shows the number of clips,
the estimated cost and time before anything is submitted, refuses to start
above a budget unless confirmed, then runs the cells concurrently (a bound per
provider) and returns a :class:`SweepResult` with one row per cell::

    >>> import hh_notebook as hh
    >>> sw = hh.sweep("a red fox in the snow", seed="1-3", aspect_ratio="16:9,9:16")
    >>> sw.size, sw.shape
    (6, (3, 2, 1))
    >>> result = sw.run(budget=5.0)            # doctest: +SKIP
    >>> result.to_pandas()                     # doctest: +SKIP

Axis values and prompt variants
    The accepted values of every keyword (the range syntax ``"1-10 (+3)"``, comma lists,
    ``prompt_sr``, ``{slot}`` templates) are described in :mod:`hh_notebook.sweep.axes` and :mod:`hh_notebook.sweep.plan`.

Resuming
    A sweep's id is derived from its content, so building the same sweep again
    after a kernel restart finds its jobs in the journal: finished cells are
    reused, running ones are followed again, and only the rest are submitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .. import catalog
from ..client import Client
from ..config import choose_provider
from ..errors import FieldError, ValidationError
from ..request import GenerationRequest
from .axes import ALIASES, REQUEST_FIELDS, AxisSpec, parse_axis, parse_number_range
from .cells import SweepProgress
from .estimate import SweepEstimate, SweepSettings, settings
from .plan import SweepCell, plan_sweep, validate_cells
from .result import SweepResult, SweepRow
from .run import Sweep

__all__ = [
    "AxisSpec",
    "Sweep",
    "SweepCell",
    "SweepEstimate",
    "SweepProgress",
    "SweepResult",
    "SweepRow",
    "SweepSettings",
    "parse_axis",
    "parse_number_range",
    "settings",
    "sweep",
    "sweep_from_magic_args",
]


def sweep(
    prompt_or_request: str | GenerationRequest,
    *,
    client: Client | None = None,
    budget: float | dict[str, float] | None = None,
    concurrency: int | None = None,
    **axes: Any,
) -> Sweep:
    """Plan a sweep over up to three axes; nothing is submitted until ``.run()``.

    ``prompt_or_request`` is the base (a prompt, or a :class:`GenerationRequest`
    whose fields are the defaults); each keyword is a request field
    (``seed``, ``duration``, ``resolution``, ``aspect_ratio``/``aspect``,
    ``prompt_extend``, ``negative_prompt``, ``model``/``version``, ``image``,
    ``reference_images``/``references``…), ``provider``, ``prompt_sr``, or a
    ``{slot}`` of the prompt. ``budget`` caps the estimated cost of the new
    clips (default :data:`settings`, from ``HH_BUDGET``); ``concurrency`` is
    the number of jobs in flight per provider.

    >>> sw = sweep("a {animal} in the rain", animal=["fox", "heron"], seed="1-3",
    ...            duration=4)
    >>> sw.shape, [r.prompt for r in sw.requests][:2]
    ((2, 3, 1), ['a fox in the rain', 'a fox in the rain'])
    """
    return _build(prompt_or_request, axes, client=client, budget=budget,
                  concurrency=concurrency, from_text=False)  # fmt: skip


def _build(
    prompt_or_request: str | GenerationRequest,
    axes: Mapping[str, Any],
    *,
    client: Client | None,
    budget: float | dict[str, float] | None,
    concurrency: int | None,
    from_text: bool,
) -> Sweep:
    if isinstance(prompt_or_request, GenerationRequest):
        base = prompt_or_request
    elif isinstance(prompt_or_request, str):
        base = GenerationRequest(prompt=prompt_or_request)
    else:
        raise TypeError(
            "sweep() takes a prompt (str) or a GenerationRequest, "
            f"not {type(prompt_or_request).__name__}"
        )
    provider = client.provider if client is not None else _default_provider()
    plan = plan_sweep(base, provider, axes, from_text=from_text)
    return Sweep(validate_cells(plan), client=client, budget=budget, concurrency=concurrency)


def _default_provider() -> str:
    """The provider the default client will use, without starting anything."""
    # None: nothing names a provider, and the local sandbox answers as Segmind by default.
    return catalog.protocol_of(choose_provider(None) or catalog.SANDBOX_PROTOCOL)


def sweep_from_magic_args(
    prompt: str | GenerationRequest,
    sweep_args: Iterable[str],
    *,
    client: Client | None = None,
    budget: float | dict[str, float] | None = None,
    concurrency: int | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> Sweep:
    """Build a sweep from the magic's ``--sweep NAME=VALUES`` strings.

    Every value is read as text: comma-separated lists (quotes keep commas),
    ranges for numbers, ``on/off`` for switches, ``a.png+b.png`` for one set of
    references. ``fixed`` holds the cell's other options (already parsed),
    applied to every clip.

    >>> sw = sweep_from_magic_args("a fox", ["seed=1-4", "aspect=16:9,9:16"])
    >>> sw.shape
    (4, 2, 1)
    """
    axes: dict[str, Any] = {}
    for arg in sweep_args:
        name, sep, values = str(arg).partition("=")
        name = name.strip()
        allowed = "NAME=VALUES, e.g. seed=1-4 or aspect=16:9,9:16"
        if not sep or not name or not values.strip():
            raise ValidationError([FieldError("--sweep", arg, allowed,
                                              f"--sweep expects NAME=VALUES, got {arg!r}")])
        if name in axes or ALIASES.get(name, name) in {ALIASES.get(n, n) for n in axes}:
            raise ValidationError([FieldError("--sweep", arg, "each axis once",
                                              f"--sweep {name} given twice")])
        axes[name] = values
    base = prompt if isinstance(prompt, GenerationRequest) else GenerationRequest(prompt=prompt)
    if fixed:
        base_fields = {k: v for k, v in fixed.items() if k in REQUEST_FIELDS}
        base = base.replace(**base_fields)
        if "provider" in fixed and "provider" not in axes and fixed["provider"]:
            axes["provider"] = fixed["provider"]
    return _build(base, axes, client=client, budget=budget, concurrency=concurrency,
                  from_text=True)  # fmt: skip
