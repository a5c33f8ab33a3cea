"""Images in: whatever the user has (a local path, raw bytes, a PIL image, a numpy array, or
an http(s) URL) becomes one :class:`ImageData`; :func:`check_image` checks it against the
limits the providers document (from :mod:`hh_notebook.catalog`); :func:`to_data_url` encodes
it for providers that accept inline images.

    >>> from PIL import Image
    >>> img = load_image(Image.new("RGB", (640, 360)))
    >>> img.mime, img.width, img.height
    ('image/png', 640, 360)
    >>> check_image(img)
    []
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import pathlib
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from stat import S_ISDIR, S_ISREG
from typing import Any

from ..catalog import IMAGE_RULES, ImageRules
from ..errors import FieldError, ValidationError
from ..present import safe_repr
from .urls import check_url, is_url, normalise_url

__all__ = [
    "ImageData",
    "StoredImage",
    "check_image",
    "check_url",
    "is_url",
    "load_image",
    "normalise_url",
    "to_data_url",
]

# Files larger than this are not even read: they can only be rejected.
_READ_CAP = 4 * IMAGE_RULES.max_bytes
# Loaded files and encoded in-memory images are kept this long (in bytes), so that
# validating, recording, fingerprinting and sending one request (or a sweep of
# many sharing the same references) reads, hashes and PNG-encodes each image once.
_CACHE_BYTES = 64 * 1024 * 1024

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"WEBP", 8, "image/webp"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"BM", 0, "image/bmp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"ftypheic", 4, "image/heic"),
    (b"ftypheix", 4, "image/heic"),
    (b"ftypmif1", 4, "image/heif"),
    (b"ftypavif", 4, "image/avif"),
)


@dataclass(frozen=True)
class ImageData:
    """One input image, loaded and described.

    ``data`` holds the encoded file (empty for URLs, which are never fetched),
    ``mime`` the format detected from the content (``None`` when unknown),
    ``width``/``height`` in pixels (``None`` for URLs), ``source_url`` the URL
    for URL images, ``sha256`` the hex digest of ``data`` (``None`` for URLs).
    ``kind`` is ``"url"``, ``"file"`` (``path`` is set) or ``"bytes"`` (bytes,
    PIL images and arrays); ``size`` is the file size in bytes.
    """

    data: bytes
    mime: str | None
    width: int | None
    height: int | None
    source_url: str | None
    sha256: str | None
    kind: str = "bytes"
    path: str | None = None
    size: int | None = None

    def __repr__(self) -> str:
        where = self.source_url or self.path or "<memory>"
        dims = f"{self.width}x{self.height}" if self.width is not None else "?x?"
        return f"ImageData({self.kind} {where!s} {self.mime} {dims} {self.size} bytes)"

    def describe(self) -> dict[str, Any]:
        """A JSON-safe description (never the bytes): what the journal stores."""
        if self.kind == "url":
            return {"kind": "url", "url": self.source_url}
        out: dict[str, Any] = {
            "kind": self.kind,
            "sha256": self.sha256,
            "size": self.size,
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
        }
        if self.path is not None:
            out["path"] = self.path
        return out


@dataclass(frozen=True)
class StoredImage:
    """An in-memory image read back from the journal: its bytes were never stored.

    It keeps the request's mode and fingerprint intact, but cannot be sent:
    loading it raises a :class:`ValidationError` asking for the image again.
    """

    sha256: str
    size: int | None = None
    mime: str | None = None
    width: int | None = None
    height: int | None = None

    def safe_description(self) -> str:
        """How it appears in messages (its bytes are not available)."""
        return f"<stored image sha256={self.sha256[:12]}…>"

    def describe(self) -> dict[str, Any]:
        """The same JSON description the original image had."""
        return {
            "kind": "bytes",
            "sha256": self.sha256,
            "size": self.size,
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
        }


def _sniff_mime(data: bytes) -> str | None:
    for magic, offset, mime in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            if mime == "image/webp" and data[:4] != b"RIFF":
                continue
            return mime
    return None


def _fail(field: str, value: object, allowed: str, message: str) -> ValidationError:
    return ValidationError([FieldError(field, safe_repr(value), allowed, message)])


_KINDS_ALLOWED = "a local path, bytes, a PIL image, a uint8 numpy array, or an http(s) URL"


def load_image(x: object, *, field: str = "image") -> ImageData:
    """Load an image input into an :class:`ImageData` (URLs are recorded, not fetched).

    Accepts a local path (``str`` or ``os.PathLike``), encoded ``bytes``, a
    ``data:`` URL, a PIL image, a numpy array (``HxW``, ``HxWx3`` or
    ``HxWx4``, ``uint8``) or an ``http(s)://`` URL. The format is detected
    from the content, not the file name. PIL images and arrays are encoded as
    PNG. Raises :class:`ValidationError` (naming ``field``) when the input
    cannot be read as an image at all; limits are checked by
    :func:`check_image`.

    >>> load_image("https://example.com/a.png").source_url
    'https://example.com/a.png'
    >>> import numpy as np
    >>> load_image(np.zeros((400, 500, 3), dtype=np.uint8)).width
    500
    """
    if isinstance(x, StoredImage):
        raise _fail(
            field,
            x,
            _KINDS_ALLOWED,
            "this in-memory image was not stored in the journal (only its sha256 was); "
            "pass the image again",
        )
    if isinstance(x, str):
        x = normalise_url(x)
    if isinstance(x, str) and is_url(x):
        return _load_url(x, field)
    if isinstance(x, str) and x.startswith("data:"):
        return _from_bytes(_decode_data_url(x, field), field)
    if isinstance(x, str) and not x.strip():
        raise _fail(field, x, _KINDS_ALLOWED, "an empty string is not an image")
    if isinstance(x, (str, os.PathLike)):
        return _load_path(x, field)
    if isinstance(x, (bytes, bytearray, memoryview)):
        data = bytes(x)
        if not data:
            raise _fail(field, x, _KINDS_ALLOWED, "the image bytes are empty")
        return _from_bytes(data, field)
    if _is_pil_image(x):
        if 0 in x.size:  # type: ignore[attr-defined]
            raise _fail(field, x, _KINDS_ALLOWED, "the PIL image is empty "
                        f"({x.size[0]}x{x.size[1]} px)")  # type: ignore[attr-defined]
        key = ("pil", x.mode, x.size, hashlib.sha256(x.tobytes()).hexdigest())  # type: ignore[attr-defined]
        return _CACHE.get_or_load(key, lambda: _from_bytes(_encode_pil(x), field))
    if hasattr(x, "__array_interface__") and hasattr(x, "dtype"):
        return _load_array(x, field)
    raise _fail(field, x, _KINDS_ALLOWED, f"cannot use a {type(x).__name__} as an image")


def _load_url(url: str, field: str) -> ImageData:
    problem = check_url(url, field)
    if problem is not None:
        raise ValidationError([problem])
    return ImageData(b"", None, None, None, url, None, kind="url")


def _decode_data_url(text: str, field: str) -> bytes:
    header, sep, payload = text.partition(",")
    if not sep or not header.endswith(";base64"):
        raise _fail(field, text, "data:<mime>;base64,<data>", "only base64 data URLs are accepted")
    try:
        return base64.b64decode(payload, validate=True)
    except ValueError:
        raise _fail(field, text, "valid base64", "the data URL is not valid base64") from None


class _ImageCache:
    """A small LRU of loaded images, bounded by their total size in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._items: OrderedDict[tuple[Any, ...], ImageData] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get_or_load(self, key: tuple[Any, ...], load: Any) -> ImageData:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        image: ImageData = load()
        if len(image.data) <= self._max_bytes // 4:
            with self._lock:
                if key not in self._items:
                    self._items[key] = image
                    self._bytes += len(image.data)
                while self._bytes > self._max_bytes:
                    _, old = self._items.popitem(last=False)
                    self._bytes -= len(old.data)
        return image


