"""The arena widget without a browser: blind state, clips as stripped buffers on request,
votes from the front end, the opt-in reveal and named standings, and the grid's panel."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import av
import pytest
from arena_fixtures import ANIMAL_PROMPT, ANIMALS, animal_sweep, own_arena, vote_by_preference
from ipywidgets.embed import dependency_state, embed_data

import hh_notebook as hh
from hh_notebook.arena_items import sweep_arena_id
from hh_notebook.client import Client
from hh_notebook.sandbox import Sandbox
from hh_notebook.sweep import SweepResult
from hh_notebook.widgets.arena import Arena
from hh_notebook.widgets.grid import SweepGrid

PREFERENCE = {"owl": 8.0, "fox": 2.0, "hare": 0.5}


@pytest.fixture(scope="module")
def done(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Client, SweepResult]]:
    client, result = animal_sweep(sandbox, tmp_path_factory.mktemp("arena-widget"))
    yield client, result
    client.close()


class Sent:
    """Captures what the widget sends to the front end."""

    def __init__(self, widget: Any) -> None:
        self.messages: list[tuple[dict[str, Any], list[bytes]]] = []
        widget.send = self.send

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        self.messages.append((content, [bytes(b) for b in buffers or []]))


def secrets_of(result: SweepResult) -> list[str]:
    """Everything that would tell what is compared: ids, paths, seeds, prompt words, labels."""
    found = {ANIMAL_PROMPT, "frozen", "lake", "river", *ANIMALS, "48213", "48214"}
    for row in result.rows:
        found |= {row.job_id, row.job_id[:8], str(row.video_path), row.video_path.name,
                  row.request.prompt}
    return sorted(found)


def synced_text(widget: Arena) -> str:
    """The widget's synced state and its embed state (what a saved notebook keeps)."""
    state = {k: v for k, v in widget.get_state().items() if k not in ("_esm", "_css")}
    # Only this widget and what it refers to: the process may hold other (labelled) widgets.
    embedded = embed_data(views=[widget], state=dependency_state(widget, drop_defaults=False))
    embedded = embedded["manager_state"]["state"]
    assert embedded[widget.model_id]["state"]["pair"] == widget.pair
    for model in embedded.values():  # the front-end code is the same for every arena
        for code in ("_esm", "_css"):
            model["state"].pop(code, None)
    return json.dumps(state) + json.dumps(embedded)


def leaks(text: str, result: SweepResult) -> list[str]:
    return [secret for secret in secrets_of(result) if secret in text]


# -- blindness --------------------------------------------------------------------------------
def test_before_a_vote_nothing_in_the_state_names_what_is_compared(
    done: tuple[Client, SweepResult]
) -> None:
    _, result = done
    for by in (None, "animal"):
        widget = Arena(own_arena(result, f"blind-{by}", by=by))
        assert widget.pair and leaks(synced_text(widget), result) == []
        assert leaks(widget.static_html(), result) == []
        bundle, _ = widget._repr_mimebundle_()
        assert leaks(json.dumps(bundle), result) == []


def test_clip_messages_carry_only_the_token_side_and_chunks(done: tuple[Client, SweepResult]
                                                            ) -> None:
    _, result = done
    widget = Arena(own_arena(result, "messages"))
    sent = Sent(widget)
    widget._on_front_end_message(widget, {"type": "clips", "pair": widget.pair,
                                          "request": "r1"}, [])
    contents = [content for content, _ in sent.messages]
    assert {c["side"] for c in contents} == {"left", "right"}
    assert all(set(c) == {"type", "pair", "request", "side", "index", "count", "mime"}
               for c in contents)
    assert leaks(json.dumps(contents), result) == []


