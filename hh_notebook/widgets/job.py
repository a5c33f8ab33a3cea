"""The live job widget: one HappyHorse job, from submission to a playing clip.

>>> from hh_notebook import Client                       # doctest: +SKIP
>>> from hh_notebook.widgets import JobWidget            # doctest: +SKIP
>>> job = await Client().submit(GenerationRequest(prompt="a horse on a beach"))  # doctest: +SKIP
>>> JobWidget(job, client=client).show()                 # doctest: +SKIP

The widget only *shows* a job: it subscribes to the job's events and mirrors them into a few
small synced traits. The clip itself is never a trait (a notebook executed headless would
store it base64 in the file): the front end asks for it when the widget is on screen and the
bytes travel as binary comm buffers. Retry and reconcile buttons call the same public
:class:`~hh_notebook.client.Client` methods a Python user would.
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import threading
from collections.abc import Callable
from typing import Any

import traitlets as t

from ..media import poster_frame, probe_clip
from ..present import describe_params, job_cost_text, normalise_progress, status_value
from ..runtime import spawn
from ..views.static import JobSnapshot, static_html
from .assets import css, esm
from .output import SavedView

__all__ = ["JobWidget"]

#: Clip bytes go to the browser in chunks of this size (one comm message each), so that no
#: single websocket frame grows with the clip.
CHUNK_BYTES = 2 * 1024 * 1024
TERMINAL = frozenset({"succeeded", "failed", "expired"})

class JobWidget(SavedView):
    """Live view of one job: request, estimate, progress, then the clip with its audio.

    Build it from a submitted :class:`~hh_notebook.jobs.Job`, or from a request before it is
    submitted (``JobWidget(request=req, provider=..., model=...)``) and :meth:`bind` the job
    when it exists. :meth:`show` displays it so that the saved notebook's static HTML
    fallback is refreshed when the job ends.
    """

    _esm = esm("job.js")
    _css = css("job.css")

    prompt = t.Unicode("").tag(sync=True)
    negative_prompt = t.Unicode("").tag(sync=True)
    mode = t.Unicode("").tag(sync=True)
    provider = t.Unicode("").tag(sync=True)
    model = t.Unicode("").tag(sync=True)
    params = t.Dict().tag(sync=True)
    warnings = t.List(t.Unicode()).tag(sync=True)
    estimate = t.Unicode("").tag(sync=True)
    status = t.Unicode("validating").tag(sync=True)
    progress = t.Float(None, allow_none=True).tag(sync=True)
    progress_source = t.Unicode("").tag(sync=True)
    elapsed = t.Float(0.0).tag(sync=True)
    eta = t.Float(None, allow_none=True).tag(sync=True)
    message = t.Unicode("").tag(sync=True)
    job_id = t.Unicode("").tag(sync=True)
    provider_job_id = t.Unicode("").tag(sync=True)
    seed = t.Int(None, allow_none=True).tag(sync=True)
    cost = t.Unicode("").tag(sync=True)
    from_cache = t.Bool(False).tag(sync=True)
    clip = t.Dict().tag(sync=True)

    def __init__(
        self,
        job: Any = None,
        *,
        request: Any = None,
        provider: str = "",
        model: str = "",
        estimate: Any = None,
        client: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job: Any = None
        self.client = client
        self._unsubscribe: Callable[[], None] | None = None
        self._lock = threading.RLock()
        self._video_path: pathlib.Path | None = None
        self.on_msg(self._on_front_end_message)
        if request is not None:
            self.describe(request, provider=provider, model=model, estimate=estimate)
        if job is not None:
            self.bind(job)

    # ------------------------------------------------------------------ state in

    def describe(
        self, request: Any, *, provider: str = "", model: str = "", estimate: Any = None
    ) -> None:
        """Show what is being asked for (before or without a job)."""
        with self.hold_sync():
            self.prompt = request.prompt or ""
            self.negative_prompt = request.negative_prompt or ""
            self.mode = status_value(request.mode)
            self.params = describe_params(request)
            self.seed = request.seed
            if provider:
                self.provider = provider
                with contextlib.suppress(Exception):
                    self.warnings = list(request.warnings(provider))
            if model:
                self.model = model
            if estimate is not None:
                self.estimate = str(estimate)

    def set_status(self, status: str, message: str = "") -> None:
        """Show a state that has no job behind it yet (``submitting``, ``dry_run``, ``failed``)."""
        with self.hold_sync():
            self.message = message
            self.status = status

    def bind(self, job: Any) -> None:
        """Follow ``job``: mirror its state now and on every event until it ends."""
        with self._lock:
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            self.job = job
        estimate = None
        if self.client is not None and not self.estimate:
            with contextlib.suppress(Exception):
                estimate = self.client.estimate(job.request)
        self.describe(job.request, provider=job.provider, model=job.model or "", estimate=estimate)
        with self.hold_sync():
            self.job_id = job.id
            self.from_cache = bool(getattr(job, "from_cache", False))
            self.clip = {}
        self._video_path = None
        self._refresh()
        if not job.done:
            self._unsubscribe = job.subscribe(self._on_event)
            # The job may have ended between the refresh and the subscription.
            if job.done:
                self._refresh()

    def _on_event(self, event: Any) -> None:
        self._refresh(event)

    def _refresh(self, event: Any = None) -> None:
        job = self.job
        if job is None:
            return
        status = status_value(event.status if event is not None else job.status)
        raw = event.progress if event is not None else job.progress
        progress = normalise_progress(raw)
        elapsed = event.elapsed if event is not None else job.elapsed
        eta = event.eta if event is not None else job.eta
        source = "provider" if progress is not None else ""
        if progress is None and status in ("queued", "running") and eta is not None and elapsed:
            # No provider percentage: elapsed time against the remaining typical time.
            progress = min(0.99, elapsed / max(elapsed + eta, 1e-9))
            source = "estimate"
        # Lifecycle remarks (rate limited, retrying…) matter while the job runs; once it has
        # ended, only a reason for failure or a cache note is worth the space.
        message = (getattr(event, "message", None) if event is not None else None) or ""
        if status == "succeeded":
            message = ""
        if status in ("failed", "expired"):
            message = job.error or message or f"The job {status}."
        elif status == "unknown":
            message = (
                "The submit may or may not have reached the provider (no answer came back), so it "
                "was not resent. Reconcile asks the provider whether the job exists."
                + (f" ({job.error})" if job.error else "")
            )
        elif status == "succeeded" and getattr(job, "from_cache", False):
            message = (
                "Served from the journal: this exact request was paid for before, so "
                "nothing was charged now (--force / force=True pays for a new one)."
            )
        terminal = status in TERMINAL
        with self.hold_sync():
            self.elapsed = float(elapsed or 0.0)
            self.eta = float(eta) if eta is not None and not terminal else None
            self.progress = 1.0 if status == "succeeded" else progress
            self.progress_source = source
            self.provider_job_id = job.provider_job_id or ""
            self.cost = job_cost_text(job) if terminal or self.from_cache else ""
            self.message = message
            if status == "succeeded":
                self._set_clip(job)
        if terminal and self.status != status:
            with self._lock:
                if self._unsubscribe is not None:
                    self._unsubscribe()
                    self._unsubscribe = None
            # Refresh saved outputs' static fallback before the views see the final status, so
            # a re-rendered view loads the clip once rather than twice.
            self._update_displays(status)
        self.status = status

    def _set_clip(self, job: Any) -> None:
        path = pathlib.Path(job.video_path) if job.video_path else None
        if path is None or not path.is_file():
            self.message = "The job succeeded but its clip is not on this machine."
            return
        self._video_path = path
        info: dict[str, Any] = {"name": path.name, "size": path.stat().st_size}
        with contextlib.suppress(Exception):
            probe = probe_clip(path)
            info.update(
                width=probe.width,
                height=probe.height,
                duration=round(probe.duration, 3),
                has_audio=probe.has_audio,
            )
        self.clip = info

    # ------------------------------------------------------------------ front end

    def _on_front_end_message(self, _widget: Any, content: Any, buffers: list[Any]) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "request_clip":
            self.send_clip(str(content.get("request_id", "")))
        elif kind == "retry":
            self.retry()
        elif kind == "reconcile":
            self.reconcile()

    def send_clip(self, request_id: str) -> None:
        """Send the clip (and a poster frame) to the front end as binary buffers."""
        path = self._video_path
        if path is None or not path.is_file():
            self.send(
                {
                    "type": "clip_error",
                    "request_id": request_id,
                    "message": "The clip file is not on this machine any more.",
                }
            )
            return
        data = path.read_bytes()
        poster = b""
        with contextlib.suppress(Exception):
            poster = poster_frame(path, at=0.0)
        count = max(1, -(-len(data) // CHUNK_BYTES))
        for index in range(count):
            chunk = data[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES]
            msg: dict[str, Any] = {
                "type": "clip",
                "request_id": request_id,
                "index": index,
                "count": count,
                "mime": "video/mp4",
                "name": path.name,
            }
            bufs = [chunk]
            if index == 0 and poster:
                msg["poster_mime"] = "image/jpeg"
                bufs.append(poster)
            self.send(msg, buffers=bufs)

    def retry(self) -> asyncio.Future[Any] | None:
        """Submit the same request again (a failed job was not charged) and follow the new job."""
        if self.job is None or self.client is None:
            self.set_status(self.status, "Retry needs the client that ran this job.")
            return None
        request = self.job.request

        async def run() -> None:
            self.set_status("submitting")
            try:
                job = await self.client.submit(request, force=True)
            except Exception as exc:  # noqa: BLE001 - shown to the user in plain words
                self.set_status("failed", f"Retry failed: {exc}")
                return
            self.bind(job)

        return spawn(run())

    def reconcile(self) -> asyncio.Future[Any] | None:
        """Ask the provider whether an ``unknown`` submit created a job, and follow it if so."""
        if self.job is None or self.client is None:
            self.set_status(self.status, "Reconcile needs the client that ran this job.")
            return None
        job_id = self.job.id

        async def run() -> None:
            try:
                found = await self.client.reconcile(job_id)
            except Exception as exc:  # noqa: BLE001 - shown to the user in plain words
                self.set_status("unknown", f"Reconcile failed: {exc}")
                return
            self.bind(found if hasattr(found, "subscribe") else self.client.job(job_id))

        return spawn(run())

    # ------------------------------------------------------------------ display

    def snapshot(self, status: str | None = None) -> JobSnapshot:
        """The widget's current state for static rendering."""
        return JobSnapshot(
            status=status or self.status,
            prompt=self.prompt,
            negative_prompt=self.negative_prompt,
            mode=self.mode,
            provider=self.provider,
            model=self.model,
            params=dict(self.params),
            estimate=self.estimate,
            cost=self.cost,
            seed=self.seed,
            provider_job_id=self.provider_job_id,
            message=self.message,
            video_path=self._video_path,
            progress=self.progress,
            elapsed=self.elapsed,
        )

    def static_html(self, status: str | None = None) -> str:
        """The exported-notebook view: see :func:`hh_notebook.views.static.static_html`."""
        return static_html(self.snapshot(status))

    _display_status: str | None = None

    def _saved_html(self) -> str:
        return self.static_html(self._display_status)

    def _update_displays(self, status: str | None = None) -> None:
        """Rewrite the saved outputs, as of ``status`` (the job's own when None)."""
        self._display_status = status
        try:
            super()._update_displays()
        finally:
            self._display_status = None

    def close(self) -> None:
        """Stop following the job and close the comm."""
        with self._lock:
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
        super().close()
