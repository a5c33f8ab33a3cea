"""GenerationRequest: mode inference, warnings, validation details, records and fingerprints."""

from __future__ import annotations

import doctest
import json
import pathlib
import pickle
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from core_fixtures import URL, URL2, image_bytes, write_image
from PIL import Image

import hh_notebook.errors
import hh_notebook.request
from hh_notebook.errors import (
    AuthError,
    FieldError,
    HHError,
    JobFailed,
    ProviderError,
    RateLimited,
    UnknownParameter,
    ValidationError,
)
from hh_notebook.media import StoredImage
from hh_notebook.request import (
    PROVIDERS,
    GenerationRequest,
    Mode,
    default_model,
    image_tokens,
    is_chinese,
)

# ---------------------------------------------------------------------------- mode


def test_prompt_alone_is_text_to_video() -> None:
    assert GenerationRequest(prompt="a horse").mode is Mode.T2V


def test_image_makes_image_to_video() -> None:
    assert GenerationRequest(prompt="a horse", image=URL).mode is Mode.I2V


def test_references_make_reference_to_video() -> None:
    assert GenerationRequest(prompt="[Image 1]", reference_images=[URL]).mode is Mode.R2V


def test_empty_image_string_counts_as_no_image() -> None:
    request = GenerationRequest(prompt="a horse", image="  ")
    assert request.mode is Mode.T2V
    assert request.image is None


def test_image_and_references_give_reference_to_video_and_drop_the_image() -> None:
    request = GenerationRequest(prompt="p", image=URL, reference_images=[URL2])
    assert request.mode is Mode.R2V
    assert request.effective_image is None
    assert GenerationRequest(prompt="p", image=URL).effective_image == URL


def test_mode_is_a_string_enum() -> None:
    assert Mode.I2V == "i2v"
    assert Mode.R2V.label == "reference-to-video"


# ---------------------------------------------------------------------------- warnings


def test_image_and_references_warn_with_every_providers_outcome() -> None:
    (warning,) = GenerationRequest(prompt="p", image=URL, reference_images=[URL2]).warnings()
    assert "probably a mistake" in warning
    assert "Reference-to-video wins" in warning
    for provider in PROVIDERS:
        assert provider in warning


@pytest.mark.parametrize("provider", PROVIDERS)
def test_image_and_references_warning_names_only_the_chosen_provider(provider: str) -> None:
    request = GenerationRequest(prompt="p", image=URL, reference_images=[URL2, URL])
    (warning,) = request.warnings(provider)
    others = [p for p in PROVIDERS if p != provider]
    assert provider in warning
    assert not any(f"{other} " in warning for other in others)


def test_explicit_aspect_ratio_in_image_to_video_warns_that_it_is_ignored() -> None:
    (warning,) = GenerationRequest(prompt="p", image=URL, aspect_ratio="9:16").warnings()
    assert "9:16" in warning and "ignored" in warning and "first frame" in warning


def test_default_aspect_ratio_in_image_to_video_does_not_warn() -> None:
    assert GenerationRequest(prompt="p", image=URL).warnings("segmind") == []


def test_aspect_ratio_in_text_to_video_does_not_warn() -> None:
    assert GenerationRequest(prompt="p", aspect_ratio="9:16").warnings("segmind") == []


@pytest.mark.parametrize(
    ("provider", "changes", "word"),
    [
        ("apiframe", {"negative_prompt": "blurry"}, "negative_prompt"),
        ("hiapi", {"negative_prompt": "blurry"}, "negative_prompt"),
        ("openai", {"negative_prompt": "blurry"}, "negative_prompt"),
        ("openai", {"prompt_extend": False}, "prompt_extend"),
        ("apiframe", {"prompt_extend": False}, "prompt_extend"),
        ("apiframe", {"watermark": True}, "watermark"),
        ("hiapi", {"watermark": True}, "watermark"),
        ("hiapi", {"seed": 7}, "seed"),
        ("segmind", {"reference_type": "style", "reference_images": [URL]}, "reference_type"),
        ("openai", {"reference_type": "style"}, "reference_type"),
    ],
)
def test_parameters_a_provider_does_not_take_are_refused_before_sending(
    provider: str, changes: dict[str, Any], word: str
) -> None:
    request = GenerationRequest(prompt="p", **changes)
    with pytest.raises(ValidationError) as info:
        request.validate(provider)
    assert info.value.fields == [word]
    message = info.value.errors[0].message
    assert provider in message and "does not take" in message and "taken by" in message
    assert request.warnings(provider) == []