def test_votes_keep_the_state_blind_while_reveal_is_off(done: tuple[Client, SweepResult]) -> None:
    _, result = done
    widget = Arena(own_arena(result, "blind-after"))
    for outcome in ("left", "right", "tie", "skip", "left"):
        widget._on_front_end_message(widget, {"type": "vote", "pair": widget.pair,
                                              "outcome": outcome}, [])
    assert widget.progress["votes"] == 5 and widget.revealed == {}
    text = synced_text(widget)
    assert [s for s in leaks(text, result) if not s.isdigit()] == []


# -- clips ------------------------------------------------------------------------------------
def test_clips_arrive_as_buffers_without_their_metadata(done: tuple[Client, SweepResult],
                                                        tmp_path: Any) -> None:
    _, result = done
    widget = Arena(own_arena(result, "buffers"))
    sent = Sent(widget)
    deal = widget.session.current
    assert deal is not None
    widget.send_clips(widget.pair, "r2")
    sides = {content["side"]: buffers[0] for content, buffers in sent.messages}
    original = deal.left.path.read_bytes()
    assert b"seed 4821" in original  # the sandbox writes its caption into the file's tags
    for side, clip in (("left", deal.left), ("right", deal.right)):
        data = sides[side]
        assert b"seed 4821" not in data and b"crossing" not in data
        copy = tmp_path / f"{side}.mp4"
        copy.write_bytes(data)
        with av.open(str(copy)) as stripped, av.open(str(clip.path)) as source:
            assert [s.type for s in stripped.streams] == [s.type for s in source.streams]
            assert sum(1 for _ in stripped.decode(video=0)) == 72  # 3 s at 24 fps


def test_clips_of_a_pair_no_longer_shown_are_refused(done: tuple[Client, SweepResult]) -> None:
    _, result = done
    widget = Arena(own_arena(result, "old-pair"))
    old = widget.pair
    widget.vote("skip")
    sent = Sent(widget)
    widget.send_clips(old, "r3")
    assert sent.messages == [({"type": "clip_error", "pair": old, "request": "r3",
                               "message": "this pair is no longer on screen"}, [])]


# -- votes ------------------------------------------------------------------------------------
def test_a_vote_from_the_page_is_stored_and_a_new_pair_dealt(done: tuple[Client, SweepResult]
                                                             ) -> None:
    _, result = done
    widget = Arena(own_arena(result, "page-vote", voter="ana"))
    deal = widget.session.current
    assert deal is not None
    widget._on_front_end_message(widget, {"type": "vote", "pair": widget.pair,
                                          "outcome": "right"}, [])
    (stored,) = widget.session.votes()
    assert (stored.left, stored.right, stored.outcome, stored.voter) == (
        deal.left.item, deal.right.item, "right", "ana")
    assert widget.pair and widget.pair != deal.token
    assert widget.progress == {"votes": 1, "skipped": 0, "voters": 1, "mine": 1,
                               "items": 6, "clips": 6}
    scored = [row for row in widget.standings if row["score"] is not None]
    assert len(scored) == 2 and all(row["comparisons"] == 1 for row in scored)


def test_a_second_key_press_for_the_same_pair_is_ignored(done: tuple[Client, SweepResult]
                                                         ) -> None:
    _, result = done
    widget = Arena(own_arena(result, "double"))
    token = widget.pair
    for _ in range(2):
        widget._on_front_end_message(widget, {"type": "vote", "pair": token,
                                              "outcome": "left"}, [])
    assert len(widget.session.votes()) == 1


def test_a_bad_outcome_is_refused_from_python_and_shown_from_the_page(
    done: tuple[Client, SweepResult]
) -> None:
    _, result = done
    widget = Arena(own_arena(result, "bad-outcome"))
    token = widget.pair
    with pytest.raises(ValueError, match="outcome"):
        widget.vote("draw")
    widget._on_front_end_message(widget, {"type": "vote", "pair": token, "outcome": "draw"}, [])
    assert "not saved" in widget.message and widget.pair == token
    assert widget.session.votes() == []


