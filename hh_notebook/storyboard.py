"""Storyboards: shots chained into one scene with continuous sound.

A HappyHorse clip lasts 3 to 15 seconds; a scene needs several shots that follow on from
each other. :func:`storyboard` chains them: by default each shot starts from the exact last
frame of the shot before it (the final decoded frame, full resolution, sent losslessly as
PNG: image-to-video), then the shots are stitched into one H.264 + AAC MP4 without a repeated
frame at the joins and with the sound crossfaded (:func:`hh_notebook.stitch.stitch`)::

    >>> import hh_notebook as hh
    >>> board = hh.storyboard([
    ...     hh.Shot("A foal wakes in the straw at dawn", duration=4),
    ...     hh.Shot("The foal stands up on shaky legs", duration=5, seed=3),
    ...     hh.Shot("It trots out of the stable into the sun"),
    ... ])                                                      # doctest: +SKIP
    >>> board.estimate()                                        # doctest: +SKIP
    >>> result = board.run()                                    # doctest: +SKIP
    >>> result.video_path, result.duration                      # doctest: +SKIP

Every shot is an ordinary journaled job: a board built again after a restart finds its jobs
and resumes (nothing is paid twice); the whole board is priced and held to a budget before
the first submit; :meth:`~hh_notebook.storyboard_run.Storyboard.regenerate` gives one shot a
new take and reruns only the shots that continue from it. In a notebook, ``board.show()``
gives the strip of shots with the scene playing once it is ready, and ``%%happyhorse
--storyboard`` writes the same board as text (:mod:`hh_notebook.storyboard_text`).

Which providers: a chained shot's first frame is sent inline (PNG bytes), which only Segmind
takes; Apiframe, HiAPI and the aggregator take image URLs only, so there a board can chain
no shot (each shot starts afresh, from text, references or a frame you host yourself).
``end_on=`` (a shot that ends on a given frame) is Segmind's HappyHorse 1.0 (``model="1.0"``,
which takes no seed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .client import Client
from .config import choose_provider
from .storyboard_plan import BoardPlan, PlannedShot, Shot, plan_board
from .storyboard_result import ShotRow, StoryboardResult
from .storyboard_run import Storyboard
from .storyboard_state import BoardEstimate, ShotRun
from .storyboard_text import StoryboardSyntaxError, parse_storyboard

__all__ = [
    "BoardEstimate",
    "BoardPlan",
    "PlannedShot",
    "Shot",
    "ShotRow",
    "ShotRun",
    "Storyboard",
    "StoryboardResult",
    "StoryboardSyntaxError",
    "parse_storyboard",
    "storyboard",
    "storyboard_from_text",
]


def storyboard(
    shots: Sequence[Shot | str | Mapping[str, Any]],
    *,
    provider: str | None = None,
    budget: float | dict[str, float] | None = None,
    client: Client | None = None,
    concurrency: int | None = None,
    **defaults: Any,
) -> Storyboard:
    """Plan a storyboard of ``shots``; nothing is submitted until ``.run()`` (or ``.start()``).

    Each shot is a :class:`Shot`, a prompt, or a dict of :class:`Shot` fields: ``duration``,
    ``seed``, ``continue_from`` (``"previous"`` by default: the previous shot's exact last
    frame starts this one; None or ``image=`` for a fresh start), ``references=``
    (reference-to-video), ``end_on=`` (first+last frame, Segmind 1.0) and the other request
    options. ``defaults`` (``resolution="1080P"``, ``duration=4``…) apply to every shot that
    does not set its own. ``provider`` (default: the default client's) runs every shot, or
    ``client`` does; ``budget`` caps the estimated cost of the shots still to be paid
    (default ``HH_BUDGET``); ``concurrency`` bounds the shots in flight at once.

    Every shot is checked before anything is paid: a problem anywhere raises
    :class:`~hh_notebook.errors.ValidationError` naming the shot and the field.

    >>> board = storyboard(["a foal wakes", "it stands up"], provider="segmind", duration=4)
    >>> [(s.number, s.parent, s.request.duration) for s in board.shots]
    [(1, None, 4), (2, 0, 4)]
    """
    chosen = client.provider if client is not None else (
        choose_provider(provider) or "segmind")  # nothing named: the sandbox speaks Segmind
    plan = plan_board(shots, chosen, defaults)
    return Storyboard(plan, client=client, provider=provider, budget=budget,
                      concurrency=concurrency)


#: Request fields that belong to one shot (the first) when given for a whole text board.
_FIRST_SHOT = {"image": "image", "last_frame": "end_on", "reference_images": "references"}


def storyboard_from_text(
    text: str,
    *,
    options: Mapping[str, Any] | None = None,
    provider: str | None = None,
    client: Client | None = None,
    budget: float | dict[str, float] | None = None,
    concurrency: int | None = None,
    resolve_image: Callable[[str, str], Any] | None = None,
) -> Storyboard:
    """Plan the board written in ``text`` (see :mod:`hh_notebook.storyboard_text`), what a
    ``%%happyhorse --storyboard`` cell does. ``options`` are request fields given beside the
    text (the magic line): ``image``, ``reference_images`` and ``last_frame`` belong to the
    first shot, the others apply to every shot.

    >>> board = storyboard_from_text("a foal wakes\\n--- 4s\\nit stands up",
    ...                              options={"resolution": "1080P"}, provider="segmind")
    >>> [(s.request.duration, s.request.resolution) for s in board.shots]
    [(5, '1080P'), (4, '1080P')]
    """
    defaults = dict(options or {})
    if defaults.pop("audio", None) is not None:
        raise TypeError("audio (a speech file to lip-sync to) is not a storyboard option")
    first = {shot_field: defaults.pop(name) for name, shot_field in _FIRST_SHOT.items()
             if defaults.get(name) not in (None, [])}
    for name in _FIRST_SHOT:
        defaults.pop(name, None)
    shots = parse_storyboard(text, first=first, resolve_image=resolve_image)
    return storyboard(shots, provider=provider, client=client, budget=budget,
                      concurrency=concurrency, **defaults)
