"""Blind pairwise arena: fitting, intervals, win matrix, Kendall tau, pair selection, storage."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from hh_notebook.arena_rank import (
    Vote,
    fit,
    kendall_tau,
    next_pair,
    simulate_voter,
    votes_by_group,
    win_matrix,
)
from hh_notebook.journal import Journal

ITEMS = [f"clip-{k}" for k in range(10)]
ELO_PER_NAT = 400.0 / math.log(10.0)


def known_strengths(seed: int, spacing: float = 60.0) -> dict[str, float]:
    """Ten items ``spacing`` Elo points apart, in a seed-dependent shuffled order."""
    elo = np.random.default_rng(seed).permutation(np.arange(len(ITEMS)) * spacing)
    return {item: 10.0 ** (e / 400.0) for item, e in zip(ITEMS, elo)}


def centred_elo(strengths: dict[str, float]) -> dict[str, float]:
    logs = {item: math.log(s) for item, s in strengths.items()}
    mean = sum(logs.values()) / len(logs)
    return {item: 1000.0 + ELO_PER_NAT * (v - mean) for item, v in logs.items()}


def play(strengths: dict[str, float], count: int, seed: int, *, active: bool,
         tie_rate: float = 0.2) -> list[Vote]:
    rng = np.random.default_rng(seed)
    voter = simulate_voter(strengths, np.random.default_rng(seed + 10_000), tie_rate)
    items = list(strengths)
    votes: list[Vote] = []
    for _ in range(count):
        if active:
            left, right = next_pair(items, votes, rng)
        else:
            a, b = rng.choice(len(items), 2, replace=False)
            left, right = items[a], items[b]
        votes.append(Vote(left, right, voter(left, right)))
    return votes


def spearman_with_truth(strengths: dict[str, float], votes: list[Vote]) -> float:
    scores = fit(list(strengths), votes, resamples=0).scores()
    items = list(strengths)
    return float(spearmanr([scores[i] for i in items], [strengths[i] for i in items]).statistic)


def test_importing_the_arena_loads_no_heavy_library() -> None:
    code = ("import sys, hh_notebook.arena_rank; "
            "print(sorted({'pandas', 'evalica', 'scipy'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"


# -- fitting --------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_active_arena_recovers_known_order_after_300_votes(seed: int) -> None:
    strengths = known_strengths(seed)
    votes = play(strengths, 300, seed, active=True)
    assert spearman_with_truth(strengths, votes) >= 0.9


def test_all_tie_votes_give_equal_scores() -> None:
    votes = [Vote(a, b, "tie") for a in ITEMS[:4] for b in ITEMS[:4] if a < b] * 3
    ranking = fit(ITEMS[:4], votes, resamples=0)
    scores = list(ranking.scores().values())
    assert max(scores) - min(scores) < 1e-6
    assert ranking.ties == ranking.votes == 18


def test_ties_pull_two_items_together() -> None:
    base = [Vote("a", "c", "left")] * 6 + [Vote("c", "b", "left")] * 6 + [Vote("a", "b", "left")]
    gap = {}
    for extra in (0, 6):
        ranking = fit(["a", "b", "c"], base + [Vote("a", "b", "tie")] * extra, resamples=0)
        gap[extra] = ranking["a"].score - ranking["b"].score  # type: ignore[operator]
    assert gap[6] < gap[0]


def test_intervals_contain_the_truth_in_most_seeds() -> None:
    inside = total = 0
    for seed in range(6):
        strengths = known_strengths(seed, spacing=40.0)
        truth = centred_elo(strengths)
        ranking = fit(ITEMS, play(strengths, 300, seed, active=False), seed=seed)
        for line in ranking:
            assert line.low is not None and line.high is not None
            assert line.low <= line.score <= line.high  # type: ignore[operator]
            inside += line.low <= truth[line.item] <= line.high
            total += 1
    assert inside / total >= 0.85


def test_intervals_are_reproducible_with_a_seed_and_vary_without_one() -> None:
    votes = play(known_strengths(0), 100, 0, active=False)
    first, again = fit(ITEMS, votes, seed=7), fit(ITEMS, votes, seed=7)
    other = fit(ITEMS, votes, seed=8)
    assert [line.low for line in first] == [line.low for line in again]
    assert [line.low for line in first] != [line.low for line in other]


def test_skips_do_not_count_in_fitting() -> None:
    votes = play(known_strengths(1), 60, 1, active=False)
    with_skips = votes + [Vote("clip-0", "clip-1", "skip")] * 20
    plain, skipped = fit(ITEMS, votes, resamples=0), fit(ITEMS, with_skips, resamples=0)
    assert plain.scores() == pytest.approx(skipped.scores())
    assert (skipped.votes, skipped.skipped) == (plain.votes, 20)
    assert skipped["clip-0"].comparisons == plain["clip-0"].comparisons


def test_items_without_comparisons_are_listed_last_without_score() -> None:
    votes = [Vote("a", "b", "left"), Vote("b", "c", "tie"), Vote("a", "x", "skip")]
    ranking = fit(["x", "a", "b", "c"], votes)
    last = ranking.items[-1]
    assert (last.item, last.score, last.low, last.high, last.comparisons) == (
        "x", None, None, None, 0)
    assert ranking["a"].low is not None


def test_item_counts_add_up() -> None:
    votes = [Vote("a", "b", "left"), Vote("b", "a", "left"), Vote("a", "b", "tie"),
             Vote("c", "a", "right")]
    ranking = fit(["a", "b", "c"], votes, resamples=0)
    a = ranking["a"]
    assert (a.wins, a.losses, a.ties, a.comparisons) == (2, 1, 1, 4)


def test_scores_are_centred_on_1000() -> None:
    ranking = fit(ITEMS, play(known_strengths(2), 200, 2, active=False), resamples=0)
    assert sum(ranking.scores().values()) / len(ITEMS) == pytest.approx(1000.0)


def test_a_clean_sweep_still_gets_a_finite_score() -> None:
    votes = [Vote("a", "b", "left"), Vote("a", "c", "left"), Vote("b", "c", "left")]
    scores = fit(["a", "b", "c"], votes, resamples=0).scores()
    assert all(math.isfinite(s) for s in scores.values())
    assert scores["a"] > scores["b"] > scores["c"]


def test_vote_naming_an_unknown_item_is_rejected() -> None:
    with pytest.raises(ValueError, match="not among the items"):
        fit(["a", "b"], [Vote("a", "z", "left")])


def test_vote_rejects_bad_outcome_and_self_comparison() -> None:
    with pytest.raises(ValueError, match="outcome"):
        Vote("a", "b", "draw")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="twice"):
        Vote("a", "a", "left")


def test_to_pandas_is_sorted_best_first() -> None:
    frame = fit(["a", "b", "c", "d"], [Vote("a", "b", "left"), Vote("b", "c", "left")]).to_pandas()
    assert list(frame.columns) == ["rank", "item", "score", "low", "high", "comparisons",
                                   "wins", "losses", "ties"]
    assert list(frame["item"]) == ["a", "b", "c", "d"]
    scored = frame["score"].dropna()
    assert scored.is_monotonic_decreasing and len(scored) == 3


# -- win matrix and Kendall tau -------------------------------------------------------
def test_win_matrix_counts_wins_and_half_ties() -> None:
    votes = [Vote("a", "b", "left"), Vote("b", "a", "left"), Vote("a", "b", "tie"),
             Vote("c", "a", "right"), Vote("b", "c", "skip")]
    matrix = win_matrix(["a", "b", "c"], votes)
    assert matrix.tolist() == [[0.0, 1.5, 1.0], [1.5, 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_kendall_tau_agreement_disagreement_and_ties() -> None:
    votes = [Vote("a", "b", "left"), Vote("b", "c", "left"), Vote("c", "d", "left")] * 3
    ranking = fit(["a", "b", "c", "d"], votes, resamples=0)
    assert kendall_tau(ranking, {"a": 4, "b": 3, "c": 2, "d": 1}) == pytest.approx(1.0)
    assert kendall_tau(ranking, {"a": 1, "b": 2, "c": 3, "d": 4}) == pytest.approx(-1.0)
    # By hand: 5 concordant, 0 discordant, one pair tied in stars: 5 / sqrt(6 * 5).
    assert kendall_tau(ranking, {"a": 3, "b": 3, "c": 2, "d": 1}) == pytest.approx(5 / math.sqrt(30))


def test_kendall_tau_needs_two_shared_items_and_some_spread() -> None:
    ranking = fit(["a", "b", "c"], [Vote("a", "b", "left")], resamples=0)
    assert kendall_tau(ranking, {"a": 5}) is None
    assert kendall_tau(ranking, {"a": 5, "c": 1}) is None  # c was never compared
    assert kendall_tau(ranking, {"a": 3, "b": 3}) is None


# -- pair selection -------------------------------------------------------------------
def test_active_selection_shows_every_item_within_the_first_pairs() -> None:
    for seed in range(5):
        votes = play(known_strengths(seed), 5, seed, active=True)
        assert {item for v in votes for item in (v.left, v.right)} == set(ITEMS)


def test_active_selection_never_repeats_a_pair_back_to_back() -> None:
    for items in (ITEMS[:3], ITEMS):
        votes = play({i: known_strengths(0)[i] for i in items}, 150, 4, active=True)
        pairs = [frozenset((v.left, v.right)) for v in votes]
        assert all(a != b for a, b in itertools.pairwise(pairs))


def test_an_item_left_behind_is_shown_next() -> None:
    strengths = known_strengths(5)
    votes = play({i: strengths[i] for i in ITEMS[:-1]}, 120, 5, active=False)
    for seed in range(5):
        assert ITEMS[-1] in next_pair(ITEMS, votes, np.random.default_rng(seed))


def test_active_selection_randomises_sides() -> None:
    rng = np.random.default_rng(0)
    votes = play(known_strengths(6), 40, 6, active=False)
    lefts = [next_pair(ITEMS, votes, rng) for _ in range(200)]
    smaller_left = sum(left < right for left, right in lefts)
    assert 70 < smaller_left < 130  # Binomial(200, 0.5): far outside is a bias


def test_next_pair_needs_two_items() -> None:
    with pytest.raises(ValueError, match="two items"):
        next_pair(["a"], [], np.random.default_rng(0))


# -- simulated voter ------------------------------------------------------------------
def test_simulated_voter_ties_at_the_tie_rate_between_equals() -> None:
    even = simulate_voter({"a": 1.0, "b": 1.0}, np.random.default_rng(0), tie_rate=0.25)
    outcomes = [even("a", "b") for _ in range(4000)]
    assert 0.22 < outcomes.count("tie") / 4000 < 0.28
    assert abs(outcomes.count("left") - outcomes.count("right")) < 200


def test_simulated_voter_expected_score_follows_strengths() -> None:
    lopsided = simulate_voter({"a": 3.0, "b": 1.0}, np.random.default_rng(1), tie_rate=0.4)
    outcomes = [lopsided("a", "b") for _ in range(4000)]
    points = (outcomes.count("left") + outcomes.count("tie") / 2) / 4000
    assert 0.72 < points < 0.78
    assert 0.15 < outcomes.count("tie") / 4000 < 0.25  # 0.4 * 2 * min(0.75, 0.25)


# -- groups ---------------------------------------------------------------------------
def test_votes_by_group_maps_clips_and_drops_same_group_votes() -> None:
    groups = {"p1-s1": "p1", "p1-s2": "p1", "p2-s1": "p2"}
    votes = [Vote("p1-s1", "p2-s1", "left", voter="ana", time=5.0),
             Vote("p1-s1", "p1-s2", "right"),
             Vote("p2-s1", "p1-s2", "tie")]
    grouped = votes_by_group(votes, groups)
    assert [(v.left, v.right, v.outcome) for v in grouped] == [("p1", "p2", "left"),
                                                              ("p2", "p1", "tie")]
    assert (grouped[0].voter, grouped[0].time) == ("ana", 5.0)
    with pytest.raises(KeyError):
        votes_by_group([Vote("p1-s1", "p9-s1", "left")], groups)


# -- journal --------------------------------------------------------------------------
def test_votes_survive_a_new_journal_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    first = Journal(path)
    first.add_vote("arena-1", "a", "b", "left", voter="ana", time=1.0)
    first.add_vote("arena-1", "b", "c", "skip", voter="ana", time=2.0)
    first.close()
    stored = Journal(path).votes("arena-1")
    assert [(v.left, v.right, v.outcome, v.voter, v.time) for v in stored] == [
        ("a", "b", "left", "ana", 1.0), ("b", "c", "skip", "ana", 2.0)]


def test_two_voters_add_to_one_arena_and_arenas_stay_apart(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    ana, ben = Journal(path), Journal(path)
    ana.add_vote("arena-1", "a", "b", "left", voter="ana")
    ben.add_vote("arena-1", "a", "b", "tie", voter="ben")
    ben.add_vote("arena-2", "x", "y", "right", voter="ben")
    stored = ana.votes("arena-1")
    assert [v.voter for v in stored] == ["ana", "ben"]
    assert stored[0].id < stored[1].id
    assert fit(["a", "b"], stored, resamples=0)["a"].comparisons == 2


def test_journal_rejects_bad_votes(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    with pytest.raises(ValueError, match="outcome"):
        journal.add_vote("arena-1", "a", "b", "draw")
    with pytest.raises(ValueError, match="twice"):
        journal.add_vote("arena-1", "a", "a", "left")
    assert journal.votes("arena-1") == []
