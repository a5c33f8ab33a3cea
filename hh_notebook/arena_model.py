"""The numeric core of the arena: votes tallied into cells, a Bradley–Terry fit with ties.

The model is Bradley–Terry as fitted by :func:`evalica.bradley_terry` (Zermelo's
minorisation–maximisation iteration, in Rust), with Elo's convention for ties: a tie is
half a point to each side. Item ``i`` with strength ``π_i`` is expected to score
``π_i / (π_i + π_j)`` points against ``j``, a win counting 1 and a tie ½; decisive votes
alone are plain Bradley–Terry, so ``400·log10(π)`` reads as an Elo score. Ties thus pull
two items together exactly as much as a win each way would, and a set of all-tie votes
fits equal strengths. (Davidson's model, which gives ties a parameter of their own, is
what :func:`evalica.newman` fits; in evalica 0.4.2 its iteration does not converge on
tie-free data, e.g. a plain chain ``a > b > c > d`` comes out misordered, so it is not
used.)

Every item also plays a light pseudo-match against a hidden anchor (one comparison
per item, split into half a win and half a loss). That keeps strengths finite when an
item won or lost every comparison it had and links groups of items that were never
compared with each other; with tens of votes per item its pull is negligible.

This module is internal: :mod:`hh_notebook.arena_rank` is the public face.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from .journal import VOTE_OUTCOMES

__all__ = [
    "OUTCOMES", "Outcome", "Tally", "Vote", "VoteLike", "bootstrap", "covariance", "fit_strengths",
]

Outcome = Literal["left", "right", "tie", "skip"]
#: The answers a voter can give; ``"skip"`` means shown but not judged.
OUTCOMES: tuple[str, ...] = VOTE_OUTCOMES

#: Elo points per natural-log unit of strength: ``400·log10(π) == ELO_PER_NAT·ln(π)``.
ELO_PER_NAT = 400.0 / math.log(10.0)
#: Pseudo-comparisons each item plays against the hidden anchor (see module docstring).
PRIOR_COMPARISONS = 1.0

# Outcome codes as evalica's Winner enum numbers them (Draw, X = left, Y = right).
# Skips get a code of their own for tallying; they never reach the fit.
_TIE, _LEFT, _RIGHT, _SKIP = 0, 1, 2, 3
_CODES = {"tie": _TIE, "left": _LEFT, "right": _RIGHT, "skip": _SKIP}

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class VoteLike(Protocol):
    """Anything with ``left``, ``right`` and ``outcome``: a :class:`Vote`, a journal
    :class:`~hh_notebook.journal.VoteRecord`, or a user's own record type."""

    @property
    def left(self) -> str: ...

    @property
    def right(self) -> str: ...

    @property
    def outcome(self) -> str: ...


@dataclass(frozen=True)
class Vote:
    """One blind comparison: ``left`` and ``right`` item ids, what the voter answered,
    who voted and when (Unix time, now by default).

    >>> Vote("clip-a", "clip-b", "tie", voter="ana").outcome
    'tie'
    """

    left: str
    right: str
    outcome: Outcome
    voter: str = ""
    time: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, not {self.outcome!r}")
        if self.left == self.right:
            raise ValueError(f"a vote compares two different items, got {self.left!r} twice")


@dataclass(frozen=True)
class Tally:
    """Votes counted per unordered pair and outcome (a *cell*), over a fixed item list.

    Cells store the pair as ``(lo, hi)`` item indices with ``lo < hi`` and the outcome
    seen from ``lo``'s side, so ``A left of B`` and ``B left of A`` share cells.
    """

    items: tuple[str, ...]
    lo: IntArray
    hi: IntArray
    code: IntArray
    count: IntArray
    shown: IntArray
    skipped: int
    last_pair: tuple[int, int] | None

    @classmethod
    def count_votes(cls, items: Sequence[str], votes: Iterable[VoteLike]) -> Tally:
        """Tally ``votes`` over ``items``; a vote naming an unknown item is a ``ValueError``."""
        items = tuple(items)
        n = len(items)
        position = {item: k for k, item in enumerate(items)}
        if len(position) != n:
            raise ValueError("items must be distinct")
        votes = list(votes)
        try:  # comprehensions rather than one loop: 10,000 votes tally in a few ms
            left = np.array([position[v.left] for v in votes], dtype=np.int64)
            right = np.array([position[v.right] for v in votes], dtype=np.int64)
            code = np.array([_CODES[v.outcome] for v in votes], dtype=np.int64)
        except KeyError:
            _explain(position, votes)
            raise
        if (left == right).any():
            raise ValueError("a vote compares two different items, got one item twice")
        shown = np.bincount(left, minlength=n) + np.bincount(right, minlength=n)
        lo, hi = np.minimum(left, right), np.maximum(left, right)
        last_pair = (int(lo[-1]), int(hi[-1])) if len(votes) else None
        judged = code != _SKIP
        # Seen from the lower index, a swapped vote's left win is a right win.
        swapped = (left > right) & (code != _TIE)
        code = np.where(swapped, _LEFT + _RIGHT - code, code)
        keys = ((lo * n + hi) * 3 + code)[judged]
        cells, count = np.unique(keys, return_counts=True)
        pair, cell_code = np.divmod(cells, 3)
        cell_lo, cell_hi = np.divmod(pair, max(n, 1))
        return cls(items, cell_lo, cell_hi, cell_code, count.astype(np.int64),
                   shown.astype(np.int64), int((~judged).sum()), last_pair)

    @property
    def votes(self) -> int:
        """Votes that count in fitting (skips excluded)."""
        return int(self.count.sum())

    def per_item(self) -> tuple[IntArray, IntArray, IntArray]:
        """Wins, losses and ties of every item, in ``items`` order."""
        n = len(self.items)
        lo_won = np.where(self.code == _LEFT, self.count, 0)
        hi_won = np.where(self.code == _RIGHT, self.count, 0)
        tied = np.where(self.code == _TIE, self.count, 0)
        wins = np.bincount(self.lo, lo_won, n) + np.bincount(self.hi, hi_won, n)
        losses = np.bincount(self.lo, hi_won, n) + np.bincount(self.hi, lo_won, n)
        ties = np.bincount(self.lo, tied, n) + np.bincount(self.hi, tied, n)
        return wins.astype(np.int64), losses.astype(np.int64), ties.astype(np.int64)

    def compared(self) -> npt.NDArray[np.bool_]:
        """Which items have at least one counted comparison."""
        mask = np.zeros(len(self.items), dtype=bool)
        mask[self.lo] = True
        mask[self.hi] = True
        return mask


