"""The picture half of clip metrics: one streaming pass over decoded frames.

Each decoded frame is shrunk once to the analysis width (:data:`ANALYSIS_WIDTH`)
and then feeds every picture metric: optical flow (motion, dynamic degree and
the motion envelope used by the audio-motion sync proxy), low-passed luminance
after undoing that motion (flicker) and scenedetect's ContentDetector (cuts). A few frames spread over the
clip are also sampled for sharpness (at :data:`SHARPNESS_WIDTH`) and for
perceptual hashes. Only two analysis frames are held at a time (plus a few
numbers per frame), so a long clip costs little memory.

The heavy libraries (OpenCV, scenedetect, imagehash) are imported by
:func:`require` inside the functions that need them, so importing this module
costs nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from hh_notebook.errors import MissingDependency

__all__ = [
    "ANALYSIS_WIDTH",
    "DYNAMIC_THRESHOLD_PX",
    "FLICKER_GRID_WIDTH",
    "HASH_FRAMES",
    "SHARPNESS_FRAMES",
    "SHARPNESS_WIDTH",
    "VideoAnalyser",
    "VideoFacts",
    "missing_packages",
    "require",
    "require_extra",
]

#: Width in pixels every frame is shrunk to before flow, flicker and cut detection.
ANALYSIS_WIDTH = 256
#: Width in pixels of the frames sampled for sharpness (a fixed size, so clips of
#: different resolutions are compared on the same scale).
SHARPNESS_WIDTH = 640
#: Number of frames, spread evenly over the clip, whose Laplacian variance is measured.
SHARPNESS_FRAMES = 8
#: Number of frames, spread evenly over the clip, that get a perceptual hash.
HASH_FRAMES = 4
#: A frame pair counts as dynamic when the mean of its largest 5 % flow magnitudes
#: exceeds this many pixels per frame at the analysis width.
DYNAMIC_THRESHOLD_PX = 1.0
#: Width in cells of the grid of block means that flicker compares (heavy low-pass).
FLICKER_GRID_WIDTH = 16

_EXTRA_HINT = "install the metrics extra: pip install 'hh_notebook[metrics]'"
_PACKAGES = {
    "cv2": "opencv-python-headless",
    "scenedetect": "scenedetect-headless",
    "imagehash": "imagehash",
    "pyloudnorm": "pyloudnorm",
    "av": "av",
}


def require(module: str) -> Any:
    """Import an optional module of the ``metrics`` extra, or raise MissingDependency.

    >>> require("numpy").__name__
    'numpy'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = _PACKAGES.get(module.split(".")[0], module)
        raise MissingDependency(
            f"clip metrics need {package} (import of {module!r} failed: {exc}); {_EXTRA_HINT}"
        ) from None


def missing_packages() -> list[str]:
    """The packages of the ``metrics`` extra that cannot be imported (found without importing
    them, so checking is cheap). Empty when the extra is installed.

    >>> isinstance(missing_packages(), list)
    True
    """
    missing = []
    for module, package in _PACKAGES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a broken install, or a module set to None
            found = False
        if not found:
            missing.append(package)
    return missing


def require_extra() -> None:
    """Raise MissingDependency naming the ``metrics`` extra unless all of it is installed."""
    missing = missing_packages()
    if missing:
        raise MissingDependency(f"clip metrics need {', '.join(missing)}; {_EXTRA_HINT}")


@dataclass(frozen=True)
class VideoFacts:
    """What the picture pass found; see :class:`hh_notebook.metrics.ClipMetrics` for units."""

    width: int
    height: int
    fps: float
    frames: int
    motion_px: float
    dynamic_degree: float
    flicker: float
    sharpness: float
    cuts: int
    hashes: tuple[str, ...]
    #: Presentation time in seconds of the second frame of each analysed pair.
    motion_times: np.ndarray = field(repr=False)
    #: Mean flow magnitude of each pair (pixels per frame at the analysis width).
    motion_envelope: np.ndarray = field(repr=False)


def analysis_size(width: int, height: int, target: int) -> tuple[int, int]:
    """(width, height) scaled to ``target`` wide, both even (YUV 4:2:0 needs even sizes).

    >>> analysis_size(1280, 720, 256)
    (256, 144)
    """
    scaled = max(2, round(target * height / width / 2) * 2)
    return target, scaled


def sample_times(duration: float, count: int) -> list[float]:
    """``count`` times at the centres of equal slices of ``duration`` seconds.

    >>> sample_times(4.0, 4)
    [0.5, 1.5, 2.5, 3.5]
    """
    return [duration * (i + 0.5) / count for i in range(count)]