def test_segmind_documents_every_common_parameter_so_it_takes_them_all() -> None:
    request = GenerationRequest(prompt="p", negative_prompt="blurry", prompt_extend=False,
                                watermark=True, seed=3)
    assert request.warnings("segmind") == []
    request.validate("segmind")


def test_reference_type_in_aggregator_r2v_is_not_warned_about() -> None:
    request = GenerationRequest(prompt="p", reference_images=[URL], reference_type="subject")
    assert request.warnings("openai") == []
    request.validate("openai")


def test_segmind_1_0_reference_to_video_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        GenerationRequest(prompt="p", reference_images=[URL], model="1.0").validate("segmind")
    (error,) = info.value.errors
    assert "has no reference-to-video" in error.message and "segmind 1.1" in error.message


# ---------------------------------------------------------------------------- valid requests


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "inputs",
    [{}, {"image": URL}, {"reference_images": [URL, URL2]}],
    ids=["t2v", "i2v", "r2v"],
)
def test_url_requests_are_valid_at_every_provider(provider: str, inputs: dict[str, Any]) -> None:
    seed = 1 if provider != "hiapi" else None  # HiAPI's pages list no seed
    GenerationRequest(prompt="[Image 1] at dawn" if inputs else "dawn", seed=seed,
                      **inputs).validate(provider)


def test_segmind_accepts_local_images_of_every_kind(tmp_path: pathlib.Path) -> None:
    path = write_image(tmp_path, "frame.webp", fmt="WEBP")
    arr = np.zeros((400, 400, 4), dtype=np.uint8)
    pil = Image.new("RGB", (1280, 720))
    GenerationRequest(prompt="p", image=path).validate("segmind")
    GenerationRequest(prompt="p", image=str(path)).validate("segmind")
    GenerationRequest(
        prompt="[Image 4] and [Image 1]",
        reference_images=[image_bytes(fmt="JPEG"), arr, pil, URL],
    ).validate("segmind")


@pytest.mark.parametrize("provider", ["openai", "hiapi", None])
def test_image_to_video_prompt_is_optional_where_documented(provider: str | None) -> None:
    GenerationRequest(image=URL).validate(provider)


def test_boundaries_are_accepted() -> None:
    for duration in (3, 15):
        GenerationRequest(prompt="p", duration=duration).validate("segmind")
    for seed in (0, 2_147_483_647):
        GenerationRequest(prompt="p", seed=seed).validate("segmind")
    GenerationRequest(prompt="a" * 5000).validate("openai")
    GenerationRequest(prompt="马" * 2500).validate("openai")
    GenerationRequest(prompt="p", reference_images=[URL] * 9).validate("segmind")


def test_numpy_integers_are_accepted_and_become_int() -> None:
    request = GenerationRequest(prompt="p", duration=np.int64(6), seed=np.int32(9))
    request.validate("segmind")
    assert type(request.duration) is int and type(request.seed) is int


def test_resolution_is_case_insensitive_and_normalised() -> None:
    request = GenerationRequest(prompt="p", resolution=" 1080p ")
    assert request.resolution == "1080P"
    request.validate("apiframe")


def test_nine_ratios_are_valid_at_hiapi_and_the_aggregator_only() -> None:
    request = GenerationRequest(prompt="p", aspect_ratio="9:21")
    request.validate("hiapi")
    request.validate("openai")
    request.validate()
    with pytest.raises(ValidationError):
        request.validate("segmind")


