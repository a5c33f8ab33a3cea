"""A storyboard written as text: the body of a ``%%happyhorse --storyboard`` cell.

Shots are separated by lines that start with ``---``; the words after the dashes are that
shot's options. The text before the first separator, if any, is the first shot (its options
then come from the magic line).

    A foal wakes in the straw at dawn
    --- 5s seed=3
    It stands up on shaky legs and looks at the door
    --- fresh image=stable.png 1080P
    The stable at noon, empty

Options: ``5s`` (duration), ``720P``/``1080P``, an aspect ratio such as ``9:16``, ``fresh``
(start afresh instead of from the previous shot's last frame), and ``name=value`` for
``duration``, ``seed``, ``resolution``, ``aspect``, ``image``, ``ref`` (repeatable),
``end_on``, ``negative`` (quote it), ``model``, ``extend`` and ``watermark`` (on/off) and
``continue`` (``previous`` or ``fresh``).

>>> shots = parse_storyboard("a foal wakes\\n--- 5s seed=3\\nit stands")
>>> [(s.prompt, s.duration, s.seed) for s in shots]
[('a foal wakes', None, None), ('it stands', 5, 3)]
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from .errors import HHError
from .storyboard_plan import Shot

__all__ = ["SEPARATOR", "StoryboardSyntaxError", "parse_storyboard"]

#: A line starting a new shot: three dashes or more, then that shot's options.
SEPARATOR = re.compile(r"^\s*-{3,}(?:\s+(?P<options>.*))?\s*$")
_DURATION = re.compile(r"^(\d+)s$", re.IGNORECASE)
_RATIO = re.compile(r"^\d+:\d+$")
_KEYS = {
    "duration": "duration", "d": "duration", "seed": "seed", "s": "seed",
    "resolution": "resolution", "r": "resolution", "aspect": "aspect_ratio",
    "aspect_ratio": "aspect_ratio", "a": "aspect_ratio", "image": "image", "ref": "references",
    "references": "references", "end_on": "end_on", "end": "end_on", "last_frame": "end_on",
    "negative": "negative_prompt", "negative_prompt": "negative_prompt", "n": "negative_prompt",
    "model": "model", "extend": "prompt_extend", "watermark": "watermark",
    "continue": "continue_from",
}  # fmt: skip
_IMAGES = ("image", "end_on")
_SWITCH = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}


class StoryboardSyntaxError(HHError, ValueError):
    """A storyboard's text could not be read; the message names the line."""


def parse_storyboard(
    text: str,
    *,
    first: Mapping[str, Any] | None = None,
    resolve_image: Callable[[str, str], Any] | None = None,
) -> list[Shot]:
    """The shots written in ``text`` (see the module's documentation).

    ``first`` holds options of the first shot given elsewhere (the magic line's
    ``--image``); its own separator line wins. ``resolve_image(value, field)`` turns an
    image word (a path, a URL, a variable name) into the image to use.
    """
    blocks = _blocks(text)
    shots = []
    for number, (line_no, options_text, prompt) in enumerate(blocks, 1):
        options = dict(first or {}) if number == 1 else {}
        options.update(_options(options_text, line_no))
        if resolve_image is not None:
            for name in _IMAGES:
                if isinstance(options.get(name), str):
                    options[name] = resolve_image(options[name], name)
            options["references"] = [resolve_image(r, f"ref[{i}]") if isinstance(r, str) else r
                                     for i, r in enumerate(options.get("references", []), 1)]
        if not prompt:
            raise StoryboardSyntaxError(f"shot {number} (line {line_no}) has no prompt: write "
                                        "it on the lines below its --- line")
        shots.append(Shot(prompt=prompt, **options))
    if not shots:
        raise StoryboardSyntaxError("the storyboard has no shots: write one prompt per shot, "
                                    "shots separated by lines such as '--- 5s seed=3'")
    return shots


def _blocks(text: str) -> list[tuple[int, str, str]]:
    """(line number of the separator, its options, the prompt) for every shot."""
    blocks: list[tuple[int, str, list[str]]] = [(1, "", [])]
    for line_no, line in enumerate(text.splitlines(), 1):
        match = SEPARATOR.match(line)
        if match:
            blocks.append((line_no, match.group("options") or "", []))
        else:
            blocks[-1][2].append(line)
    shaped = [(no, opts, "\n".join(lines).strip()) for no, opts, lines in blocks]
    if not shaped[0][2] and (len(shaped) > 1 or not shaped[0][1]):
        shaped.pop(0)  # the text starts with a separator (the first shot has options) or is empty
    return shaped


def _options(text: str, line_no: int) -> dict[str, Any]:
    where = f"line {line_no}"
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise StoryboardSyntaxError(f"{where}: {exc}") from None
    options: dict[str, Any] = {}
    for word in words:
        name, value = _option(word, where)
        if name == "references":
            options.setdefault("references", []).append(value)
        elif name in options:
            raise StoryboardSyntaxError(f"{where}: {name} given twice")
        else:
            options[name] = value
    return options


def _option(word: str, where: str) -> tuple[str, Any]:
    if _DURATION.match(word):
        return "duration", int(word[:-1])
    if word.lower() == "fresh":
        return "continue_from", None
    if word.upper() in ("720P", "1080P"):
        return "resolution", word.upper()
    if _RATIO.match(word):
        return "aspect_ratio", word
    key, sep, value = word.partition("=")
    name = _KEYS.get(key.strip().lower())
    if not sep or name is None:
        known = ", ".join(sorted({k for k in _KEYS if len(k) > 1}))
        raise StoryboardSyntaxError(
            f"{where}: {word!r} is not a shot option; use 5s, 720P/1080P, a ratio such as "
            f"9:16, fresh, or name=value with one of: {known}")
    return name, _value(name, value.strip(), where)


def _value(name: str, value: str, where: str) -> Any:
    if name in ("duration", "seed"):
        number = value[:-1] if name == "duration" and value.lower().endswith("s") else value
        if not number.isdigit():
            raise StoryboardSyntaxError(f"{where}: {name} must be a whole number, not {value!r}")
        return int(number)
    if name in ("prompt_extend", "watermark"):
        if value.lower() not in _SWITCH:
            raise StoryboardSyntaxError(f"{where}: {name} is on or off, not {value!r}")
        return _SWITCH[value.lower()]
    if name == "continue_from":
        if value.lower() in ("fresh", "none"):
            return None
        if value.lower() == "previous":
            return "previous"
        raise StoryboardSyntaxError(f"{where}: continue is previous or fresh, not {value!r}")
    return value