class VideoAnalyser:
    """Feed decoded PyAV frames in order with :meth:`feed`, then call :meth:`finish`.

    ``duration`` (seconds, from the container) places the sampled frames;
    ``start`` is the presentation time of the clip's first frame.
    """

    def __init__(self, width: int, height: int, fps: Fraction, duration: float,
                 start: float = 0.0) -> None:
        self._cv2 = require("cv2")
        self._imagehash = require("imagehash")
        scenedetect = require("scenedetect")
        self.width, self.height, self.fps = width, height, fps
        self._size = analysis_size(width, height, ANALYSIS_WIDTH)
        self._sharp_size = analysis_size(width, height, SHARPNESS_WIDTH)
        self._grid = (FLICKER_GRID_WIDTH, max(1, round(FLICKER_GRID_WIDTH * height / width)))
        self._flow = self._cv2.DISOpticalFlow_create(self._cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self._xs, self._ys = np.meshgrid(np.arange(self._size[0], dtype=np.float32),
                                         np.arange(self._size[1], dtype=np.float32))
        # Default threshold and minimum scene length: frames arrive at the clip's own rate.
        self._detector = scenedetect.ContentDetector()
        self._timecode = scenedetect.FrameTimecode
        self._sharp_at = [start + t for t in sample_times(duration, SHARPNESS_FRAMES)]
        self._hash_at = [start + t for t in sample_times(duration, HASH_FRAMES)]
        self._count = 0
        self._prev_grey: np.ndarray | None = None
        self._prev_grid: np.ndarray | None = None
        self._last: tuple[Any, np.ndarray] | None = None
        self._times: list[float] = []
        self._means: list[float] = []
        self._tops: list[float] = []
        self._flicker: list[float] = []
        self._cuts = 0
        self._sharpness: list[float] = []
        self._hashes: list[str] = []

    def feed(self, frame: Any) -> None:
        """Analyse one decoded frame (an ``av.VideoFrame``)."""
        cv2 = self._cv2
        w, h = self._size
        yuv = frame.to_ndarray(width=w, height=h, format="yuv420p", interpolation="AREA")
        grey = yuv[:h]  # the luma plane, as coded
        time = frame.time if frame.time is not None else self._count / float(self.fps)
        grid = self._low_pass(grey)
        if self._prev_grey is not None and self._prev_grid is not None:
            flow = self._flow.calc(self._prev_grey, grey, None)
            self._add_motion(flow, time)
            self._add_flicker(flow, grey, self._prev_grid)
        bgr = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)
        self._cuts += len(self._detector.process_frame(self._timecode(self._count, self.fps), bgr))
        while self._sharp_at and time >= self._sharp_at[0]:
            self._sharp_at.pop(0)
            self._sharpness.append(self._laplacian_variance(frame))
        while self._hash_at and time >= self._hash_at[0]:
            self._hash_at.pop(0)
            self._hashes.append(self._phash(grey))
        self._prev_grey, self._prev_grid = grey, grid
        self._last = (frame, grey)
        self._count += 1

    def _low_pass(self, grey: np.ndarray) -> np.ndarray:
        return self._cv2.resize(grey, self._grid, interpolation=self._cv2.INTER_AREA).astype(
            np.float32)

    def _add_motion(self, flow: np.ndarray, time: float) -> None:
        magnitude = np.sqrt(flow[..., 0] ** 2 + flow[..., 1] ** 2).ravel()
        top = magnitude.size // 20  # the largest 5 %: a small moving subject still counts
        self._times.append(time)
        self._means.append(float(magnitude.mean()))
        self._tops.append(float(np.partition(magnitude, magnitude.size - top)[-top:].mean()))

    def _add_flicker(self, flow: np.ndarray, current: np.ndarray, previous_grid: np.ndarray
                     ) -> None:
        """Luma change left once motion is undone: the current frame is warped back onto
        the previous one along the flow, so a pan or a moving subject does not count."""
        cv2 = self._cv2
        back = cv2.remap(current, self._xs + flow[..., 0], self._ys + flow[..., 1],
                         cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        self._flicker.append(float(np.mean(np.abs(self._low_pass(back) - previous_grid))))

    def _laplacian_variance(self, frame: Any) -> float:
        w, h = self._sharp_size
        grey = frame.to_ndarray(width=w, height=h, format="gray", interpolation="AREA")
        return float(self._cv2.Laplacian(grey, self._cv2.CV_32F).var())

    def _phash(self, grey: np.ndarray) -> str:
        from PIL import Image

        return str(self._imagehash.phash(Image.fromarray(grey)))

    def finish(self) -> VideoFacts:
        """Close the pass and return the figures; call once, after the last frame."""
        if self._last is not None:
            # A container duration longer than the frames leaves samples unfilled.
            frame, grey = self._last
            while len(self._sharpness) < min(SHARPNESS_FRAMES, self._count):
                self._sharpness.append(self._laplacian_variance(frame))
            while len(self._hashes) < min(HASH_FRAMES, self._count):
                self._hashes.append(self._phash(grey))
        tops = np.asarray(self._tops, dtype=np.float64)
        return VideoFacts(
            width=self.width,
            height=self.height,
            fps=float(self.fps),
            frames=self._count,
            motion_px=_mean(self._means),
            dynamic_degree=float(np.mean(tops > DYNAMIC_THRESHOLD_PX)) if tops.size else 0.0,
            flicker=_mean(self._flicker),
            sharpness=float(np.median(self._sharpness)) if self._sharpness else 0.0,
            cuts=self._cuts,
            hashes=tuple(self._hashes),
            motion_times=np.asarray(self._times, dtype=np.float64),
            motion_envelope=np.asarray(self._means, dtype=np.float64),
        )


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else 0.0
