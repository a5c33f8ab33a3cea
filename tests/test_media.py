"""media.py: image inputs (load, check, encode) and clip helpers (probe, poster, contact sheet)."""

from __future__ import annotations

import base64
import doctest
import hashlib
import io
import os
import pathlib
import sys

import numpy as np
import pytest
from core_fixtures import URL, image_bytes, make_clip, padded_png, write_image
from PIL import Image

import hh_notebook.media.clips
import hh_notebook.media.images
from hh_notebook.catalog import IMAGE_RULES
from hh_notebook.errors import MediaError, MissingDependency, ValidationError
from hh_notebook.media import (
    check_image,
    contact_sheet,
    load_image,
    poster_frame,
    probe_clip,
    to_data_url,
)
from hh_notebook.present import safe_repr

MAX_IMAGE_BYTES = IMAGE_RULES.max_bytes

# ---------------------------------------------------------------------------- loading


def test_load_from_str_path(tmp_path: pathlib.Path) -> None:
    path = write_image(tmp_path, "frame.png", 640, 360)
    img = load_image(str(path))
    assert (img.kind, img.path, img.mime, img.width, img.height) == (
        "file", str(path), "image/png", 640, 360)
    assert img.size == path.stat().st_size
    assert img.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert img.source_url is None


def test_load_from_pathlike(tmp_path: pathlib.Path) -> None:
    path = write_image(tmp_path, "frame.jpg", 500, 400, fmt="JPEG")
    img = load_image(path)
    assert (img.kind, img.mime, img.width, img.height) == ("file", "image/jpeg", 500, 400)


