"""Arena sessions on a real sweep: clips and labels, pairs, votes that outlive the kernel and
come from several voters, rankings by clip and by axis, agreement with star ratings."""

from __future__ import annotations

import dataclasses
import itertools
import pathlib
import subprocess
import sys
from collections.abc import Iterator

import pytest
from arena_fixtures import (
    ANIMAL_PROMPT,
    ANIMALS,
    SEEDS,
    animal_sweep,
    own_arena,
    vote_by_preference,
)

from hh_notebook.arena_items import arena_source, sweep_arena_id
from hh_notebook.arena_session import ArenaSession
from hh_notebook.client import Client
from hh_notebook.journal import Journal
from hh_notebook.sandbox import Sandbox
from hh_notebook.sweep import SweepResult, sweep

PREFERENCE = {"owl": 8.0, "fox": 2.0, "hare": 0.5}


@pytest.fixture(scope="module")
def done(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Client, SweepResult]]:
    client, result = animal_sweep(sandbox, tmp_path_factory.mktemp("arena-session"))
    yield client, result
    client.close()


def test_importing_the_session_loads_no_heavy_library() -> None:
    code = ("import sys, hh_notebook.arena_session; "
            "print(sorted({'pandas', 'evalica', 'scipy', 'av'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"


# -- what is compared -----------------------------------------------------------------------
def test_sweep_clips_carry_their_axis_labels_and_job_ids(done: tuple[Client, SweepResult]
                                                         ) -> None:
    _, result = done
    source = arena_source(result)
    assert [c.item for c in source.clips] == [r.job_id for r in result.rows]
    assert [dict(c.labels) for c in source.clips] == [
        {"animal": a, "seed": s} for a in ANIMALS for s in ("48213", "48214")]
    assert source.arena_id == sweep_arena_id(result.sweep_id)


def test_grouping_by_an_axis_ranks_its_values(done: tuple[Client, SweepResult]) -> None:
    session = ArenaSession.open(done[1], by="animal")
    assert session.items == ANIMALS
    assert {c.group for c in session.clips} == set(ANIMALS)


def test_prompt_groups_slot_variants(done: tuple[Client, SweepResult]) -> None:
    session = ArenaSession.open(done[1], by="prompt")
    assert session.items == [ANIMAL_PROMPT.replace("{animal}", a) for a in ANIMALS]


def test_an_axis_the_sweep_lacks_is_refused(done: tuple[Client, SweepResult]) -> None:
    with pytest.raises(ValueError, match="not an axis"):
        ArenaSession.open(done[1], by="colour")
    with pytest.raises(ValueError, match="same duration"):
        ArenaSession.open(done[1], by="duration")


def test_jobs_make_an_arena_whatever_their_order(done: tuple[Client, SweepResult]) -> None:
    client, result = done
    jobs = [client.job(row.job_id) for row in result.rows]
    forward = arena_source(jobs, journal=client.journal)
    backward = arena_source(list(reversed(jobs)), journal=client.journal)
    assert forward.arena_id == backward.arena_id != sweep_arena_id(result.sweep_id)
    described = {c.item: dict(c.labels) for c in forward.clips}
    first = result.rows[0]
    assert described[first.job_id] == {"prompt": ANIMAL_PROMPT.replace("{animal}", "fox"),
                                       "seed": "48213"}
    by_seed = arena_source(jobs, by="seed", journal=client.journal)
    assert by_seed.groups == ["48213", "48214"]


def test_a_job_without_a_clip_is_refused(done: tuple[Client, SweepResult]) -> None:
    client, result = done
    job = client.job(result.rows[0].job_id)
    job.video_path = None
    with pytest.raises(ValueError, match="no finished clip"):
        arena_source([job, client.job(result.rows[1].job_id)], journal=client.journal)


# -- pairs ----------------------------------------------------------------------------------
def test_every_clip_is_dealt_within_the_first_pairs(done: tuple[Client, SweepResult]) -> None:
    session = own_arena(done[1], "coverage")
    seen = set()
    for _ in range(3):
        deal = session.deal()
        seen |= {deal.left.item, deal.right.item}
        session.vote("skip", token=deal.token)
    assert seen == {c.item for c in session.clips}


def test_by_axis_pairs_two_values_alike_on_the_other_axes(done: tuple[Client, SweepResult]
                                                          ) -> None:
    session = own_arena(done[1], "alike", by="animal")
    for _ in range(12):
        deal = session.deal()
        assert deal.left.group != deal.right.group
        assert deal.left.labels["seed"] == deal.right.labels["seed"]
        session.vote("tie", token=deal.token)


def test_tokens_are_new_letters_for_every_pair(done: tuple[Client, SweepResult]) -> None:
    session = own_arena(done[1], "tokens")
    tokens = []
    for _ in range(5):
        deal = session.deal()
        tokens.append(deal.token)
        session.vote("skip", token=deal.token)
    assert len(set(tokens)) == 5 and all(t.isalpha() and t.islower() for t in tokens)


def test_a_vote_for_another_pair_is_ignored(done: tuple[Client, SweepResult]) -> None:
    session = own_arena(done[1], "stale")
    first = session.deal()
    assert session.vote("left", token=first.token) is not None
    second = session.deal()
    assert session.vote("right", token=first.token) is None  # a second key press
    assert session.current == second and len(session.votes()) == 1


def test_votes_need_a_pair_and_clips_of_the_arena(done: tuple[Client, SweepResult]) -> None:
    session = own_arena(done[1], "misuse")
    with pytest.raises(ValueError, match="deal"):
        session.vote("left")
    with pytest.raises(ValueError, match="not a clip"):
        session.record("nope", session.clips[0].item, "left")
    session.deal()
    with pytest.raises(ValueError, match="outcome"):
        session.vote("draw")


# -- votes that last --------------------------------------------------------------------------
def test_votes_survive_a_kernel_restart(sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    client, result = animal_sweep(sandbox, tmp_path)
    first = ArenaSession.open(result, by="animal", voter="ana", seed=1)
    vote_by_preference(first, PREFERENCE, 9)
    before = first.ranking(resamples=0)
    client.close()
    # A new kernel: the same sweep built again from its parameters, a new client and journal.
    again = Client(provider="segmind", base_url=sandbox.base_url, data_dir=tmp_path)
    rebuilt = sweep(ANIMAL_PROMPT, client=again, animal=ANIMALS, seed=SEEDS, duration=3)
    second = ArenaSession.open(rebuilt.result(), by="animal", voter="ana")
    assert second.arena_id == first.arena_id
    assert len(second.votes()) == 9
    after = second.ranking(resamples=0)
    assert after[["item", "score"]].equals(before[["item", "score"]])
    again.close()


def test_two_voters_add_to_one_ranking(done: tuple[Client, SweepResult]) -> None:
    _, result = done
    ana = own_arena(result, "pair-of-voters", voter="ana", seed=2)
    # Ben votes from another kernel: his own connection to the same journal file.
    ben_journal = Journal(ana.source.journal.path)
    ben = ArenaSession(dataclasses.replace(ana.source, journal=ben_journal), voter="ben", seed=3)
    vote_by_preference(ana, PREFERENCE, 4, seed=4)
    vote_by_preference(ben, PREFERENCE, 6, seed=5)
    progress = ana.progress()
    assert (progress.votes, progress.voters, progress.mine) == (10, 2, 4)
    assert ben.progress().mine == 6
    assert {v.voter for v in ana.votes()} == {"ana", "ben"}
    assert ana.ranking(resamples=0)["comparisons"].sum() == 2 * 10


# -- what the votes say -----------------------------------------------------------------------
def test_ranking_by_axis_recovers_the_voters_preference(done: tuple[Client, SweepResult]
                                                        ) -> None:
    session = own_arena(done[1], "preference", by="animal", seed=6)
    vote_by_preference(session, {"owl": 20.0, "fox": 4.0, "hare": 1.0}, 45, seed=7)
    frame = session.ranking()
    assert list(frame["item"]) == ["owl", "fox", "hare"]
    assert list(frame.columns) == ["rank", "item", "label", "score", "low", "high",
                                   "comparisons", "wins", "losses", "ties"]
    assert (frame["low"] <= frame["score"]).all() and (frame["score"] <= frame["high"]).all()
    matrix = session.win_matrix()
    assert list(matrix.index) == list(matrix.columns) == ["owl", "fox", "hare"]
    assert matrix.loc["owl", "hare"] > matrix.loc["hare", "owl"]
    assert matrix.to_numpy().sum() == frame["comparisons"].sum() / 2


def test_clip_ranking_names_clips_by_their_labels(done: tuple[Client, SweepResult]) -> None:
    session = own_arena(done[1], "clip-labels", seed=8)
    vote_by_preference(session, PREFERENCE, 8, seed=9)
    frame = session.ranking(resamples=0)
    assert set(frame["item"]) == {c.item for c in session.clips}
    assert set(frame["label"]) == {f"animal: {a} · seed: {s}" for a in ANIMALS
                                   for s in ("48213", "48214")}


def test_agreement_compares_with_star_ratings(done: tuple[Client, SweepResult]) -> None:
    client, result = done
    session = own_arena(result, "agreement", by="animal", seed=10)
    vote_by_preference(session, {"owl": 20.0, "fox": 4.0, "hare": 1.0}, 45, seed=11)
    assert session.agreement() is None  # no stars yet
    stars = {"owl": 5, "fox": 3, "hare": 1}
    try:
        for row in result.rows:
            client.journal.set_rating(row.job_id, stars[row.axes["animal"]])
        assert session.star_ratings() == {"owl": 5.0, "fox": 3.0, "hare": 1.0}
        assert session.agreement() == pytest.approx(1.0)
        for row in result.rows:
            client.journal.set_rating(row.job_id, 6 - stars[row.axes["animal"]])
        assert session.agreement() == pytest.approx(-1.0)
    finally:
        for row in result.rows:
            client.journal.set_rating(row.job_id, None)


def test_ranking_view_carries_rows_matrix_and_voters(done: tuple[Client, SweepResult]) -> None:
    session = own_arena(done[1], "view", by="animal", seed=12)
    vote_by_preference(session, PREFERENCE, 10, seed=13)
    session.deal()
    session.vote("skip")
    view = session.ranking_view(resamples=20)
    assert [r.rank for r in view.rows] == [1, 2, 3]
    assert (view.votes, view.skipped, view.voters) == (10, 1, 1)
    pairs = sum(view.matrix[i][j] for i, j in itertools.permutations(range(3), 2))
    assert pairs == view.votes
