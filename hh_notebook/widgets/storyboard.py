"""The storyboard strip: a board's shots side by side, each with its status, progress,
thumbnail and cost, and the stitched scene playing once it is ready.

>>> board = hh.storyboard(["a foal wakes", "it stands up", "it walks out"])  # doctest: +SKIP
>>> board.show()          # the strip, live                                   # doctest: +SKIP
>>> board.start()         # run in the background of the kernel               # doctest: +SKIP

The widget only shows the board: it subscribes to it and mirrors each shot into a small
synced dict. Thumbnails and clips never live in traits (a notebook executed headless would
store them base64 in the file): the front end asks for them once the strip is on screen and
the bytes travel as binary comm buffers. *Regenerate* on a shot first shows what would rerun
and what it costs (:meth:`~hh_notebook.storyboard_run.Storyboard.regeneration_estimate`);
confirming calls :meth:`~hh_notebook.storyboard_run.Storyboard.regenerate_async`.
"""

from __future__ import annotations

import base64
import contextlib
import html
import pathlib
from typing import Any

import traitlets as t

from ..errors import BudgetExceeded, HHError
from ..media import poster_jpeg
from ..present import SANDBOX_LABEL, cost_text, one_line, shorten
from ..runtime import spawn
from ..storyboard import Storyboard, StoryboardResult
from ..views.static import clip_src, small_poster
from .assets import css, esm
from .output import SavedView

__all__ = ["StoryboardWidget"]

#: Clip bytes go out in chunks of this size (one comm message each).
CHUNK_BYTES = 2 * 1024 * 1024
#: Longest side of a shot's thumbnail sent to the strip (pixels).
THUMB_SIZE = 320
#: Longest side of the thumbnails embedded in the static HTML (they live in the .ipynb file).
STATIC_THUMB_SIZE = 160


