"""Clip metrics on synthetic clips whose content is known (tests/metrics_fixtures.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import metrics_fixtures as mf
import pytest

from hh_notebook import metrics
from hh_notebook.errors import MediaError, MissingDependency
from hh_notebook.journal import Journal
from hh_notebook.metrics import (
    METRICS_VERSION,
    ClipMetrics,
    duplicates,
    file_sha256,
    hash_distance,
    measure,
    measure_many,
    seed_diversity,
)
from hh_notebook.metrics_video import ANALYSIS_WIDTH


def count_analyses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every clip really decoded (cache hits never reach ``_analyse``)."""
    calls: list[Path] = []
    real: Callable[[Path, str], ClipMetrics] = metrics._analyse

    def counting(path: Path, sha256: str) -> ClipMetrics:
        calls.append(path)
        return real(path, sha256)

    monkeypatch.setattr(metrics, "_analyse", counting)
    return calls


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every synthetic clip of this module, encoded once."""
    folder = tmp_path_factory.mktemp("metric-clips")
    made = {
        "static": mf.static_clip(folder / "static.mp4"),
        "pan": mf.panning_clip(folder / "pan.mp4", px_per_frame=2),
        "steady": mf.brightness_clip(folder / "steady.mp4", swing=0),
        "flicker": mf.brightness_clip(folder / "flicker.mp4", swing=15),
        "sharp": mf.blurred_clip(folder / "sharp.mp4", sigma=0),
        "blurred": mf.blurred_clip(folder / "blurred.mp4", sigma=2),
        "one_shot": mf.cuts_clip(folder / "one_shot.mp4", scenes=1, seconds_per_scene=3),
        "three_shots": mf.cuts_clip(folder / "three_shots.mp4", scenes=3),
    }
    for name, lufs in (("silent", None), ("tone_23", -23.0), ("tone_14", -14.0)):
        made[name], _ = mf.tone_clip(folder / f"{name}.mp4", lufs)
    return made


@pytest.fixture(scope="module")
def measured(clips: dict[str, Path]) -> dict[str, ClipMetrics]:
    return {name: measure(path) for name, path in clips.items()}


def test_a_panning_clip_has_more_motion_than_a_static_one(
        measured: dict[str, ClipMetrics]) -> None:
    pan, static = measured["pan"], measured["static"]
    assert pan.motion_px is not None and static.motion_px is not None
    assert pan.motion_px > static.motion_px + 1.0


def test_a_panning_clip_has_a_higher_dynamic_degree_than_a_static_one(
        measured: dict[str, ClipMetrics]) -> None:
    assert measured["pan"].dynamic_degree == pytest.approx(1.0)
    assert measured["static"].dynamic_degree == pytest.approx(0.0)


def test_the_pan_speed_is_recovered_in_analysis_pixels(measured: dict[str, ClipMetrics]) -> None:
    expected = 2 * ANALYSIS_WIDTH / mf.WIDTH  # 2 source px per frame, seen 256 px wide
    assert measured["pan"].motion_px == pytest.approx(expected, rel=0.15)


def test_a_flickering_clip_has_more_flicker_than_a_steady_one(
        measured: dict[str, ClipMetrics]) -> None:
    flicker, steady = measured["flicker"].flicker, measured["steady"].flicker
    assert flicker is not None and steady is not None
    assert flicker > 10 * max(steady, 0.1)


def test_a_pan_is_not_counted_as_flicker(measured: dict[str, ClipMetrics]) -> None:
    pan, flicker = measured["pan"].flicker, measured["flicker"].flicker
    assert pan is not None and flicker is not None
    assert pan < flicker / 20


def test_a_blurred_clip_is_less_sharp_than_the_sharp_one(
        measured: dict[str, ClipMetrics]) -> None:
    sharp, blurred = measured["sharp"].sharpness, measured["blurred"].sharpness
    assert sharp is not None and blurred is not None
    assert sharp > 5 * blurred


def test_hard_cuts_are_counted(measured: dict[str, ClipMetrics]) -> None:
    assert (measured["one_shot"].cuts, measured["three_shots"].cuts) == (0, 2)


def test_loudness_orders_silence_below_quiet_below_loud(
        measured: dict[str, ClipMetrics]) -> None:
    levels = [measured[name].lufs for name in ("silent", "tone_23", "tone_14")]
    known = [level for level in levels if level is not None]
    assert len(known) == 3 and known[0] < known[1] < known[2]


@pytest.mark.parametrize("lufs", [-23.0, -14.0])
def test_integrated_loudness_matches_the_encoded_tone(tmp_path: Path, lufs: float) -> None:
    path, known = mf.tone_clip(tmp_path / "tone.mp4", lufs)
    measured_lufs = measure(path).lufs
    assert measured_lufs is not None and abs(measured_lufs - known) <= 0.5


def test_silence_reports_the_floors_and_a_full_silence_share(
        measured: dict[str, ClipMetrics]) -> None:
    silent = measured["silent"]
    assert (silent.lufs, silent.peak_dbfs, silent.silence_share) == (-70.0, -120.0, 1.0)


def test_a_tone_is_not_silent_and_peaks_below_full_scale(
        measured: dict[str, ClipMetrics]) -> None:
    tone = measured["tone_14"]
    assert tone.silence_share == 0.0
    assert tone.peak_dbfs is not None and -14.0 < tone.peak_dbfs < 0.0


def test_a_clip_without_audio_has_no_audio_figures(measured: dict[str, ClipMetrics]) -> None:
    static = measured["static"]
    assert static.has_audio is False
    assert (static.lufs, static.peak_dbfs, static.silence_share, static.av_sync_lag_ms) == (
        None, None, None, None)


@pytest.mark.parametrize("lag_ms", [-160.0, 240.0])
def test_the_sync_proxy_recovers_a_known_audio_lag(tmp_path: Path, lag_ms: float) -> None:
    result = measure(mf.burst_clip(tmp_path / "burst.mp4", lag_ms))
    one_frame_ms = 1000 / mf.FPS
    assert result.av_sync_lag_ms is not None
    assert abs(result.av_sync_lag_ms - lag_ms) <= one_frame_ms
    assert result.av_sync_corr is not None and result.av_sync_corr > 0.3


def test_an_exact_duplicate_is_grouped_at_distance_zero(
        clips: dict[str, Path], measured: dict[str, ClipMetrics], tmp_path: Path) -> None:
    copy = shutil.copy(clips["pan"], tmp_path / "copy.mp4")
    group = [measured["static"], measured["pan"], measure(copy), measured["three_shots"]]
    assert hash_distance(group[1], group[2]) == 0.0
    assert duplicates(group) == [[1, 2]]


def test_seed_diversity_is_zero_for_identical_clips_and_positive_otherwise(
        measured: dict[str, ClipMetrics]) -> None:
    same = [measured["pan"], measured["pan"]]
    mixed = [measured["pan"], measured["three_shots"], measured["sharp"]]
    assert seed_diversity(same) == 0.0
    assert 0.0 < seed_diversity(mixed) <= 1.0


def test_sandbox_clips_differing_only_by_seed_measure_differently(tmp_path: Path) -> None:
    from hh_notebook.sandbox.clips import ClipSpec, render_clip

    results = []
    for seed in (1, 2):
        spec = ClipSpec(provider="segmind", model="happyhorse-1.1", mode="t2v",
                        prompt="a white horse at sunset", seed=seed, resolution="720P",
                        aspect_ratio="16:9", duration=3)
        render_clip(spec, str(tmp_path / f"seed{seed}.mp4"))
        results.append(measure(tmp_path / f"seed{seed}.mp4"))
    one, two = results
    assert one.ok and two.ok
    assert hash_distance(one, two) not in (None, 0.0)
    assert one.lufs != two.lufs and one.to_dict() != two.to_dict()


def test_a_second_measure_of_the_same_file_is_a_cache_hit(
        clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_analyses(monkeypatch)
    journal = Journal(tmp_path / "journal.sqlite3")
    first = measure(clips["pan"], journal=journal)
    second = measure(clips["pan"], journal=journal)
    assert len(calls) == 1 and second == first


def test_measured_figures_are_stored_in_the_journal(clips: dict[str, Path],
                                                    tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    result = measure(clips["three_shots"], journal=journal)
    row = journal.get_metrics(file_sha256(clips["three_shots"]), METRICS_VERSION)
    assert row is not None and ClipMetrics.from_dict(row) == result


def test_a_cache_hit_reports_the_path_asked_about(clips: dict[str, Path], tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    measure(clips["static"], journal=journal)
    copy = Path(shutil.copy(clips["static"], tmp_path / "elsewhere.mp4"))
    assert measure(copy, journal=journal).path == str(copy)


def test_measure_many_keeps_input_order_and_reports_a_bad_file(
        clips: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    paths = [clips["pan"], bad, clips["static"], tmp_path / "missing.mp4"]
    results = measure_many(paths, workers=2)
    assert [r.path for r in results] == [str(p) for p in paths]
    assert [r.ok for r in results] == [True, False, True, False]
    assert results[0].sha256 == file_sha256(clips["pan"])
    assert "MediaError" in (results[1].error or "") and results[1].cuts is None


def test_measure_many_measures_identical_bytes_once(
        clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_analyses(monkeypatch)
    copy = Path(shutil.copy(clips["sharp"], tmp_path / "twin.mp4"))
    results = measure_many([clips["sharp"], copy], workers=1)
    assert len(calls) == 1 and [r.path for r in results] == [str(clips["sharp"]), str(copy)]


def test_measure_many_skips_clips_already_in_the_journal(
        clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    measure(clips["blurred"], journal=journal)
    calls = count_analyses(monkeypatch)
    measure_many([clips["blurred"], clips["steady"]], workers=1, journal=journal)
    assert calls == [clips["steady"]]
    assert journal.get_metrics(file_sha256(clips["steady"]), METRICS_VERSION) is not None


def test_a_job_is_measured_through_its_video_path(clips: dict[str, Path],
                                                  measured: dict[str, ClipMetrics]) -> None:
    job = SimpleNamespace(video_path=str(clips["pan"]))
    assert measure(job) == measured["pan"]


def test_a_job_without_a_clip_raises_media_error() -> None:
    with pytest.raises(MediaError, match="no clip"):
        measure(SimpleNamespace(video_path=None))


@pytest.mark.parametrize("content", [None, b"not a video at all", b""])
def test_an_unreadable_file_raises_media_error(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "clip.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(MediaError, match="clip.mp4"):
        measure(path)


def test_without_the_extra_measure_raises_missing_dependency(
        clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` fail
    with pytest.raises(MissingDependency, match=r"hh_notebook\[metrics\]"):
        measure(clips["static"])


def test_importing_the_package_does_not_load_the_heavy_libraries() -> None:
    code = ("import sys, hh_notebook, hh_notebook.metrics; "
            "print(sorted(m for m in ('cv2', 'scenedetect', 'pyloudnorm', 'imagehash', 'av') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_to_dict_is_flat_json_and_round_trips(measured: dict[str, ClipMetrics]) -> None:
    data = measured["tone_23"].to_dict()
    assert all(isinstance(v, (str, int, float, bool, type(None))) for v in data.values())
    assert {"motion_px", "dynamic_degree", "flicker", "sharpness", "cuts", "lufs", "peak_dbfs",
            "silence_share", "av_sync_lag_ms"} <= set(data)
    again = json.loads(json.dumps(data, allow_nan=False))
    assert ClipMetrics.from_dict(again) == measured["tone_23"]
