"""``hh.measure``: clip metrics of a job or a file, cached in the journal.

:func:`hh_notebook.metrics.measure` caches only in a journal it is given; this is the
one-liner for notebooks, which keeps figures in the journal of the data directory
(``HH_DATA_DIR`` or the per-user one), so a clip is measured once however often it is
asked about. Sweeps measure through :meth:`hh_notebook.sweep.SweepResult.measure`, with
their client's journal.

>>> import hh_notebook as hh
>>> m = hh.measure(job)                                   # doctest: +SKIP
>>> m.motion_px, m.flicker, m.lufs, m.cuts                # doctest: +SKIP
(0.24, 0.07, -21.1, 0)
"""

from __future__ import annotations

from .config import default_data_dir
from .journal import Journal
from .metrics import ClipLike, ClipMetrics
from .metrics import measure as measure_clip

__all__ = ["measure"]


def measure(clip: ClipLike, *, journal: Journal | None = None,
            cache: bool = True) -> ClipMetrics:
    """Measure one clip (a finished job or a path to an MP4) and return its
    :class:`~hh_notebook.metrics.ClipMetrics` (motion, flicker, sharpness, cuts, loudness,
    sync proxy, perceptual hashes; units in docs/METRICS.md).

    Figures are cached by the SHA-256 of the clip's bytes in ``journal`` (default: the
    data directory's), so measuring the same clip again returns at once; ``cache=False``
    neither reads nor writes it. Raises :class:`~hh_notebook.errors.MissingDependency`
    naming the extra (``pip install 'hh_notebook[metrics]'``) when it is not installed
    and the clip is not cached yet, and :class:`~hh_notebook.errors.MediaError` for a
    job without a clip or an unreadable file.
    """
    if not cache:
        return measure_clip(clip)
    if journal is not None:
        return measure_clip(clip, journal=journal)
    own = Journal(default_data_dir() / "journal.sqlite3")
    try:
        return measure_clip(clip, journal=own)
    finally:
        own.close()