def test_segmind_serves_both_versions() -> None:
    GenerationRequest(prompt="p", model="1.0").validate("segmind")
    GenerationRequest(prompt="p", model="1.1").validate("segmind")


def test_default_models() -> None:
    assert [default_model(p) for p in PROVIDERS] == ["1.1", "1.1", "1.1", "1.0"]
    with pytest.raises(ValueError, match="unknown provider"):
        default_model("sandbox")


# ---------------------------------------------------------------------------- validation details


def test_chinese_means_any_cjk_ideograph() -> None:
    assert is_chinese("一匹马")
    assert is_chinese("a horse 马 runs")
    assert not is_chinese("a horse runs")
    assert not is_chinese("うまがはしる")  # kana only: not Chinese
    assert not is_chinese("말이 달린다")


def test_image_tokens_allow_case_and_spacing() -> None:
    assert image_tokens("[Image 1], [image2] and [ IMAGE 10 ]") == [1, 2, 10]
    assert image_tokens("[Images 1] [Image x]") == []


@pytest.mark.parametrize(
    ("duration", "words"),
    [(2, "under 3 s"), (16, "15 s is the longest"), (2.5, "not a float"), ("5", "not a str")],
)
def test_duration_errors_explain_themselves(duration: object, words: str) -> None:
    (error,) = GenerationRequest(prompt="p", duration=duration).problems()  # type: ignore[arg-type]
    assert error.field == "duration" and words in error.message
    assert error.allowed == "a whole number of seconds from 3 to 15 (int)"


def test_image_token_in_text_to_video_says_there_are_no_images() -> None:
    (error,) = GenerationRequest(prompt="[Image 1] runs").problems()
    assert "has none" in error.message


def test_chinese_prompt_error_says_why_the_limit_is_2500() -> None:
    with pytest.raises(ValidationError) as info:
        GenerationRequest(prompt="马" * 2501).validate()
    (error,) = info.value.errors
    assert "2500" in error.allowed and "Chinese" in error.message
    assert len(error.value) <= 80


def test_url_only_provider_error_says_so_plainly_for_a_local_file(tmp_path: pathlib.Path) -> None:
    deep = tmp_path.joinpath(*["folder"] * 12)  # longer than any message shows whole
    deep.mkdir(parents=True)
    path = write_image(deep, "first.png")
    with pytest.raises(ValidationError) as info:
        GenerationRequest(prompt="p", image=path).validate("openai")
    (error,) = info.value.errors
    assert error.field == "image"
    assert "the openai provider takes image URLs only" in error.message
    assert "local file" in error.message and "/folder/first.png'" in error.message
    assert "host it somewhere reachable" in error.message.lower()
    assert "segmind" in error.message and "base64" in error.message


def test_giant_bytes_never_appear_in_errors() -> None:
    giant = image_bytes(640, 360) + b"\0" * (11 * 1024 * 1024)
    with pytest.raises(ValidationError) as info:
        GenerationRequest(prompt="p", image=giant).validate("openai")
    assert len(str(info.value)) < 2000
    assert all(error.value == f"<{len(giant)} bytes>" for error in info.value.errors)


def test_validation_error_is_a_value_error_and_an_hh_error() -> None:
    with pytest.raises(ValueError):
        GenerationRequest(prompt="").validate()
    assert issubclass(ValidationError, HHError)


def test_problems_returns_the_list_without_raising() -> None:
    assert GenerationRequest(prompt="fine").problems("segmind") == []
    problems = GenerationRequest(prompt="", seed=-1).problems("segmind")
    assert [p.field for p in problems] == ["prompt", "seed"]


def test_unknown_parameter_is_a_type_error_suggesting_the_right_name() -> None:
    with pytest.raises(TypeError) as info:
        GenerationRequest(prompt="p", ratio="16:9", sed=3)  # type: ignore[call-arg]
    assert isinstance(info.value, UnknownParameter) and info.value.names == ["ratio", "sed"]
    assert "did you mean 'aspect_ratio'?" in str(info.value)
    assert "did you mean 'seed'?" in str(info.value)


