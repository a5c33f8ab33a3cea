"""Planning a sweep: expanding keyword axes over a base request into cells (rows ×
columns × pages), the fixed parameters to show once, and the sweep's content id.

Prompt variants
    ``prompt_sr=["red", "blue", "green"]`` searches the prompt for the first
    value (it must occur) and replaces it with each value in turn. Any other
    keyword whose name appears in the prompt as ``{name}`` fills that slot:
    ``hh.sweep("a {animal} at dawn", animal=["fox", "owl"])``. Braces that name
    no given slot are left as they are.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import FieldError, UnknownParameter, ValidationError
from ..present import shorten
from ..request import CheckedRequest, GenerationRequest
from .axes import (
    ALIASES,
    MAX_AXES,
    MAX_CELLS,
    REQUEST_FIELDS,
    AxisSpec,
    image_label,
    parse_axis,
    split_list_text,
    value_label,
)

__all__ = ["SweepCell", "SweepPlan", "layout_of", "plan_sweep", "sweep_id", "validate_cells"]


@dataclass(frozen=True)
class SweepCell:
    """One clip of a sweep: where it sits, which axis values it has, what it asks for."""

    key: str
    page: int
    row: int
    col: int
    coords: tuple[int, ...]
    labels: dict[str, str]
    request: GenerationRequest
    provider: str
    #: The request checked for its provider (set by :func:`validate_cells`): priced, recorded
    #: and sent as checked, never checked again.
    checked: CheckedRequest | None = None

    @property
    def fingerprint(self) -> str:
        """What identifies this cell's clip (identical seeded cells share it)."""
        if self.checked is not None:
            return self.checked.fingerprint
        return self.request.fingerprint(self.provider)


@dataclass(frozen=True)
class SweepPlan:
    """A sweep expanded: the base request (fixed values applied), the main provider, the
    varying axes, the fixed parameters to show once, and every cell."""

    base: GenerationRequest
    provider: str
    axes: tuple[AxisSpec, ...]
    fixed: dict[str, Any]
    cells: tuple[SweepCell, ...]


def layout_of(axes: Sequence[AxisSpec]) -> tuple[int | None, int | None, int | None]:
    """Axis index for rows, columns, pages. One axis is laid out as a row of columns."""
    if len(axes) == 0:
        return None, None, None
    if len(axes) == 1:
        return None, 0, None
    if len(axes) == 2:
        return 0, 1, None
    return 0, 1, 2


def plan_sweep(
    base: GenerationRequest, provider: str, raw_axes: Mapping[str, Any], *, from_text: bool
) -> SweepPlan:
    """Expand keyword axes over ``base`` into cells (see the module docs for the values).

    Raises :class:`~hh_notebook.errors.ValidationError` for unreadable values (naming the
    axis and quoting the text) and :class:`TypeError` for unknown names or too many axes.

    >>> plan = plan_sweep(GenerationRequest(prompt="a {animal}"), "segmind",
    ...                   {"animal": ["fox", "owl"], "seed": "1-2"}, from_text=False)
    >>> [c.request.prompt for c in plan.cells], layout_of(plan.axes)
    (['a fox', 'a fox', 'a owl', 'a owl'], (0, 1, None))
    """
    problems: list[FieldError] = []
    fixed_fields: dict[str, Any] = {}
    axes: list[AxisSpec] = []
    seen: set[str] = set()
    prompts = [base.prompt]
    if "prompt" in raw_axes:
        prompts = [str(p) for p in parse_axis("prompt", raw_axes["prompt"], from_text=from_text)]
    for raw_name, raw_value in raw_axes.items():
        name = ALIASES.get(raw_name, raw_name)
        if name in seen:
            raise ValidationError([FieldError(name, raw_value, "each axis once",
                                              f"sweep axis {name!r} given twice")])
        seen.add(name)
        if name == "prompt_sr":
            spec = _prompt_sr_axis(raw_value, prompts, from_text)
        elif name in REQUEST_FIELDS or name == "provider":
            try:
                values = parse_axis(name, raw_value, from_text=from_text)
            except ValidationError as exc:
                problems.extend(exc.errors)
                continue
            labels = tuple(value_label(name, v, i) for i, v in enumerate(values))
            spec = AxisSpec(name, tuple(values), labels, "field")
        else:
            if not any("{" + name + "}" in p for p in prompts):
                known = sorted({*REQUEST_FIELDS, *ALIASES, "provider", "prompt_sr"})
                guess = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {guess[0]!r}?)" if guess else ""
                raise UnknownParameter([name], (
                    f"unknown sweep axis {name!r}{hint}: not a request field, and the "
                    f"prompt has no {{{name}}} slot (request fields: "
                    f"{', '.join(sorted(REQUEST_FIELDS))}; also provider, prompt_sr)"))
            values = parse_axis(name, raw_value, from_text=from_text)
            spec = AxisSpec(name, tuple(values), tuple(str(v) for v in values), "slot")
        if len(spec) == 1 and spec.kind == "field":
            fixed_fields[name] = spec.values[0]
        else:
            axes.append(spec)  # a one-value S/R or slot still rewrites the prompt
    if problems:
        raise ValidationError(problems)
    varying = [a for a in axes if len(a) > 1]
    if len(varying) > MAX_AXES:
        names = ", ".join(a.name for a in varying)
        raise ValidationError([FieldError(
            "sweep", names, f"at most {MAX_AXES} axes that vary (rows, columns, pages)",
            f"a sweep has at most {MAX_AXES} axes (rows, columns, pages); got "
            f"{len(varying)}: {names}")])
    provider = str(fixed_fields.pop("provider", provider))
    base = base.replace(**fixed_fields) if fixed_fields else base
    fixed = _fixed_params(base, provider, varying)
    cells = _expand(base, provider, axes, varying)
    return SweepPlan(base, provider, tuple(varying), fixed, cells)