_CACHE = _ImageCache(_CACHE_BYTES)


def _load_array(arr: Any, field: str) -> ImageData:
    shape, dtype = tuple(arr.shape), str(arr.dtype)
    try:
        raw = arr.tobytes()
    except (AttributeError, ValueError, TypeError):
        raise _fail(field, arr, "a uint8 numpy array", "cannot read this array") from None
    key = ("array", shape, dtype, hashlib.sha256(raw).hexdigest())
    return _CACHE.get_or_load(key, lambda: _from_bytes(_encode_array(arr, field), field))


def _load_path(x: str | os.PathLike[str], field: str) -> ImageData:
    # Absolute, so a journal entry still points at the file from another directory.
    path = pathlib.Path(os.path.abspath(pathlib.Path(os.fspath(x)).expanduser()))
    shown = os.fspath(x)
    if "://" in shown:
        raise _fail(field, shown, _KINDS_ALLOWED, "only http(s) URLs can be given as URLs")
    try:
        stat = path.stat()
    except (OSError, ValueError) as exc:
        reason = "does not exist" if isinstance(exc, FileNotFoundError) else (
            f"cannot be used as a path: {getattr(exc, 'strerror', None) or exc}")
        raise _fail(field, shown, "an existing image file", f"the file {reason}") from None
    if not S_ISREG(stat.st_mode):
        reason = ("is a directory" if S_ISDIR(stat.st_mode)
                  else "is not a regular file (a device, a pipe or a socket)")
        raise _fail(field, shown, "an existing image file", f"the file {reason}")
    size = stat.st_size
    if size > _READ_CAP:
        # Report it through the normal limit check without reading it whole.
        with path.open("rb") as fh:
            head = fh.read(64)
        return ImageData(b"", _sniff_mime(head), None, None, None, None, "file", str(path), size)
    key = ("file", str(path), size, stat.st_mtime_ns)
    return _CACHE.get_or_load(key, lambda: _read_file(path, shown, field))


