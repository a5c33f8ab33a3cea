"""Images in (checked against the providers' limits, encoded for sending) and clips out
(probe, poster frames, contact sheets, copies without metadata for blind votes).

>>> from hh_notebook.media import load_image, probe_clip   # doctest: +SKIP
"""

from __future__ import annotations

from .blind import blind_clip_bytes
from .clips import (
    ClipInfo,
    clip_problem,
    contact_sheet,
    poster_frame,
    poster_jpeg,
    probe_clip,
)
from .images import ImageData, StoredImage, check_image, is_url, load_image, to_data_url

__all__ = [
    "ClipInfo",
    "ImageData",
    "StoredImage",
    "blind_clip_bytes",
    "check_image",
    "clip_problem",
    "contact_sheet",
    "is_url",
    "load_image",
    "poster_frame",
    "poster_jpeg",
    "probe_clip",
    "to_data_url",
]
