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
from .images import ImageData, StoredImage, check_image, load_image, to_data_url
from .urls import check_url, is_url, normalise_url

__all__ = [
    "ClipInfo",
    "ImageData",
    "StoredImage",
    "blind_clip_bytes",
    "check_image",
    "check_url",
    "clip_problem",
    "contact_sheet",
    "is_url",
    "load_image",
    "normalise_url",
    "poster_frame",
    "poster_jpeg",
    "probe_clip",
    "to_data_url",
]
