"""The playground form: every HappyHorse parameter as a form, a live cost estimate and
validation as you type, and a Render button that starts a job and shows its widget below.

>>> from hh_notebook.widgets.playground import Playground   # doctest: +SKIP
>>> Playground()                                            # doctest: +SKIP

It builds the same :class:`~hh_notebook.request.GenerationRequest` a Python user would, checks
it with the request's own validation, prices it with :func:`~hh_notebook.pricing.estimate_cost`
and submits it with :meth:`Client.submit <hh_notebook.client.Client.submit>`.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from .. import catalog
from ..client import client_for
from ..pricing import estimate_cost
from ..request import GenerationRequest
from ..runtime import spawn
from .job import JobWidget

__all__ = ["Playground"]

THUMB_PX = 72
MAX_REFS = catalog.MAX_REFERENCES


def _thumbnail(data: bytes) -> bytes:
    """A small PNG of an uploaded image (the upload itself stays out of synced state)."""
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    img.thumbnail((THUMB_PX * 2, THUMB_PX * 2))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


def _upload_files(upload: w.FileUpload) -> list[tuple[str, bytes]]:
    return [(str(f["name"]), bytes(f["content"])) for f in upload.value]


class Playground(w.VBox):  # type: ignore[misc]
    """A form mirroring the providers' playgrounds; Render spawns a job widget below it."""

    def __init__(
        self,
        *,
        provider: str | None = None,
        clients: dict[str | None, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._clients: dict[str | None, Any] = clients if clients is not None else {}
        start_provider = provider
        if start_provider is None:
            try:  # the default provider, when it can be named (its key or base URL is set)
                start_provider = client_for(None, self._clients).provider
                client_for(start_provider, self._clients)
            except Exception:  # noqa: BLE001 - no provider yet: the form works on the sandbox
                start_provider = catalog.SANDBOX
        protocol = catalog.protocol_of(start_provider)
        full = w.Layout(width="100%")
        self.prompt = w.Textarea(
            placeholder="Describe the clip, its motion and its sound…",
            layout=w.Layout(width="100%", height="90px"),
        )
        self.negative = w.Textarea(
            placeholder="Negative prompt (optional)", layout=w.Layout(width="100%", height="40px")
        )
        # "sandbox": the local sandbox, speaking Segmind's protocol (never paid).
        self.provider = w.Dropdown(
            options=[*catalog.PROVIDERS, catalog.SANDBOX], value=start_provider,
            description="Provider",
        )
        self.version = w.Dropdown(options=list(catalog.versions(protocol)),
                                  description="Version")
        self.resolution = w.ToggleButtons(
            options=list(catalog.RESOLUTIONS), value=catalog.DEFAULT_RESOLUTION,
            description="Resolution"
        )
        low, high = catalog.duration_range(protocol)
        self.duration = w.IntSlider(value=catalog.DEFAULT_DURATION, min=low, max=high,
                                    description="Duration (s)")
        self.aspect = w.Dropdown(
            options=list(catalog.aspect_ratios(protocol)),
            value=catalog.DEFAULT_ASPECT_RATIO, description="Aspect"
        )
        self.seed = w.Text(value="", placeholder="random", description="Seed")
        self.extend = w.Checkbox(value=True, description="Prompt extend", indent=False)
        self.watermark = w.Checkbox(value=False, description="Watermark", indent=False)
        self.first_frame = w.FileUpload(accept="image/*", multiple=False, description="First frame")
        self.references = w.FileUpload(accept="image/*", multiple=True, description="References")
        self.last_frame = w.FileUpload(accept="image/*", multiple=False, description="Last frame")
        self.audio = w.Text(value="", placeholder="https://…/speech.wav",
                            description="Lip-sync audio", layout=w.Layout(width="60%"))
        self.clear_images = w.Button(description="Clear images", icon="times")
        self.first_frame_thumb = w.HBox()
        self.reference_thumbs = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.cost = w.HTML()
        self.problems = w.HTML()
        self.render_button = w.Button(description="Render", button_style="primary", icon="play")
        self.jobs = w.VBox()
        self._image: tuple[str, bytes] | None = None
        self._last: tuple[str, bytes] | None = None
        self._refs: list[tuple[str, bytes]] = []
        #: Controls shown only where the chosen provider and version take their parameter.
        self._param_controls: dict[str, Any] = {
            "negative_prompt": self.negative, "seed": self.seed, "prompt_extend": self.extend,
            "watermark": self.watermark, "last_frame": self.last_frame, "audio": self.audio,
            "reference_images": self.references,
        }

        form = [
            self.prompt,
            self.negative,
            w.HBox([self.provider, self.version, self.resolution]),
            w.HBox([self.duration, self.aspect, self.seed]),
            w.HBox([self.extend, self.watermark]),
            w.HBox([self.first_frame, self.last_frame, self.references, self.clear_images]),
            self.audio,
            w.HBox([self.first_frame_thumb, self.reference_thumbs]),
            self.problems,
            w.HBox([self.render_button, self.cost]),
            self.jobs,
        ]
        super().__init__(form, layout=full, **kwargs)
        self.add_class("hh-playground")
        for control in (
            self.prompt,
            self.negative,
            self.resolution,
            self.duration,
            self.aspect,
            self.seed,
            self.extend,
            self.watermark,
            self.audio,
        ):
            control.observe(self._changed, names="value")
        self.provider.observe(self._provider_changed, names="value")
        self.version.observe(self._version_changed, names="value")
        self.last_frame.observe(self._last_frame_uploaded, names="value")
        self.first_frame.observe(self._first_frame_uploaded, names="value")
        self.references.observe(self._references_uploaded, names="value")
        self.clear_images.on_click(self._clear_images)
        self.render_button.on_click(lambda _b: self.render())
        self._version_changed()

    # ------------------------------------------------------------------ inputs

    def _protocol(self) -> str:
        """The provider whose limits the form follows ("sandbox" speaks Segmind's)."""
        return catalog.protocol_of(self.provider.value)

    def _provider_changed(self, _change: Any = None) -> None:
        ratios = list(catalog.aspect_ratios(self._protocol()))
        current = self.aspect.value
        self.aspect.options = ratios
        self.aspect.value = current if current in ratios else ratios[0]
        versions = list(catalog.versions(self._protocol()))
        if list(self.version.options) != versions:
            self.version.options = versions  # resets the value, which calls _version_changed
        self._version_changed()

    def _version_changed(self, _change: Any = None) -> None:
        """Show the controls this provider and version take (others keep their defaults,
        so nothing the provider does not take is ever sent), and its duration range."""
        provider, version = self._protocol(), self.version.value or None
        taken = {name for c in catalog.contracts_of(provider)
                 if version is None or c.version == version for name in c.params}
        for name, control in self._param_controls.items():
            shown = name in taken
            control.layout.display = "" if shown else "none"
            if not shown:
                self._reset(name)
        low, high = catalog.duration_range(provider, version)
        if high >= self.duration.min:  # keep min <= max at every step
            self.duration.max, self.duration.min = high, low
        else:
            self.duration.min, self.duration.max = low, high
        self._changed()

    def _reset(self, name: str) -> None:
        if name == "last_frame":
            self._last = None
            self._show_thumbs()
        elif name == "reference_images":
            self._refs = []
            self._show_thumbs()
        elif name in ("negative_prompt", "seed", "audio"):
            self._param_controls[name].value = ""
        else:
            self._param_controls[name].value = name == "prompt_extend"

    def _last_frame_uploaded(self, _change: Any = None) -> None:
        files = _upload_files(self.last_frame)
        if files:
            self._last = files[-1]
        self._show_thumbs()
        self._changed()

    def _first_frame_uploaded(self, _change: Any = None) -> None:
        files = _upload_files(self.first_frame)
        if files:
            self._image = files[-1]
        self._show_thumbs()
        self._changed()

    def _references_uploaded(self, _change: Any = None) -> None:
        self._refs = (self._refs + _upload_files(self.references))[: MAX_REFS + 1]
        self._show_thumbs()
        self._changed()

    def _clear_images(self, _button: Any = None) -> None:
        self._image = None
        self._last = None
        self._refs = []
        self._show_thumbs()
        self._changed()

    def _show_thumbs(self) -> None:
        def thumbs(items: list[tuple[str, bytes]], label: Callable[[int], str]) -> list[Any]:
            out = []
            for i, (name, data) in enumerate(items):
                try:
                    img: Any = w.Image(
                        value=_thumbnail(data),
                        format="png",
                        layout=w.Layout(max_width=f"{THUMB_PX}px", max_height=f"{THUMB_PX}px"),
                    )
                except Exception:  # noqa: BLE001 - an unreadable upload: validation explains it
                    img = w.HTML("<i>?</i>")
                caption = w.Label(f"{label(i)} {name}"[:24])
                out.append(w.VBox([img, caption]))
            return out

        self.first_frame_thumb.children = thumbs(
            [self._image] if self._image else [], lambda _i: "first frame"
        ) + thumbs([self._last] if self._last else [], lambda _i: "last frame")
        self.reference_thumbs.children = thumbs(self._refs, lambda i: f"[Image {i + 1}]")

    # ------------------------------------------------------------------ request

    def request(self) -> Any:
        """The :class:`~hh_notebook.request.GenerationRequest` the form describes right now."""
        seed_text = self.seed.value.strip()
        seed: Any = None
        if seed_text:
            seed = int(seed_text) if seed_text.lstrip("-").isdigit() else seed_text
        return GenerationRequest(
            prompt=self.prompt.value,
            negative_prompt=self.negative.value.strip() or None,
            image=self._image[1] if self._image else None,
            reference_images=[data for _name, data in self._refs],
            resolution=self.resolution.value,
            duration=self.duration.value,
            aspect_ratio=self.aspect.value,
            seed=seed,
            prompt_extend=self.extend.value,
            watermark=self.watermark.value,
            model=self.version.value or None,
            audio=self.audio.value.strip() or None,
            last_frame=self._last[1] if self._last else None,
        )

    def _changed(self, _change: Any = None) -> None:
        request = self.request()
        provider = self.provider.value
        problems = [str(p) for p in request.problems(provider)]
        if len(self._refs) > MAX_REFS:
            problems.append(f"reference_images: at most {MAX_REFS} images")
        notes = list(request.warnings(provider))
        try:
            estimate = str(estimate_cost(request, provider))
        except Exception as exc:  # noqa: BLE001 - an invalid request has no price yet
            estimate = f"– ({exc})" if not problems else "–"
        mode = request.mode.label
        self.cost.value = (
            f"<span class='hh-cost'>{html.escape(mode)} · estimated "
            f"<b>{html.escape(estimate)}</b></span>"
        )
        items = [f"<li style='color:#c62828'>{html.escape(p)}</li>" for p in problems]
        items += [f"<li style='color:#ef6c00'>{html.escape(n)}</li>" for n in notes]
        self.problems.value = f"<ul class='hh-problems'>{''.join(items)}</ul>" if items else ""
        self.render_button.disabled = bool(problems)

    # ------------------------------------------------------------------ render

    def render(self) -> JobWidget:
        """Submit the form's request and add its job widget below the form."""
        request = self.request()
        provider = self.provider.value
        widget = JobWidget(request=request, provider=provider,
                           model=request.model or catalog.default_version(self._protocol()))
        widget.set_status("submitting")
        self.jobs.children = (widget, *self.jobs.children)
        try:
            client = client_for(provider, self._clients)
        except Exception as exc:  # noqa: BLE001 - shown in the widget in plain words
            widget.set_status("failed", f"{exc}")
            return widget
        widget.client = client
        try:
            prepared = client.prepare(request)  # checked and priced once, here
        except Exception as exc:  # noqa: BLE001 - shown in the widget in plain words
            widget.set_status("failed", " ".join(str(exc).split()))
            return widget
        widget.estimate = str(prepared.estimate)

        async def run() -> None:
            try:
                job = await client.submit(prepared)
            except Exception as exc:  # noqa: BLE001 - shown in the widget in plain words
                lost = getattr(exc, "job", None)
                if lost is None:
                    widget.set_status("failed", " ".join(str(exc).split()))
                    return
                job = lost
            widget.bind(job)

        spawn(run())
        return widget