def test_a_sound_parameter_explains_where_audio_is_taken() -> None:
    with pytest.raises(UnknownParameter, match="generates synchronized audio itself") as info:
        GenerationRequest(prompt="p", sound="voice.mp3")  # type: ignore[call-arg]
    assert "in the prompt" in str(info.value) and "audio=" in str(info.value)
    assert "segmind 1.0" in str(info.value)


def test_audio_is_a_url_taken_by_segmind_1_0_only() -> None:
    speech = "https://example.com/speech.wav"
    GenerationRequest(prompt="p", audio=speech, model="1.0").validate("segmind")
    for provider, model in (("segmind", "1.1"), ("apiframe", None), ("hiapi", None),
                            ("openai", None)):
        with pytest.raises(ValidationError) as info:
            GenerationRequest(prompt="p", audio=speech, model=model).validate(provider)
        assert info.value.fields == ["audio"] and "segmind 1.0" in str(info.value)


def test_audio_must_be_a_url_not_a_local_file(tmp_path: pathlib.Path) -> None:
    local = tmp_path / "speech.wav"
    local.write_bytes(b"RIFF")
    with pytest.raises(ValidationError) as info:
        GenerationRequest(prompt="p", audio=str(local), model="1.0").validate("segmind")
    assert info.value.fields == ["audio"]
    assert "http(s) URL (a local file)" in info.value.errors[0].message


def test_last_frame_needs_a_first_frame_and_segmind_1_0() -> None:
    end = "https://example.com/end.png"
    GenerationRequest(prompt="p", image=URL, last_frame=end, model="1.0").validate("segmind")
    with pytest.raises(ValidationError, match="needs image="):
        GenerationRequest(prompt="p", last_frame=end, model="1.0").validate("segmind")
    with pytest.raises(ValidationError) as info:
        GenerationRequest(prompt="p", image=URL, last_frame=end).validate("segmind")
    assert info.value.fields == ["last_frame"]


def test_segmind_1_0_takes_two_seconds_and_no_seed() -> None:
    GenerationRequest(prompt="p", duration=2, model="1.0").validate("segmind")
    with pytest.raises(ValidationError) as info:
        GenerationRequest(prompt="p", duration=2).validate("segmind")
    assert info.value.fields == ["duration"]
    with pytest.raises(ValidationError) as info:
        GenerationRequest(prompt="p", seed=4, model="1.0").validate("segmind")
    assert info.value.fields == ["seed"]


# ---------------------------------------------------------------------------- replace and repr


def test_replace_returns_a_changed_copy() -> None:
    original = GenerationRequest(prompt="p", reference_images=[URL], seed=1)
    copy = original.replace(seed=2)
    assert (original.seed, copy.seed) == (1, 2)
    copy.reference_images.append(URL2)
    assert original.reference_images == [URL]
    with pytest.raises(TypeError):
        original.replace(sed=3)


def test_replace_normalises_like_the_constructor() -> None:
    assert GenerationRequest(prompt="p").replace(resolution="1080p").resolution == "1080P"


def test_replace_keeps_an_invalid_reference_value_for_validation_to_report() -> None:
    request = GenerationRequest(prompt="p", reference_images=URL).replace(seed=1)  # type: ignore[arg-type]
    assert request.reference_images == URL
    assert request.problems("segmind")[0].field == "reference_images"


def test_none_prompt_is_an_empty_prompt() -> None:
    assert GenerationRequest(prompt=None, image=URL).prompt == ""  # type: ignore[arg-type]


def test_requests_with_the_same_parameters_are_equal(tmp_path: pathlib.Path) -> None:
    path = write_image(tmp_path, "a.png")
    a = GenerationRequest(prompt="p", image=path, reference_images=[], seed=1)
    assert a == GenerationRequest(prompt="p", image=str(path), seed=1)
    assert a != a.replace(seed=2)
    assert a != "p"
    pil = Image.new("RGB", (400, 400))
    same_pixels = GenerationRequest(prompt="p", image=pil.copy())
    assert GenerationRequest(prompt="p", image=pil) == same_pixels