class StoryboardWidget(SavedView):
    """A live strip of a storyboard's shots and its stitched scene. Build it with
    ``board.show()`` (or ``StoryboardWidget(board)``)."""

    _esm = esm("storyboard.js")
    _css = css("storyboard.css")

    title = t.Unicode("").tag(sync=True)
    #: One small dict per shot (no bytes): number, prompt, status, progress, cost, take...
    shots = t.List(t.Dict()).tag(sync=True)
    #: The stitched scene: status, length, how it was joined, clip name and size.
    scene = t.Dict().tag(sync=True)
    estimate = t.Unicode("").tag(sync=True)
    running = t.Bool(False).tag(sync=True)
    #: A regeneration waiting for confirmation: {"index", "shots", "cost", "over_budget"}
    #: (empty: none).
    confirm = t.Dict().tag(sync=True)
    message = t.Unicode("").tag(sync=True)

    def __init__(self, board: Storyboard | StoryboardResult, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.board: Storyboard = board.board if isinstance(board, StoryboardResult) else board
        self._thumbs: dict[tuple[int, str], bytes] = {}
        self._shown = ""
        if self.board.complete:  # shown after a restart: the scene of the kept takes
            with contextlib.suppress(Exception):
                self.board.stitched()
        self.title = f"Storyboard {self.board.id} · {len(self.board.shots)} shots at " \
                     f"{self.board.provider}"
        self._refresh(None)
        self._unsubscribe = self.board.subscribe(self._refresh)
        self.on_msg(self._on_front_end_message)

    # -- state in ---------------------------------------------------------------------------
    def _refresh(self, index: int | None) -> None:
        with self.hold_sync():
            if index is None:
                self.shots = [self._shot_dict(p.index) for p in self.board.shots]
                self.scene = self._scene_dict()
                self.running = self.board.running
                with contextlib.suppress(HHError, ValueError):
                    self.estimate = self._summary()
            else:
                shots = list(self.shots)
                shots[index] = self._shot_dict(index)
                self.shots = shots
        done = f"{self.scene.get('status')}:{self.scene.get('key', '')}"
        if index is None and self.scene.get("status") in ("ready", "failed") \
                and done != self._shown:
            # Once per stitched scene: the saved output's static HTML then shows it.
            self._shown = done
            self._update_displays()

    def _summary(self) -> str:
        """``2/3 shots with a clip · spent $0.84 · to run: 1 shot, about $0.42``."""
        done = sum(s["status"] == "succeeded" for s in self.shots)
        spent = self.board.spent
        paid = str(spent) if spent.count and spent.sandbox == spent.count else f"spent {spent}"
        text = f"{done}/{len(self.shots)} shots with a clip · {paid}"
        est = self.board.estimate()
        if est.new and not self.board.running:
            noun = "shot" if len(est.new) == 1 else "shots"
            text += f" · to run: {len(est.new)} {noun}, about {est.cost_text()}"
        return text

    def _shot_dict(self, index: int) -> dict[str, Any]:
        planned = self.board.shots[index]
        run = self.board.shot_state(index)
        request = planned.request
        has_clip = bool(run.status == "succeeded" and run.video_path
                        and run.video_path.is_file())
        cost = "$0 (journal)" if run.from_cache else "" if run.cost is None else (
            SANDBOX_LABEL if self.board.client.is_sandbox else cost_text(run.cost, run.currency))
        return {
            "index": index, "number": planned.number, "prompt": request.prompt,
            "duration": request.duration, "seed": request.seed,
            "from": None if planned.parent is None else planned.parent + 1,
            "mode": request.mode.value, "status": run.status, "progress": run.progress,
            "cost": cost, "error": run.error or "", "take": run.generation,
            "has_clip": has_clip, "clip_key": run.job_id or "",
        }

    def _scene_dict(self) -> dict[str, Any]:
        scene = self.board.scene
        out: dict[str, Any] = {"status": scene.status, "error": scene.error or ""}
        result = scene.result
        if scene.status == "ready" and result is not None and result.path.is_file():
            out.update(duration=round(result.duration, 3), mode=result.mode,
                       dropped=result.dropped_frames, frames=result.frames,
                       name=result.path.name, size=result.path.stat().st_size,
                       key="|".join(scene.job_ids))
        return out

    # -- messages from the front end --------------------------------------------------------
    def _on_front_end_message(self, _widget: Any, content: Any, _buffers: list[Any]) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "thumb":
            self.send_thumb(int(content.get("index", -1)))
        elif kind == "clip":
            self.send_clip(str(content.get("id", "")), str(content.get("request_id", "")))
        elif kind == "regenerate_preview":
            self.preview_regenerate(int(content.get("index", -1)))
        elif kind == "regenerate":
            self.regenerate(int(content.get("index", -1)))
        elif kind == "cancel":
            self.confirm = {}

    def _clip_of(self, clip_id: str) -> pathlib.Path | None:
        if clip_id == "scene":
            result = self.board.scene.result
            path = result.path if self.board.scene.status == "ready" and result else None
        else:
            index = clip_id.removeprefix("shot:")
            valid = index.isdigit() and int(index) < len(self.board.shots)
            path = self.board.shot_state(int(index)).video_path if valid else None
        return path if path is not None and path.is_file() else None

    def send_thumb(self, index: int) -> None:
        """Send shot ``index``'s thumbnail (a JPEG of its middle frame) as a binary buffer."""
        path = self._clip_of(f"shot:{index}")
        key = self.board.shot_state(index).job_id if path is not None else None
        if path is None or key is None:
            self.send({"type": "thumb_error", "index": index})
            return
        if (index, key) not in self._thumbs:
            try:
                self._thumbs[(index, key)] = poster_jpeg(path, at=0.5, box=THUMB_SIZE)
            except Exception:  # noqa: BLE001 - a clip without a decodable frame: no thumbnail
                self.send({"type": "thumb_error", "index": index})
                return
        self.send({"type": "thumb", "index": index, "key": key, "mime": "image/jpeg"},
                  buffers=[self._thumbs[(index, key)]])

    def send_clip(self, clip_id: str, request_id: str = "") -> None:
        """Send the scene (``"scene"``) or a shot's clip (``"shot:<index>"``) as binary
        buffers, in chunks."""
        path = self._clip_of(clip_id)
        if path is None:
            self.send({"type": "clip_error", "id": clip_id, "request_id": request_id,
                       "message": "The clip is not on this machine."})
            return
        data = path.read_bytes()
        count = max(1, -(-len(data) // CHUNK_BYTES))
        for index in range(count):
            chunk = data[index * CHUNK_BYTES:(index + 1) * CHUNK_BYTES]
            self.send({"type": "clip", "id": clip_id, "request_id": request_id,
                       "index": index, "count": count, "mime": "video/mp4",
                       "name": path.name}, buffers=[chunk])

    def preview_regenerate(self, index: int) -> dict[str, Any]:
        """Show what regenerating shot ``index`` would rerun and cost, awaiting confirmation."""
        try:
            est = self.board.regeneration_estimate(index)
        except (HHError, IndexError, TypeError) as exc:
            self.message = one_line(exc)
            return {}
        over = ""
        try:
            self.board.check_budget(None, est.new, fresh=True)
        except BudgetExceeded:
            over = "above the budget (HH_BUDGET, or the board's budget=)"
        self.message = ""
        self.confirm = {"index": index, "shots": [i + 1 for i in est.new],
                        "cost": est.cost_text(), "over_budget": over}
        return dict(self.confirm)

    def regenerate(self, index: int) -> Any:
        """Regenerate shot ``index`` and what chains from it (the user confirmed the cost)."""
        self.confirm = {}

        async def run() -> None:
            try:
                await self.board.regenerate_async(index, confirm=True)
            except Exception as exc:  # noqa: BLE001 - shown in the strip in plain words
                self.message = f"Regenerate failed: {one_line(exc)}"

        return spawn(run())

    # -- display ----------------------------------------------------------------------------
    def static_html(self) -> str:
        """The strip as plain HTML for exports without widgets: a small thumbnail, status and
        cost per shot, and the scene as a ``<video>`` pointing at its file."""
        cards = []
        for shot in self.shots:
            thumb = ""
            path = self._clip_of(f"shot:{shot['index']}")
            if path is not None:
                with contextlib.suppress(Exception):
                    jpeg = poster_jpeg(path, at=0.5, box=STATIC_THUMB_SIZE, quality=70)
                    thumb = (f'<img alt="shot {shot["number"]}" style="display:block;width:100%"'
                             f' src="data:image/jpeg;base64,{base64.b64encode(jpeg).decode()}">')
            start = f"from shot {shot['from']}" if shot["from"] else "afresh"
            cards.append(
                '<div class="hh-storyboard-static-shot" style="flex:1 1 150px;max-width:200px;'
                'border:1px solid #ccc;border-radius:4px;padding:4px">'
                f"{thumb}<div><b>shot {shot['number']}</b> · {_e(start)} · "
                f"{_e(shot['duration'])} s</div><div>{_e(shot['status'])} {_e(shot['cost'])}"
                f"</div><div style=\"color:#555\">{_e(shorten(shot['prompt'], 80))}</div></div>")
        scene = self.scene
        video = ""
        path = self._clip_of("scene")
        if path is not None:
            src = _e(clip_src(path))
            poster = ""
            with contextlib.suppress(Exception):
                encoded = base64.b64encode(small_poster(path)).decode()
                poster = f' poster="data:image/jpeg;base64,{encoded}"'
            video = (f'<video class="hh-static-video" controls preload="none" width="640" '
                     f'style="max-width:100%;max-height:360px" src="{src}"{poster}></video>'
                     f'<div><a href="{src}">{_e(path.name)}</a> · '
                     f"{_e(scene.get('duration'))} s</div>")
        else:
            video = f"<div>scene: {_e(scene.get('status'))} {_e(scene.get('error', ''))}</div>"
        return ('<div class="hh-storyboard-static" style="font-family:sans-serif;'
                'max-width:900px">'
                f"<div><b>{_e(self.title)}</b></div>"
                f'<div style="display:flex;gap:6px;flex-wrap:wrap">{"".join(cards)}</div>'
                f"{video}</div>")

    def close(self) -> None:
        """Stop following the board and close the widget."""
        self._unsubscribe()
        super().close()


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)
