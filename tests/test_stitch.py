"""Last frames and stitching: exact frames, no repeated boundary picture, no click, right mode."""

from __future__ import annotations

import io
import json
from itertools import pairwise
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from stitch_fixtures import (
    audio_end,
    chained_shots,
    decode_audio,
    decode_frames,
    frame_distance,
    independent_shots,
    inner_jump,
    largest_jump_near,
    last_shown_is_last_decoded,
    naive_concat,
    stream_info,
    video_packets,
    write_audio_only,
    write_shot,
)

from hh_notebook.errors import MediaError
from hh_notebook.stitch import (
    CAN_WRITE_CHAPTERS,
    StitchResult,
    last_frame,
    last_frame_png,
    stitch,
)

FPS = 24


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shots")


@pytest.fixture(scope="module")
def chained(folder: Path) -> list[Path]:
    """Three 2 s shots without B-frames, each starting on the previous one's last picture."""
    return chained_shots(folder, 3)


@pytest.fixture(scope="module")
def chained_bframes(folder: Path) -> list[Path]:
    """Two chained shots with B-frames."""
    return chained_shots(folder, 2, prefix="bframes", bframes=2)


@pytest.fixture(scope="module")
def unrelated(folder: Path) -> list[Path]:
    return independent_shots(folder, 3)


@pytest.fixture(scope="module")
def mixed(folder: Path) -> list[Path]:
    """An odd first shot (4:3, 30 fps, 44.1 kHz stereo), then three 320x180 24 fps shots,
    one of them silent: the most common format is not the first shot's."""
    return [
        write_shot(folder / "mixed0.mp4", index=0, seed=1, width=240, height=180, fps=30,
                   sample_rate=44100, layout="stereo"),
        write_shot(folder / "mixed1.mp4", index=1, seed=2, start_t=100),
        write_shot(folder / "mixed2.mp4", index=2, seed=3, start_t=200, sample_rate=None),
        write_shot(folder / "mixed3.mp4", index=3, seed=4, start_t=300),
    ]


@pytest.fixture(scope="module")
def stitched(chained: list[Path], folder: Path) -> StitchResult:
    return stitch(chained, folder / "stitched.mp4")


def click_threshold(shots: list[Path]) -> float:
    """1.5x the largest sample-to-sample jump inside any of the shots."""
    return 1.5 * max(inner_jump(shot) for shot in shots)