def test_load_expands_the_home_directory(tmp_path: pathlib.Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write_image(tmp_path, "home.png")
    assert load_image("~/home.png").path == str(tmp_path / "home.png")


def test_relative_paths_are_recorded_as_absolute(tmp_path: pathlib.Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    write_image(tmp_path, "rel.png")
    monkeypatch.chdir(tmp_path)
    assert load_image("rel.png").path == str(tmp_path / "rel.png")


def test_format_comes_from_content_not_extension(tmp_path: pathlib.Path) -> None:
    liar = write_image(tmp_path, "really-a-webp.jpg", fmt="WEBP")
    assert load_image(liar).mime == "image/webp"
    gif_named_png = write_image(tmp_path, "anim.png", fmt="GIF")
    img = load_image(gif_named_png)
    assert img.mime == "image/gif"
    assert [e.message for e in check_image(img)] == ["the image is GIF"]


def test_load_from_bytes() -> None:
    data = image_bytes(800, 600, fmt="JPEG")
    img = load_image(data)
    assert (img.kind, img.mime, img.width, img.height, img.size) == (
        "bytes", "image/jpeg", 800, 600, len(data))
    assert img.data == data and img.path is None


def test_pil_images_are_encoded_as_png() -> None:
    img = load_image(Image.new("RGB", (700, 400), "blue"))
    assert img.mime == "image/png" and (img.width, img.height) == (700, 400)
    assert Image.open(io.BytesIO(img.data)).getpixel((5, 5)) == (0, 0, 255)


@pytest.mark.parametrize("mode", ["P", "I;16", "CMYK", "LA", "1"])
def test_pil_images_of_unusual_modes_are_encoded(mode: str) -> None:
    img = load_image(Image.new(mode, (320, 320)))
    assert img.mime == "image/png" and check_image(img) == []


@pytest.mark.parametrize(
    ("shape", "mode"),
    [((360, 480), "L"), ((360, 480, 3), "RGB"), ((360, 480, 4), "RGBA")],
)
def test_numpy_arrays_are_encoded_as_png(shape: tuple[int, ...], mode: str) -> None:
    arr = np.full(shape, 200, dtype=np.uint8)
    img = load_image(arr)
    decoded = Image.open(io.BytesIO(img.data))
    assert img.mime == "image/png" and decoded.mode == mode
    assert (img.width, img.height) == (480, 360)


@pytest.mark.parametrize(
    ("array", "reason"),
    [
        (np.zeros((400, 400, 3), dtype=np.float32), "uint8"),
        (np.zeros((400, 400, 2), dtype=np.uint8), "shape"),
        (np.zeros((2, 400, 400, 3), dtype=np.uint8), "shape"),
        (np.zeros((0, 400, 3), dtype=np.uint8), "empty"),
    ],
    ids=["float", "two-channels", "4d", "empty"],
)
def test_unusable_arrays_are_rejected(array: np.ndarray, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        load_image(array, field="reference_images[3]")
    (error,) = info.value.errors
    assert error.field == "reference_images[3]" and reason in error.message
    assert error.value.startswith("<array")


def test_urls_are_recorded_not_fetched() -> None:
    img = load_image(URL)
    assert (img.kind, img.source_url, img.data, img.sha256, img.width) == (
        "url", URL, b"", None, None)
    assert check_image(img) == []
    assert to_data_url(img) == URL


def test_data_urls_are_decoded() -> None:
    data = image_bytes(400, 400)
    img = load_image("data:image/png;base64," + base64.b64encode(data).decode())
    assert img.data == data and img.kind == "bytes"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/nonexistent/hh/a.png", "does not exist"),
        ("", "empty string"),
        (b"", "empty"),
        (b"definitely not an image", "not a readable image"),
        (12, "cannot use a int"),
        ("ftp://example.com/a.png", "only http(s)"),
        ("https://", "malformed"),
        ("data:image/png,rawtext", "base64"),
    ],
)
def test_unreadable_inputs_raise_a_validation_error(value: object, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        load_image(value)
    assert info.value.fields == ["image"] and message in info.value.errors[0].message


def test_a_directory_is_not_an_image(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValidationError, match="is a directory"):
        load_image(tmp_path)


def test_a_very_large_file_is_measured_without_being_read(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as fh:
        fh.write(image_bytes())
        fh.truncate(200 * 1024 * 1024)  # sparse: costs no disk
    img = load_image(path)
    assert img.data == b"" and img.size == 200 * 1024 * 1024 and img.mime == "image/png"
    assert [e.allowed for e in check_image(img)] == ["at most 10 MB"]


def test_an_unchanged_file_is_read_once_and_a_changed_one_again(tmp_path: pathlib.Path) -> None:
    path = write_image(tmp_path, "f.png")
    first = load_image(path)
    assert load_image(str(path)) is first
    path.write_bytes(image_bytes(700, 400))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = load_image(path)
    assert (changed.width, changed.sha256 != first.sha256) == (700, True)


def test_in_memory_images_are_encoded_once_per_content() -> None:
    arr = np.full((360, 480, 3), 3, dtype=np.uint8)
    first = load_image(arr)
    assert load_image(arr.copy()) is first
    arr[0, 0, 0] = 4
    assert load_image(arr).sha256 != first.sha256
    pil = Image.new("RGB", (400, 400), "green")
    assert load_image(pil) is load_image(pil.copy())
    pil.putpixel((0, 0), (1, 2, 3))
    assert load_image(pil).data != load_image(Image.new("RGB", (400, 400), "green")).data


# ---------------------------------------------------------------------------- limits


@pytest.mark.parametrize(
    ("width", "height", "fmt"),
    [(300, 300, "PNG"), (750, 300, "JPEG"), (300, 750, "WEBP"), (1920, 1080, "PNG")],
)
def test_images_within_limits_pass(width: int, height: int, fmt: str) -> None:
    assert check_image(load_image(image_bytes(width, height, fmt))) == []


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (299, 400, ["both sides at least 300 px"]),
        (400, 299, ["both sides at least 300 px"]),
        (751, 300, ["an aspect ratio between 1:2.5 and 2.5:1"]),
        (300, 751, ["an aspect ratio between 1:2.5 and 2.5:1"]),
        (100, 1000, ["both sides at least 300 px", "an aspect ratio between 1:2.5 and 2.5:1"]),
    ],
)
def test_side_and_aspect_limits(width: int, height: int, expected: list[str]) -> None:
    errors = check_image(load_image(image_bytes(width, height)), field="image")
    assert [e.allowed for e in errors] == expected
    assert all(e.field == "image" for e in errors)


def test_size_limit_is_10_mb() -> None:
    assert check_image(load_image(padded_png(MAX_IMAGE_BYTES))) == []
    (error,) = check_image(load_image(padded_png(MAX_IMAGE_BYTES + 1)))
    assert error.allowed == "at most 10 MB" and "10.0 MB" in error.message


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_formats_are_refused(fmt: str) -> None:
    (error,) = check_image(load_image(image_bytes(640, 360, fmt)))
    assert error.allowed == "JPEG, JPG, PNG or WEBP"


def test_errors_name_the_file_not_the_bytes(tmp_path: pathlib.Path) -> None:
    path = write_image(tmp_path, "tiny.png", 100, 100)
    (error,) = check_image(load_image(path), field="reference_images[0]")
    assert error.value == str(path) and error.field == "reference_images[0]"
    (error,) = check_image(load_image(image_bytes(100, 100)))
    assert error.value.startswith("<") and error.value.endswith(" bytes>")


# ---------------------------------------------------------------------------- encoding


def test_to_data_url_round_trips(tmp_path: pathlib.Path) -> None:
    img = load_image(write_image(tmp_path, "x.webp", fmt="WEBP"))
    url = to_data_url(img)
    header, payload = url.split(",", 1)
    assert header == "data:image/webp;base64"
    assert base64.b64decode(payload) == img.data


def test_safe_repr_summarises_big_things() -> None:
    assert safe_repr(b"\0" * 10_000_000) == "<10000000 bytes>"
    assert safe_repr(Image.new("RGB", (30, 20))) == "<PIL image RGB 30x20>"
    assert safe_repr(np.zeros((2, 3), dtype=np.uint8)) == "<array uint8 (2, 3)>"
    assert safe_repr("x" * 500) == "x" * 79 + "…"
    assert safe_repr(7) == 7 and safe_repr(None) is None
    assert safe_repr(np.int64(-3)) == -3 and safe_repr(np.float32(1.5)) == 1.5


def test_image_data_repr_has_no_bytes() -> None:
    img = load_image(image_bytes() * 10)
    assert len(repr(img)) < 200


# ---------------------------------------------------------------------------- clips


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=2, fps=24)


