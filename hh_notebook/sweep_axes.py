"""Sweep axes: the range syntax, axis values and labels, and the expansion into cells.

Pure functions and small records, no I/O: :mod:`hh_notebook.sweep` plans a sweep with
:func:`plan_sweep` and runs it.

Axis values
    A list is an axis; a scalar fixes the parameter for the whole sweep (a
    one-value list too). Numbers accept the range syntax of the well-known grid
    scripts wherever a list is accepted: ``"1-8"`` (every integer), ``"1-10 (+3)"``
    (step), ``"1-10 [4]"`` (four evenly spaced values), ``"5,8,12"`` and mixes
    such as ``"1-3, 10"``. Enumerated text fields (``aspect_ratio``,
    ``resolution``, ``provider``, ``model``…) accept a comma-separated string;
    free text (``prompt``, ``negative_prompt``) is one value unless given as a list.

Prompt variants
    ``prompt_sr=["red", "blue", "green"]`` searches the prompt for the first
    value (it must occur) and replaces it with each value in turn. Any other
    keyword whose name appears in the prompt as ``{name}`` fills that slot:
    ``hh.sweep("a {animal} at dawn", animal=["fox", "owl"])``. Braces that name
    no given slot are left as they are.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import FieldError, ValidationError
from .request import GenerationRequest

__all__ = [
    "ALIASES",
    "MAX_AXES",
    "MAX_CELLS",
    "RANGE_HELP",
    "REQUEST_FIELDS",
    "AxisSpec",
    "SweepCell",
    "SweepPlan",
    "display_text",
    "image_label",
    "layout_of",
    "parse_axis",
    "parse_number_range",
    "plan_sweep",
    "shorten",
    "split_list_text",
    "value_label",
]

MAX_AXES = 3
MAX_AXIS_VALUES = 10_000
MAX_CELLS = 2_000

RANGE_HELP = (
    "numbers or ranges separated by commas: '1-8', '1-10 (+3)' (step), "
    "'1-10 [4]' (4 evenly spaced values), '5,8,12'"
)

# --------------------------------------------------------------------------------------------
# Range syntax
# --------------------------------------------------------------------------------------------

_NUM = r"[+-]?\d+(?:\.\d+)?"
_RANGE_RE = re.compile(
    rf"^\s*(?P<start>{_NUM})\s*-\s*(?P<end>{_NUM})\s*"
    rf"(?:\(\s*(?P<step>{_NUM})\s*\)|\[\s*(?P<count>[+-]?\d+)\s*\])?\s*$"
)
_SINGLE_RE = re.compile(rf"^\s*(?P<value>{_NUM})\s*$")


def _syntax_error(axis: str, text: str, message: str) -> ValidationError:
    return ValidationError([FieldError(axis, text, RANGE_HELP, message)])


def _to_number(token: str, axis: str, text: str, integer: bool) -> float | int:
    value = float(token.replace(" ", ""))
    if integer:
        if not value.is_integer():
            raise _syntax_error(axis, text, f"{token.strip()!r} is not a whole number")
        return int(value)
    return value


def parse_number_range(text: str, axis: str = "value", *, integer: bool = True) -> list[Any]:
    """Expand the range syntax of the grid scripts into a list of numbers.

    >>> parse_number_range("1-8")
    [1, 2, 3, 4, 5, 6, 7, 8]
    >>> parse_number_range("1-10 (+3)")
    [1, 4, 7, 10]
    >>> parse_number_range("1-10 [4]")
    [1, 4, 7, 10]
    >>> parse_number_range("5,8,12")
    [5, 8, 12]
    >>> parse_number_range("0.5-1 (+0.25)", integer=False)
    [0.5, 0.75, 1.0]

    Errors raise :class:`~hh_notebook.errors.ValidationError` naming ``axis``
    and quoting the text that could not be read.
    """
    values: list[Any] = []
    if not text.strip():
        raise _syntax_error(axis, text, "no values given")
    for item in text.split(","):
        if not item.strip():
            raise _syntax_error(axis, text, f"empty item in {text.strip()!r} (stray comma?)")
        values.extend(_expand_item(item, axis, text, integer))
        if len(values) > MAX_AXIS_VALUES:
            raise _syntax_error(
                axis, text, f"{text.strip()!r} gives more than {MAX_AXIS_VALUES} values"
            )
    return values


def _expand_item(item: str, axis: str, text: str, integer: bool) -> list[Any]:
    single = _SINGLE_RE.match(item)
    if single:
        return [_to_number(single["value"], axis, text, integer)]
    match = _RANGE_RE.match(item)
    if not match:
        raise _syntax_error(axis, text, f"cannot read {item.strip()!r} as a number or a range")
    start = _to_number(match["start"], axis, text, integer)
    end = _to_number(match["end"], axis, text, integer)
    if match["count"] is not None:
        return _linspace(start, end, int(match["count"]), axis, text, item, integer)
    if match["step"] is not None:
        step = _to_number(match["step"], axis, text, integer)
    else:
        step = 1 if end >= start else -1
    if step == 0:
        raise _syntax_error(axis, text, f"step 0 in {item.strip()!r} never ends")
    if (end - start) * step < 0:
        raise _syntax_error(
            axis, text, f"step {step:+g} in {item.strip()!r} never goes from {start} to {end}"
        )
    count = math.floor((end - start) / step + 1e-9) + 1
    if count > MAX_AXIS_VALUES:
        raise _syntax_error(
            axis, text, f"{item.strip()!r} gives {count} values (at most {MAX_AXIS_VALUES})"
        )
    if integer:
        return [int(start + i * step) for i in range(count)]
    return [round(start + i * step, 10) for i in range(count)]


def _linspace(
    start: float, end: float, count: int, axis: str, text: str, item: str, integer: bool
) -> list[Any]:
    if count < 1:
        raise _syntax_error(axis, text, f"count [{count}] in {item.strip()!r} must be at least 1")
    if count > MAX_AXIS_VALUES:
        raise _syntax_error(
            axis, text, f"{item.strip()!r} asks for {count} values (at most {MAX_AXIS_VALUES})"
        )
    if count == 1:
        return [start]
    raw = [start + (end - start) * i / (count - 1) for i in range(count)]
    if not integer:
        return [round(v, 10) for v in raw]
    values = [round(v) for v in raw]
    if len(set(values)) != len(values):
        raise _syntax_error(
            axis,
            text,
            f"{item.strip()!r} cannot give {count} different whole numbers "
            f"between {start} and {end}",
        )
    return values


# --------------------------------------------------------------------------------------------
# Axes
# --------------------------------------------------------------------------------------------

#: Keyword aliases accepted for axis names (the magic's short forms among them).
ALIASES = {
    "aspect": "aspect_ratio",
    "ratio": "aspect_ratio",
    "references": "reference_images",
    "refs": "reference_images",
    "version": "model",
    "negative": "negative_prompt",
    "extend": "prompt_extend",
}

_INT_FIELDS = {"seed", "duration"}
_BOOL_FIELDS = {"prompt_extend", "watermark"}
_CHOICE_FIELDS = {"resolution", "aspect_ratio", "model", "reference_type", "provider"}
_TEXT_FIELDS = {"prompt", "negative_prompt"}
_IMAGE_FIELDS = {"image", "reference_images"}
REQUEST_FIELDS = {f.name for f in dataclasses.fields(GenerationRequest)}
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_NONE_TEXT = {"none", "null", "default"}


@dataclass(frozen=True)
class AxisSpec:
    """One axis of a sweep: a name, its values and a label per value.

    ``kind`` is ``"field"`` (a request field or ``provider``), ``"prompt_sr"``
    (search and replace in the prompt) or ``"slot"`` (a ``{name}`` template slot).
    """

    name: str
    values: tuple[Any, ...]
    labels: tuple[str, ...]
    kind: str = "field"

    def __len__(self) -> int:
        return len(self.values)


def split_list_text(text: str) -> list[str]:
    """Split ``"a, b, 'c, d'"`` on commas (CSV rules: quotes keep commas), stripped."""
    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    rows = list(reader)
    return [cell.strip() for cell in rows[0]] if rows else []


def _parse_bool(name: str, value: Any, text: str) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValidationError(
        [
            FieldError(
                name, text, "true/false, yes/no, on/off, 1/0", f"cannot read {value!r} as a yes/no"
            )
        ]
    )


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple, range))


def parse_axis(name: str, value: Any, *, from_text: bool = False) -> list[Any]:
    """Turn one keyword's value into the list of values it stands for.

    A scalar gives a one-value list. ``from_text=True`` (the magic, the CLI)
    reads every value as text: comma-separated, with quotes keeping commas.

    >>> parse_axis("seed", "1-10 [4]")
    [1, 4, 7, 10]
    >>> parse_axis("aspect_ratio", "16:9,9:16")
    ['16:9', '9:16']
    >>> parse_axis("prompt", "a fox, at dawn")
    ['a fox, at dawn']
    >>> parse_axis("prompt_extend", "on,off", from_text=True)
    [True, False]
    """
    name = ALIASES.get(name, name)
    if name in _INT_FIELDS:
        if isinstance(value, str):
            if value.strip().lower() in _NONE_TEXT:
                return [None]
            return parse_number_range(value, name)
        if _is_sequence(value):
            out: list[Any] = []
            for item in value:
                out.extend(parse_axis(name, item))
            return out
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return [value]
        if isinstance(value, float) and value.is_integer():
            return [int(value)]
        raise ValidationError(
            [FieldError(name, value, RANGE_HELP, f"{value!r} is not a whole number or a range")]
        )
    if name in _BOOL_FIELDS:
        items = split_list_text(value) if isinstance(value, str) else value
        items = items if _is_sequence(items) else [items]
        return [_parse_bool(name, item, str(value)) for item in items]
    if name in _IMAGE_FIELDS:
        if from_text and isinstance(value, str):
            items = split_list_text(value)
            if name == "reference_images":
                return [[p.strip() for p in item.split("+") if p.strip()] for item in items]
            return items
        if name == "reference_images":
            # A list of images is one fixed set of references; a list of lists is an axis.
            if _is_sequence(value) and value and all(_is_sequence(v) for v in value):
                return [list(v) for v in value]
            return [list(value) if _is_sequence(value) else value]
        return list(value) if _is_sequence(value) else [value]
    if isinstance(value, str):
        if name in _CHOICE_FIELDS or from_text:
            items = split_list_text(value)
            if not items:
                raise ValidationError(
                    [FieldError(name, value, "one or more values", "no values given")]
                )
            return [None if (name == "model" and i.lower() in _NONE_TEXT) else i for i in items]
        return [value]
    if _is_sequence(value):
        if len(value) == 0:
            raise ValidationError([FieldError(name, value, "one or more values", "empty list")])
        return list(value)
    return [value]


def value_label(name: str, value: Any, index: int) -> str:
    """How a value of axis ``name`` is shown in grids and reports (``index``: its position).

    >>> value_label("prompt_extend", False, 0), value_label("seed", None, 0)
    ('off', 'default')
    """
    if value is None:
        return "default"
    if name == "image":
        return image_label(value, index)
    if name == "reference_images":
        items = value if _is_sequence(value) else [value]
        return " + ".join(image_label(v, i) for i, v in enumerate(items))
    return display_text(value)


def display_text(value: Any) -> str:
    """A parameter value as plain text for grids and reports: switches as ``on``/``off``,
    None as ``""``.

    >>> display_text(True), display_text(None), display_text(8)
    ('on', '', '8')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def image_label(value: Any, index: int) -> str:
    """A short name for an image input: the file or URL name, else ``image N``.

    >>> image_label("https://example.com/a/fox.png?x=1", 0), image_label(b"...", 2)
    ('fox.png', 'image 3')
    """
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        tail = text.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
        return tail or text
    return f"image {index + 1}"


# --------------------------------------------------------------------------------------------
# Cells and the expansion
# --------------------------------------------------------------------------------------------


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
            raise TypeError(f"sweep axis {name!r} given twice")
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
                raise TypeError(
                    f"unknown sweep axis {name!r}: not a request field and the prompt has no "
                    f"{{{name}}} slot (request fields: {', '.join(sorted(REQUEST_FIELDS))}; "
                    "also provider, prompt_sr)"
                )
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
        raise TypeError(
            f"a sweep has at most {MAX_AXES} axes (rows, columns, pages); got {len(varying)}: "
            + ", ".join(a.name for a in varying)
        )
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


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
