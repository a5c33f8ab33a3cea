"""The journal's SQLite file: connections, the schema and its migrations, transactions, and
the errors a user can act on (a corrupt file, a full disk) instead of raw SQLite ones.

Several processes (two kernels, a CLI run) share one data folder: every write is a short
``BEGIN IMMEDIATE`` transaction, the schema is set up idempotently and retried while another
process holds the lock, and WAL mode lets readers go on while one process writes.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import HHError

__all__ = ["JournalError", "Store", "owner_alive", "this_owner"]

#: Milliseconds a statement waits for another process's lock before giving up.
BUSY_TIMEOUT_MS = 30_000
#: Attempts at setting up the schema while other processes create the same file.
SETUP_ATTEMPTS = 50

_TABLES = """
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
CREATE TABLE IF NOT EXISTS clip_metrics (
    sha256      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    data        TEXT NOT NULL,
    measured_at REAL NOT NULL,
    PRIMARY KEY (sha256, version)
);
"""
#: Columns added after the first release: (table, column, declaration).
_ADDED_COLUMNS = (
    ("jobs", "claim", "TEXT"),
    ("jobs", "owner", "TEXT"),
    ("jobs", "heartbeat", "REAL"),
)
#: An unfinished job holding a claim (a seeded request, a sweep cell) is the only one: a
#: second process inserting the same claim fails atomically and follows that job instead.
_CLAIM_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS jobs_live_claim ON jobs (claim) "
    "WHERE claim IS NOT NULL AND phase IN ('submitting', 'polling', 'downloading')"
)


class JournalError(HHError):
    """The journal file cannot be used (corrupt, not a database, disk full, locked)."""


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def this_owner() -> str:
    """Who this process is, for claims: host, pid and the process's start time (so a reused
    pid is not mistaken for the owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid()) or '-'}"


def owner_alive(owner: str | None) -> bool | None:
    """True when ``owner`` is a live process on this host, False when it is certainly gone,
    None when this host cannot tell (another machine: only its heartbeat lease can)."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    now = _start_time(int(pid_text))
    return now is not None and (started in ("", "-") or now == started)


class Store:
    """One SQLite file, one connection per thread, short immediate transactions."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise JournalError(f"cannot keep a journal in {self.path.parent}: it is not a "
                               "folder") from None
        self._local = threading.local()
        self._set_up()

    # -- errors a user can act on -------------------------------------------------
    def _explain(self, exc: sqlite3.Error) -> JournalError:
        text = str(exc)
        if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text
                                                        or "malformed" in text):
            return JournalError(
                f"the journal {self.path} is not a readable SQLite database ({text}). Move it "
                f"aside (e.g. rename it to {self.path.name}.broken) and a new journal is "
                f"started; the clips in {self.path.parent / 'clips'} are kept.")
        if "disk is full" in text or "disk I/O" in text:
            return JournalError(f"the journal {self.path} could not be written: the disk is "
                                f"full ({text}). Free some space, then resume the job.")
        if "locked" in text or "busy" in text:
            return JournalError(f"the journal {self.path} stayed locked by another process "
                                f"for {BUSY_TIMEOUT_MS / 1000:.0f} s ({text}); try again.")
        return JournalError(f"the journal {self.path} failed: {text}")

    # -- connections ------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                       isolation_level=None)
                # The busy timeout first: switching to WAL needs a lock another process
                # creating the same file may hold.
                conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as exc:
                raise self._explain(exc) from None
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One immediate transaction: committed, or rolled back on any error."""
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._explain(exc) from None
        try:
            yield conn
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK")
            raise
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise self._explain(exc) from None
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise self._explain(exc) from None

    def _read(self, sql: str, values: tuple[object, ...] | list[object] = ()) -> list[sqlite3.Row]:
        try:
            return list(self._connection().execute(sql, values).fetchall())
        except sqlite3.Error as exc:
            raise self._explain(exc) from None

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- schema -----------------------------------------------------------------------
    def _set_up(self) -> None:
        """Create or migrate the schema; safe when several processes start at once."""
        last: sqlite3.Error | None = None
        for attempt in range(SETUP_ATTEMPTS):
            try:
                with self._write() as conn:
                    for statement in _TABLES.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    present = {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}
                    for table, column, kind in _ADDED_COLUMNS:
                        if column not in present:
                            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                    conn.execute(_CLAIM_INDEX)
                return
            except JournalError as exc:
                cause = exc.__context__
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                last = cause if isinstance(cause, sqlite3.Error) else None
                time.sleep(0.02 * (attempt + 1))
        raise self._explain(last or sqlite3.OperationalError("database is locked"))
