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
import logging
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from .journal_store import JournalError, Store, owner_alive, this_owner

__all__ = ["UNFINISHED_PHASES", "VOTE_OUTCOMES", "ClaimTaken", "JobRecord", "Journal",
           "JournalError", "VoteRecord", "owner_alive", "this_owner"]

log = logging.getLogger(__name__)

#: What a voter can answer about a pair: which side is better, a tie, or a skip
#: (shown but not judged; skips are kept but never count in fitting).
VOTE_OUTCOMES = ("left", "right", "tie", "skip")

#: Lifecycle phases of a job that still needs the client's attention.
#: ``submitting``: the submit was (maybe) sent but no answer recorded;
#: ``polling``: accepted, not finished; ``downloading``: succeeded, clip not on disk.
UNFINISHED_PHASES = ("submitting", "polling", "downloading")
_UNFINISHED_SQL = ", ".join(f"'{phase}'" for phase in UNFINISHED_PHASES)

_COLUMNS = (
    "id", "provider", "model", "base_url", "fingerprint", "request", "status", "phase",
    "provider_job_id", "raw_status", "progress", "urls", "output_url", "expires_at",
    "video_path", "cost", "currency", "error", "created_at", "submitted_at", "updated_at",
    "finished_at", "rating", "note", "tags", "claim", "owner", "heartbeat",
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
    #: What makes this job the only one of its kind while unfinished (a seeded request's
    #: fingerprint, a sweep cell); None when paying again is intended.
    claim: str | None = None
    #: The process tracking the job (:func:`this_owner`), and when it last said so.
    owner: str | None = None
    heartbeat: float | None = None

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


class ClaimTaken(Exception):
    """Another unfinished job already holds this claim: follow it instead of paying again."""

    def __init__(self, holder: JobRecord) -> None:
        super().__init__(f"claim held by job {holder.id}")
        self.holder = holder


class Journal(Store):
    """SQLite journal of jobs; safe to share between threads and processes.

    Each operation opens a short transaction on a per-thread connection; WAL
    mode lets readers proceed while another process writes. Claims make an unfinished
    seeded request (or sweep cell) one job across every process sharing the file.
    """

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    # -- writing ----------------------------------------------------------
    def insert(self, record: JobRecord) -> None:
        """Add a new job record. Raises :class:`ClaimTaken` (nothing written) when another
        unfinished job holds the record's claim."""
        values = [_to_column(name, getattr(record, name)) for name in _COLUMNS]
        placeholders = ", ".join("?" for _ in _COLUMNS)
        try:
            with self._write() as conn:
                conn.execute(
                    f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({placeholders})", values
                )
        except sqlite3.IntegrityError:
            holder = self.find_claim(record.claim) if record.claim else None
            if holder is None:
                raise
            raise ClaimTaken(holder) from None

    def update(self, job_id: str, **changes: Any) -> None:
        """Change some columns of a job (``updated_at`` is set automatically)."""
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"unknown journal columns: {sorted(unknown)}")
        changes.setdefault("updated_at", time.time())
        names = list(changes)
        sql = f"UPDATE jobs SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?"
        values = [_to_column(n, changes[n]) for n in names] + [job_id]
        with self._write() as conn:
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
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO votes (arena_id, left, right, outcome, voter, time) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (arena_id, left, right, outcome, voter, when),
            )
        return VoteRecord(int(cursor.lastrowid or 0), arena_id, left, right, outcome, voter, when)

    # -- reading ----------------------------------------------------------
    def votes(self, arena_id: str) -> list[VoteRecord]:
        """Every vote of arena ``arena_id``, oldest first (all voters)."""
        rows = self._read(
            "SELECT id, arena_id, left, right, outcome, voter, time FROM votes "
            "WHERE arena_id = ? ORDER BY id",
            (arena_id,),
        )
        return [VoteRecord(*tuple(row)) for row in rows]

    def get(self, job_id: str) -> JobRecord:
        """The record of ``job_id``; ``KeyError`` if there is none."""
        rows = self._read("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise KeyError(f"no job {job_id!r} in the journal")
        return _record(rows[0])

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
        return _records(self._read(sql, values))

    def find_by_tag(self, key: str, value: Any) -> list[JobRecord]:
        """Jobs whose tag ``key`` equals ``value`` (e.g. every job of one sweep), newest first."""
        return self.jobs(tag=(key, value))

    def find_by_provider_id(self, provider: str, provider_job_id: str) -> JobRecord | None:
        """The job that a provider id already belongs to, if any."""
        found = _records(self._read(
            "SELECT * FROM jobs WHERE provider = ? AND provider_job_id = ? LIMIT 1",
            (provider, provider_job_id)))
        return found[0] if found else None

    def find_prefix(self, prefix: str) -> list[str]:
        """Ids of the jobs whose id starts with ``prefix`` (how people type an id)."""
        rows = self._read(
            "SELECT id FROM jobs WHERE substr(id, 1, ?) = ? ORDER BY created_at DESC",
            (len(prefix), prefix))
        return [row["id"] for row in rows]

    def find_paid(self, fingerprint: str, *, sandbox: bool | None = None) -> JobRecord | None:
        """The newest succeeded job with this fingerprint whose clip still exists; with
        ``sandbox``, only jobs run on a sandbox (tagged ``sandbox``), or only the others."""
        kind = ""
        values: tuple[Any, ...] = (fingerprint,)
        if sandbox is not None:
            kind = "AND coalesce(json_extract(tags, '$.sandbox'), 0) = ? "
            values += (1 if sandbox else 0,)
        rows = self._read(
            "SELECT * FROM jobs WHERE fingerprint = ? AND status = 'succeeded' "
            f"AND video_path IS NOT NULL {kind}ORDER BY finished_at DESC, rowid DESC",
            values)
        for record in _records(rows):
            if record.video_path and Path(record.video_path).is_file():
                return record
        return None

    # -- claims: one unfinished job per seeded request or sweep cell ---------------------
    def find_claim(self, claim: str) -> JobRecord | None:
        """The unfinished job holding ``claim``, if any."""
        found = _records(self._read(
            f"SELECT * FROM jobs WHERE claim = ? AND phase IN ({_UNFINISHED_SQL}) LIMIT 1",
            (claim,)))
        return found[0] if found else None

    def beat(self, job_ids: list[str], owner: str) -> None:
        """Say ``owner`` still tracks these jobs (their heartbeat lease is renewed)."""
        if not job_ids:
            return
        marks = ", ".join("?" for _ in job_ids)
        with self._write() as conn:
            conn.execute(f"UPDATE jobs SET heartbeat = ? WHERE owner = ? AND id IN ({marks})",
                         [time.time(), owner, *job_ids])

    def take_over(self, job_id: str, owner: str, *, lease: float) -> bool:
        """Make ``owner`` the tracker of an unfinished job whose owner is gone (or whose
        heartbeat is older than ``lease`` seconds when this host cannot tell); atomic, so
        of two processes trying at once one wins. True when ``owner`` tracks it now."""
        with self._write() as conn:
            row = conn.execute("SELECT owner, heartbeat, phase FROM jobs WHERE id = ?",
                               (job_id,)).fetchone()
            if row is None or row["phase"] not in UNFINISHED_PHASES:
                return False
            current = row["owner"]
            if current != owner:
                alive = owner_alive(current)
                stale = (row["heartbeat"] or 0.0) < time.time() - lease
                if alive or (alive is None and not stale):
                    return False
                conn.execute("UPDATE jobs SET owner = ?, heartbeat = ? WHERE id = ?",
                             (owner, time.time(), job_id))
            return True
    # -- clip metrics cache -------------------------------------------------
    def put_metrics(self, sha256: str, version: int, data: Mapping[str, Any]) -> None:
        """Store the metrics of the clip whose bytes hash to ``sha256`` (JSON-safe ``data``)."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO clip_metrics (sha256, version, data, measured_at) "
                "VALUES (?, ?, ?, ?)",
                (sha256, int(version), json.dumps(dict(data), sort_keys=True), time.time()),
            )

    def get_metrics(self, sha256: str, version: int) -> dict[str, Any] | None:
        """The metrics stored for ``sha256`` at ``version``, or None if never measured.

        >>> import tempfile, pathlib
        >>> j = Journal(pathlib.Path(tempfile.mkdtemp()) / "journal.sqlite3")
        >>> j.put_metrics("ab12", 1, {"cuts": 2})
        >>> j.get_metrics("ab12", 1), j.get_metrics("ab12", 2)
        ({'cuts': 2}, None)
        """
        rows = self._read(
            "SELECT data FROM clip_metrics WHERE sha256 = ? AND version = ?", (sha256, int(version)))
        return dict(json.loads(rows[0]["data"])) if rows else None


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
    for name in ("id", "provider", "model", "status", "phase"):
        if not isinstance(data[name], str):
            raise TypeError(f"{name} is {data[name]!r}")
    return JobRecord(**data)


def _records(rows: list[sqlite3.Row]) -> list[JobRecord]:
    """The rows that can be read; a damaged one is skipped with a warning, so one bad row
    never hides every other job."""
    out = []
    for row in rows:
        try:
            out.append(_record(row))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("journal row %r skipped: it cannot be read (%s)",
                        dict(row).get("id", "?"), exc)
    return out
