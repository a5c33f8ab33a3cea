"""Clip metrics: what is actually in a clip, measured on the CPU, to sort and filter sweeps.

:func:`measure` reads a clip once (PyAV), shrinks every frame to a small fixed
width and returns a :class:`ClipMetrics`: motion and dynamic degree (optical
flow), flicker, sharpness, scene cuts, loudness, peak, silence, an audio-motion
sync proxy and perceptual hashes. :func:`measure_many` does the same for many
clips in parallel processes; :func:`duplicates` and :func:`seed_diversity`
compare clips by their hashes. Results are keyed by the clip's SHA-256, so a
journal given to :func:`measure` or :func:`measure_many` keeps any clip from
being measured twice.

Needs the ``metrics`` extra (``pip install 'hh_notebook[metrics]'``)::

    >>> from hh_notebook.metrics import measure, measure_many, duplicates
    >>> m = measure("clip.mp4")                                   # doctest: +SKIP
    >>> m.motion_px, m.cuts, m.lufs                               # doctest: +SKIP
    (1.93, 0, -21.4)
    >>> rows = [x.to_dict() for x in measure_many(paths)]         # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Union

from hh_notebook.errors import HHError, MediaError
from hh_notebook.metrics_parallel import run_parallel

if TYPE_CHECKING:
    from hh_notebook.journal import Journal

__all__ = [
    "DUPLICATE_MAX_DISTANCE",
    "METRICS_VERSION",
    "ClipMetrics",
    "HasVideoPath",
    "duplicates",
    "file_sha256",
    "hash_distance",
    "measure",
    "measure_many",
    "missing_packages",
    "require_extra",
    "seed_diversity",
]

#: Bumped whenever a definition or a default changes, so cached figures are recomputed.
METRICS_VERSION = 1
#: Default ``max_distance`` of :func:`duplicates`, in bits (of 64) per sampled frame.
DUPLICATE_MAX_DISTANCE = 6.0
_HASH_BITS = 64


class HasVideoPath(Protocol):
    """Anything with a ``video_path`` (a finished job): its clip is what gets measured."""

    @property
    def video_path(self) -> str | os.PathLike[str] | None: ...


ClipLike = Union[str, "os.PathLike[str]", HasVideoPath]


@dataclass(frozen=True)
class ClipMetrics:
    """What one clip contains, in numbers. Every figure is ``None`` when ``error`` is set.

    Picture figures are measured on frames shrunk to 256 px wide (sharpness on
    frames 640 px wide), so clips of different resolutions compare on one scale.
    Audio figures are ``None`` when the clip has no audio stream.
    """

    path: str
    """The clip measured (for a cache hit: the path asked about, not the first one seen)."""
    sha256: str | None
    """Hex SHA-256 of the file's bytes: the cache key and the clip's identity."""
    version: int = METRICS_VERSION
    """:data:`METRICS_VERSION` the figures were computed with."""
    duration_s: float | None = None
    """Container duration, seconds."""
    width: int | None = None
    """Frame width of the clip itself, pixels."""
    height: int | None = None
    """Frame height of the clip itself, pixels."""
    fps: float | None = None
    """Average frame rate, frames per second."""
    frames: int | None = None
    """Frames decoded and analysed."""
    motion_px: float | None = None
    """Mean optical-flow magnitude (OpenCV DIS), pixels per frame at 256 px wide."""
    dynamic_degree: float | None = None
    """Share (0..1) of frame pairs whose largest 5 % flow magnitudes average over 1 px/frame."""
    flicker: float | None = None
    """Mean absolute frame-to-frame change of low-passed luma (a 16-cell-wide grid of block
    means) once motion is undone along the flow, in 8-bit luma code values."""
    sharpness: float | None = None
    """Median variance of the Laplacian over 8 sampled grey frames 640 px wide, grey levels²."""
    cuts: int | None = None
    """Scene cuts found by scenedetect's ContentDetector at its default threshold (27)."""
    has_audio: bool | None = None
    """Whether the clip has an audio stream."""
    lufs: float | None = None
    """Integrated loudness (ITU-R BS.1770, pyloudnorm), LUFS; -70 for silence."""
    peak_dbfs: float | None = None
    """Sample peak level, dBFS (0 = full scale; -120 for digital silence)."""
    silence_share: float | None = None
    """Share (0..1) of 50 ms windows whose RMS level is below -60 dBFS."""
    av_sync_lag_ms: float | None = None
    """PROXY: lag in ms at which audio onsets best correlate with motion (+ = sound later)."""
    av_sync_corr: float | None = None
    """PROXY: Pearson correlation (-1..1) at that lag; near 0 means the lag means little."""
    hashes: tuple[str, ...] = ()
    """Perceptual hashes (imagehash.phash, 64 bits as hex) of 4 frames spread over the clip."""
    error: str | None = None
    """Why the clip could not be measured (then every figure above is ``None``)."""

    @property
    def ok(self) -> bool:
        """True when the clip was measured (no ``error``)."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """Flat, JSON-safe dict: one key per table column (hashes joined as ``phash``).

        >>> ClipMetrics("a.mp4", None, error="MediaError: unreadable").to_dict()["phash"]
        ''
        """
        data = dataclasses.asdict(self)
        data["phash"] = " ".join(data.pop("hashes"))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClipMetrics:
        """The inverse of :meth:`to_dict` (unknown keys are ignored).

        >>> m = ClipMetrics("a.mp4", "ab", cuts=2, hashes=("f0f0f0f0f0f0f0f0",))
        >>> ClipMetrics.from_dict(m.to_dict()) == m
        True
        """
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if "phash" in data or "hashes" not in data:
            values["hashes"] = tuple(str(data.get("phash") or "").split())
        else:  # a dataclasses.asdict() copy keeps the tuple under its own name
            values["hashes"] = tuple(data["hashes"])
        return cls(**values)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks (never whole into memory).

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     file_sha256(f.name)[:12]
    'e3b0c44298fc'
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise MediaError(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}") from None
    return digest.hexdigest()


def missing_packages() -> list[str]:
    """The packages of the ``metrics`` extra that are not installed ([] when all are);
    checked without importing them."""
    from hh_notebook.metrics_video import missing_packages as missing

    return missing()


def require_extra() -> None:
    """Raise :class:`~hh_notebook.errors.MissingDependency` naming the ``metrics`` extra
    (``pip install 'hh_notebook[metrics]'``) unless all of it is installed."""
    from hh_notebook.metrics_video import require_extra as require

    require()


def clip_path(clip: ClipLike) -> Path:
    """The file behind ``clip``: a path, or the ``video_path`` of a job."""
    if isinstance(clip, (str, os.PathLike)):
        return Path(clip)
    video_path = getattr(clip, "video_path", None)
    if video_path is None:
        raise MediaError(f"{clip!r} has no clip to measure yet (video_path is None)")
    return Path(video_path)


def measure(clip: ClipLike, *, journal: Journal | None = None) -> ClipMetrics:
    """Measure one clip (a path or a job with ``video_path``); see :class:`ClipMetrics`.

    With ``journal``, figures already stored for the same bytes (same SHA-256) at
    this :data:`METRICS_VERSION` are returned without decoding, and new ones are
    stored. Raises :class:`~hh_notebook.errors.MediaError` for a missing or
    unreadable clip and :class:`~hh_notebook.errors.MissingDependency` without the
    ``metrics`` extra.
    """
    path = clip_path(clip)
    sha256 = file_sha256(path)
    if journal is not None:
        cached = journal.get_metrics(sha256, METRICS_VERSION)
        if cached is not None:
            return dataclasses.replace(ClipMetrics.from_dict(cached), path=str(path))
    result = _analyse(path, sha256)
    if journal is not None:
        journal.put_metrics(sha256, METRICS_VERSION, result.to_dict())
    return result


def _analyse(path: Path, sha256: str) -> ClipMetrics:
    from hh_notebook.metrics_decode import read_clip

    facts = read_clip(path)
    video, audio = facts.video, facts.audio
    return ClipMetrics(
        path=str(path),
        sha256=sha256,
        duration_s=round(facts.duration_s, 6),
        width=video.width,
        height=video.height,
        fps=round(video.fps, 6),
        frames=video.frames,
        motion_px=video.motion_px,
        dynamic_degree=video.dynamic_degree,
        flicker=video.flicker,
        sharpness=video.sharpness,
        cuts=video.cuts,
        has_audio=audio is not None,
        lufs=audio.lufs if audio is not None else None,
        peak_dbfs=audio.peak_dbfs if audio is not None else None,
        silence_share=audio.silence_share if audio is not None else None,
        av_sync_lag_ms=facts.sync_lag_ms,
        av_sync_corr=facts.sync_corr,
        hashes=video.hashes,
    )


def _measure_uncached(path: str, sha256: str) -> ClipMetrics:
    """One clip for :func:`measure_many`: any failure becomes an error entry."""
    try:
        return _analyse(Path(path), sha256)
    except HHError as exc:
        return ClipMetrics(path, sha256, error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001 - one bad clip must not sink the batch
        return ClipMetrics(path, sha256, error=f"{type(exc).__name__}: {exc} ({path})")


def measure_many(clips: Iterable[ClipLike], workers: int | None = None, *,
                 journal: Journal | None = None,
                 on_result: Callable[[int, ClipMetrics], None] | None = None,
                 ) -> list[ClipMetrics]:
    """Measure many clips in parallel processes; results come in input order.

    ``workers`` defaults to every core this process may use; ``workers=1``
    measures in this process. A clip that cannot be measured gives an entry
    whose ``error`` says why instead of stopping the batch. Files with identical
    bytes are measured once, and with ``journal`` nothing already stored is
    measured again. ``on_result(index, metrics)`` is called in this thread for
    each clip as soon as its figures are known (stored ones first), so a view
    can fill in while the rest is measured. Worker processes are started with
    ``spawn`` (safe beside threads and in notebooks); in a script, call this
    under ``if __name__ == "__main__":``.
    """
    report = on_result or (lambda index, metrics: None)
    results: list[ClipMetrics | None] = []
    pending: dict[str, list[tuple[int, str]]] = {}  # sha256 -> [(index in results, path)]
    todo: dict[str, str] = {}  # sha256 -> the first path with those bytes
    for clip in clips:
        index = len(results)
        try:
            path = clip_path(clip)
            sha256 = file_sha256(path)
        except HHError as exc:
            shown = str(getattr(clip, "video_path", clip))
            failed = ClipMetrics(shown, None, error=f"{type(exc).__name__}: {exc}")
            results.append(failed)
            report(index, failed)
            continue
        cached = journal.get_metrics(sha256, METRICS_VERSION) if journal is not None else None
        if cached is not None:
            stored = dataclasses.replace(ClipMetrics.from_dict(cached), path=str(path))
            results.append(stored)
            report(index, stored)
            continue
        pending.setdefault(sha256, []).append((index, str(path)))
        results.append(None)
        todo.setdefault(sha256, str(path))

    def arrived(sha256: str, fresh: ClipMetrics) -> None:
        if journal is not None and fresh.ok:
            journal.put_metrics(sha256, METRICS_VERSION, fresh.to_dict())
        for index, shown in pending[sha256]:
            entry = dataclasses.replace(fresh, path=shown)
            results[index] = entry
            report(index, entry)

    run_parallel(_measure_uncached, {sha: (path, sha) for sha, path in todo.items()},
                 workers, failed=_crashed, on_done=arrived)
    return [entry for entry in results if entry is not None]


def _crashed(args: tuple[str, str], exc: BaseException) -> ClipMetrics:
    """The entry of a clip whose worker process died (e.g. killed, or a crash in FFmpeg)."""
    path, sha256 = args
    return ClipMetrics(path, sha256, error=f"worker process failed: {type(exc).__name__}: {exc}")


def hash_distance(a: ClipMetrics, b: ClipMetrics) -> float | None:
    """Mean Hamming distance in bits (0..64) between the frame hashes of two clips.

    Frames are compared in order (first sampled frame with first, ...); ``None``
    when either clip has no hashes.

    >>> a = ClipMetrics("a", None, hashes=("ffffffffffffffff", "0000000000000000"))
    >>> b = ClipMetrics("b", None, hashes=("fffffffffffffff0", "0000000000000000"))
    >>> hash_distance(a, b)
    2.0
    """
    pairs = list(zip(a.hashes, b.hashes))
    if not pairs:
        return None
    bits = [(int(x, 16) ^ int(y, 16)).bit_count() for x, y in pairs]
    return sum(bits) / len(bits)


def duplicates(metrics_list: Sequence[ClipMetrics],
               max_distance: float = DUPLICATE_MAX_DISTANCE) -> list[list[int]]:
    """Groups of near-identical clips: indices whose :func:`hash_distance` <= ``max_distance``.

    Grouping is transitive (a~b and b~c put a, b, c together). Only groups of two
    or more are returned, each sorted, ordered by their first index.

    >>> x = ClipMetrics("x", None, hashes=("ffffffffffffffff",))
    >>> y = ClipMetrics("y", None, hashes=("0000000000000000",))
    >>> duplicates([x, y, x])
    [[0, 2]]
    """
    parent = list(range(len(metrics_list)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in combinations(range(len(metrics_list)), 2):
        distance = hash_distance(metrics_list[i], metrics_list[j])
        if distance is not None and distance <= max_distance:
            parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(metrics_list)):
        groups.setdefault(root(i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])


def seed_diversity(metrics_list: Sequence[ClipMetrics]) -> float:
    """Mean pairwise hash distance as a share of the 64 bits: 0 = all clips look identical.

    Unrelated images sit near 0.5. Clips without hashes (errors) are left out;
    fewer than two clips give 0.0.

    >>> x = ClipMetrics("x", None, hashes=("ffffffffffffffff",))
    >>> y = ClipMetrics("y", None, hashes=("ffffffff00000000",))
    >>> seed_diversity([x, x]), seed_diversity([x, y])
    (0.0, 0.5)
    """
    distances = [d for a, b in combinations(metrics_list, 2)
                 if (d := hash_distance(a, b)) is not None]
    return sum(distances) / len(distances) / _HASH_BITS if distances else 0.0
