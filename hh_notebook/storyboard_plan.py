"""A storyboard's shots and its plan: which shot starts from which, and every shot checked
before anything is paid.

A :class:`Shot` is a prompt plus options. By default a shot *continues from the previous
one*: the previous shot's exact last frame becomes its first frame (image-to-video). A shot
with ``image=`` or ``references=`` starts afresh instead, and ``continue_from=None`` makes a
text-to-video shot that starts afresh. :func:`plan_board` resolves those links, checks every
shot's request for the board's provider (a chained shot with a stand-in frame, since its
real frame exists only once the shot before it is done) and gives the board its content id.

>>> plan = plan_board(["a foal wakes in the straw", "it stands up", "it walks out"],
...                   "segmind", {"duration": 3})
>>> [s.parent for s in plan.shots], plan.downstream(1)
([None, 0, 1], [1, 2])
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import catalog
from .errors import FieldError, ValidationError
from .request import GenerationRequest

__all__ = ["OPTION_NAMES", "BoardPlan", "PlannedShot", "Shot", "board_id", "plan_board"]

PREVIOUS = "previous"
#: Request options a shot (or the whole board, as defaults) can set.
OPTION_NAMES: tuple[str, ...] = (
    "duration", "seed", "resolution", "aspect_ratio", "negative_prompt", "prompt_extend",
    "watermark", "model", "reference_type",
)  # fmt: skip
#: Request fields named differently on a shot, for messages (``last_frame`` is ``end_on``).
_SHOT_FIELD = {"last_frame": "end_on", "reference_images": "references"}
#: What people write for a shot field, and the field meant.
_ALIASES = {"reference_images": "references", "refs": "references", "last_frame": "end_on",
            "end_frame": "end_on", "aspect": "aspect_ratio", "first_frame": "image",
            "negative": "negative_prompt"}


@dataclass(frozen=True, eq=False)
class Shot:
    """One shot of a storyboard: a prompt plus options.

    ``continue_from`` is ``"previous"`` (the default: the previous shot's exact last frame
    becomes this shot's first frame), the index of an earlier shot to continue from, or None
    (start afresh). ``image=`` (a first frame) or ``references=`` (reference-to-video, e.g.
    to keep a character consistent) start the shot afresh too. ``end_on=`` is the frame the
    shot must end on (first+last frame: Segmind's HappyHorse 1.0, ``model="1.0"``). Options
    left as None take the board's defaults, then the request's.

    >>> Shot("the horse jumps the fence", duration=4, seed=3).continue_from
    'previous'
    """

    prompt: str
    duration: int | None = None
    seed: int | None = None
    continue_from: str | int | None = PREVIOUS
    image: Any = None
    references: Sequence[Any] = ()
    end_on: Any = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    negative_prompt: str | None = None
    prompt_extend: bool | None = None
    watermark: bool | None = None
    model: str | None = None
    reference_type: str | None = None

    @classmethod
    def of(cls, value: Shot | str | Mapping[str, Any]) -> Shot:
        """A shot from a :class:`Shot`, a prompt, or a dict of its fields."""
        if isinstance(value, Shot):
            return value
        if isinstance(value, str):
            return cls(prompt=value)
        if isinstance(value, Mapping):
            names = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(value) - names)
            if unknown:
                raise TypeError(_unknown_message(unknown, names, "a shot"))
            return cls(**value)
        raise TypeError(f"a shot is a prompt, a dict or a Shot, not {type(value).__name__}")

    @property
    def starts_afresh(self) -> bool:
        """True when the shot does not continue from another one."""
        return (self.continue_from is None or self.image is not None
                or bool(self.references))

    def options(self) -> dict[str, Any]:
        """The request options this shot sets (None: not set)."""
        return {name: getattr(self, name) for name in OPTION_NAMES
                if getattr(self, name) is not None}


@dataclass(frozen=True)
class PlannedShot:
    """A shot in its board: its index, the shot it continues from (``parent``, None when it
    starts afresh) and its request (a chained shot's first frame is added when it runs)."""

    index: int
    shot: Shot
    parent: int | None
    request: GenerationRequest

    @property
    def number(self) -> int:
        """The shot's number as people count it (1 for the first)."""
        return self.index + 1

    def request_with(self, frame: bytes | None = None, seed: int | None = None
                     ) -> GenerationRequest:
        """The request to send: with the parent's last frame (PNG bytes) as first frame, and
        a seed of its own when one is given (a new take)."""
        changes: dict[str, Any] = {}
        if frame is not None:
            changes["image"] = frame
        if seed is not None:
            changes["seed"] = seed
        return self.request.replace(**changes) if changes else self.request


@dataclass(frozen=True)
class BoardPlan:
    """Every shot of a board, checked for ``provider``, and the board's content id."""

    id: str
    provider: str
    shots: tuple[PlannedShot, ...]

    def children(self, index: int) -> list[int]:
        """The shots that start from shot ``index``'s last frame."""
        return [s.index for s in self.shots if s.parent == index]

    def downstream(self, index: int) -> list[int]:
        """Shot ``index`` and every shot that chains from it, directly or not, in order."""
        chain = {index}
        for planned in self.shots[index + 1:]:
            if planned.parent in chain:
                chain.add(planned.index)
        return sorted(chain)

    def depth(self) -> int:
        """How many shots the longest chain holds (they run one after another)."""
        levels: list[int] = []
        for planned in self.shots:
            levels.append(1 if planned.parent is None else levels[planned.parent] + 1)
        return max(levels, default=0)


def plan_board(shots: Sequence[Shot | str | Mapping[str, Any]], provider: str,
               defaults: Mapping[str, Any] | None = None) -> BoardPlan:
    """Resolve the links between ``shots``, check every shot's request for ``provider`` and
    give the board its id; raises :class:`~hh_notebook.errors.ValidationError` naming every
    problem of every shot before anything is sent."""
    if isinstance(shots, (str, Shot, Mapping)):
        raise TypeError("shots must be a list of shots (prompts, dicts or Shot objects)")
    listed = [Shot.of(s) for s in shots]
    if not listed:
        raise ValidationError([FieldError("shots", "[]", "one shot or more",
                                          "a storyboard needs at least one shot")])
    base = _defaults(defaults or {})
    problems: list[FieldError] = []
    planned = []
    for index, shot in enumerate(listed):
        parent, link_problems = _parent_of(index, shot)
        request = GenerationRequest(
            prompt=shot.prompt, image=shot.image, reference_images=list(shot.references),
            last_frame=shot.end_on, **{**base, **shot.options()})
        planned.append(PlannedShot(index, shot, parent, request))
        problems += link_problems or _check(planned[-1], provider)
    if problems:
        raise ValidationError(problems)
    return BoardPlan(board_id(planned, provider), provider, tuple(planned))


def _defaults(defaults: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(defaults) - set(OPTION_NAMES))
    if unknown:
        inputs = sorted(set(unknown) & {"image", "references", "end_on"})
        if inputs:
            raise TypeError(f"{', '.join(inputs)} belong to one shot, not to the whole board: "
                            "give them in that shot")
        raise TypeError(_unknown_message(unknown, set(OPTION_NAMES), "a board default"))
    return {k: v for k, v in defaults.items() if v is not None}


def _parent_of(index: int, shot: Shot) -> tuple[int | None, list[FieldError]]:
    link = shot.continue_from
    where = f"shot {index + 1}"
    if link is not None and link != PREVIOUS and (isinstance(link, bool)
                                                  or not isinstance(link, int)):
        return None, [FieldError(f"{where} continue_from", repr(link),
                                 "'previous', an earlier shot's index, or None",
                                 "continue_from names the shot whose last frame starts this one")]
    if isinstance(link, int) and (shot.image is not None or shot.references):
        given = "image=" if shot.image is not None else "references="
        return None, [FieldError(
            f"{where} continue_from", link, "continue_from=None with image= or references=",
            f"a shot starts either from shot {link + 1}'s last frame or from {given}, not both "
            "(HappyHorse takes a first frame or references, one of the two)")]
    if isinstance(link, int) and not 0 <= link < index:
        return None, [FieldError(f"{where} continue_from", link, f"0 to {index - 1}",
                                 "a shot continues from an earlier shot (indices start at 0)")]
    if shot.starts_afresh or index == 0:
        return None, []
    return (index - 1 if link == PREVIOUS else int(link)), []  # type: ignore[arg-type]


@functools.lru_cache(maxsize=4)
def _stand_in_frame(resolution: str) -> bytes:
    """A PNG the size of a clip's frame, to check a chained shot before its frame exists."""
    from PIL import Image

    size = (1920, 1080) if str(resolution).upper() == "1080P" else (1280, 720)
    buffer = io.BytesIO()
    Image.new("RGB", size, (128, 128, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def _check(planned: PlannedShot, provider: str) -> list[FieldError]:
    """The problems of one shot's request at ``provider``, named after the shot's fields."""
    request = planned.request
    found: list[FieldError] = []
    if planned.parent is not None:
        request = planned.request_with(_stand_in_frame(str(request.resolution)))
        found += _frame_handover(planned, provider)
    try:
        request.check(provider)
    except ValidationError as exc:
        skip_image = planned.parent is not None and bool(found)
        found += [_for_shot(planned, e) for e in exc.errors
                  if not (skip_image and e.field == "image")]
    return found


def _frame_handover(planned: PlannedShot, provider: str) -> list[FieldError]:
    """A chained shot needs a provider that takes its first frame inline (as PNG bytes)."""
    version = planned.request.model or catalog.default_version(provider)
    contract = catalog.CONTRACTS.get((provider, version, "i2v"))
    if contract is None or contract.inline_images:
        return []
    inline = sorted({c.provider for c in catalog.CONTRACTS.values() if c.inline_images})
    parent = (planned.parent or 0) + 1
    return [FieldError(
        f"shot {planned.number} continue_from", f"shot {parent}'s last frame",
        f"a provider that takes inline images ({' or '.join(inline)})",
        f"shot {planned.number} continues from shot {parent}'s last frame, which hh_notebook "
        f"hands over as PNG bytes, but {provider} takes image URLs only and hh_notebook "
        f"cannot host the frame. Run the board at {' or '.join(inline)}, or start "
        "this shot afresh from a frame you host yourself: image='https://…' (its URL)")]


def _for_shot(planned: PlannedShot, error: FieldError) -> FieldError:
    name = _SHOT_FIELD.get(error.field.split("[")[0], error.field)
    return dataclasses.replace(error, field=f"shot {planned.number} {name}")


def board_id(shots: Sequence[PlannedShot], provider: str) -> str:
    """A content hash of the shots and the provider: the same board built again (after a
    restart) gets the same id, and finds its jobs in the journal."""
    parts = [{"request": _identity(s.request.to_dict()), "parent": s.parent} for s in shots]
    blob = json.dumps({"provider": provider, "shots": parts}, sort_keys=True,
                      separators=(",", ":"), default=str).encode()
    return "sb" + hashlib.sha256(blob).hexdigest()[:12]


def _identity(record: dict[str, Any]) -> dict[str, Any]:
    """A request record with images by content (or URL), not by file name."""
    def image(desc: Any) -> Any:
        if not isinstance(desc, dict):
            return desc
        return desc.get("url") if desc.get("kind") == "url" else desc.get("sha256")

    out = dict(record)
    out["image"] = image(out.get("image"))
    out["last_frame"] = image(out.get("last_frame"))
    out["reference_images"] = [image(r) for r in out.get("reference_images") or []]
    return out


def _unknown_message(unknown: list[str], known: set[str], what: str) -> str:
    hints = []
    for name in unknown:
        guess = _ALIASES.get(name) or next(
            iter(difflib.get_close_matches(name, sorted(known), n=1)), None)
        hints.append(f"{name!r} is not an option of {what}"
                     + (f"; did you mean {guess!r}?" if guess else ""))
    return "\n".join(hints)

