"""Planning a storyboard: shots, which shot continues from which, every shot checked before
anything is paid, the board's content id, and the text form of the magic. No network."""

from __future__ import annotations

import pytest
from core_fixtures import image_bytes

from hh_notebook.errors import ValidationError
from hh_notebook.storyboard import Shot, parse_storyboard, storyboard, storyboard_from_text
from hh_notebook.storyboard_plan import board_id, plan_board
from hh_notebook.storyboard_text import StoryboardSyntaxError

URL = "https://example.com/frame.png"


def parents(plan_or_board) -> list[int | None]:
    return [s.parent for s in plan_or_board.shots]


# -- links ---------------------------------------------------------------------------------


def test_each_shot_continues_from_the_previous_one_by_default() -> None:
    assert parents(plan_board(["a", "b", "c"], "segmind")) == [None, 0, 1]


def test_an_image_or_references_or_continue_from_none_start_a_shot_afresh() -> None:
    shots = ["a", Shot("b", image=URL), Shot("c", references=[URL]), Shot("d", continue_from=None),
             "e"]
    assert parents(plan_board(shots, "segmind")) == [None, None, None, None, 3]


def test_continue_from_an_index_links_to_that_earlier_shot() -> None:
    plan = plan_board(["a", Shot("b", continue_from=None), Shot("c", continue_from=0)], "segmind")
    assert parents(plan) == [None, None, 0]
    assert plan.children(0) == [2]


def test_downstream_is_the_shot_and_every_shot_chained_from_it() -> None:
    plan = plan_board(["a", "b", Shot("c", continue_from=None), "d", Shot("e", continue_from=1)],
                      "segmind")
    assert plan.downstream(1) == [1, 4]
    assert plan.downstream(0) == [0, 1, 4]
    assert plan.downstream(2) == [2, 3]


def test_depth_is_the_longest_chain() -> None:
    assert plan_board(["a", "b", "c"], "segmind").depth() == 3
    assert plan_board(["a", Shot("b", continue_from=None)], "segmind").depth() == 1


def test_continue_from_a_later_shot_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        plan_board(["a", Shot("b", continue_from=1)], "segmind")
    assert caught.value.fields == ["shot 2 continue_from"]


def test_continue_from_an_index_with_an_image_is_refused() -> None:
    with pytest.raises(ValidationError, match="not both"):
        plan_board(["a", Shot("b", continue_from=0, image=URL)], "segmind")


# -- checks before anything is paid --------------------------------------------------------


@pytest.mark.parametrize("provider", ["apiframe", "hiapi", "openai"])
def test_a_chained_shot_at_a_url_only_provider_is_refused_with_the_reason(provider: str) -> None:
    with pytest.raises(ValidationError) as caught:
        plan_board(["a", "b"], provider)
    [problem] = caught.value.errors
    assert problem.field == "shot 2 continue_from"
    assert f"{provider} takes image URLs only" in problem.message
    assert "cannot host the frame" in problem.message and "segmind" in problem.message


def test_shots_that_start_afresh_run_at_a_url_only_provider() -> None:
    plan = plan_board(["a", Shot("b", image=URL), Shot("c", continue_from=None)], "apiframe")
    assert parents(plan) == [None, None, None]


def test_a_local_first_frame_at_a_url_only_provider_is_refused() -> None:
    with pytest.raises(ValidationError, match="takes image URLs only"):
        plan_board([Shot("a", image=image_bytes())], "hiapi")


def test_every_problem_of_every_shot_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        plan_board(["a", Shot("b", duration=40), Shot("", continue_from=None, seed=-1)],
                   "segmind")
    assert caught.value.fields == ["shot 2 duration", "shot 3 prompt", "shot 3 seed"]


def test_a_seed_at_a_provider_without_seeds_is_refused() -> None:
    with pytest.raises(ValidationError, match="does not take seed"):
        plan_board([Shot("a", seed=3)], "hiapi")


def test_end_on_is_refused_where_the_catalog_does_not_take_a_last_frame() -> None:
    with pytest.raises(ValidationError) as caught:
        plan_board(["a", Shot("b", end_on=URL)], "segmind")
    [problem] = caught.value.errors
    assert problem.field == "shot 2 end_on" and "segmind 1.0" in problem.message


def test_end_on_is_taken_by_a_chained_shot_on_segmind_1_0() -> None:
    plan = plan_board(["a", Shot("b", end_on=URL)], "segmind", {"model": "1.0"})
    assert plan.shots[1].request.last_frame == URL and plan.shots[1].parent == 0


def test_end_on_needs_a_first_frame() -> None:
    with pytest.raises(ValidationError) as caught:
        plan_board([Shot("a", end_on=URL)], "segmind", {"model": "1.0"})
    assert "shot 1 end_on" in caught.value.fields


def test_a_board_needs_a_shot() -> None:
    with pytest.raises(ValidationError, match="at least one shot"):
        plan_board([], "segmind")


def test_unknown_shot_fields_are_type_errors_with_a_suggestion() -> None:
    with pytest.raises(TypeError, match="did you mean 'references'"):
        plan_board([{"prompt": "a", "reference_images": [URL]}], "segmind")


