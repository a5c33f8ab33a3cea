"""Speech audio for Segmind's HappyHorse 1.0 lip-sync (``audio_url``): checking a fetched
file against the page's limits, and turning it into a clip's soundtrack.

Segmind's 1.0 page (segmind.com/models/happyhorse/api, summarised in SUPPLEMENT.md) takes
``audio_url``: an MP3 or WAV speech file of 3 to 30 seconds and at most 15 MB, to which
the clip is lip-synced. PyAV (FFmpeg) reads both formats; it is imported inside the
functions so that serving HTTP never needs it.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from av.container import InputContainer

MAX_AUDIO_BYTES = 15 * 1024 * 1024
MIN_AUDIO_S = 3.0
MAX_AUDIO_S = 30.0
# FFmpeg's demuxer names for the two formats the page allows.
AUDIO_FORMATS = {"mp3": "MP3", "wav": "WAV"}


def audio_problem(data: bytes) -> str | None:
    """Why ``data`` is not an acceptable lip-sync file, or None when it is.

    >>> audio_problem(b"not audio at all")
    'audio could not be read (MP3 or WAV expected)'
    """
    import av

    if len(data) > MAX_AUDIO_BYTES:
        return "audio larger than 15 MB"
    try:
        with av.open(io.BytesIO(data), "r") as container:
            fmt = container.format.name
            if fmt not in AUDIO_FORMATS or not container.streams.audio:
                return f"audio format {fmt} not supported (MP3 or WAV expected)"
            seconds = _seconds(container)
    except av.FFmpegError:
        return "audio could not be read (MP3 or WAV expected)"
    if not MIN_AUDIO_S <= seconds <= MAX_AUDIO_S:
        return (f"audio is {seconds:.2f} s long; it must last "
                f"{MIN_AUDIO_S:g} to {MAX_AUDIO_S:g} seconds")
    return None


def _seconds(container: InputContainer) -> float:
    """The container's duration: from its header when it has one, else by decoding."""
    import av

    if container.duration is not None:
        return container.duration / av.time_base
    samples, rate = 0, 0
    for frame in container.decode(audio=0):
        samples += frame.samples
        rate = frame.sample_rate or rate
    return samples / rate if rate else 0.0


def soundtrack(data: bytes, n_samples: int, rate: int) -> np.ndarray:
    """The audio in ``data`` as mono float32 at ``rate`` Hz, shape ``(1, n_samples)``:
    trimmed when longer than the clip, padded with silence when shorter."""
    import av

    resampler = av.AudioResampler(format="fltp", layout="mono", rate=rate)
    pieces: list[np.ndarray] = []
    with av.open(io.BytesIO(data), "r") as container:
        for frame in container.decode(audio=0):
            pieces += [f.to_ndarray()[0] for f in resampler.resample(frame)]
    pieces += [f.to_ndarray()[0] for f in resampler.resample(None)]
    track = np.zeros(n_samples, dtype=np.float32)
    if pieces:
        decoded = np.concatenate(pieces).astype(np.float32)[:n_samples]
        track[: decoded.size] = decoded
    return track[None, :]
