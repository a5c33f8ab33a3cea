"""The README's troubleshooting entries, each producing the exact message the README quotes.

One test per entry; the messages are asserted in full so the README and the code cannot drift
apart silently. Requests that must fail do so before anything is paid: where HTTP is involved,
the sandbox's request log shows what reached the provider.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import hh_notebook as hh
from hh_notebook.providers import get_provider
from hh_notebook.sandbox import Sandbox

PROMPT = "A white horse gallops along a beach at dawn, waves crashing"

# -- the messages the README quotes -------------------------------------------------------------

SEGMIND_406 = (
    "segmind: HTTP 406: Insufficient credits: your balance is below this model's average cost "
    "($1.44) reserved before running. Please top up. — Segmind reserves the model's average "
    "cost before running, so a balance below that reservation is refused even for a cheaper "
    "clip; top up (a balance above about $10 avoids it)"
)
#: The same, for the 406 body Segmind documents (what a real account sees).
SEGMIND_406_DOCUMENTED = (
    "segmind: HTTP 406: Not enough credits to process request — Segmind reserves the model's "
    "average cost before running, so a balance below that reservation is refused even for a "
    "cheaper clip; top up (a balance above about $10 avoids it)"
)
DURATION_TOO_SHORT = (
    "1 problem with this request:\n"
    "  - duration: 2 s is too short: providers reject clips under 3 s (generate 3 s and trim it) "
    "(got 2; allowed: a whole number of seconds from 3 to 15 (int))"
)
AUDIO_ONLY_AT_SEGMIND_1_0 = (
    "audio: segmind's HappyHorse 1.1 does not take audio for text-to-video; it is taken by "
    "segmind 1.0 (HappyHorse makes its own synchronized sound: describe it in the prompt) "
    "(got 'https://example.com/song.mp3'; allowed: audio left unset at segmind 1.1)"
)
ASPECT_IGNORED_IN_I2V = (
    "aspect_ratio 9:16 is ignored in image-to-video: the first frame decides the shape of the "
    "clip. Crop the image to the shape you want."
)
STRAY_IMAGE_CHANGES_MODE = (
    "both image (a first frame) and reference_images are set: this is probably a mistake "
    "(a stray field changes the mode). Reference-to-video wins and the image is dropped: "
    "segmind does not document which field wins when both are sent, so hh_notebook sends "
    "reference_images only. Clear one of the two."
)


@pytest.fixture()
def images(tmp_path: Path) -> dict[str, Path]:
    """A landscape first frame and two square references, big enough to be valid."""
    frame = tmp_path / "first_frame.png"
    Image.new("RGB", (640, 360), (30, 60, 110)).save(frame)
    refs = []
    for index, color in enumerate([(200, 60, 50), (60, 170, 90)], start=1):
        path = tmp_path / f"reference_{index}.png"
        Image.new("RGB", (400, 400), color).save(path)
        refs.append(path)
    return {"image": frame, "ref1": refs[0], "ref2": refs[1]}


def _submits(sb: Sandbox) -> list[dict]:
    return [e for e in sb.request_log() if e["endpoint"] == "submit"]


def test_segmind_406_explains_the_balance_reservation(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    # $1.00 would pay for a 5 s 720P clip ($0.70), but Segmind first reserves the model's
    # average cost, which is more than that: the submit is refused before anything runs.
    fresh_sandbox.set_balance("segmind", 1.00)
    client = hh.Client(provider="segmind", base_url=fresh_sandbox.base_url, data_dir=tmp_path)
    try:
        assert client.estimate(PROMPT, duration=5).amount == pytest.approx(0.70)
        with pytest.raises(hh.InsufficientCredits) as caught:
            client.generate(PROMPT, duration=5)
        assert str(caught.value) == SEGMIND_406
        assert caught.value.status_code == 406
        assert [e["status"] for e in _submits(fresh_sandbox)] == [406]
        [record] = client.jobs()
        assert record.status == "failed" and record.video_path is None
    finally:
        client.close()


def test_segmind_406_as_documented_gets_the_same_explanation() -> None:
    # Segmind's own 406 text says only "Not enough credits"; the explanation is added client-side.
    body = b'{"error": "Not enough credits to process request"}'
    with pytest.raises(hh.InsufficientCredits) as caught:
        get_provider("segmind").parse_submit(406, {}, body)
    assert str(caught.value) == SEGMIND_406_DOCUMENTED
    # A 406 for a wrong Content-Type is not about money and gets no such note.
    wrong_type = b'{"error": "Unsupported Content-Type: send application/json"}'
    with pytest.raises(hh.ProviderError) as other:
        get_provider("segmind").parse_submit(406, {}, wrong_type)
    assert "reserves" not in str(other.value)


def test_duration_under_3_seconds_is_refused_before_sending(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    with pytest.raises(hh.ValidationError) as direct:
        hh.GenerationRequest(prompt=PROMPT, duration=2).validate("segmind")
    assert str(direct.value) == DURATION_TOO_SHORT
    assert [e.field for e in direct.value.errors] == ["duration"]

    client = hh.Client(provider="segmind", base_url=fresh_sandbox.base_url, data_dir=tmp_path)
    try:
        with pytest.raises(hh.ValidationError) as through_client:
            client.generate(PROMPT, duration=2)
        assert str(through_client.value) == DURATION_TOO_SHORT
        assert _submits(fresh_sandbox) == []
        assert client.jobs() == []
    finally:
        client.close()


def test_audio_is_taken_only_by_segmind_1_0() -> None:
    request = hh.GenerationRequest(prompt=PROMPT, audio="https://example.com/song.mp3")
    with pytest.raises(hh.ValidationError) as caught:
        request.validate("segmind")
    (error,) = caught.value.errors
    assert str(error) == AUDIO_ONLY_AT_SEGMIND_1_0
    request.replace(model="1.0").validate("segmind")


def test_aspect_ratio_is_ignored_in_image_to_video(images: dict[str, Path]) -> None:
    request = hh.GenerationRequest(prompt=PROMPT, image=str(images["image"]), aspect_ratio="9:16")
    assert request.mode is hh.Mode.I2V
    request.validate("segmind")  # valid: a warning, not an error
    assert request.warnings("segmind") == [ASPECT_IGNORED_IN_I2V]
    # The default aspect ratio says nothing: only an explicit choice that will be ignored does.
    assert request.replace(aspect_ratio="16:9").warnings("segmind") == []


def test_a_stray_first_frame_changes_the_mode(images: dict[str, Path]) -> None:
    refs = [str(images["ref1"]), str(images["ref2"])]
    request = hh.GenerationRequest(
        prompt="[Image 1] walks past [Image 2]", image=str(images["image"]), reference_images=refs
    )
    assert request.mode is hh.Mode.R2V
    request.validate("segmind")
    assert request.warnings("segmind") == [STRAY_IMAGE_CHANGES_MODE]
    # What the warning says is what is sent: the references, not the first frame.
    call = get_provider("segmind").build_submit(request, "key", "http://127.0.0.1:9")
    assert "image" not in call.json
    assert len(call.json["reference_images"]) == 2
    # Without the stray field the request is what was meant, and quiet.
    fixed = request.replace(image=None)
    assert fixed.mode is hh.Mode.R2V and fixed.warnings("segmind") == []


@pytest.mark.parametrize("message", [SEGMIND_406_DOCUMENTED, AUDIO_ONLY_AT_SEGMIND_1_0,
                                     ASPECT_IGNORED_IN_I2V])
def test_the_readme_quotes_the_message(message: str) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert " ".join(message.split()) in " ".join(readme.split())


def test_the_readme_quotes_the_duration_message() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    problem = DURATION_TOO_SHORT.split("  - ", 1)[1]
    assert " ".join(problem.split()) in " ".join(readme.split())
