"""What a voter waits for in the arena: from a vote to the next pair, and to the standings.

An :class:`~hh_notebook.arena_session.ArenaSession` on a real journal (SQLite, in a
temporary folder) holding simulated votes (``arena_fit.make_votes``: tie rate 0.2, random
pairs), at a few sizes. Per size, the median of ``--repeats`` rounds of what the widget does
after a vote, each part timed on its own:

* *vote*: ``session.vote`` (one journal write);
* *read*: ``session.votes()`` (every vote of the arena, all voters, from the journal);
* *next pair*: ``session.deal(votes)`` (a Bradley–Terry fit and the pair rule);
* *standings*: ``session.ranking_view(resamples=100, votes=votes)`` (the widget's
  standings: a fit with 100 bootstrap resamples and the win matrix), sent after the pair.

Run::

    .venv/bin/python benchmarks/arena_vote.py --write
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import platform
import statistics
import tempfile
import time

from arena_fit import make_votes

from hh_notebook.arena_items import ArenaClip, ArenaSource
from hh_notebook.arena_session import ArenaSession
from hh_notebook.journal import Journal

RESULTS = pathlib.Path(__file__).with_name("RESULTS.md")
HEADING = "## Arena: from a vote to the next pair"
STANDINGS_RESAMPLES = 100
SIZES = ((12, 100), (60, 1_000), (200, 10_000))


def session_with_votes(folder: pathlib.Path, items: int, votes: int) -> ArenaSession:
    """A session over ``items`` clips whose journal already holds ``votes`` votes."""
    names, simulated = make_votes(items, votes, seed=items)
    journal = Journal(folder / f"journal-{items}.sqlite3")
    with journal._connect() as conn:  # one transaction: filling 10,000 rows one by one is slow
        conn.executemany(
            "INSERT INTO votes (arena_id, left, right, outcome, voter, time) "
            "VALUES ('bench', ?, ?, ?, 'sim', 0.0)",
            [(v.left, v.right, v.outcome) for v in simulated])
    clips = tuple(ArenaClip(name, folder / f"{name}.mp4", {"clip": name}) for name in names)
    return ArenaSession(ArenaSource("bench", clips, journal), voter="bench", seed=0)


def one_round(session: ArenaSession) -> dict[str, float]:
    """Seconds of each part of what follows one vote."""
    deal = session.current or session.deal()
    times = {}
    began = time.perf_counter()
    session.vote("skip", token=deal.token)
    times["vote"] = time.perf_counter() - began
    began = time.perf_counter()
    votes = session.votes()
    times["read"] = time.perf_counter() - began
    began = time.perf_counter()
    session.deal(votes)
    times["next pair"] = time.perf_counter() - began
    began = time.perf_counter()
    session.ranking_view(resamples=STANDINGS_RESAMPLES, votes=votes)
    times["standings"] = time.perf_counter() - began
    return times


def measure(repeats: int) -> list[tuple[int, int, dict[str, float]]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for items, votes in SIZES:
            session = session_with_votes(pathlib.Path(tmp), items, votes)
            one_round(session)  # warm-up: imports evalica and SciPy
            rounds = [one_round(session) for _ in range(repeats)]
            rows.append((items, votes, {part: statistics.median(r[part] for r in rounds)
                                        for part in rounds[0]}))
    return rows


def report(repeats: int, rows: list[tuple[int, int, dict[str, float]]]) -> str:
    today = datetime.date.today().isoformat()
    lines = [
        HEADING, "",
        ("The widget's work after a vote, through an `ArenaSession` on a real journal holding "
         "simulated votes (tie rate 0.2, random pairs); median of "
         f"{repeats} rounds per size. The page gets the next pair after *vote + read + next "
         f"pair*; the standings ({STANDINGS_RESAMPLES} bootstrap resamples) follow."), "",
        f"Command: `.venv/bin/python benchmarks/arena_vote.py --repeats {repeats} --write`",
        f"({today}, 2 shared cores, Python {platform.python_version()})", "",
        ("| clips | votes | vote (s) | read (s) | next pair (s) | to the next pair (s) "
         "| standings (s) | standings / to the next pair |"),
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for items, votes, t in rows:
        to_pair = t["vote"] + t["read"] + t["next pair"]
        lines.append(f"| {items} | {votes:,} | {t['vote']:.4f} | {t['read']:.3f} | "
                     f"{t['next pair']:.3f} | {to_pair:.3f} | {t['standings']:.3f} | "
                     f"{t['standings'] / to_pair:.1f}x |")
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace (or append) only this benchmark's section of RESULTS.md."""
    current = RESULTS.read_text()
    start = current.find(HEADING)
    if start < 0:
        RESULTS.write_text(current.rstrip() + "\n\n" + text)
        return
    end = current.find("\n## ", start + len(HEADING))
    rest = current[end + 1:] if end >= 0 else ""
    RESULTS.write_text(current[:start] + text + ("\n" + rest if rest else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = ap.parse_args()
    text = report(args.repeats, measure(args.repeats))
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
