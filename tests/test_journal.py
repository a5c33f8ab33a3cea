"""The SQLite journal: records, lookups, ratings, tags, and concurrent writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from hh_notebook.journal import JobRecord, Journal


def record(job_id: str, **changes) -> JobRecord:
    now = time.time()
    base = {"id": job_id, "provider": "segmind", "model": "1.1",
            "request": {"prompt": f"p {job_id}"}, "status": "submitting",
            "phase": "submitting", "created_at": now, "updated_at": now}
    base.update(changes)
    return JobRecord(**base)


def test_round_trip_and_update(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.insert(record("a", tags={"sweep": "s"}, fingerprint="f1"))
    journal.update("a", status="queued", phase="polling", provider_job_id="r-1",
                   urls={"status_url": "http://x/status"})
    got = journal.get("a")
    assert (got.status, got.phase, got.provider_job_id) == ("queued", "polling", "r-1")
    assert got.urls == {"status_url": "http://x/status"}
    assert got.tags == {"sweep": "s"}
    assert got.request == {"prompt": "p a"}
    assert got.unfinished


def test_unknown_job_and_unknown_column(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    with pytest.raises(KeyError):
        journal.get("nope")
    with pytest.raises(KeyError):
        journal.update("nope", status="failed")
    journal.insert(record("a"))
    with pytest.raises(ValueError, match="api_key"):
        journal.update("a", api_key="x")


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    Journal(tmp_path / "j.sqlite3")
    mode = sqlite3.connect(tmp_path / "j.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_jobs_newest_first_and_filters(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.insert(record("old", created_at=1.0, phase="done", status="succeeded"))
    journal.insert(record("new", created_at=2.0, provider="hiapi", phase="polling"))
    assert [r.id for r in journal.jobs()] == ["new", "old"]
    assert [r.id for r in journal.jobs(unfinished=True)] == ["new"]
    assert [r.id for r in journal.jobs(provider="segmind")] == ["old"]


def test_find_paid_needs_success_and_an_existing_clip(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    clip = tmp_path / "a.mp4"
    clip.write_bytes(b"....ftyp")
    journal.insert(record("failed", fingerprint="f", status="failed", phase="done"))
    assert journal.find_paid("f") is None
    journal.insert(record("ok", fingerprint="f", status="succeeded", phase="done",
                          video_path=str(clip), finished_at=5.0))
    assert journal.find_paid("f").id == "ok"
    assert journal.find_paid("other") is None
    clip.unlink()
    assert journal.find_paid("f") is None


def test_ratings_and_notes(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.insert(record("a"))
    journal.set_rating("a", 4, "nice motion")
    got = journal.get("a")
    assert (got.rating, got.note) == (4, "nice motion")
    journal.set_rating("a", None, None)
    assert journal.get("a").rating is None
    with pytest.raises(TypeError):
        journal.set_rating("a", "five")  # type: ignore[arg-type]


def test_tags_lookup(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.insert(record("a", tags={"sweep": "s1", "cell": "0"}))
    journal.insert(record("b", tags={"sweep": "s2"}))
    assert [r.id for r in journal.find_by_tag("sweep", "s1")] == ["a"]
    assert [r.id for r in journal.jobs(tag=("cell", "0"))] == ["a"]
    with pytest.raises(ValueError):
        journal.find_by_tag("a.b", "x")


def test_threads_write_concurrently(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                journal.insert(record(f"t{n}-{i}"))
                journal.update(f"t{n}-{i}", status="queued", phase="polling")
        except (sqlite3.Error, KeyError, ValueError) as exc:  # checked below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(journal.jobs()) == 100
    assert all(r.status == "queued" for r in journal.jobs())


def _process_writer(path: str, n: int) -> None:
    journal = Journal(path)
    for i in range(20):
        journal.insert(record(f"p{n}-{i}"))
        journal.update(f"p{n}-{i}", status="running", phase="polling")


def test_processes_write_concurrently(tmp_path: Path) -> None:
    path = str(tmp_path / "j.sqlite3")
    Journal(path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_writer, args=(path, n)) for n in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    rows = Journal(path).jobs()
    assert len(rows) == 60
    assert {r.status for r in rows} == {"running"}