def test_repr_is_short_and_has_no_bytes() -> None:
    request = GenerationRequest(prompt="x" * 4000, image=image_bytes() * 50,
                                reference_images=[np.zeros((400, 400, 3), dtype=np.uint8)])
    text = repr(request)
    assert len(text) < 600
    assert "mode=r2v" in text and "bytes>" in text and "array uint8" in text


# ---------------------------------------------------------------------------- records


def _all_image_kinds(tmp_path: pathlib.Path) -> GenerationRequest:
    return GenerationRequest(
        prompt="[Image 1] [Image 2] [Image 3] [Image 4]",
        negative_prompt="blur",
        image=write_image(tmp_path, "first.png"),
        reference_images=[
            URL,
            image_bytes(fmt="JPEG"),
            Image.new("RGB", (500, 500), "red"),
            np.full((400, 400, 3), 7, dtype=np.uint8),
        ],
        resolution="1080p",
        duration=7,
        aspect_ratio="9:16",
        seed=123,
        prompt_extend=False,
        watermark=True,
        reference_type="style",
        model="1.1",
    )


def test_to_dict_is_json_safe_and_never_embeds_bytes(tmp_path: pathlib.Path) -> None:
    record = _all_image_kinds(tmp_path).to_dict()
    text = json.dumps(record)
    assert len(text) < 3000
    assert record["mode"] == "r2v"
    assert record["resolution"] == "1080P"
    assert record["image"]["kind"] == "file"
    assert record["image"]["path"] == str(tmp_path / "first.png")
    assert len(record["image"]["sha256"]) == 64
    kinds = [ref["kind"] for ref in record["reference_images"]]
    assert kinds == ["url", "bytes", "bytes", "bytes"]
    assert record["reference_images"][0]["url"] == URL
    assert all("path" not in ref for ref in record["reference_images"][1:])


def test_from_dict_round_trips_urls_and_paths(tmp_path: pathlib.Path) -> None:
    request = GenerationRequest(prompt="p", image=write_image(tmp_path, "a.png"), seed=4)
    again = GenerationRequest.from_dict(json.loads(json.dumps(request.to_dict())))
    assert again.image == str(tmp_path / "a.png")
    assert again.to_dict() == request.to_dict()
    again.validate("segmind")
    r2v = GenerationRequest(prompt="p", reference_images=[URL, URL2], aspect_ratio="1:1")
    assert GenerationRequest.from_dict(r2v.to_dict()).reference_images == [URL, URL2]


def test_in_memory_images_come_back_as_stored_placeholders(tmp_path: pathlib.Path) -> None:
    request = _all_image_kinds(tmp_path)
    again = GenerationRequest.from_dict(request.to_dict())
    assert again.mode is Mode.R2V
    assert isinstance(again.reference_images[1], StoredImage)
    assert again.to_dict() == request.to_dict()
    assert again.fingerprint("segmind") == request.fingerprint("segmind")
    with pytest.raises(ValidationError) as info:
        again.validate("segmind")
    images = [f for f in info.value.fields if f.startswith("reference_images")]
    assert images == [f"reference_images[{i}]" for i in (1, 2, 3)]
    assert "pass the image again" in info.value.errors[0].message


# ---------------------------------------------------------------------------- fingerprint


def test_fingerprint_is_a_sha256_hex() -> None:
    fp = GenerationRequest(prompt="p", seed=1).fingerprint("segmind", "1.1")
    assert len(fp) == 64 and int(fp, 16) >= 0


