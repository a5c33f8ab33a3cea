"""Storyboards end to end on the sandbox: chained shots sent exactly the previous shot's last
frame, one stitched scene without repeated frames or clicks, the whole board held to a budget,
every shot an ordinary journaled job found again after a restart (or a kill), and
regeneration of one shot rerunning only the shots chained from it."""

from __future__ import annotations

import hashlib
import io
import os
import pathlib
import queue
import signal
import subprocess
import sys
import textwrap
import threading
from typing import Any

import numpy as np
import pytest
from PIL import Image
from stitch_fixtures import decode_audio, inner_jump, largest_jump_near, stream_info

from hh_notebook.client import Client
from hh_notebook.errors import BudgetExceeded
from hh_notebook.journal import Journal
from hh_notebook.media import probe_clip
from hh_notebook.sandbox import Sandbox
from hh_notebook.stitch import last_frame, last_frame_png
from hh_notebook.storyboard import Shot, StoryboardResult, storyboard

SHOTS = [
    "A chestnut foal wakes in the straw at dawn",
    "The foal stands up on shaky legs",
    "The foal trots out of the stable into the sun",
]
FPS = 24


def submits(sb: Sandbox) -> list[dict[str, Any]]:
    return [e for e in sb.request_log() if e.get("endpoint") == "submit"]


def client_for(sb: Sandbox, data: pathlib.Path) -> Client:
    return Client(provider="segmind", base_url=sb.base_url, data_dir=data)