def test_probe_clip_reports_size_length_and_codecs(clip: pathlib.Path) -> None:
    info = probe_clip(clip)
    assert (info.width, info.height, info.fps) == (320, 180, 24.0)
    assert info.duration == pytest.approx(2.0, abs=1 / 24)
    assert (info.video_codec, info.audio_codec, info.has_audio) == ("h264", "aac", True)


def test_probe_clip_without_audio(tmp_path: pathlib.Path) -> None:
    info = probe_clip(make_clip(tmp_path / "silent.mp4", seconds=1, audio=False))
    assert (info.has_audio, info.audio_codec) == (False, None)


def _grey(png_or_jpeg: bytes, x: int = 10, y: int = 10) -> int:
    return Image.open(io.BytesIO(png_or_jpeg)).convert("L").getpixel((x, y))


def test_poster_frame_is_the_frame_at_the_requested_point(clip: pathlib.Path) -> None:
    start, middle = poster_frame(clip, at=0.0), poster_frame(clip)
    assert start[:3] == b"\xff\xd8\xff"
    assert Image.open(io.BytesIO(middle)).size == (320, 180)
    # Frame i is grey 5*i: the start is black, the middle (frame 24) is about 120.
    assert _grey(start) < 8
    assert abs(_grey(middle) - 120) <= 8
    assert poster_frame(clip, fmt="PNG")[:8] == b"\x89PNG\r\n\x1a\n"


def test_contact_sheet_is_a_strip_of_evenly_spaced_frames(clip: pathlib.Path) -> None:
    sheet = Image.open(io.BytesIO(contact_sheet(clip, n=4, height=90)))
    assert sheet.format == "PNG" and sheet.size == (4 * 160, 90)
    # Frames at 1/8, 3/8, 5/8, 7/8 of 48 frames: 6, 18, 30, 42 -> grey 30, 90, 150, 210.
    levels = [sheet.convert("L").getpixel((i * 160 + 80, 45)) for i in range(4)]
    assert [round(level / 10) * 10 for level in levels] == [30, 90, 150, 210]


def test_contact_sheet_rejects_a_bad_count(clip: pathlib.Path) -> None:
    with pytest.raises(ValueError):
        contact_sheet(clip, n=0)


def test_a_file_that_is_not_a_video_is_a_media_error(tmp_path: pathlib.Path) -> None:
    bogus = tmp_path / "not.mp4"
    bogus.write_bytes(b"this is not a video at all" * 100)
    with pytest.raises(MediaError):
        probe_clip(bogus)
    with pytest.raises(MediaError):
        poster_frame(tmp_path / "missing.mp4")


def test_missing_pyav_gives_a_clear_error(clip: pathlib.Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(MissingDependency, match="pip install"):
        probe_clip(clip)


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(hh_notebook.media.images, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