def test_fingerprint_is_stable_across_processes(tmp_path: pathlib.Path) -> None:
    path = write_image(tmp_path, "f.png")
    code = (
        "from hh_notebook.request import GenerationRequest as G;"
        f"print(G(prompt='horse', image={str(path)!r}, seed=5).fingerprint('segmind', '1.1'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    here = GenerationRequest(prompt="horse", image=path, seed=5).fingerprint("segmind", "1.1")
    assert out.stdout.strip() == here


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": "q"}, {"negative_prompt": "n"}, {"image": URL}, {"reference_images": [URL]},
        {"resolution": "1080P"}, {"duration": 6}, {"aspect_ratio": "1:1"}, {"seed": 2},
        {"seed": None}, {"prompt_extend": False}, {"watermark": True},
        {"reference_type": "subject"}, {"model": "1.0"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_fingerprint_changes_with_every_parameter(change: dict[str, Any]) -> None:
    base = GenerationRequest(prompt="p", seed=1)
    fingerprint = base.replace(**change).fingerprint("segmind")
    assert fingerprint != base.fingerprint("segmind")


def test_fingerprint_depends_on_provider_and_model() -> None:
    request = GenerationRequest(prompt="p", seed=1)
    prints = {request.fingerprint(p, "1.1") for p in PROVIDERS}
    prints.add(request.fingerprint("segmind", "1.0"))
    assert len(prints) == 5
    assert request.fingerprint("segmind") == request.fingerprint("segmind", "1.1")


def test_fingerprint_uses_image_content_not_file_name(tmp_path: pathlib.Path) -> None:
    a = write_image(tmp_path, "a.png")
    b = tmp_path / "copy-of-a.png"
    b.write_bytes(a.read_bytes())
    c = write_image(tmp_path, "c.png", color=91)
    fp = {p.name: GenerationRequest(prompt="p", image=p).fingerprint("segmind") for p in (a, b, c)}
    assert fp["a.png"] == fp["copy-of-a.png"] != fp["c.png"]
    as_bytes = GenerationRequest(prompt="p", image=a.read_bytes()).fingerprint("segmind")
    assert as_bytes == fp["a.png"]


def test_fingerprint_uses_the_url_for_url_images() -> None:
    one = GenerationRequest(prompt="p", image=URL).fingerprint("openai")
    assert one == GenerationRequest(prompt="p", image=URL).fingerprint("openai")
    assert one != GenerationRequest(prompt="p", image=URL2).fingerprint("openai")


def test_fingerprint_ignores_resolution_case() -> None:
    lower = GenerationRequest(prompt="p", resolution="720p")
    lower.resolution = "720p"  # even when set after construction
    assert lower.fingerprint("hiapi") == GenerationRequest(prompt="p").fingerprint("hiapi")


def test_fingerprint_of_an_unreadable_image_raises() -> None:
    with pytest.raises(ValidationError) as info:
        GenerationRequest(prompt="p", image="/nonexistent/x.png").fingerprint("segmind")
    assert info.value.fields == ["image"]


# ---------------------------------------------------------------------------- errors module


def test_provider_errors_render_and_keep_their_fields() -> None:
    error = RateLimited("segmind", 429, "rate_limited", "slow down", retry_after=3.5)
    assert isinstance(error, ProviderError) and isinstance(error, HHError)
    assert str(error) == "segmind: HTTP 429: rate_limited: slow down (retry after 3.5 s)"
    assert (error.provider, error.status_code, error.code, error.retry_after) == (
        "segmind", 429, "rate_limited", 3.5)


@pytest.mark.parametrize(
    "error",
    [
        ValidationError([FieldError("seed", -1, "0–2147483647", "negative")]),
        AuthError("hiapi", 401, None, "invalid key"),
        JobFailed("content policy"),
    ],
    ids=["validation", "auth", "job-failed"],
)
def test_errors_survive_pickling(error: HHError) -> None:
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and str(again) == str(error)


def test_job_errors_carry_the_job() -> None:
    marker = object()
    assert JobFailed("failed", job=marker).job is marker


@pytest.mark.parametrize("module", [hh_notebook.errors, hh_notebook.request])
def test_docstring_examples_hold(module: Any) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_client_settings_given_to_a_request_say_where_they_go() -> None:
    from hh_notebook.errors import UnknownParameter

    with pytest.raises(UnknownParameter) as info:
        GenerationRequest(prompt="a fox", provider="hiapi")
    assert "hh.Client(provider=...)" in str(info.value)
    assert "hh.generate(prompt, provider=...)" in str(info.value)
