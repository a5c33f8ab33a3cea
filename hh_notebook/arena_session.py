"""An arena session: blind pairs dealt from a source's clips, votes into the journal, and
the ranking, win matrix and agreement with star ratings that the votes support.

This is everything :func:`hh_notebook.arena` (the widget) does, without a notebook::

    >>> session = ArenaSession.open(result, by="prompt", voter="ana")   # doctest: +SKIP
    >>> deal = session.deal()            # two clips, sides at random   # doctest: +SKIP
    >>> session.vote("left", token=deal.token)                          # doctest: +SKIP
    >>> session.ranking()                # a DataFrame, best first       # doctest: +SKIP

Blindness is the widget's promise and rests on :meth:`ArenaSession.deal`: a deal is known
to the page only by its random ``token``; which clips it holds stays here. Votes name clips
(job ids) and are stored with :meth:`Journal.add_vote
<hh_notebook.journal.Journal.add_vote>` under the arena's id, so a restarted kernel, or a
second voter with their own kernel, adds to the same arena. With ``by``, pairs are chosen
between the groups (:func:`~hh_notebook.arena_rank.next_pair` on the groups' votes), and
within two groups the two clips that differ least on the other axes (same seed, same
aspect ratio…), seen least so far.
"""

from __future__ import annotations

import getpass
import itertools
import secrets
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .arena_items import ArenaClip, ArenaSource, arena_source
from .arena_rank import (
    DEFAULT_RESAMPLES,
    Ranking,
    fit,
    kendall_tau,
    next_pair,
    votes_by_group,
    win_matrix,
)
from .journal import VoteRecord
from .ranking_html import RankingRow, RankingView

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ArenaProgress", "ArenaSession", "Deal"]

#: Letters only: a token can never be mistaken for a seed, a score or a count in a page.
_TOKEN_ALPHABET = string.ascii_lowercase
_TOKEN_LENGTH = 20


@dataclass(frozen=True)
class Deal:
    """A pair on screen: ``token`` is all the page knows of it; ``left`` and ``right``
    stay in Python until the vote is cast."""

    token: str
    left: ArenaClip
    right: ArenaClip


@dataclass(frozen=True)
class ArenaProgress:
    """Votes of the arena so far: all of them (``votes``, skips included), ``skipped``,
    distinct ``voters``, and ``mine`` (this session's voter)."""

    votes: int
    skipped: int
    voters: int
    mine: int


