"""What only Segmind's HappyHorse 1.0 offers — a clip moving from a first to a last frame, and
a clip lip-synced to a speech file — end to end on the sandbox, through every front door:
Python, the magic, the command and the form."""

from __future__ import annotations

import asyncio
import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import av
import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

from hh_notebook.client import Client
from hh_notebook.providers import Status
from hh_notebook.request import GenerationRequest
from hh_notebook.sandbox import Sandbox
from hh_notebook.widgets.playground import Playground

SPEECH = "https://example.com/hello.wav"  # not on loopback: the sandbox accepts it unread


@pytest.fixture()
def frames(tmp_path: pathlib.Path) -> dict[str, pathlib.Path]:
    """A first and a last frame that differ everywhere."""
    first = np.zeros((720, 1280, 3), dtype=np.uint8)
    first[..., 2] = 200
    last = np.zeros((720, 1280, 3), dtype=np.uint8)
    last[..., 0] = 220
    last[200:500, 400:900, 1] = 180
    paths = {"first": tmp_path / "first.png", "last": tmp_path / "last.png"}
    Image.fromarray(first).save(paths["first"])
    Image.fromarray(last).save(paths["last"])
    return paths


def decoded_ends(path: pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
    with av.open(str(path)) as container:
        images = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return images[0].astype(float), images[-1].astype(float)


def comment(path: pathlib.Path) -> str:
    with av.open(str(path)) as container:
        return str(container.metadata.get("comment", ""))


def assert_moves_from_first_to_last(clip: pathlib.Path, frames: dict[str, pathlib.Path]) -> None:
    start, end = decoded_ends(clip)
    first = np.asarray(Image.open(frames["first"]).convert("RGB"), dtype=float)
    last = np.asarray(Image.open(frames["last"]).convert("RGB"), dtype=float)
    assert np.abs(start - first).mean() < 6 and np.abs(end - last).mean() < 6
    assert np.abs(end - first).mean() > 30  # it really moved


def test_python_first_to_last_frame_with_lip_sync(
    sandbox: Sandbox, tmp_path: pathlib.Path, frames: dict[str, pathlib.Path]
) -> None:
    client = Client(provider="segmind", base_url=sandbox.base_url, data_dir=tmp_path / "data")
    try:
        job = client.generate("the horse turns to the sunset and speaks", model="1.0",
                              duration=2, image=frames["first"], last_frame=frames["last"],
                              audio=SPEECH, progress=False)
    finally:
        client.close()
    assert job.status is Status.SUCCEEDED
    assert_moves_from_first_to_last(job.video_path, frames)
    assert "lip-sync" in comment(job.video_path)
    record = client.journal.get(job.id)
    assert record.request["audio"] == SPEECH and record.request["last_frame"]["sha256"]


@pytest.fixture()
def shell(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path,
          sandbox: Sandbox) -> Iterator[InteractiveShell]:
    for var in ("SEGMIND_API_KEY", "APIFRAME_API_KEY", "HIAPI_API_KEY", "HH_OPENAI_API_KEY",
                "HH_WAIT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HH_SEGMIND_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("HH_PROVIDER", "segmind")
    monkeypatch.setenv("HH_DATA_DIR", str(tmp_path / "data"))
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "hh_notebook")
    yield ip
    ip.user_ns.pop("clip", None)
    ip.magics_manager.registry.pop("HappyHorseMagics", None)
    ip.extension_manager.loaded.discard("hh_notebook")


def test_the_magic_takes_last_frame_and_audio(
    shell: InteractiveShell, frames: dict[str, pathlib.Path]
) -> None:
    line = (f"--model 1.0 -d 2 --image {frames['first']} --last-frame {frames['last']} "
            f"--audio {SPEECH} --wait -o clip")
    with capture_output():
        shell.run_cell_magic("happyhorse", line, "the horse turns and says hello")
    job = shell.user_ns["clip"]
    assert job.status is Status.SUCCEEDED
    assert_moves_from_first_to_last(job.video_path, frames)
    assert "lip-sync" in comment(job.video_path)


def test_the_command_takes_last_frame_and_audio(
    tmp_path: pathlib.Path, frames: dict[str, pathlib.Path], sandbox: Sandbox
) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and not k.startswith("HH_")}
    env.update(HH_DATA_DIR=str(tmp_path / "data"), HH_SEGMIND_BASE_URL=sandbox.base_url)
    done = subprocess.run(
        [sys.executable, "-m", "hh_notebook.cli", "generate", "the horse turns", "--provider",
         "segmind", "--model", "1.0", "-d", "2", "--image", str(frames["first"]),
         "--last-frame", str(frames["last"]), "--audio", SPEECH],
        env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    status, path = done.stdout.strip().splitlines()[-1].split(": ", 1)
    assert status == "succeeded"
    assert_moves_from_first_to_last(pathlib.Path(path), frames)


def test_the_form_shows_them_for_segmind_1_0_only_and_renders(
    sandbox: Sandbox, tmp_path: pathlib.Path, frames: dict[str, pathlib.Path]
) -> None:
    clients: dict[str | None, Any] = {"segmind": Client(
        provider="segmind", base_url=sandbox.base_url, data_dir=tmp_path / "data")}
    form = Playground(provider="segmind", clients=clients)
    assert form.audio.layout.display == "none" and form.last_frame.layout.display == "none"
    form.version.value = "1.0"
    assert form.audio.layout.display == "" and form.last_frame.layout.display == ""
    assert form.seed.layout.display == "none" and form.duration.min == 2
    form.prompt.value = "the horse turns and speaks"
    form._image = ("first.png", frames["first"].read_bytes())
    form._last = ("last.png", frames["last"].read_bytes())
    form.audio.value = SPEECH
    form.duration.value = 2
    assert not form.render_button.disabled, form.problems.value

    async def render_and_wait() -> Any:
        widget = form.render()
        for _ in range(600):  # bounded: 60 s
            if widget.job is not None and widget.job.done:
                return widget.job
            await asyncio.sleep(0.1)
        raise AssertionError("the form's job did not end within 60 s")

    try:
        job = asyncio.run(render_and_wait())
    finally:
        clients["segmind"].close()
    assert job.status is Status.SUCCEEDED
    assert job.request.audio == SPEECH and job.request.model == "1.0"
    assert_moves_from_first_to_last(job.video_path, frames)
    form.version.value = "1.1"
    assert form.audio.value == "" and form._last is None  # hidden controls keep no value


def test_a_request_with_them_reaches_only_segmind_1_0(frames: dict[str, pathlib.Path]) -> None:
    request = GenerationRequest(prompt="p", image=frames["first"], last_frame=frames["last"],
                                audio=SPEECH, model="1.0")
    request.validate("segmind")
    assert request.replace(model=None).problems("segmind")
