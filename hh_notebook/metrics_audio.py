"""The sound half of clip metrics: loudness, peak, silence and the audio-motion sync proxy.

Audio frames are resampled once, as they are decoded, to packed 32-bit float at
the stream's own rate (mono stays mono, anything else becomes stereo, so the
ITU-R BS.1770 channel weights of pyloudnorm apply), then measured as a whole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hh_notebook.metrics_video import require

__all__ = [
    "LUFS_FLOOR",
    "ONSET_HOP_S",
    "PEAK_FLOOR_DBFS",
    "SILENCE_DBFS",
    "SILENCE_WINDOW_S",
    "SYNC_MAX_LAG_S",
    "AudioCollector",
    "AudioFacts",
    "measure_audio",
    "sync_lag",
]

#: Integrated loudness reported when every 400 ms block is below BS.1770's absolute
#: gate (-70 LUFS), where the standard leaves the loudness undefined: silence.
LUFS_FLOOR = -70.0
#: Peak level reported for digital silence (a zero peak has no finite dB value).
PEAK_FLOOR_DBFS = -120.0
#: A window whose RMS level is below this many dBFS counts as silent.
SILENCE_DBFS = -60.0
#: Length in seconds of the windows counted for the silence share.
SILENCE_WINDOW_S = 0.05
#: Hop in seconds of the audio onset envelope (and of the sync proxy's lag grid).
ONSET_HOP_S = 0.01
#: The sync proxy searches lags within plus or minus this many seconds.
SYNC_MAX_LAG_S = 0.5


class AudioCollector:
    """Resample decoded ``av.AudioFrame`` objects as they come; :meth:`samples` joins them."""

    def __init__(self, stream: Any) -> None:
        av = require("av")
        self.rate = int(stream.rate or stream.codec_context.sample_rate)
        channels = stream.codec_context.channels or 1
        self._layout = "mono" if channels == 1 else "stereo"
        self._resampler = av.AudioResampler(format="flt", layout=self._layout, rate=self.rate)
        self._parts: list[np.ndarray] = []
        self.start: float | None = None

    def feed(self, frame: Any) -> None:
        """Resample one decoded frame and keep its samples."""
        if self.start is None and frame.time is not None:
            self.start = float(frame.time)
        for out in self._resampler.resample(frame):
            self._parts.append(out.to_ndarray())

    def samples(self) -> np.ndarray:
        """Every sample so far as float32, shape (samples, channels)."""
        for out in self._resampler.resample(None):
            self._parts.append(out.to_ndarray())
        channels = 1 if self._layout == "mono" else 2
        if not self._parts:
            return np.zeros((0, channels), dtype=np.float32)
        # packed "flt" frames come as one row of interleaved samples
        return np.concatenate(self._parts, axis=1).reshape(-1, channels)


@dataclass(frozen=True)
class AudioFacts:
    """What the sound pass found; see :class:`hh_notebook.metrics.ClipMetrics` for units."""

    lufs: float | None
    peak_dbfs: float
    silence_share: float
    #: Onset strength every :data:`ONSET_HOP_S` seconds, starting at ``onset_start``.
    onset_envelope: np.ndarray
    onset_start: float


def measure_audio(samples: np.ndarray, rate: int, start: float = 0.0) -> AudioFacts:
    """Loudness, peak, silence share and onset envelope of ``samples`` (samples, channels).

    >>> t = np.arange(48000) / 48000
    >>> facts = measure_audio((0.1 * np.sin(2 * np.pi * 997 * t))[:, None], 48000)
    >>> round(facts.peak_dbfs, 1), facts.silence_share
    (-20.0, 0.0)
    """
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return AudioFacts(
        lufs=_integrated_loudness(samples, rate),
        peak_dbfs=20 * math.log10(peak) if peak > 0 else PEAK_FLOOR_DBFS,
        silence_share=_silence_share(samples, rate),
        onset_envelope=_onset_envelope(samples, rate),
        onset_start=start,
    )


def _integrated_loudness(samples: np.ndarray, rate: int) -> float | None:
    pyloudnorm = require("pyloudnorm")
    meter = pyloudnorm.Meter(rate)
    if samples.shape[0] < meter.block_size * rate:
        return None  # shorter than one 400 ms gating block: BS.1770 gives no figure
    lufs = float(meter.integrated_loudness(samples.astype(np.float64)))
    return lufs if math.isfinite(lufs) and lufs > LUFS_FLOOR else LUFS_FLOOR


def _window_power(samples: np.ndarray, rate: int, seconds: float) -> np.ndarray:
    """Mean square over all channels of consecutive windows of ``seconds``."""
    size = max(1, round(rate * seconds))
    count = samples.shape[0] // size
    if count == 0:
        return np.zeros(0)
    blocks = samples[: count * size].astype(np.float64).reshape(count, size, -1)
    return np.asarray(np.mean(blocks**2, axis=(1, 2)))


def _silence_share(samples: np.ndarray, rate: int) -> float:
    power = _window_power(samples, rate, SILENCE_WINDOW_S)
    if power.size == 0:
        return 1.0
    return float(np.mean(power < 10 ** (SILENCE_DBFS / 10)))


def _onset_envelope(samples: np.ndarray, rate: int) -> np.ndarray:
    """Rises of the log energy per hop (half-wave rectified flux): sharp for a click."""
    power = _window_power(samples, rate, ONSET_HOP_S)
    if power.size < 2:
        return np.zeros(power.size)
    level = 10 * np.log10(power + 1e-10)
    return np.concatenate([[0.0], np.maximum(np.diff(level), 0.0)])


def sync_lag(motion_times: np.ndarray, motion: np.ndarray, onsets: np.ndarray,
             onset_start: float) -> tuple[float | None, float | None]:
    """(lag in ms, correlation) at which audio onsets best match the motion envelope.

    A positive lag means the sound comes after the picture. Both envelopes are put
    on a common :data:`ONSET_HOP_S` grid and z-scored; the lag maximising their
    Pearson correlation within :data:`SYNC_MAX_LAG_S` wins. ``(None, None)`` when
    either envelope is flat. It is a proxy: it finds when sound events and motion
    rise together, not whether a given sound belongs to a given movement.

    >>> times = np.arange(1, 72) / 24
    >>> motion = (np.abs(times - 1.0) < 0.02).astype(float)
    >>> onsets = np.zeros(300); onsets[120] = 1.0  # a click at 1.2 s
    >>> sync_lag(times, motion, onsets, 0.0)[0]
    200.0
    """
    if motion.size < 2 or onsets.size < 2:
        return None, None
    grid = onset_start + np.arange(onsets.size) * ONSET_HOP_S
    inside = (grid >= motion_times[0]) & (grid <= motion_times[-1])
    if inside.sum() < 2:
        return None, None
    picture = np.interp(grid, motion_times, motion)
    max_lag = min(round(SYNC_MAX_LAG_S / ONSET_HOP_S), int(inside.sum()) // 2)
    best: tuple[float, int] | None = None
    for lag in range(-max_lag, max_lag + 1):
        # picture at t against sound at t + lag, over the hops where both exist
        a, b = (picture[: picture.size - lag], onsets[lag:]) if lag >= 0 else (
            picture[-lag:], onsets[: onsets.size + lag])
        corr = _pearson(a, b)
        if corr is not None and (best is None or corr > best[0]):
            best = (corr, lag)
    if best is None:
        return None, None
    return round(best[1] * ONSET_HOP_S * 1000, 3), round(best[0], 4)


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    sa, sb = float(a.std()), float(b.std())
    if a.size < 2 or sa < 1e-9 or sb < 1e-9:
        return None
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))