def test_reveal_names_only_the_pair_just_voted(done: tuple[Client, SweepResult]) -> None:
    _, result = done
    widget = Arena(own_arena(result, "reveal", by="animal"))
    widget.vote("tie")
    assert widget.revealed == {}
    widget.reveal = True  # the user's switch: shows the pair already voted on
    first = widget.revealed
    assert first["outcome"] == "tie" and set(first["left"]) == {"animal", "seed"}
    deal = widget.session.current
    assert deal is not None
    widget.vote("left")
    assert widget.revealed == {"outcome": "left", "left": dict(deal.left.labels),
                               "right": dict(deal.right.labels)}
    widget.reveal = False
    assert widget.revealed == {}


def test_standings_are_named_only_on_request(done: tuple[Client, SweepResult]) -> None:
    _, result = done
    session = own_arena(result, "standings", by="animal", seed=3)
    vote_by_preference(session, {"owl": 20.0, "fox": 4.0, "hare": 1.0}, 30, seed=4)
    widget = Arena(session)
    assert all("label" not in row for row in widget.standings)
    widget.show_ranking = True
    assert [row["label"] for row in widget.standings] == ["owl", "fox", "hare"]
    assert all(row["low"] <= row["score"] <= row["high"] for row in widget.standings)


def test_the_widget_delegates_ranking_matrix_and_agreement(done: tuple[Client, SweepResult]
                                                           ) -> None:
    _, result = done
    session = own_arena(result, "delegates", by="animal", seed=5)
    vote_by_preference(session, PREFERENCE, 12, seed=6)
    widget = Arena(session)
    assert list(widget.ranking()["item"]) == list(session.ranking()["item"])
    assert widget.win_matrix().equals(session.win_matrix())
    assert widget.agreement() is None
    assert widget.ranking_view().votes == 12


def test_hh_arena_stays_the_factory_after_the_core_is_imported() -> None:
    code = ("import hh_notebook as hh, hh_notebook.arena_rank, hh_notebook.arena_session, "
            "hh_notebook.widgets.arena; print(callable(hh.arena), hh.Arena.__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["True", "Arena"]


def test_hh_arena_builds_the_widget(done: tuple[Client, SweepResult]) -> None:
    _, result = done
    widget = hh.arena(result, by="animal", voter="cleo", seed=1)
    assert isinstance(widget, Arena) and widget.session.voter == "cleo"
    assert widget.title == "Blind arena · ranking animal · 3 values, 6 clips"


# -- the grid's panel -------------------------------------------------------------------------
def test_grid_shows_the_ranking_of_the_sweeps_votes(done: tuple[Client, SweepResult]) -> None:
    client, result = done
    assert SweepGrid.from_sweep(result).ranking == {}
    arena_id = sweep_arena_id(result.sweep_id)
    first, second = result.rows[0].job_id, result.rows[2].job_id
    client.journal.add_vote(arena_id, first, second, "left", voter="ana")
    grid = SweepGrid.from_sweep(result)
    panel = grid.ranking
    assert panel["title"] == "Blind ranking" and panel["summary"] == "1 vote · 1 voter"
    assert panel["rows"][0]["label"] == "animal: fox · seed: 48213"
    assert panel["svg"].startswith("<svg")
    client.journal.add_vote(arena_id, second, first, "left", voter="ben")
    grid._on_front_end_message(grid, {"type": "ranking"}, [])  # the panel's ↻ button
    assert grid.ranking["summary"] == "2 votes · 2 voters"


def test_grid_shows_an_arena_grouped_by_an_axis(done: tuple[Client, SweepResult]) -> None:
    _, result = done
    session = own_arena(result, "grid-by", by="animal", seed=7)
    vote_by_preference(session, PREFERENCE, 6, seed=8)
    grid = SweepGrid.from_sweep(result)
    grid.show_ranking(Arena(session))
    assert grid.ranking["title"] == "Blind ranking by animal"
    assert {row["label"] for row in grid.ranking["rows"]} == set(ANIMALS)
