"""The blind arena: two clips side by side, a vote, the next most informative pair.

>>> arena = hh.arena(result, by="prompt")   # doctest: +SKIP
>>> arena                                    # vote with ← → ↓ (tie) s (skip)  # doctest: +SKIP
>>> arena.ranking()                          # Bradley–Terry, 95 % intervals  # doctest: +SKIP

The widget only shows an :class:`~hh_notebook.arena_session.ArenaSession`. Its synced state
names nothing that is compared: the pair on screen is an opaque token, the clips travel as
binary buffers when the page asks for them (stripped of their metadata,
:func:`~hh_notebook.media.blind_clip_bytes`), and the token → clip mapping stays in the
kernel. Two switches, both off by default and both the user's, let names in: ``reveal``
shows what the pair *just voted on* was, ``show_ranking`` names the items of the standings.
"""

from __future__ import annotations

import html
import pathlib
from typing import TYPE_CHECKING, Any

import traitlets as t

from ..arena_session import ArenaSession, Deal
from ..errors import MediaError, MissingDependency
from ..journal import VOTE_OUTCOMES, VoteRecord
from ..media import blind_clip_bytes
from ..ranking_html import RankingView, win_matrix_svg
from .assets import css, esm
from .job import CHUNK_BYTES
from .output import SavedView

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Arena", "arena", "ranking_panel"]

#: Lines of the standings under the clips.
STANDINGS_ROWS = 8
#: Bootstrap resamples behind the standings' intervals (refreshed after every vote).
STANDINGS_RESAMPLES = 100