def test_first_frames_are_not_board_defaults() -> None:
    with pytest.raises(TypeError, match="belong to one shot"):
        plan_board(["a"], "segmind", {"image": URL})


# -- defaults and requests -----------------------------------------------------------------


def test_board_defaults_apply_unless_a_shot_sets_its_own() -> None:
    plan = plan_board(["a", Shot("b", duration=7)], "segmind", {"duration": 4, "seed": 9})
    assert [(s.request.duration, s.request.seed) for s in plan.shots] == [(4, 9), (7, 9)]


def test_a_chained_shot_gets_its_first_frame_only_when_it_runs() -> None:
    plan = plan_board(["a", "b"], "segmind")
    chained = plan.shots[1]
    assert chained.request.image is None
    frame = image_bytes()
    sent = chained.request_with(frame, seed=11)
    assert sent.image == frame and sent.seed == 11 and sent.mode.value == "i2v"


# -- the board's id --------------------------------------------------------------------------


def test_the_same_shots_give_the_same_id() -> None:
    assert plan_board(["a", "b"], "segmind").id == plan_board(["a", "b"], "segmind").id


@pytest.mark.parametrize("other", [
    (["a", "c"], "segmind", {}),
    (["a", "b"], "segmind", {"model": "1.0"}),
    (["a", "b"], "segmind", {"duration": 4}),
    (["a", Shot("b", continue_from=None)], "segmind", {}),
])
def test_any_change_gives_another_id(other: tuple) -> None:
    shots, provider, defaults = other
    assert plan_board(shots, provider, defaults).id != plan_board(["a", "b"], "segmind").id


def test_the_provider_is_part_of_the_id() -> None:
    plan = plan_board(["a", "b"], "segmind")
    assert board_id(plan.shots, "openai") != plan.id


def test_an_image_counts_by_content_not_by_name(tmp_path) -> None:
    first, second = tmp_path / "one.png", tmp_path / "two.png"
    first.write_bytes(image_bytes())
    second.write_bytes(image_bytes())
    assert (plan_board([Shot("a", image=first)], "segmind").id
            == plan_board([Shot("a", image=second)], "segmind").id)


def test_storyboard_picks_the_provider_without_starting_a_client() -> None:
    board = storyboard(["a", "b"], provider="segmind", duration=3)
    assert board.provider == "segmind" and board._client is None


# -- the text form -------------------------------------------------------------------------


def test_text_before_the_first_separator_is_the_first_shot() -> None:
    shots = parse_storyboard("A foal wakes\n\n--- 5s seed=3\nIt stands\non shaky legs")
    assert [(s.prompt, s.duration, s.seed) for s in shots] == [
        ("A foal wakes", None, None), ("It stands\non shaky legs", 5, 3)]


def test_a_leading_separator_gives_the_first_shot_its_options() -> None:
    [shot] = parse_storyboard("--- 4s 1080P 9:16\nA foal")
    assert (shot.duration, shot.resolution, shot.aspect_ratio) == (4, "1080P", "9:16")


def test_separator_options_cover_every_shot_field() -> None:
    text = ("a\n--- fresh image=frame.png ref=a.png ref=b.png end_on=end.png "
            "negative='blurry, dark' model=1.0 extend=off watermark=on d=6 s=2\nb")
    shot = parse_storyboard(text)[1]
    assert shot.continue_from is None and shot.image == "frame.png"
    assert list(shot.references) == ["a.png", "b.png"] and shot.end_on == "end.png"
    assert (shot.negative_prompt, shot.model, shot.prompt_extend, shot.watermark) == (
        "blurry, dark", "1.0", False, True)
    assert (shot.duration, shot.seed) == (6, 2)


def test_image_words_are_resolved_by_the_caller() -> None:
    seen = []
    shots = parse_storyboard("--- image=frame\na", resolve_image=lambda v, f: seen.append(
        (v, f)) or f"resolved:{v}")
    assert shots[0].image == "resolved:frame" and seen == [("frame", "image")]


@pytest.mark.parametrize(("text", "message"), [
    ("a\n--- 5s\n", r"shot 2 \(line 2\) has no prompt"),
    ("a\n--- colour=red\nb", "'colour=red' is not a shot option"),
    ("a\n--- seed=x\nb", "seed must be a whole number"),
    ("a\n--- 5s 6s\nb", "duration given twice"),
    ("", "has no shots"),
])
def test_unreadable_text_says_which_line(text: str, message: str) -> None:
    with pytest.raises(StoryboardSyntaxError, match=message):
        parse_storyboard(text)


def test_the_magic_lines_first_frame_belongs_to_the_first_shot_only() -> None:
    board = storyboard_from_text("a\n---\nb", options={"image": URL, "duration": 4},
                                 provider="segmind")
    assert [s.request.image for s in board.shots] == [URL, None]
    assert [s.parent for s in board.shots] == [None, 0]
    assert [s.request.duration for s in board.shots] == [4, 4]