class ArenaSession:
    """Blind pairwise rating of one source's clips (see the module docs)."""

    def __init__(self, source: ArenaSource, *, voter: str = "",
                 seed: int | np.random.Generator | None = None) -> None:
        self.source = source
        self.voter = voter
        self._rng = np.random.default_rng(seed)
        self._clips = {clip.item: clip for clip in source.clips}
        self._labels = _clip_labels(source.clips)
        self._current: Deal | None = None

    @classmethod
    def open(cls, source: Any, *, by: str | None = None, voter: str | None = None,
             journal: Any = None, seed: int | np.random.Generator | None = None
             ) -> ArenaSession:
        """The session of ``source`` (a sweep, its result or a list of jobs, see
        :func:`~hh_notebook.arena_items.arena_source`); ``voter`` defaults to the login
        name."""
        return cls(arena_source(source, by=by, journal=journal),
                   voter=_login_name() if voter is None else voter, seed=seed)

    # -- what is compared -------------------------------------------------------------------
    @property
    def arena_id(self) -> str:
        """The id the votes are stored under (the same for the same source)."""
        return self.source.arena_id

    @property
    def by(self) -> str | None:
        """The axis whose values are ranked, or None for single clips."""
        return self.source.by

    @property
    def clips(self) -> tuple[ArenaClip, ...]:
        """Every clip that can be dealt."""
        return self.source.clips

    @property
    def items(self) -> list[str]:
        """What the ranking ranks: the ``by`` values, else the clips' job ids."""
        return self.source.groups if self.by else [clip.item for clip in self.clips]

    def label(self, item: str) -> str:
        """How ``item`` is named in rankings (a ``by`` value names itself)."""
        return item if self.by else self._labels[item]

    # -- votes ------------------------------------------------------------------------------
    def votes(self) -> list[VoteRecord]:
        """Every stored vote of this arena between its clips, oldest first (all voters)."""
        return [v for v in self.source.journal.votes(self.arena_id)
                if v.left in self._clips and v.right in self._clips]

    def _item_votes(self, votes: Sequence[VoteRecord] | None = None) -> list[Any]:
        votes = self.votes() if votes is None else votes
        if not self.by:
            return list(votes)
        return votes_by_group(votes, {item: clip.group for item, clip in self._clips.items()})

    def progress(self, votes: Sequence[VoteRecord] | None = None) -> ArenaProgress:
        """How many votes, skips, voters, and votes by this session's voter (of ``votes``
        when given: the result of :meth:`votes`, read once for several questions)."""
        votes = self.votes() if votes is None else votes
        return ArenaProgress(len(votes), sum(v.outcome == "skip" for v in votes),
                             len({v.voter for v in votes}),
                             sum(v.voter == self.voter for v in votes))

    @property
    def current(self) -> Deal | None:
        """The pair dealt and not yet voted on."""
        return self._current

    def deal(self, votes: Sequence[VoteRecord] | None = None) -> Deal:
        """The next pair: the most informative one under the current model, every item
        kept in view (:func:`~hh_notebook.arena_rank.next_pair`), sides at random."""
        votes = self.votes() if votes is None else votes
        left, right = next_pair(self.items, self._item_votes(votes), self._rng)
        if self.by:
            left, right = self._clips_between(left, right, votes)
        token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(_TOKEN_LENGTH))
        self._current = Deal(token, self._clips[left], self._clips[right])
        return self._current

    def _clips_between(self, left: str, right: str, votes: Sequence[VoteRecord]
                       ) -> tuple[str, str]:
        """One clip of group ``left`` and one of ``right``: alike on the other axes, and
        shown least so far (ties at random)."""
        shown = Counter(item for v in votes for item in (v.left, v.right))
        lefts = [c for c in self.clips if c.group == left]
        rights = [c for c in self.clips if c.group == right]
        others = [name for name in lefts[0].labels if name != self.by]

        def cost(pair: tuple[ArenaClip, ArenaClip]) -> tuple[int, int]:
            a, b = pair
            differing = sum(a.labels.get(n) != b.labels.get(n) for n in others)
            return differing, shown[a.item] + shown[b.item]

        pairs = list(itertools.product(lefts, rights))
        best = min(cost(p) for p in pairs)
        options = [p for p in pairs if cost(p) == best]
        a, b = options[int(self._rng.integers(len(options)))]
        return a.item, b.item

    def vote(self, outcome: str, *, token: str | None = None) -> VoteRecord | None:
        """Record ``outcome`` (``"left"``, ``"right"``, ``"tie"`` or ``"skip"``) for the pair
        on screen and return the stored vote. With ``token``, a vote meant for another pair
        (a second key press after the pair changed) is ignored and None returned."""
        deal = self._current
        if deal is None:
            if token is not None:
                return None
            raise ValueError("no pair on screen: deal() one first")
        if token is not None and token != deal.token:
            return None
        record = self.record(deal.left.item, deal.right.item, outcome)
        self._current = None
        return record

    def record(self, left: str, right: str, outcome: str) -> VoteRecord:
        """Store a vote between two clips (job ids) of this arena, for this voter."""
        for item in (left, right):
            if item not in self._clips:
                raise ValueError(f"{item!r} is not a clip of this arena")
        return self.source.journal.add_vote(self.arena_id, left, right, outcome,
                                            voter=self.voter)

    # -- what the votes say -----------------------------------------------------------------
    def fit(self, *, resamples: int = DEFAULT_RESAMPLES, seed: int | None = 0) -> Ranking:
        """The Bradley–Terry ranking of :attr:`items` (see :func:`~hh_notebook.arena_rank.fit`)."""
        return fit(self.items, self._item_votes(), resamples=resamples, seed=seed)

    def ranking(self, *, resamples: int = DEFAULT_RESAMPLES) -> pd.DataFrame:
        """The ranking as a DataFrame, best first: ``rank``, ``item`` (a job id, or the
        ``by`` value), ``label``, ``score`` (Elo-like, average 1000), ``low``/``high`` (95 %
        bootstrap interval), ``comparisons``, ``wins``, ``losses``, ``ties``."""
        frame = self.fit(resamples=resamples).to_pandas()
        frame.insert(2, "label", [self.label(item) for item in frame["item"]])
        return frame

    def win_matrix(self) -> pd.DataFrame:
        """How often the row's item beat the column's (a tie counting half), in ranking
        order, labelled as in :meth:`ranking`."""
        import pandas as pd

        order = self.fit(resamples=0).order
        labels = [self.label(item) for item in order]
        return pd.DataFrame(win_matrix(order, self._item_votes()), index=labels, columns=labels)

    def star_ratings(self) -> dict[str, float]:
        """Star ratings from the journal, per ranked item: a clip's own rating, or the mean
        rating of a group's rated clips."""
        ratings: dict[str, list[float]] = {}
        for clip in self.clips:
            try:
                rating = self.source.journal.get(clip.item).rating
            except KeyError:
                continue
            if rating is not None:
                ratings.setdefault(clip.group if self.by else clip.item, []).append(rating)
        return {item: sum(values) / len(values) for item, values in ratings.items()}

    def agreement(self) -> float | None:
        """Kendall's tau-b between the blind ranking and the star ratings of the same items
        (None with fewer than two items having both)."""
        return kendall_tau(self.fit(resamples=0), self.star_ratings())

    def ranking_view(self, *, resamples: int = DEFAULT_RESAMPLES, title: str | None = None,
                     votes: Sequence[VoteRecord] | None = None) -> RankingView:
        """The ranking as plain data for reports and grids (labels, scores, win matrix)."""
        votes = self.votes() if votes is None else votes
        item_votes = self._item_votes(votes)
        ranking = fit(self.items, item_votes, resamples=resamples, seed=0)
        rows = tuple(RankingRow(k + 1, self.label(line.item), line.score, line.low, line.high,
                                line.comparisons, line.wins, line.losses, line.ties)
                     for k, line in enumerate(ranking))
        matrix = win_matrix(ranking.order, item_votes)
        heading = title or (f"Blind ranking by {self.by}" if self.by else "Blind ranking")
        return RankingView(heading, rows, tuple(tuple(map(float, r)) for r in matrix),
                           ranking.votes, ranking.ties, ranking.skipped,
                           len({v.voter for v in votes}), ranking.confidence)


def _clip_labels(clips: Sequence[ArenaClip]) -> dict[str, str]:
    """Each clip's description, with its job id where two clips would read the same."""
    names = {clip.item: clip.describe() for clip in clips}
    repeated = {n for n, count in Counter(names.values()).items() if count > 1}
    return {item: f"{name} (job {item[:8]})" if name in repeated else name
            for item, name in names.items()}


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return ""