def video_duration(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.duration is not None and stream.time_base is not None
        return float(stream.duration * stream.time_base)


# --- last frame ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["plain", "bframes"])
def test_last_frame_is_the_final_decoded_frame(kind: str, chained: list[Path],
                                               chained_bframes: list[Path]) -> None:
    shot = (chained if kind == "plain" else chained_bframes)[0]
    expected = decode_frames(shot)[-1]
    assert np.array_equal(np.asarray(last_frame(shot)), expected)


def test_last_frame_is_right_when_the_sound_outlasts_the_video(folder: Path) -> None:
    shot = write_shot(folder / "long_sound.mp4", seconds=2.0, audio_seconds=3.5)
    with av.open(str(shot)) as container:
        assert container.duration is not None and container.duration / 1e6 > 3.0  # precondition
    assert np.array_equal(np.asarray(last_frame(shot)), decode_frames(shot)[-1])


def test_last_frame_png_is_lossless(chained: list[Path]) -> None:
    png = last_frame_png(chained[1])
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert np.array_equal(np.asarray(image.convert("RGB")), decode_frames(chained[1])[-1])


def test_last_frame_has_full_resolution(mixed: list[Path]) -> None:
    assert last_frame(mixed[0]).size == (240, 180)


@pytest.mark.parametrize("content", ["missing", "empty", "text", "audio only"])
def test_unreadable_inputs_raise_media_error(content: str, folder: Path) -> None:
    path = folder / f"bad-{content.replace(' ', '-')}.mp4"
    if content == "empty":
        path.write_bytes(b"")
    elif content == "text":
        path.write_text("not a video at all\n" * 20)
    elif content == "audio only":
        write_audio_only(path)
    with pytest.raises(MediaError):
        last_frame(path)
    with pytest.raises(MediaError):
        stitch([path], folder / f"out-{path.stem}.mp4")


# --- frames -------------------------------------------------------------------------------


def test_stitched_frame_count_is_exact(stitched: StitchResult, chained: list[Path]) -> None:
    inputs = sum(len(decode_frames(shot)) for shot in chained)
    assert len(decode_frames(stitched.path)) == stitched.frames == inputs - stitched.dropped_frames


def test_stitched_duration_is_the_shots_minus_dropped_frames(stitched: StitchResult,
                                                            chained: list[Path]) -> None:
    expected = sum(video_duration(shot) for shot in chained) - stitched.dropped_frames / FPS
    assert abs(video_duration(stitched.path) - expected) <= 1 / FPS
    assert abs(stitched.duration - expected) <= 1 / FPS


def test_boundary_duplicates_are_gone(stitched: StitchResult, chained: list[Path]) -> None:
    shots = [decode_frames(shot) for shot in chained]
    motion = float(np.median([frame_distance(a, b) for a, b in pairwise(shots[0])]))
    repeats = [frame_distance(a[-1], b[0]) for a, b in pairwise(shots)]
    assert max(repeats) < motion / 5  # the inputs do repeat a picture at each join
    out = decode_frames(stitched.path)
    joins = [b.frame_start for b in stitched.shots[1:]]
    assert stitched.dropped_frames == len(joins) == 2
    assert all(frame_distance(out[j - 1], out[j]) > motion / 2 for j in joins)


def test_unrelated_shots_keep_every_frame(unrelated: list[Path], folder: Path) -> None:
    result = stitch(unrelated, folder / "unrelated.mp4")
    assert result.dropped_frames == 0
    assert len(decode_frames(result.path)) == sum(len(decode_frames(s)) for s in unrelated)


def test_drop_boundary_frame_false_keeps_every_frame(chained: list[Path], folder: Path) -> None:
    result = stitch(chained, folder / "kept.mp4", drop_boundary_frame=False)
    assert result.dropped_frames == 0
    assert len(decode_frames(result.path)) == sum(len(decode_frames(s)) for s in chained)


# --- sound --------------------------------------------------------------------------------


def test_joins_do_not_click(stitched: StitchResult, chained: list[Path]) -> None:
    threshold = click_threshold(chained)
    samples, rate = decode_audio(stitched.path)
    for join in stitched.shots[1:]:
        assert largest_jump_near(samples, rate, join.start) < threshold


def test_joins_click_without_a_crossfade(chained: list[Path], folder: Path) -> None:
    result = stitch(chained, folder / "no_fade.mp4", crossfade_ms=0)
    threshold = click_threshold(chained)
    samples, rate = decode_audio(result.path)
    for join in result.shots[1:]:
        assert largest_jump_near(samples, rate, join.start) > threshold


def test_a_naive_concat_clicks(chained: list[Path], folder: Path) -> None:
    out = naive_concat(chained, folder / "naive.mp4")
    threshold = click_threshold(chained)
    samples, rate = decode_audio(out)
    # Each shot's AAC priming packet pushes the sound later by ~21 ms per join, so the
    # click is looked for in a wider window than in the stitch.
    for k in (1, 2):
        assert largest_jump_near(samples, rate, k * 2.0, window=0.06) > threshold


def test_sound_lasts_as_long_as_the_video(stitched: StitchResult) -> None:
    assert abs(audio_end(stitched.path) - stitched.duration) < 0.001
    samples, rate = decode_audio(stitched.path)
    assert abs(samples.shape[1] / rate - stitched.duration) < 0.001


def test_silent_shot_gives_silence(mixed: list[Path], folder: Path) -> None:
    result = stitch(mixed, folder / "mixed_sound.mp4")
    samples, rate = decode_audio(result.path)
    silent = result.shots[2]
    middle = samples[:, round((silent.start + 0.05) * rate) : round((silent.end - 0.05) * rate)]
    assert middle.size and float(np.abs(middle).max()) < 0.01
    around = samples[:, round(result.shots[1].start * rate) : round(silent.start * rate)]
    assert float(np.abs(around).max()) > 0.1  # the shot before it does sound


# --- modes --------------------------------------------------------------------------------


def test_same_spec_shots_are_stream_copied(stitched: StitchResult, chained: list[Path]) -> None:
    assert stitched.mode == "copy" and stitched.reencode_reasons == ()
    expected: list[bytes] = []
    for shot, bound in zip(chained, stitched.shots):
        packets = video_packets(shot)
        last_shown = max(pts for pts, _ in packets)
        expected += [data for pts, data in packets
                     if not (bound.dropped_last_frame and pts == last_shown)]
    assert [data for _, data in video_packets(stitched.path)] == expected


def test_copied_frames_equal_the_inputs_pixel_for_pixel(stitched: StitchResult,
                                                        chained: list[Path]) -> None:
    out = decode_frames(stitched.path)
    expected = []
    for shot, bound in zip(chained, stitched.shots):
        frames = decode_frames(shot)
        expected += frames[:-1] if bound.dropped_last_frame else frames
    assert len(out) == len(expected)
    assert all(np.array_equal(a, b) for a, b in zip(out, expected))


def test_copy_output_decodes_as_h264_and_aac(stitched: StitchResult) -> None:
    info = stream_info(stitched.path)
    assert (info["video_codec"], info["audio_codec"], info["size"]) == ("h264", "aac", (320, 180))


def test_bframe_shots_are_reencoded_to_drop_a_boundary_frame(chained_bframes: list[Path],
                                                             folder: Path) -> None:
    assert not last_shown_is_last_decoded(chained_bframes[0])  # the copy rule's case
    result = stitch(chained_bframes, folder / "bframes.mp4")
    assert result.mode == "reencode" and result.dropped_frames == 1
    assert any("decode order" in reason for reason in result.reencode_reasons)
    assert len(decode_frames(result.path)) == result.frames == 2 * 2 * FPS - 1


def test_bframe_shots_are_copied_when_no_frame_is_dropped(chained_bframes: list[Path],
                                                          folder: Path) -> None:
    result = stitch(chained_bframes, folder / "bframes_kept.mp4", drop_boundary_frame=False)
    assert result.mode == "copy"
    expected = [f for shot in chained_bframes for f in decode_frames(shot)]
    out = decode_frames(result.path)
    assert len(out) == len(expected)
    assert all(np.array_equal(a, b) for a, b in zip(out, expected))


def test_mixed_specs_are_reencoded_to_the_most_common_spec(mixed: list[Path],
                                                          folder: Path) -> None:
    result = stitch(mixed, folder / "mixed.mp4")
    assert result.mode == "reencode" and result.reencode_reasons
    info = stream_info(result.path)
    assert info == {"video_codec": "h264", "size": (320, 180), "fps": FPS, "audio_codec": "aac",
                    "sample_rate": 48000, "channels": 1}
    assert [b.frame_end - b.frame_start for b in result.shots] == [2 * FPS] * 4
    assert len(decode_frames(result.path)) == result.frames == 4 * 2 * FPS


def test_a_different_sample_rate_alone_keeps_the_video_copy(chained: list[Path],
                                                            folder: Path) -> None:
    odd = write_shot(folder / "odd_rate.mp4", index=3, start_t=500, seed=9, sample_rate=44100,
                     layout="stereo")
    result = stitch([*chained, odd], folder / "odd_rate_out.mp4")
    assert result.mode == "copy"  # the sound is re-encoded in every mode anyway
    info = stream_info(result.path)
    assert (info["sample_rate"], info["channels"]) == (48000, 1)
    assert abs(audio_end(result.path) - result.duration) < 0.001


def test_a_single_shot_is_copied_whole(chained: list[Path], folder: Path) -> None:
    result = stitch(chained[:1], folder / "single.mp4")
    assert (result.mode, result.dropped_frames, result.frames) == ("copy", 0, 2 * FPS)
    assert [d for _, d in video_packets(result.path)] == [d for _, d in video_packets(chained[0])]


def test_a_narrower_shot_is_pillarboxed(mixed: list[Path], folder: Path) -> None:
    result = stitch(mixed, folder / "pillarbox.mp4")
    frame = decode_frames(result.path)[10].astype(int)  # from the 240x180 shot
    assert frame[:, :36].max() < 40 and frame[:, -36:].max() < 40  # black bars, 40 px wide
    assert frame[:, 60:260].mean() > 60


def test_forcing_a_copy_of_mixed_shots_raises(mixed: list[Path], folder: Path) -> None:
    with pytest.raises(MediaError, match="differs in format"):
        stitch(mixed, folder / "forced.mp4", mode="copy")


def test_forcing_a_reencode_gives_the_same_frames_count(chained: list[Path],
                                                        stitched: StitchResult,
                                                        folder: Path) -> None:
    result = stitch(chained, folder / "forced_reencode.mp4", mode="reencode")
    assert result.mode == "reencode"
    assert [b.frame_end for b in result.shots] == [b.frame_end for b in stitched.shots]
    assert len(decode_frames(result.path)) == result.frames


def test_reencoded_shots_start_on_keyframes(mixed: list[Path], folder: Path) -> None:
    result = stitch(mixed, folder / "keyframes.mp4")
    with av.open(str(result.path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        keys = {round(float(p.pts * stream.time_base) * FPS) for p in container.demux(stream)
                if p.size and p.is_keyframe and p.pts is not None}
    assert {b.frame_start for b in result.shots} <= keys


# --- shot boundaries ----------------------------------------------------------------------


@pytest.mark.skipif(not CAN_WRITE_CHAPTERS, reason="this PyAV cannot write chapters")
def test_chapters_match_the_shots(stitched: StitchResult, chained: list[Path]) -> None:
    assert stitched.chapters
    with av.open(str(stitched.path)) as container:
        chapters = container.chapters()
    lengths = [len(decode_frames(s)) - int(b.dropped_last_frame)
               for s, b in zip(chained, stitched.shots)]
    ends = np.cumsum(lengths) / FPS
    assert len(chapters) == len(chained)
    for chapter, start, end, shot in zip(chapters, [0.0, *ends[:-1]], ends, chained):
        assert chapter["time_base"] is not None
        assert abs(float(chapter["start"] * chapter["time_base"]) - start) < 0.002
        assert abs(float(chapter["end"] * chapter["time_base"]) - end) < 0.002
        assert shot.name in chapter["metadata"]["title"]


def test_sidecar_matches_the_shots(stitched: StitchResult, chained: list[Path]) -> None:
    assert stitched.sidecar == stitched.path.with_suffix(".shots.json")
    document = json.loads(stitched.sidecar.read_text(encoding="utf-8"))
    start = 0
    for entry, shot in zip(document["shots"], chained):
        frames = len(decode_frames(shot)) - int(entry["dropped_last_frame"])
        assert (entry["frame_start"], entry["frame_end"]) == (start, start + frames)
        assert entry["start"] == pytest.approx(start / FPS, abs=1e-5)
        assert entry["end"] == pytest.approx((start + frames) / FPS, abs=1e-5)
        assert entry["source"] == str(shot)
        start += frames
    assert document["frames"] == start == stitched.frames


def test_no_chapters_when_asked(chained: list[Path], folder: Path) -> None:
    result = stitch(chained, folder / "no_chapters.mp4", chapters=False)
    assert not result.chapters and result.sidecar.exists()
    with av.open(str(result.path)) as container:
        assert getattr(container, "chapters", list)() == []  # PyAV < 16 reads none


# --- errors -------------------------------------------------------------------------------


def test_an_empty_list_of_shots_raises(folder: Path) -> None:
    with pytest.raises(MediaError, match="empty"):
        stitch([], folder / "nothing.mp4")


@pytest.mark.parametrize("options", [{"mode": "fast"}, {"crossfade_ms": -5}])
def test_bad_options_raise_value_error(options: dict[str, object], chained: list[Path],
                                       folder: Path) -> None:
    with pytest.raises(ValueError):
        stitch(chained, folder / "bad_options.mp4", **options)  # type: ignore[arg-type]


def test_writing_over_a_shot_raises(chained: list[Path]) -> None:
    with pytest.raises(MediaError, match="also one of the shots"):
        stitch(chained, chained[0])


def test_a_bad_shot_leaves_no_output(chained: list[Path], folder: Path) -> None:
    bad = folder / "garbage.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    out = folder / "never.mp4"
    with pytest.raises(MediaError):
        stitch([chained[0], bad], out)
    assert not out.exists() and not list(folder.glob(".never.*"))
