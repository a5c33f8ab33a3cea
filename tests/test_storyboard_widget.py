"""The storyboard strip's kernel side: small traits, thumbnails and the scene as binary
buffers on request, regeneration shown with its cost first, and a static HTML fallback."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from hh_notebook.client import Client
from hh_notebook.sandbox import Sandbox
from hh_notebook.storyboard import Storyboard, StoryboardResult, storyboard
from hh_notebook.widgets.storyboard import StoryboardWidget

HOSTILE = "A foal <script>window.x=1</script> & \"friends\" wake up"


@pytest.fixture(scope="module")
def done(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Storyboard, StoryboardResult]]:
    client = Client(provider="segmind", base_url=sandbox.base_url,
                    data_dir=tmp_path_factory.mktemp("strip"))
    board = storyboard([HOSTILE, "They stand up"], client=client, duration=3)
    yield board, board.run()
    client.close()


class Sent:
    """Captures what the widget sends to the front end."""

    def __init__(self, widget: StoryboardWidget) -> None:
        self.messages: list[tuple[dict[str, Any], list[bytes]]] = []
        widget.send = self.send  # type: ignore[method-assign]

    def send(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        self.messages.append((content, list(buffers or [])))


def test_the_strip_mirrors_every_shot_and_the_scene(done: tuple) -> None:
    board, result = done
    widget = StoryboardWidget(board)
    assert [(s["number"], s["from"], s["status"], s["cost"]) for s in widget.shots] == [
        (1, None, "succeeded", "sandbox — not paid"), (2, 1, "succeeded", "sandbox — not paid")]
    assert widget.shots[0]["prompt"] == HOSTILE
    assert widget.scene["status"] == "ready" and widget.scene["dropped"] == 1
    assert widget.scene["name"] == result.video_path.name
    assert widget.estimate == "2/2 shots with a clip · 2 sandbox clips — not paid"


def test_no_trait_carries_clip_or_image_bytes(done: tuple) -> None:
    state = StoryboardWidget(done[0]).get_state()
    text = json.dumps({k: v for k, v in state.items() if k not in ("_esm", "_css")})
    assert len(text) < 5_000
    assert all(not isinstance(v, (bytes, memoryview)) for v in state.values())


def test_thumbnails_and_clips_go_as_binary_buffers_on_request(done: tuple) -> None:
    board, result = done
    widget = StoryboardWidget(board)
    sent = Sent(widget)
    widget._on_front_end_message(widget, {"type": "thumb", "index": 1}, [])
    widget._on_front_end_message(widget, {"type": "clip", "id": "scene", "request_id": "r1"}, [])
    (thumb, thumb_bufs), (clip, clip_bufs) = sent.messages
    assert thumb == {"type": "thumb", "index": 1, "key": result.shots[1].job_id,
                     "mime": "image/jpeg"}
    assert thumb_bufs[0][:2] == b"\xff\xd8"
    assert clip["type"] == "clip" and clip["request_id"] == "r1" and clip["count"] == 1
    assert clip_bufs[0] == result.video_path.read_bytes()


def test_an_unknown_clip_gets_an_error_not_bytes(done: tuple) -> None:
    widget = StoryboardWidget(done[0])
    sent = Sent(widget)
    widget._on_front_end_message(widget, {"type": "clip", "id": "shot:9", "request_id": "r"}, [])
    assert sent.messages == [({"type": "clip_error", "id": "shot:9", "request_id": "r",
                               "message": "The clip is not on this machine."}, [])]


def test_regenerate_shows_what_reruns_and_its_cost_first(done: tuple, sandbox: Sandbox) -> None:
    widget = StoryboardWidget(done[0])
    before = len(sandbox.request_log())
    widget._on_front_end_message(widget, {"type": "regenerate_preview", "index": 0}, [])
    assert widget.confirm == {"index": 0, "shots": [1, 2], "over_budget": "",
                              "cost": "$0.84 at the providers' prices (sandbox — not paid)"}
    done[0].budget = 0.3
    try:
        widget.preview_regenerate(1)
    finally:
        done[0].budget = None
    assert widget.confirm["shots"] == [2] and "above the budget" in widget.confirm["over_budget"]
    widget._on_front_end_message(widget, {"type": "cancel"}, [])
    assert widget.confirm == {}
    assert len(sandbox.request_log()) == before  # nothing was sent


def test_the_static_html_escapes_prompts_and_points_at_the_scene(done: tuple) -> None:
    board, result = done
    page = StoryboardWidget(board).static_html()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("data:image/jpeg;base64,") == 3  # two thumbnails, the scene's poster
    assert result.video_path.name in page and "<video" in page


def test_the_mime_bundle_carries_the_static_html(done: tuple) -> None:
    data, _ = StoryboardWidget(done[0])._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "hh-storyboard-static" in data["text/html"]


def test_a_sandbox_board_is_not_paid_in_its_rows_and_report(
    done: tuple, tmp_path: pathlib.Path
) -> None:
    _, result = done
    shots = [r for r in result.to_records() if r["cell"] != "scene"]
    assert shots and all(r["sandbox"] for r in shots)
    text = result.export_report(tmp_path / "report").read_text(encoding="utf-8")
    assert "2 sandbox clip(s) — not paid" in text and "$0.84" not in text