@pytest.fixture(scope="module")
def board_run(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[Client, StoryboardResult, int]:
    """The three-shot board of the issue, run once: (client, result, submits it made)."""
    client = client_for(sandbox, tmp_path_factory.mktemp("board"))
    before = len(submits(sandbox))
    result = storyboard(SHOTS, client=client, duration=3).run()
    return client, result, len(submits(sandbox)) - before


def sent_frame(sb: Sandbox, client: Client, job_id: str) -> bytes:
    """The first frame the sandbox received for a job (as the provider saw it)."""
    provider_id = client.journal.get(job_id).provider_job_id
    frame = sb._state.jobs[provider_id].spec.first_frame
    assert frame is not None
    return frame


# -- the "done when" of the issue ----------------------------------------------------------


def test_the_board_makes_three_clips_and_a_scene(board_run: tuple) -> None:
    _, result, count = board_run
    assert count == 3
    assert [r.status for r in result.shots] == ["succeeded"] * 3
    assert result.video_path is not None and result.video_path.is_file()


@pytest.mark.parametrize("index", [1, 2])
def test_chained_shots_were_sent_exactly_the_previous_last_frame(
        board_run: tuple, sandbox: Sandbox, index: int) -> None:
    client, result, _ = board_run
    sent = np.asarray(Image.open(io.BytesIO(sent_frame(sandbox, client,
                                                        result.shots[index].job_id))))
    previous = np.asarray(last_frame(result.shots[index - 1].video_path))
    assert sent.shape == previous.shape == (720, 1280, 3)
    assert np.array_equal(sent, previous)


def test_the_sent_frame_is_a_lossless_png_recorded_in_the_journal(board_run: tuple,
                                                                  sandbox: Sandbox) -> None:
    client, result, _ = board_run
    sent = sent_frame(sandbox, client, result.shots[1].job_id)
    assert sent[:8] == b"\x89PNG\r\n\x1a\n"
    record = client.journal.get(result.shots[1].job_id)
    assert record.request["image"]["sha256"] == hashlib.sha256(
        last_frame_png(result.shots[0].video_path)).hexdigest()


def test_the_scene_lasts_the_shots_minus_the_dropped_frames(board_run: tuple) -> None:
    _, result, _ = board_run
    shots = sum(probe_clip(r.video_path).duration for r in result.shots)
    assert result.stitch.dropped_frames == 2  # both joins repeated a picture
    expected = shots - result.stitch.dropped_frames / FPS
    assert abs(probe_clip(result.video_path).duration - expected) <= 1 / FPS
    assert abs(result.duration - expected) <= 1 / FPS


def test_the_joins_jump_no_more_than_the_shots_do(board_run: tuple) -> None:
    _, result, _ = board_run
    threshold = max(inner_jump(r.video_path) for r in result.shots)
    samples, rate = decode_audio(result.video_path)
    for bound in result.stitch.shots[1:]:
        assert largest_jump_near(samples, rate, bound.start) <= threshold


def test_the_scene_is_h264_and_aac_beside_the_journals_clips(board_run: tuple) -> None:
    client, result, _ = board_run
    info = stream_info(result.video_path)
    assert (info["video_codec"], info["audio_codec"]) == ("h264", "aac")
    assert result.video_path.parent == client.data_dir / "clips"
    assert result.stitch.sidecar.is_file()


def test_every_shot_is_a_journaled_job_tagged_with_its_board(board_run: tuple) -> None:
    client, result, _ = board_run
    records = {r.id: r for r in client.journal.find_by_tag("storyboard", result.board_id)}
    assert set(records) == {r.job_id for r in result.shots}
    tags = [records[r.job_id].tags for r in result.shots]
    assert [(t["shot"], t["generation"]) for t in tags] == [(0, 1), (1, 1), (2, 1)]
    assert [t.get("after") for t in tags] == [None, result.shots[0].job_id,
                                              result.shots[1].job_id]


def test_the_same_board_built_again_pays_nothing(board_run: tuple, sandbox: Sandbox) -> None:
    client, result, _ = board_run
    again = storyboard(SHOTS, client=client, duration=3)
    assert again.id == result.board_id
    estimate = again.estimate()
    assert estimate.new == () and estimate.kept == 3
    before = len(submits(sandbox))
    rerun = again.run()
    assert len(submits(sandbox)) == before
    assert rerun.video_path == result.video_path


def test_the_report_holds_every_shot_and_the_scene(board_run: tuple,
                                                   tmp_path: pathlib.Path) -> None:
    _, result, _ = board_run
    page = result.export_report(tmp_path / "report")
    clips = sorted(p.name for p in (tmp_path / "report" / "clips").iterdir())
    assert clips == ["cell-scene.mp4", "cell-shot-1.mp4", "cell-shot-2.mp4", "cell-shot-3.mp4"]
    text = page.read_text(encoding="utf-8")
    assert f"storyboard {result.board_id}" in text and "stitched" in text
    assert (tmp_path / "report" / "clips" / "cell-scene.mp4").read_bytes() == \
        result.video_path.read_bytes()


# -- regenerating --------------------------------------------------------------------------


def test_regenerating_shot_2_reruns_shots_2_and_3_only(sandbox: Sandbox,
                                                       tmp_path: pathlib.Path) -> None:
    client = client_for(sandbox, tmp_path)
    board = storyboard(["A grey mare at the gate", "She pushes the gate open",
                        "She walks into the field"], client=client, duration=3)
    first = board.run()
    preview = board.regeneration_estimate(1)
    assert preview.new == (1, 2) and str(preview.cost) == "$0.84"
    before = len(submits(sandbox))
    second = board.regenerate(1)
    assert len(submits(sandbox)) - before == 2
    assert second.shots[0].job_id == first.shots[0].job_id
    assert [r.generation for r in second.shots] == [1, 2, 2]
    assert all(a.job_id != b.job_id for a, b in zip(first.shots[1:], second.shots[1:]))
    assert second.video_path != first.video_path and first.video_path.is_file()
    # the new shot 3 starts from the new shot 2's last frame
    sent = sent_frame(sandbox, client, second.shots[2].job_id)
    assert sent == last_frame_png(second.shots[1].video_path)


def test_regeneration_is_held_to_the_budget(sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    board = storyboard(["A bay horse drinks", "It lifts its head"],
                       client=client_for(sandbox, tmp_path), duration=3)
    board.run()
    before = len(submits(sandbox))
    with pytest.raises(BudgetExceeded, match="2 new shot"):
        board.regenerate(0, budget=0.5)
    assert len(submits(sandbox)) == before
    assert [board.shot_state(i).status for i in range(2)] == ["succeeded"] * 2


# -- money and order -----------------------------------------------------------------------


def test_the_whole_board_is_priced_before_the_first_submit(sandbox: Sandbox,
                                                          tmp_path: pathlib.Path) -> None:
    board = storyboard(SHOTS, client=client_for(sandbox, tmp_path), duration=3)
    assert str(board.estimate().cost) == "$1.26"
    before = len(submits(sandbox))
    with pytest.raises(BudgetExceeded) as caught:
        board.run(budget=1.0)
    assert len(submits(sandbox)) == before
    assert "3 new shot(s)" in str(caught.value) and "Nothing was submitted" in str(caught.value)


def test_independent_shots_are_submitted_together_and_chained_ones_after(
        fresh_sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    board = storyboard([Shot("A fox at dawn", continue_from=None),
                        Shot("An owl at dusk", continue_from=None), "The owl takes off"],
                       client=client_for(fresh_sandbox, tmp_path), duration=3)
    board.run()
    log = [(e["endpoint"], e.get("job_id")) for e in fresh_sandbox.request_log()
           if e.get("endpoint") in ("submit", "download")]
    kinds = [kind for kind, _ in log]
    assert kinds[:2] == ["submit", "submit"]  # both fresh shots before either clip came back
    owl = log[1][1]
    assert log.index(("download", owl)) < kinds.index("submit", 2)


def test_a_seeded_shot_paid_before_is_served_from_the_journal(sandbox: Sandbox,
                                                               tmp_path: pathlib.Path) -> None:
    client = client_for(sandbox, tmp_path)
    shots = [Shot("A white horse on a beach", seed=5), Shot("It gallops away", seed=6)]
    storyboard(shots, client=client, duration=3).run()
    longer = storyboard([*shots, Shot("The beach, empty", seed=7)], client=client, duration=3)
    estimate = longer.estimate()
    assert estimate.new == (2,) and estimate.kept == 2 and str(estimate.cost) == "$0.42"
    before = len(submits(sandbox))
    result = longer.run()
    assert len(submits(sandbox)) - before == 1
    assert [r.from_cache for r in result.shots] == [True, True, False]


def test_a_failed_shot_blocks_the_shots_after_it_and_a_rerun_pays_the_rest(
        fresh_sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    fresh_sandbox.add_fault({"provider": "segmind", "endpoint": "submit", "kind": "fail_job"})
    board = storyboard(SHOTS, client=client_for(fresh_sandbox, tmp_path), duration=3)
    failed = board.run()
    assert [r.status for r in failed.shots] == ["failed", "blocked", "blocked"]
    assert failed.video_path is None and len(submits(fresh_sandbox)) == 1
    done = board.run()
    assert [r.status for r in done.shots] == ["succeeded"] * 3
    assert [r.generation for r in done.shots] == [2, 1, 1]
    assert len(submits(fresh_sandbox)) == 4 and done.video_path is not None


# -- killed mid-board ----------------------------------------------------------------------

BOARD_SCRIPT = textwrap.dedent("""
    import sys
    from hh_notebook.client import Client
    from hh_notebook.storyboard import storyboard

    client = Client(provider="segmind", base_url=sys.argv[1], data_dir=sys.argv[2])
    board = storyboard({shots!r}, client=client, duration=3)

    def say(index):
        run = board.shot_state(index) if index is not None else None
        if run is not None and run.status == "running" and run.job_id:
            print("running", index, run.job_id, flush=True)

    board.subscribe(say)
    result = board.run()
    print("done", result.video_path, flush=True)
""")


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.strip())

    threading.Thread(target=read, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue[str], prefix: str, timeout: float = 60.0) -> str:
    while True:
        line = lines.get(timeout=timeout)  # raises queue.Empty: the script never got there
        if line.startswith(prefix):
            return line


@pytest.mark.slow
def test_a_board_killed_mid_way_resumes_without_paying_any_shot_twice(
        fresh_sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    script = tmp_path / "board.py"
    script.write_text(BOARD_SCRIPT.format(shots=SHOTS), encoding="utf-8")
    command = [sys.executable, str(script), fresh_sandbox.base_url, str(tmp_path / "data")]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        _wait_for(_lines(first), "running 1")  # shot 2 accepted, recorded, not finished
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    assert len(submits(fresh_sandbox)) == 2
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=180,
                            check=False)
    assert second.returncode == 0, second.stderr
    assert "done" in second.stdout and "None" not in second.stdout.split("done", 1)[1]
    assert len(submits(fresh_sandbox)) == 3  # each shot submitted once over both runs
    journal = Journal(tmp_path / "data" / "journal.sqlite3")
    try:
        records = journal.jobs()
    finally:
        journal.close()
    assert sorted(r.tags["shot"] for r in records) == [0, 1, 2]
    assert all(r.status == "succeeded" for r in records)
