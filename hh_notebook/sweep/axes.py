"""Sweep axes: the range syntax, axis values and their labels.

Pure functions and small records, no I/O (see :mod:`hh_notebook.sweep` for the whole story).

Axis values
    A list is an axis; a scalar fixes the parameter for the whole sweep (a
    one-value list too). Numbers accept the range syntax of the well-known grid
    scripts wherever a list is accepted: ``"1-8"`` (every integer), ``"1-10 (+3)"``
    (step), ``"1-10 [4]"`` (four evenly spaced values), ``"5,8,12"`` and mixes
    such as ``"1-3, 10"``. Enumerated text fields (``aspect_ratio``,
    ``resolution``, ``provider``, ``model``…) accept a comma-separated string;
    free text (``prompt``, ``negative_prompt``) is one value unless given as a list.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import re
from dataclasses import dataclass
from typing import Any

from ..errors import FieldError, ValidationError
from ..present import display_text
from ..request import GenerationRequest

__all__ = [
    "ALIASES",
    "MAX_AXES",
    "MAX_CELLS",
    "RANGE_HELP",
    "REQUEST_FIELDS",
    "AxisSpec",
    "image_label",
    "parse_axis",
    "parse_number_range",
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
