"""Clips stripped of what could name them, for blind comparisons.

An MP4's container and stream tags can carry a title, a comment or an encoder note that
names the prompt, the seed or the job (the sandbox writes its caption there, some tools
write the prompt). :func:`blind_clip_bytes` copies the audio and video packets as they are
(no re-encoding, a few milliseconds) into a new MP4 without those tags.

>>> data = blind_clip_bytes("clip.mp4")   # doctest: +SKIP
"""

from __future__ import annotations

import io
import os
import pathlib
from functools import lru_cache

from .clips import _open_clip

__all__ = ["blind_clip_bytes"]

#: Stripped clips kept in memory (an arena shows two at a time and often repeats them).
CACHED_CLIPS = 16


def blind_clip_bytes(path: str | os.PathLike[str]) -> bytes:
    """The clip at ``path`` as MP4 bytes with its audio and video streams copied unchanged
    and every metadata tag (container and streams) left out.

    Raises :class:`~hh_notebook.errors.MediaError` for a file that is not a readable video
    and :class:`~hh_notebook.errors.MissingDependency` without PyAV.
    """
    file = pathlib.Path(path)
    stat = file.stat()
    return _blind(str(file.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=CACHED_CLIPS)
def _blind(path: str, _mtime_ns: int, _size: int) -> bytes:
    import av

    buffer = io.BytesIO()
    with _open_clip(path) as source, av.open(buffer, "w", format="mp4") as out:
        out.metadata.clear()
        copies = {}
        for stream in source.streams:
            if stream.type in ("video", "audio"):
                copy = out.add_stream_from_template(stream)
                copy.metadata.clear()
                copies[stream.index] = copy
        for packet in source.demux(*[s for s in source.streams if s.index in copies]):
            if packet.dts is None:  # the demuxer's flush packet
                continue
            packet.stream = copies[packet.stream.index]
            out.mux(packet)
    return buffer.getvalue()
