"""Which pair to show next, and a simulated voter to test and benchmark the choice.

The rule of :func:`next_pair`, in order:

1. **Coverage.** An item is *starved* while it has been shown (skips included) fewer
   than ``max(1, COVERAGE_SHARE × the mean)`` times. With two or more starved items the
   pair is chosen among them; with one, it is paired with the best partner; otherwise
   every pair is a candidate. So every item appears within the first ``⌈n/2⌉`` pairs, and
   no item falls far behind later on. Skips count as shown, so a clip nobody can judge
   does not monopolise the screen.
2. **Doubt about the order.** Among the candidates the pair whose order is most in
   doubt wins: ``sd(θ_i − θ_j) · Φ(−|θ_i − θ_j| / sd)``, the uncertainty of the two
   items' difference times the chance that their current order is wrong. ``θ`` (log
   strengths) and its covariance come from a fit of the votes so far (Laplace
   approximation, no bootstrap). Close pairs that are already well measured score low
   (small ``sd``), as do uncertain pairs whose order is nonetheless clear (small ``Φ``).
   On the simulated arenas of ``benchmarks/arena_selection.py`` it did better than
   weighting that chance by the information of one vote (``p(1−p)·Var·Φ``) where items
   are close, which is where uniform pairs are hardest to beat; mixed where they are far
   apart.
3. **No repeats.** The last vote's pair is never offered again straight away (unless it
   is the only pair there is, i.e. two items).
4. **Sides** are randomised, as are exact ties between candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from .arena_model import Outcome, Tally, VoteLike, covariance, fit_strengths

__all__ = ["COVERAGE_SHARE", "next_pair", "simulate_voter"]

#: An item shown fewer times than this share of the mean is served first (rule 1).
COVERAGE_SHARE = 0.5


def next_pair(
    items: Sequence[str], votes: Iterable[VoteLike], rng: np.random.Generator
) -> tuple[str, str]:
    """The next ``(left, right)`` pair to show, by the rule in this module's docstring.

    >>> import numpy as np
    >>> left, right = next_pair(["a", "b", "c"], [], np.random.default_rng(0))
    >>> left != right and {left, right} <= {"a", "b", "c"}
    True
    """
    tally = Tally.count_votes(items, votes)
    n = len(tally.items)
    if n < 2:
        raise ValueError("an arena needs at least two items")
    i, j = np.triu_indices(n, k=1)
    candidates = _candidates(tally, i, j)
    doubt = _order_doubt(tally, i, j)[candidates]
    best = np.flatnonzero(doubt >= doubt.max() * (1.0 - 1e-9))
    k = candidates[best[rng.integers(len(best))]]
    a, b = tally.items[i[k]], tally.items[j[k]]
    return (a, b) if rng.random() < 0.5 else (b, a)


def _candidates(tally: Tally, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Indices into the pair list ``(i, j)`` allowed by coverage, minus the last pair."""
    shown = tally.shown
    starved = shown < max(1.0, COVERAGE_SHARE * float(shown.mean()))
    everything = np.ones(len(i), dtype=bool)
    both, one = starved[i] & starved[j], starved[i] | starved[j]
    preferred = both if starved.sum() >= 2 else one if starved.any() else everything
    fresh = everything.copy()
    if tally.last_pair is not None:
        fresh &= ~((i == tally.last_pair[0]) & (j == tally.last_pair[1]))
    # Narrowest allowed set first; widen when the no-repeat rule empties it.
    for allowed in (preferred, one, everything):
        found = np.flatnonzero(allowed & fresh)
        if len(found):
            return found
    return np.arange(len(i))  # two items: the only pair, again


def _order_doubt(tally: Tally, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr  # the normal CDF; scipy comes with evalica

    theta = fit_strengths(tally)
    cov = covariance(tally, theta)
    sd = np.sqrt(np.maximum(cov[i, i] + cov[j, j] - 2.0 * cov[i, j], 1e-12))
    return np.asarray(sd * ndtr(-np.abs(theta[i] - theta[j]) / sd))


def simulate_voter(
    strengths: Mapping[str, float], rng: np.random.Generator, tie_rate: float = 0.0
) -> Callable[[str, str], Outcome]:
    """A voter who answers like the arena's model: Bradley–Terry, a tie worth half a point.

    ``strengths`` maps items to positive strengths ``π`` (``π_a / π_b = 3`` means ``a``
    scores 3 points for every 1 of ``b``'s). ``tie_rate`` is the chance of a tie between
    two equally strong items; between others it is ``tie_rate · 2·min(p, 1 − p)`` (``p =
    π_a / (π_a + π_b)``), so ties get rarer as items drift apart while the expected
    score stays exactly ``p``.

    >>> import numpy as np
    >>> vote = simulate_voter({"a": 100.0, "b": 1.0}, np.random.default_rng(0))
    >>> [vote("a", "b") for _ in range(3)]
    ['left', 'left', 'left']
    """
    if not 0.0 <= tie_rate <= 1.0:
        raise ValueError("tie_rate must be between 0 and 1")
    if any(not s > 0 for s in strengths.values()):
        raise ValueError("strengths must be positive")

    def vote(left: str, right: str) -> Outcome:
        p = strengths[left] / (strengths[left] + strengths[right])
        tie = tie_rate * 2.0 * min(p, 1.0 - p)
        u = rng.random()
        return "left" if u < p - tie / 2 else "right" if u < 1.0 - tie else "tie"

    return vote