class Arena(SavedView):
    """Blind pairwise voting on a session's clips; build it with :func:`arena`."""

    _esm = esm("arena.js")
    _css = css("arena.css")

    title = t.Unicode("").tag(sync=True)
    #: The pair on screen, as an opaque token ("" when there is none).
    pair = t.Unicode("").tag(sync=True)
    #: votes, skipped, voters, mine (this voter's votes), items, clips.
    progress = t.Dict().tag(sync=True)
    #: The best items: rank, score, low, high, comparisons (+ label with ``show_ranking``).
    standings = t.List(t.Dict()).tag(sync=True)
    #: Name the items of the standings (the user's switch).
    show_ranking = t.Bool(False).tag(sync=True)
    #: After each vote, show what the pair just voted on was (the user's switch).
    reveal = t.Bool(False).tag(sync=True)
    #: With ``reveal``: outcome, left and right labels of the pair just voted on.
    revealed = t.Dict().tag(sync=True)
    message = t.Unicode("").tag(sync=True)

    def __init__(self, session: ArenaSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self._last: tuple[Deal, str] | None = None
        clips = len(session.clips)
        self.title = (f"Blind arena · ranking {session.by} · {len(session.items)} values, "
                      f"{clips} clips" if session.by else f"Blind arena · {clips} clips")
        self.on_msg(self._on_front_end_message)
        votes = session.votes()
        self._deal_next(votes)
        self._refresh_progress(votes)
        self._refresh_standings(votes)

    # -- voting -------------------------------------------------------------------------------
    def vote(self, outcome: str) -> VoteRecord | None:
        """Vote on the pair on screen (``"left"``, ``"right"``, ``"tie"`` or ``"skip"``), as
        the keys and buttons do; the next pair follows."""
        if outcome not in VOTE_OUTCOMES:
            raise ValueError(f"outcome must be one of {VOTE_OUTCOMES}, not {outcome!r}")
        deal = self.session.current
        return self._vote(outcome, deal.token if deal is not None else "")

    def _vote(self, outcome: str, token: str) -> VoteRecord | None:
        deal = self.session.current
        try:
            record = self.session.vote(outcome, token=token)
        except Exception as exc:  # noqa: BLE001 - shown in the widget in plain words
            self.message = ""  # a change even when the words repeat: the page unlocks its keys
            self.message = f"The vote was not saved: {exc}"
            return None
        if record is None or deal is None:
            return None  # meant for a pair no longer on screen
        self._last = (deal, record.outcome)
        votes = self.session.votes()  # read once: other voters' votes count too
        with self.hold_sync():
            self.message = ""
            self.revealed = self._reveal() if self.reveal else {}
            self._deal_next(votes)
            self._refresh_progress(votes)
        self._refresh_standings(votes)  # after the next pair is out: fitting takes a moment
        return record

    def _deal_next(self, votes: list[VoteRecord]) -> None:
        try:
            self.pair = self.session.deal(votes).token
        except ValueError as exc:
            self.pair = ""
            self.message = str(exc)

    def _reveal(self) -> dict[str, Any]:
        if self._last is None:
            return {}
        deal, outcome = self._last
        return {"outcome": outcome, "left": dict(deal.left.labels) or {"job": deal.left.item},
                "right": dict(deal.right.labels) or {"job": deal.right.item}}

    @t.observe("reveal")
    def _on_reveal(self, change: dict[str, Any]) -> None:
        self.revealed = self._reveal() if change["new"] else {}

    @t.observe("show_ranking")
    def _on_show_ranking(self, _change: dict[str, Any]) -> None:
        self._refresh_standings()

    def _refresh_progress(self, votes: list[VoteRecord]) -> None:
        done = self.session.progress(votes)
        self.progress = {"votes": done.votes, "skipped": done.skipped, "voters": done.voters,
                         "mine": done.mine, "items": len(self.session.items),
                         "clips": len(self.session.clips)}

    def _refresh_standings(self, votes: list[VoteRecord] | None = None) -> None:
        view = self.session.ranking_view(resamples=STANDINGS_RESAMPLES, votes=votes)
        rows = []
        for row in view.rows[:STANDINGS_ROWS]:
            line: dict[str, Any] = {"rank": row.rank, "score": row.score, "low": row.low,
                                    "high": row.high, "comparisons": row.comparisons}
            if self.show_ranking:
                line["label"] = row.label
            rows.append(line)
        self.standings = rows

    # -- messages from the front end ----------------------------------------------------------
    def _on_front_end_message(self, _widget: Any, content: Any, _buffers: list[Any]) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "clips":
            self.send_clips(str(content.get("pair", "")), str(content.get("request", "")))
        elif kind == "vote":
            self._vote(str(content.get("outcome", "")), str(content.get("pair", "")))

    def send_clips(self, token: str, request: str = "") -> None:
        """Send both clips of pair ``token`` as binary buffers, in chunks (nothing else
        about them: no name, no size of the original file)."""
        deal = self.session.current
        if deal is None or token != deal.token:
            self.send({"type": "clip_error", "pair": token, "request": request,
                       "message": "this pair is no longer on screen"})
            return
        for side, clip in (("left", deal.left), ("right", deal.right)):
            try:
                data = _clip_bytes(clip.path)
            except (OSError, MediaError):
                self.send({"type": "clip_error", "pair": token, "request": request,
                           "side": side, "message": "this clip cannot be read"})
                continue
            count = max(1, -(-len(data) // CHUNK_BYTES))
            for index in range(count):
                chunk = data[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES]
                self.send({"type": "clip", "pair": token, "request": request, "side": side,
                           "index": index, "count": count, "mime": "video/mp4"},
                          buffers=[chunk])  # fmt: skip

    # -- what the votes say -------------------------------------------------------------------
    def ranking(self) -> pd.DataFrame:
        """The Bradley–Terry ranking (see :meth:`ArenaSession.ranking`)."""
        return self.session.ranking()

    def win_matrix(self) -> pd.DataFrame:
        """Who beat whom (see :meth:`ArenaSession.win_matrix`)."""
        return self.session.win_matrix()

    def agreement(self) -> float | None:
        """Kendall's tau between the blind ranking and star ratings of the same clips."""
        return self.session.agreement()

    def ranking_view(self) -> RankingView:
        """The ranking with its win-matrix heatmap, for a cell or a report
        (``result.export_report(path, ranking=arena)``)."""
        return self.session.ranking_view()

    # -- display ------------------------------------------------------------------------------
    def static_html(self) -> str:
        """What an export without widgets shows: counts only, nothing that names a clip."""
        done = self.progress
        return (f"<div class='hh-arena-static'><b>{html.escape(self.title)}</b>: "
                f"{int(done.get('votes', 0))} votes. Voting needs a running kernel; "
                "<code>arena.ranking()</code> gives the ranking.</div>")


def _clip_bytes(path: pathlib.Path) -> bytes:
    try:
        return blind_clip_bytes(path)
    except MissingDependency:  # without PyAV the tags stay; the page never shows them
        return path.read_bytes()


def arena(source: Any, *, by: str | None = None, voter: str | None = None,
          journal: Any = None, seed: int | None = None) -> Arena:
    """Blind pairwise voting on ``source``'s clips; returns the :class:`Arena` widget.

    ``source`` is a :class:`~hh_notebook.sweep.SweepResult`, a
    :class:`~hh_notebook.sweep.Sweep` or a list of finished jobs. ``by`` names an axis (or a
    request field) whose values are ranked, the other axes marginalised (``"prompt"``,
    ``"seed"``, a ``{slot}``…); without it single clips are ranked. ``voter`` names who
    votes (default: the login name); votes go to the source's journal (``journal`` for a
    list of jobs; default: the default client's), where a restarted kernel or another
    voter finds them. ``seed`` makes the pair order reproducible.

    >>> arena = hh.arena(result, by="seed", voter="ana")   # doctest: +SKIP
    >>> arena.ranking(), arena.agreement()                  # doctest: +SKIP
    """
    return Arena(ArenaSession.open(source, by=by, voter=voter, journal=journal, seed=seed))


def ranking_panel(source: Any) -> dict[str, Any]:
    """What the sweep grid's ranking panel shows for ``source`` (an :class:`Arena`, an
    :class:`~hh_notebook.arena_session.ArenaSession`, or a sweep or its result: its clips'
    arena): title, summary, rows and the win-matrix SVG; ``{}`` before any vote."""
    session = getattr(source, "session", source)
    if not isinstance(session, ArenaSession):
        session = ArenaSession.open(source)
    view = session.ranking_view()
    if not view.votes:
        return {}
    rows = [{"rank": r.rank, "label": r.label, "score": r.score, "low": r.low, "high": r.high,
             "comparisons": r.comparisons} for r in view.rows]
    return {"title": view.title, "summary": view.summary(), "rows": rows,
            "svg": win_matrix_svg(view)}