def _explain(position: dict[str, int], votes: Sequence[VoteLike]) -> None:
    """Raise the ``ValueError`` that says which vote could not be tallied."""
    for vote in votes:
        for item in (vote.left, vote.right):
            if item not in position:
                raise ValueError(f"a vote names {item!r}, which is not among the items")
        if vote.outcome not in _CODES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, not {vote.outcome!r}")


def fit_strengths(tally: Tally, weights: FloatArray | None = None) -> FloatArray:
    """Log-strengths (natural log), centred over the items that have comparisons.

    ``weights`` replaces the cells' vote counts (the bootstrap passes resampled counts).
    """
    n = len(tally.items)
    if n == 0:
        return np.zeros(0)
    evalica = _evalica()
    import pandas as pd  # evalica's own dependency

    winner = (evalica.Winner.Draw, evalica.Winner.X, evalica.Winner.Y)
    everyone = np.arange(n)
    anchor = np.full(n, n)
    half = np.full(n, PRIOR_COMPARISONS / 2)
    counts = tally.count.astype(np.float64) if weights is None else weights
    used = counts > 0  # a bootstrap resample leaves about a third of the cells empty
    xs = np.concatenate([tally.lo[used], everyone, everyone])
    ys = np.concatenate([tally.hi[used], anchor, anchor])
    codes = np.concatenate([tally.code[used], np.full(n, _LEFT), np.full(n, _RIGHT)])
    result = evalica.bradley_terry(
        xs, ys, [winner[c] for c in codes.tolist()],
        index=pd.RangeIndex(n + 1), weights=np.concatenate([counts[used], half, half]).tolist(),
        win_weight=1.0, tie_weight=0.5, limit=1000,
    )
    theta = np.log(result.scores.reindex(range(n + 1)).to_numpy(dtype=np.float64)[:n])
    compared = tally.compared()
    if compared.any():
        theta -= theta[compared].mean()
    return theta


def bootstrap(tally: Tally, resamples: int, rng: np.random.Generator) -> FloatArray:
    """``resamples`` × items log-strengths, each fitted on votes drawn with replacement.

    Drawing N votes with replacement is a multinomial draw over the cells, so each
    resample is one weighted fit over the same cells.
    """
    total = tally.votes
    samples = np.empty((resamples, len(tally.items)))
    if total == 0:
        samples.fill(0.0)
        return samples
    share = tally.count / total
    for r in range(resamples):
        weights = rng.multinomial(total, share).astype(np.float64)
        samples[r] = fit_strengths(tally, weights)
    return samples


def covariance(tally: Tally, theta: FloatArray) -> FloatArray:
    """Approximate covariance of the log-strengths (Laplace: inverse Fisher information).

    Each counted vote between ``i`` and ``j`` adds ``p(1−p)`` information about
    ``θ_i − θ_j`` (``p`` the model's probability that ``i`` wins); the anchor's
    pseudo-comparisons add a small ridge so the matrix is invertible.
    """
    n = len(tally.items)
    p = 1.0 / (1.0 + np.exp(theta[tally.hi] - theta[tally.lo]))
    w = tally.count * p * (1.0 - p)
    info = np.zeros((n, n))
    np.add.at(info, (tally.lo, tally.lo), w)
    np.add.at(info, (tally.hi, tally.hi), w)
    np.add.at(info, (tally.lo, tally.hi), -w)
    np.add.at(info, (tally.hi, tally.lo), -w)
    info[np.diag_indices(n)] += PRIOR_COMPARISONS / 4
    return np.asarray(np.linalg.inv(info), dtype=np.float64)


def _evalica() -> ModuleType:
    # evalica pulls in pandas and scipy: loaded on the first fit, not on import.
    try:
        import evalica
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "fitting an arena needs evalica: pip install 'hh_notebook[arena]'"
        ) from exc
    return evalica
