"""The job journal: a SQLite file (WAL) recording every job and its state.

A job is written *before* its submit is sent, updated with the provider's id
as soon as it comes back, then at every state change. After a kernel restart
``jobs()`` lists everything and unfinished jobs can be resumed. API keys are
never stored: a record holds the request, provider names, ids, URLs, paths,
cost and status only.

Blind pairwise votes (see :mod:`hh_notebook.arena_rank`) live in the same file, in a
``votes`` table keyed by an arena id, so several voters and kernels add to one arena.

>>> import tempfile, pathlib
>>> j = Journal(pathlib.Path(tempfile.mkdtemp()) / "journal.sqlite3")
>>> j.jobs()
[]
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

__all__ = ["UNFINISHED_PHASES", "VOTE_OUTCOMES", "JobRecord", "Journal", "VoteRecord"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id              TEXT PRIMARY KEY,
    provider        TEXT NOT NULL,
    model           TEXT NOT NULL,
    base_url        TEXT,
    fingerprint     TEXT,
    request         TEXT NOT NULL,
    status          TEXT NOT NULL,
    phase           TEXT NOT NULL,
    provider_job_id TEXT,
    raw_status      TEXT,
    progress        REAL,
    urls            TEXT NOT NULL DEFAULT '{}',
    output_url      TEXT,
    expires_at      REAL,
    video_path      TEXT,
    cost            REAL,
    currency        TEXT,
    error           TEXT,
    created_at      REAL NOT NULL,
    submitted_at    REAL,
    updated_at      REAL NOT NULL,
    finished_at     REAL,
    rating          INTEGER,
    note            TEXT,
    tags            TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS jobs_fingerprint ON jobs (fingerprint, status);
CREATE INDEX IF NOT EXISTS jobs_phase ON jobs (phase);
CREATE INDEX IF NOT EXISTS jobs_provider_job ON jobs (provider, provider_job_id);
CREATE TABLE IF NOT EXISTS votes (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    arena_id TEXT NOT NULL,
    left     TEXT NOT NULL,
    right    TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    voter    TEXT NOT NULL DEFAULT '',
    time     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS votes_arena ON votes (arena_id, id);
"""

#: What a voter can answer about a pair: which side is better, a tie, or a skip
#: (shown but not judged; skips are kept but never count in fitting).
VOTE_OUTCOMES = ("left", "right", "tie", "skip")

#: Lifecycle phases of a job that still needs the client's attention.
#: ``submitting``: the submit was (maybe) sent but no answer recorded;
#: ``polling``: accepted, not finished; ``downloading``: succeeded, clip not on disk.
UNFINISHED_PHASES = ("submitting", "polling", "downloading")

_COLUMNS = (
    "id", "provider", "model", "base_url", "fingerprint", "request", "status", "phase",
    "provider_job_id", "raw_status", "progress", "urls", "output_url", "expires_at",
    "video_path", "cost", "currency", "error", "created_at", "submitted_at", "updated_at",
    "finished_at", "rating", "note", "tags",
)
_JSON_COLUMNS = {"request", "urls", "tags"}
_UPDATABLE = frozenset(_COLUMNS) - {"id", "created_at"}


@dataclass(frozen=True)
class JobRecord:
    """One row of the journal, as plain data.

    ``request`` is the request as ``GenerationRequest.to_dict()``; ``status``
    a :class:`~hh_notebook.providers.base.Status` value (or ``"submitting"``
    before the provider answered); ``phase`` where the lifecycle stands
    (``submitting``, ``polling``, ``downloading``, ``done``).
    """

    id: str
    provider: str
    model: str
    request: dict[str, Any]
    status: str
    phase: str
    created_at: float
    updated_at: float
    base_url: str | None = None
    fingerprint: str | None = None
    provider_job_id: str | None = None
    raw_status: str | None = None
    progress: float | None = None
    urls: dict[str, str] = field(default_factory=dict)
    output_url: str | None = None
    expires_at: float | None = None
    video_path: str | None = None
    cost: float | None = None
    currency: str | None = None
    error: str | None = None
    submitted_at: float | None = None
    finished_at: float | None = None
    rating: int | None = None
    note: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)

    @property
    def unfinished(self) -> bool:
        """True while the lifecycle still has something to do for this job."""
        return self.phase in UNFINISHED_PHASES

    @property
    def prompt(self) -> str:
        """The request's prompt, for listings."""
        return str(self.request.get("prompt") or "")


@dataclass(frozen=True)
class VoteRecord:
    """One stored pairwise vote: ``left`` and ``right`` are item ids, ``outcome`` one of
    :data:`VOTE_OUTCOMES`, ``time`` a Unix timestamp; ``id`` grows with insertion order."""

    id: int
    arena_id: str
    left: str
    right: str
    outcome: str
    voter: str
    time: float


