"""Clip metrics of a real sandbox sweep: SweepResult.measure, its cache, columns in every
export, duplicates and seed diversity; and hh.measure."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import pathlib
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from sweep_fixtures import finished_sweep

import hh_notebook as hh
from hh_notebook import metrics
from hh_notebook.client import Client
from hh_notebook.errors import MissingDependency
from hh_notebook.journal import Journal
from hh_notebook.metrics import METRICS_VERSION, ClipMetrics, file_sha256, hash_distance
from hh_notebook.metrics import seed_diversity as hash_diversity
from hh_notebook.metrics_columns import METRIC_COLUMNS, RECORD_KEYS
from hh_notebook.sandbox import Sandbox
from hh_notebook.sweep import SweepResult

FIGURES = [c.name for c in METRIC_COLUMNS]


@pytest.fixture(scope="module")
def done(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Client, SweepResult]]:
    """A 2 × 2 sweep (seed 601-602 × 16:9, 9:16), measured once in worker processes."""
    client, result = finished_sweep(sandbox, tmp_path_factory.mktemp("sweep-metrics"))
    yield client, result.measure()
    client.close()


def parallel_jobs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record the clips each measure_many hands to worker processes (cache hits never go)."""
    batches: list[dict[str, Any]] = []
    real = metrics.run_parallel

    def recording(fn: Any, jobs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        batches.append(dict(jobs))
        return real(fn, jobs, *args, **kwargs)

    monkeypatch.setattr(metrics, "run_parallel", recording)
    return batches


def test_measure_gives_every_clip_its_own_figures(done: tuple[Client, SweepResult]) -> None:
    _, result = done
    assert len(result.metrics) == 4
    for row in result.rows:
        assert row.metrics is not None and row.metrics.ok
        assert row.metrics.sha256 == file_sha256(row.video_path)
        assert row.metrics.duration_s == pytest.approx(3.0, abs=0.1)


def test_clips_that_differ_by_seed_get_different_metrics(
        done: tuple[Client, SweepResult]) -> None:
    rows = {(r.params["seed"], r.params["aspect_ratio"]): r.metrics for r in done[1].rows}
    for aspect in ("16:9", "9:16"):
        one, two = rows[(601, aspect)], rows[(602, aspect)]
        assert one is not None and two is not None
        assert hash_distance(one, two) not in (None, 0.0)
        assert one.motion_px != two.motion_px and one.lufs != two.lufs


def test_figures_are_stored_in_the_sweeps_journal(done: tuple[Client, SweepResult]) -> None:
    client, result = done
    for row in result.rows:
        stored = client.journal.get_metrics(file_sha256(row.video_path), METRICS_VERSION)
        assert stored is not None and ClipMetrics.from_dict(stored).hashes == row.metrics.hashes


def test_measuring_again_hits_the_journal_and_measures_nothing(
        done: tuple[Client, SweepResult], monkeypatch: pytest.MonkeyPatch) -> None:
    _, result = done
    batches = parallel_jobs(monkeypatch)
    again = result.sweep.result()
    assert again.metrics == {}
    arrived: list[str] = []
    again.measure(on_result=lambda row: arrived.append(row.key))
    assert batches == [{}]
    assert sorted(arrived) == sorted(r.key for r in result.rows)
    for row in again.rows:
        assert row.metrics is not None
        assert dataclasses.replace(row.metrics, path="") == \
            dataclasses.replace(result.metrics[row.key], path="")


def test_a_measured_result_is_not_measured_twice(
        done: tuple[Client, SweepResult], monkeypatch: pytest.MonkeyPatch) -> None:
    batches = parallel_jobs(monkeypatch)
    arrived: list[str] = []
    assert done[1].measure(on_result=lambda row: arrived.append(row.key)) is done[1]
    assert batches == [] and arrived == []


def test_records_pandas_csv_and_json_carry_the_metric_columns(
        done: tuple[Client, SweepResult]) -> None:
    result = done[1]
    motion = {r.key: r.metrics.motion_px for r in result.rows if r.metrics}
    records = result.to_records()
    assert all(set(RECORD_KEYS) <= set(rec) for rec in records)
    assert {rec["cell"]: rec["motion_px"] for rec in records} == motion
    frame = result.to_pandas()
    assert set(FIGURES) <= set(frame.columns)
    assert dict(zip(frame["cell"], frame["motion_px"])) == motion
    table = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert {r["cell"]: float(r["motion_px"]) for r in table} == pytest.approx(motion)
    assert all(r["cuts"] == "0" and r["phash"].count(" ") == 3 for r in table)
    rows = json.loads(result.to_json())["rows"]
    assert {r["cell"]: r["motion_px"] for r in rows} == motion
    assert all(r["metrics_version"] == METRICS_VERSION for r in rows)


def test_an_unmeasured_result_has_no_metric_columns(done: tuple[Client, SweepResult]) -> None:
    fresh = done[1].sweep.result()
    assert not set(FIGURES) & set(fresh.to_records()[0])


def test_a_row_without_figures_gets_empty_metric_columns(
        done: tuple[Client, SweepResult]) -> None:
    result = done[1].refresh()
    result.rows[1] = dataclasses.replace(result.rows[1], metrics=None)
    records = result.to_records()
    assert records[0]["motion_px"] is not None
    assert all(records[1][key] is None for key in RECORD_KEYS)


def test_refresh_keeps_the_figures_of_unchanged_clips(done: tuple[Client, SweepResult]) -> None:
    assert done[1].refresh().metrics == done[1].metrics


def test_duplicates_groups_clips_within_the_distance(done: tuple[Client, SweepResult]) -> None:
    result = done[1]
    assert result.duplicates(max_distance=0) == []
    (group,) = result.duplicates(max_distance=64)
    assert sorted(r.key for r in group) == sorted(r.key for r in result.rows)


def test_seed_diversity_compares_clips_that_differ_only_by_seed(
        done: tuple[Client, SweepResult]) -> None:
    result = done[1]
    by_aspect: dict[str, list[ClipMetrics]] = {}
    for row in result.rows:
        assert row.metrics is not None
        by_aspect.setdefault(row.params["aspect_ratio"], []).append(row.metrics)
    expected = sum(hash_diversity(g) for g in by_aspect.values()) / len(by_aspect)
    assert result.seed_diversity() == pytest.approx(expected)
    assert 0.0 < result.seed_diversity() < 1.0


def test_seed_diversity_needs_a_seed_axis(done: tuple[Client, SweepResult]) -> None:
    result = done[1].refresh()
    result.axes = [a for a in result.axes if a.name != "seed"]
    with pytest.raises(ValueError, match="seed axis"):
        result.seed_diversity()


def test_measure_without_the_extra_names_it(
        done: tuple[Client, SweepResult], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` fail
    with pytest.raises(MissingDependency, match=r"pip install 'hh_notebook\[metrics\]'"):
        done[1].sweep.result().measure()


# --------------------------------------------------------------------------- hh.measure


def count_analyses(monkeypatch: pytest.MonkeyPatch) -> list[pathlib.Path]:
    calls: list[pathlib.Path] = []
    real = metrics._analyse

    def counting(path: pathlib.Path, sha256: str) -> ClipMetrics:
        calls.append(path)
        return real(path, sha256)

    monkeypatch.setattr(metrics, "_analyse", counting)
    return calls


def test_hh_measure_caches_in_the_data_directory_journal(
        done: tuple[Client, SweepResult], tmp_path: pathlib.Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HH_DATA_DIR", str(tmp_path / "data"))
    calls = count_analyses(monkeypatch)
    row = done[1].rows[0]
    job = SimpleNamespace(video_path=row.video_path)  # anything with a video_path
    first, second = hh.measure(job), hh.measure(row.video_path)
    assert len(calls) == 1
    assert first.motion_px == second.motion_px == row.metrics.motion_px
    journal = Journal(tmp_path / "data" / "journal.sqlite3")
    assert journal.get_metrics(file_sha256(row.video_path), METRICS_VERSION) is not None


def test_hh_measure_without_the_cache_decodes_every_time(
        done: tuple[Client, SweepResult], tmp_path: pathlib.Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HH_DATA_DIR", str(tmp_path / "data"))
    calls = count_analyses(monkeypatch)
    path = done[1].rows[1].video_path
    hh.measure(path, cache=False)
    hh.measure(path, cache=False)
    assert len(calls) == 2 and not (tmp_path / "data").exists()