def _read_file(path: pathlib.Path, shown: str, field: str) -> ImageData:
    try:
        data = path.read_bytes()
    except OSError as exc:
        message = f"cannot read it: {exc.strerror}"
        raise _fail(field, shown, "a readable image file", message) from None
    image = _from_bytes(data, field, shown=shown)
    return ImageData(
        image.data, image.mime, image.width, image.height, None, image.sha256,
        kind="file", path=str(path), size=image.size,
    )


#: Formats every contract takes: a file of one of these is decoded in full before it is sent.
_SENDABLE = frozenset(IMAGE_RULES.formats)


def _from_bytes(data: bytes, field: str, shown: object = None) -> ImageData:
    """Describe encoded image bytes. A file in a format the providers take is decoded in
    full, so a damaged, truncated or fake one (right magic bytes, nothing behind them) is
    refused here rather than paid for and failed at the provider."""
    mime = _sniff_mime(data)
    what = shown if shown is not None else data
    width: int | None
    height: int | None
    try:
        width, height = _decode(data, field, what)
    except ValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for a bad file
        if mime is None:
            raise _fail(field, what, "a JPEG, PNG or WEBP image",
                        "this is not a readable image") from None
        if mime in _SENDABLE:
            kind = mime.split("/")[1].upper()
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise _fail(field, what, f"a complete, readable {kind} file",
                        f"this looks like a {kind} file but cannot be decoded ({reason}): it "
                        "is damaged, truncated or not really an image") from None
        width = height = None  # a format no provider takes: check_image says so
    digest = hashlib.sha256(data).hexdigest()
    return ImageData(data, mime, width, height, None, digest, kind="bytes", size=len(data))


def _decode(data: bytes, field: str, what: object) -> tuple[int, int]:
    """(width, height) of an image, after decoding every pixel of it; a header claiming more
    than :attr:`~hh_notebook.catalog.ImageRules.max_pixels` is refused undecoded."""
    from PIL import Image

    limit = IMAGE_RULES.max_pixels
    allowed = f"at most {limit:,} pixels ({_megapixels(limit)})"
    with warnings.catch_warnings():
        # Our own limit below is the one that speaks; Pillow's warning would only repeat it.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:  # over twice Pillow's limit
            raise _fail(field, what, allowed, f"the image is too large to decode safely ({exc})"
                        ) from None
        except Image.UnidentifiedImageError:
            raise ValueError("Pillow cannot identify its content") from None
        with img:
            width, height = img.size
            if width * height > limit:
                raise _fail(field, what, allowed, f"the image header claims {width}x{height} px "
                            f"({_megapixels(width * height)}), too large to decode safely")
            img.load()
    return width, height


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:,.1f} megapixels"