def _prompt_sr_axis(raw: Any, prompts: Sequence[str], from_text: bool) -> AxisSpec:
    values = split_list_text(raw) if isinstance(raw, str) else list(raw)
    if not values:
        raise ValidationError([FieldError("prompt_sr", raw, "a list of texts", "no values given")])
    values = [str(v) for v in values]
    first = values[0]
    if not first:
        raise ValidationError(
            [FieldError("prompt_sr", raw, "a non-empty first value", "the first value is empty")]
        )
    missing = [p for p in prompts if first not in p]
    if missing:
        raise ValidationError(
            [
                FieldError(
                    "prompt_sr",
                    first,
                    "a first value that occurs in the prompt",
                    f"{first!r} does not occur in the prompt {shorten(missing[0])!r}",
                )
            ]
        )
    if len(set(values)) != len(values):
        raise ValidationError([FieldError("prompt_sr", values, "distinct values", "values repeat")])
    return AxisSpec("prompt_sr", tuple(values), tuple(values), "prompt_sr")


def _fixed_params(
    base: GenerationRequest, provider: str, varying: Sequence[AxisSpec]
) -> dict[str, Any]:
    varied = {a.name for a in varying}
    if varied & {"prompt_sr", "prompt"} or any(a.kind == "slot" for a in varying):
        varied.add("prompt")
    fixed: dict[str, Any] = {"provider": provider}
    shown = (
        "prompt", "negative_prompt", "resolution", "duration", "aspect_ratio", "seed",
        "prompt_extend", "watermark", "model", "reference_type",
    )  # fmt: skip
    for name in shown:
        if name in varied:
            continue
        value = getattr(base, name)
        if value is None and name in ("negative_prompt", "reference_type", "model"):
            continue
        fixed[name] = value
    if "image" not in varied and base.image is not None:
        fixed["image"] = image_label(base.image, 0)
    if "reference_images" not in varied and base.reference_images:
        fixed["reference_images"] = value_label("reference_images", base.reference_images, 0)
    if "provider" in varied:
        fixed.pop("provider")
    return fixed


def _expand(
    base: GenerationRequest,
    provider: str,
    all_axes: Sequence[AxisSpec],
    varying: Sequence[AxisSpec],
) -> tuple[SweepCell, ...]:
    row_ax, col_ax, page_ax = layout_of(varying)
    one_value = [a for a in all_axes if len(a) == 1]
    total = math.prod(len(a) for a in varying) if varying else 1
    if total > MAX_CELLS:
        raise ValidationError(
            [
                FieldError(
                    "sweep",
                    " × ".join(f"{a.name}:{len(a)}" for a in varying),
                    f"at most {MAX_CELLS} cells",
                    f"the axes give {total} cells",
                )
            ]
        )
    cells: list[SweepCell] = []
    for coords in itertools.product(*(range(len(a)) for a in varying)):
        chosen = [(a, a.values[i]) for a, i in zip(varying, coords)]
        chosen += [(a, a.values[0]) for a in one_value]
        request, cell_provider = _apply(base, provider, chosen)
        labels = {a.name: a.labels[i] for a, i in zip(varying, coords)}
        row = coords[row_ax] if row_ax is not None else 0
        col = coords[col_ax] if col_ax is not None else 0
        page = coords[page_ax] if page_ax is not None else 0
        key = "-".join(str(i) for i in coords) or "0"
        cells.append(SweepCell(key, page, row, col, tuple(coords), labels, request, cell_provider))
    return tuple(cells)


def _apply(
    base: GenerationRequest, provider: str, chosen: Sequence[tuple[AxisSpec, Any]]
) -> tuple[GenerationRequest, str]:
    changes: dict[str, Any] = {}
    for axis, value in chosen:
        if axis.kind == "field" and axis.name == "provider":
            provider = str(value)
        elif axis.kind == "field":
            changes[axis.name] = value
    prompt = str(changes.get("prompt", base.prompt))
    for axis, value in chosen:
        if axis.kind == "prompt_sr":
            prompt = prompt.replace(axis.values[0], str(value))
    for axis, value in chosen:
        if axis.kind == "slot":
            prompt = prompt.replace("{" + axis.name + "}", str(value))
    changes["prompt"] = prompt
    return base.replace(**changes), provider


def sweep_id(plan: SweepPlan) -> str:
    """A content hash: the same sweep built again (after a restart) gets the same id."""
    parts = []
    for cell in plan.cells:
        try:
            print_ = cell.fingerprint
        except ValidationError:
            print_ = json.dumps(cell.request.to_dict(), sort_keys=True, default=str)
        parts.append([cell.key, cell.provider, print_])
    blob = json.dumps(parts, separators=(",", ":")).encode()
    return "sw" + hashlib.sha256(blob).hexdigest()[:12]


def validate_cells(plan: SweepPlan) -> SweepPlan:
    """Check every cell's request before anything is sent, reporting every problem at once
    (each naming its cell); returns the plan with each cell's checked request."""
    problems: list[FieldError] = []
    seen: set[str] = set()
    cells = []
    for cell in plan.cells:
        try:
            cells.append(dataclasses.replace(cell, checked=cell.request.check(cell.provider)))
            continue
        except ValidationError as exc:
            found = exc.errors
        for problem in found:
            text = f"{problem.field}:{problem.message}"
            if text in seen:
                continue
            seen.add(text)
            where = ", ".join(f"{k}={v}" for k, v in cell.labels.items())
            message = problem.message + (f" (cell {where})" if where else "")
            problems.append(dataclasses.replace(problem, message=message))
    if problems:
        raise ValidationError(problems)
    return dataclasses.replace(plan, cells=tuple(cells))