class Journal:
    """SQLite journal of jobs; safe to share between threads and processes.

    Each operation opens a short transaction on a per-thread connection; WAL
    mode lets readers proceed while another process writes.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # executescript manages its own transaction.
        self._connection().executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    # -- connections ------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- writing ----------------------------------------------------------
    def insert(self, record: JobRecord) -> None:
        """Add a new job record."""
        values = [_to_column(name, getattr(record, name)) for name in _COLUMNS]
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with self._connect() as conn:
            conn.execute(
                f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({placeholders})", values
            )

    def update(self, job_id: str, **changes: Any) -> None:
        """Change some columns of a job (``updated_at`` is set automatically)."""
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"unknown journal columns: {sorted(unknown)}")
        changes.setdefault("updated_at", time.time())
        names = list(changes)
        sql = f"UPDATE jobs SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?"
        values = [_to_column(n, changes[n]) for n in names] + [job_id]
        with self._connect() as conn:
            cursor = conn.execute(sql, values)
            if cursor.rowcount != 1:
                raise KeyError(f"no job {job_id!r} in the journal")

    def set_rating(self, job_id: str, rating: int | None, note: str | None = None) -> None:
        """Store a rating (e.g. 1–5, or None to clear it) and a free-text note."""
        if rating is not None and (not isinstance(rating, int) or isinstance(rating, bool)):
            raise TypeError("rating must be an int or None")
        self.update(job_id, rating=rating, note=note)

    def set_tags(self, job_id: str, tags: Mapping[str, Any]) -> None:
        """Replace a job's tags (JSON-safe metadata such as a sweep id and cell)."""
        self.update(job_id, tags=dict(tags))

    def add_vote(
        self,
        arena_id: str,
        left: str,
        right: str,
        outcome: str,
        voter: str = "",
        time: float | None = None,
    ) -> VoteRecord:
        """Store one vote of arena ``arena_id`` and return it with its id.

        >>> import tempfile, pathlib
        >>> j = Journal(pathlib.Path(tempfile.mkdtemp()) / "journal.sqlite3")
        >>> j.add_vote("prompts", "clip-a", "clip-b", "left", voter="ana").outcome
        'left'
        """
        if outcome not in VOTE_OUTCOMES:
            raise ValueError(f"outcome must be one of {VOTE_OUTCOMES}, not {outcome!r}")
        if left == right:
            raise ValueError(f"a vote compares two different items, got {left!r} twice")
        when = _now() if time is None else float(time)
        with self._connect() as conn:
            cursor = conn.execute(
                "INSERT INTO votes (arena_id, left, right, outcome, voter, time) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (arena_id, left, right, outcome, voter, when),
            )
        return VoteRecord(int(cursor.lastrowid or 0), arena_id, left, right, outcome, voter, when)

    # -- reading ----------------------------------------------------------
    def votes(self, arena_id: str) -> list[VoteRecord]:
        """Every vote of arena ``arena_id``, oldest first (all voters)."""
        rows = self._connection().execute(
            "SELECT id, arena_id, left, right, outcome, voter, time FROM votes "
            "WHERE arena_id = ? ORDER BY id",
            (arena_id,),
        ).fetchall()
        return [VoteRecord(*tuple(row)) for row in rows]

    def get(self, job_id: str) -> JobRecord:
        """The record of ``job_id``; ``KeyError`` if there is none."""
        row = self._connection().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise KeyError(f"no job {job_id!r} in the journal")
        return _record(row)

    def jobs(
        self,
        *,
        provider: str | None = None,
        unfinished: bool = False,
        tag: tuple[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[JobRecord]:
        """Every job, newest first; optionally only one provider's, only unfinished
        ones, or only those whose tag ``key`` equals ``value`` (``tag=(key, value)``)."""
        clauses: list[str] = []
        values: list[Any] = []
        if tag is not None:
            clauses.append("json_extract(tags, ?) = ?")
            values.extend([_tag_path(tag[0]), tag[1]])
        if provider is not None:
            clauses.append("provider = ?")
            values.append(provider)
        if unfinished:
            clauses.append(f"phase IN ({', '.join('?' for _ in UNFINISHED_PHASES)})")
            values.extend(UNFINISHED_PHASES)
        sql = "SELECT * FROM jobs"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY created_at DESC, rowid DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_record(r) for r in self._connection().execute(sql, values).fetchall()]

    def find_by_tag(self, key: str, value: Any) -> list[JobRecord]:
        """Jobs whose tag ``key`` equals ``value`` (e.g. every job of one sweep), newest first."""
        return self.jobs(tag=(key, value))

    def find_by_provider_id(self, provider: str, provider_job_id: str) -> JobRecord | None:
        """The job that a provider id already belongs to, if any."""
        row = self._connection().execute(
            "SELECT * FROM jobs WHERE provider = ? AND provider_job_id = ? LIMIT 1",
            (provider, provider_job_id),
        ).fetchone()
        return _record(row) if row is not None else None

    def find_prefix(self, prefix: str) -> list[str]:
        """Ids of the jobs whose id starts with ``prefix`` (how people type an id)."""
        rows = self._connection().execute(
            "SELECT id FROM jobs WHERE substr(id, 1, ?) = ? ORDER BY created_at DESC",
            (len(prefix), prefix),
        ).fetchall()
        return [row["id"] for row in rows]

    def find_paid(self, fingerprint: str) -> JobRecord | None:
        """The newest succeeded job with this fingerprint whose clip still exists."""
        rows = self._connection().execute(
            "SELECT * FROM jobs WHERE fingerprint = ? AND status = 'succeeded' "
            "AND video_path IS NOT NULL ORDER BY finished_at DESC, rowid DESC",
            (fingerprint,),
        ).fetchall()
        for row in rows:
            record = _record(row)
            if record.video_path and Path(record.video_path).is_file():
                return record
        return None


def _now() -> float:
    # add_vote's ``time`` parameter shadows the module inside that method.
    return time.time()


def _tag_path(key: str) -> str:
    if not key or any(c in key for c in '."[]$\\'):
        raise ValueError(f"unsupported tag name {key!r}")
    return f"$.{key}"


def _to_column(name: str, value: Any) -> Any:
    if name in _JSON_COLUMNS:
        return json.dumps(value if value is not None else {}, sort_keys=True)
    if isinstance(value, Enum):  # Status and other (str-valued) enums
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


def _record(row: sqlite3.Row) -> JobRecord:
    data = {name: row[name] for name in _COLUMNS}
    for name in _JSON_COLUMNS:
        try:
            data[name] = json.loads(data[name]) if data[name] else {}
        except ValueError:
            data[name] = {}
    return JobRecord(**data)