def _is_pil_image(x: object) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a hard dependency
        return False
    return isinstance(x, Image.Image)


def _encode_pil(img: Any) -> bytes:
    if img.mode not in ("RGB", "RGBA", "L", "LA"):
        img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _encode_array(arr: Any, field: str) -> bytes:
    import numpy as np
    from PIL import Image

    allowed = "a uint8 numpy array shaped HxW, HxWx3 or HxWx4"
    shape = tuple(arr.shape)
    if arr.dtype != np.uint8:
        raise _fail(field, arr, allowed, f"arrays must be uint8, not {arr.dtype}")
    if len(shape) == 2:
        mode = "L"
    elif len(shape) == 3 and shape[2] in (3, 4):
        mode = "RGB" if shape[2] == 3 else "RGBA"
    else:
        raise _fail(field, arr, allowed, f"cannot read an array of shape {shape} as an image")
    if 0 in shape:
        raise _fail(field, arr, allowed, "the array is empty")
    return _encode_pil(Image.fromarray(np.ascontiguousarray(arr), mode=mode))


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _ratio_text(rules: ImageRules) -> str:
    return f"1:{rules.max_aspect:g} to {rules.max_aspect:g}:1"


def check_image(img: ImageData, *, field: str = "image",
                rules: ImageRules = IMAGE_RULES) -> list[FieldError]:
    """Check a loaded image against the documented input limits (``rules``, by default the
    ones every provider shares).

    Returns one :class:`FieldError` per broken limit (empty when fine): the format, the
    shortest side, the file size and the aspect ratio. URL images cannot be checked (they
    are never fetched) and always pass.

    >>> from PIL import Image
    >>> [p.message[:28] for p in check_image(load_image(Image.new("RGB", (200, 900))))]
    ['the image is 200x900 px; bot', 'the aspect ratio 200:900 (1:']
    """
    if img.kind == "url":
        return []
    shown = img.path if img.path is not None else f"<{img.size} bytes>"
    errors: list[FieldError] = []
    if img.mime not in rules.formats:
        found = img.mime.split("/")[1].upper() if img.mime else "an unknown format"
        errors.append(FieldError(field, shown, "JPEG, JPG, PNG or WEBP", f"the image is {found}"))
    if img.size is not None and img.size > rules.max_bytes:
        errors.append(FieldError(field, shown, f"at most {_megabytes(rules.max_bytes)}",
                                 f"the file is {img.size / (1024 * 1024):.1f} MB"))
    if img.width is not None and img.height is not None:
        side = rules.min_side
        if min(img.width, img.height) < side:
            errors.append(FieldError(
                field, shown, f"both sides at least {side} px",
                f"the image is {img.width}x{img.height} px; both sides must be at least "
                f"{side} px"))
        if img.width * img.height > rules.max_pixels:
            errors.append(FieldError(
                field, shown, f"at most {rules.max_pixels:,} pixels",
                f"the image is {img.width}x{img.height} px ({_megapixels(img.width * img.height)})"
            ))
        ratio = img.width / img.height
        if rules.max_aspect and (ratio > rules.max_aspect or ratio < 1 / rules.max_aspect):
            pretty = f"{ratio:.2f}:1" if ratio >= 1 else f"1:{1 / ratio:.2f}"
            errors.append(FieldError(
                field, shown,
                f"an aspect ratio between 1:{rules.max_aspect:g} and {rules.max_aspect:g}:1",
                f"the aspect ratio {img.width}:{img.height} ({pretty}) is outside "
                f"{_ratio_text(rules)}"))
    return errors


def to_data_url(img: ImageData) -> str:
    """Encode a local image as a ``data:<mime>;base64,...`` URL (URL images return their URL).

    >>> from PIL import Image
    >>> to_data_url(load_image(Image.new("RGB", (300, 300)))).startswith("data:image/png;base64,")
    True
    """
    if img.kind == "url":
        assert img.source_url is not None
        return img.source_url
    mime = img.mime or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(img.data).decode('ascii')}"
