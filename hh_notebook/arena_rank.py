"""Blind pairwise rating: votes on pairs of clips, and a ranking you can trust.

Voters see two items side by side (which is which stays hidden) and answer
``"left"``, ``"right"``, ``"tie"`` or ``"skip"``. :func:`fit` turns the votes into a
Bradley–Terry ranking, a tie counting half a point to each side as in Elo (see
:mod:`hh_notebook.arena_model`), on an Elo-like scale centred on 1000, with bootstrap
95 % intervals; :func:`next_pair` picks the pair worth showing next; votes are stored
with :meth:`Journal.add_vote <hh_notebook.journal.Journal.add_vote>`.

>>> import numpy as np
>>> items = ["calm", "stormy", "foggy"]
>>> voter = simulate_voter({"calm": 4.0, "stormy": 1.0, "foggy": 2.0}, np.random.default_rng(1))
>>> rng = np.random.default_rng(2)
>>> votes = []
>>> for _ in range(60):
...     left, right = next_pair(items, votes, rng)
...     votes.append(Vote(left, right, voter(left, right)))
>>> fit(items, votes).order
['calm', 'foggy', 'stormy']

Items are opaque strings (a job id, a clip path, a prompt variant); to rank groups of
clips (say prompt variants across seeds), map the votes first with :func:`votes_by_group`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .arena_model import (
    ELO_PER_NAT,
    OUTCOMES,
    Outcome,
    Tally,
    Vote,
    VoteLike,
    bootstrap,
    fit_strengths,
)
from .arena_select import COVERAGE_SHARE, next_pair, simulate_voter

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COVERAGE_SHARE",
    "DEFAULT_RESAMPLES",
    "OUTCOMES",
    "Outcome",
    "RankedItem",
    "Ranking",
    "Vote",
    "VoteLike",
    "fit",
    "kendall_tau",
    "next_pair",
    "simulate_voter",
    "votes_by_group",
    "win_matrix",
]

#: Bootstrap resamples behind each interval unless ``fit(resamples=...)`` says otherwise.
DEFAULT_RESAMPLES = 200
#: The score of an average item.
CENTRE = 1000.0


@dataclass(frozen=True)
class RankedItem:
    """One line of a :class:`Ranking`.

    ``score`` is on an Elo-like scale (``+400`` = ten times the odds of winning),
    ``low``/``high`` the bootstrap interval; all three are ``None`` for an item without
    any counted comparison, ``low``/``high`` also when the fit ran without bootstrap.
    """

    item: str
    score: float | None
    low: float | None
    high: float | None
    comparisons: int
    wins: int
    losses: int
    ties: int


@dataclass(frozen=True)
class Ranking:
    """Items best first, with the numbers behind the order.

    ``votes`` counts the votes used (skips excluded), ``ties`` those of them that were
    ties, ``skipped`` the skips.
    """

    items: tuple[RankedItem, ...]
    votes: int
    ties: int
    skipped: int
    resamples: int
    confidence: float

    def __iter__(self) -> Iterator[RankedItem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, item: str) -> RankedItem:
        for line in self.items:
            if line.item == item:
                return line
        raise KeyError(item)

    @property
    def order(self) -> list[str]:
        """Item ids, best first (items never compared come last)."""
        return [line.item for line in self.items]

    def scores(self) -> dict[str, float]:
        """Scores of the items that have one."""
        return {line.item: line.score for line in self.items if line.score is not None}

    def to_pandas(self) -> pd.DataFrame:
        """The ranking as a DataFrame, best first: ``rank``, ``item``, ``score``, ``low``,
        ``high``, ``comparisons``, ``wins``, ``losses``, ``ties`` (needs pandas)."""
        import pandas as pd

        frame = pd.DataFrame(
            [vars(line) for line in self.items],
            columns=["item", "score", "low", "high", "comparisons", "wins", "losses", "ties"],
        )
        for column in ("score", "low", "high"):
            frame[column] = frame[column].astype("float64")
        frame.insert(0, "rank", range(1, len(frame) + 1))
        return frame


def fit(
    items: Sequence[str],
    votes: Iterable[VoteLike],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int | np.random.Generator | None = 0,
    confidence: float = 0.95,
) -> Ranking:
    """Rank ``items`` from pairwise ``votes``.

    Skips are ignored; every item is listed, those without comparisons last and
    without a score. Intervals come from ``resamples`` bootstrap resamples of the
    votes (``0``: no intervals, fastest); ``seed`` makes them reproducible.

    >>> votes = [Vote("a", "b", "left"), Vote("b", "c", "left"), Vote("a", "c", "tie")]
    >>> ranking = fit(["a", "b", "c", "d"], votes)
    >>> ranking.order, ranking["d"].score, ranking["a"].comparisons
    (['a', 'b', 'c', 'd'], None, 2)
    """
    if resamples < 0:
        raise ValueError("resamples must be 0 or more")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    tally = Tally.count_votes(items, votes)
    theta = fit_strengths(tally)
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    if resamples and tally.votes:
        samples = bootstrap(tally, resamples, np.random.default_rng(seed))
        tail = 100.0 * (1.0 - confidence) / 2.0
        low, high = np.percentile(samples, [tail, 100.0 - tail], axis=0)
    lines = _lines(tally, theta, low, high)
    tied = int(tally.count[tally.code == 0].sum())
    return Ranking(tuple(lines), tally.votes, tied, tally.skipped, resamples, confidence)


def _lines(
    tally: Tally, theta: np.ndarray, low: np.ndarray | None, high: np.ndarray | None
) -> list[RankedItem]:
    wins, losses, ties = tally.per_item()
    compared = tally.compared()

    def elo(values: np.ndarray | None, k: int) -> float | None:
        if values is None or not compared[k]:
            return None
        return CENTRE + ELO_PER_NAT * float(values[k])

    lines = [
        RankedItem(item, elo(theta, k), elo(low, k), elo(high, k),
                   int(wins[k] + losses[k] + ties[k]), int(wins[k]), int(losses[k]),
                   int(ties[k]))
        for k, item in enumerate(tally.items)
    ]
    # Python's sort is stable: equal scores keep the caller's item order.
    return sorted(lines, key=lambda line: -math.inf if line.score is None else line.score,
                  reverse=True)


def win_matrix(items: Sequence[str], votes: Iterable[VoteLike]) -> np.ndarray:
    """``m[i, j]``: how often ``items[i]`` beat ``items[j]``, a tie counting half.

    Skips are ignored; ``m + m.T`` is the number of comparisons of each pair.

    >>> win_matrix(["a", "b"], [Vote("a", "b", "left"), Vote("b", "a", "tie")]).tolist()
    [[0.0, 1.5], [0.5, 0.0]]
    """
    tally = Tally.count_votes(items, votes)
    n = len(tally.items)
    matrix = np.zeros((n, n))
    share_lo = np.select([tally.code == 1, tally.code == 0], [1.0, 0.5], 0.0)
    np.add.at(matrix, (tally.lo, tally.hi), tally.count * share_lo)
    np.add.at(matrix, (tally.hi, tally.lo), tally.count * (1.0 - share_lo))
    return matrix


def kendall_tau(ranking: Ranking, star_ratings: Mapping[str, float]) -> float | None:
    """Kendall's tau-b between the blind scores and star ratings of the same items.

    Only items with both a score and a rating count; ties on either side are handled
    by tau-b. ``None`` when fewer than two items are shared or one side is constant.

    >>> ranking = fit(["a", "b", "c"], [Vote("a", "b", "left"), Vote("b", "c", "left")])
    >>> kendall_tau(ranking, {"a": 5, "b": 3, "c": 1})
    1.0
    """
    from scipy.stats import kendalltau  # scipy comes with the arena extra (evalica needs it)

    scores = ranking.scores()
    shared = [item for item in scores if item in star_ratings]
    if len(shared) < 2:
        return None
    blind = [scores[item] for item in shared]
    stars = [float(star_ratings[item]) for item in shared]
    if len(set(blind)) < 2 or len(set(stars)) < 2:
        return None
    return float(kendalltau(blind, stars, variant="b").statistic)


def votes_by_group(
    votes: Iterable[VoteLike], groups: Mapping[str, str] | Callable[[str], str]
) -> list[Vote]:
    """Clip-level votes as votes between the clips' groups, for ranking the groups.

    ``groups`` maps each clip to its group (a dict, or a function such as
    ``lambda clip: prompt_of[clip]``). A vote between clips of the same group says
    nothing about the groups and is dropped; voter and time are kept. Fitting the
    result ranks e.g. prompt variants with the other axes (seeds, models) marginalised.

    >>> clip_votes = [Vote("p1-s1", "p2-s1", "left"), Vote("p1-s1", "p1-s2", "right")]
    >>> [(v.left, v.right, v.outcome)
    ...  for v in votes_by_group(clip_votes, lambda clip: clip.split("-")[0])]
    [('p1', 'p2', 'left')]
    """
    group_of = groups.__getitem__ if isinstance(groups, Mapping) else groups
    grouped: list[Vote] = []
    for vote in votes:
        left, right = group_of(vote.left), group_of(vote.right)
        if left == right:
            continue
        grouped.append(Vote(left, right, _outcome(vote.outcome), _voter(vote), _time(vote)))
    return grouped


def _outcome(value: str) -> Outcome:
    if value not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, not {value!r}")
    return cast("Outcome", value)


def _voter(vote: Any) -> str:
    return str(getattr(vote, "voter", ""))


def _time(vote: Any) -> float:
    when = getattr(vote, "time", None)
    return time.time() if when is None else float(when)
