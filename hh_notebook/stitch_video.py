"""The pictures of a stitch: packets copied as they are, or frames normalised and re-encoded.

Both writers yield the output's video packets shot after shot, leaving out the last frame of
the shots whose last picture repeats at the start of the next one. Muxing is left to the
caller, which interleaves the sound.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
from av.video.frame import PictureType

from hh_notebook.errors import MediaError
from hh_notebook.stitch_probe import ShotProbe, VideoSpec, open_input, video_stream


@dataclass(frozen=True)
class ShotCut:
    """How one shot enters the output: how many frames it gives (after frame-rate
    conversion) and whether its last one is left out."""

    frames: int
    drop_last: bool

    @property
    def kept(self) -> int:
        """Frames the shot contributes to the output."""
        return self.frames - int(self.drop_last)


def copied_packets(probes: Sequence[ShotProbe], cuts: Sequence[ShotCut],
                   stream: av.VideoStream) -> Iterator[av.Packet]:
    """The shots' own packets, retimed to follow each other on ``stream``.

    A dropped frame is the packet with the largest presentation time, which the copy rule
    (see :func:`hh_notebook.stitch.copy_blockers`) only allows when it is also the shot's
    last packet in decode order.
    """
    offset = 0
    for probe, cut in zip(probes, cuts):
        ticks = probe.frame_ticks or 0
        base = int(probe.pts.min())
        dropped = int(probe.pts.max()) if cut.drop_last else None
        with open_input(probe.path) as container:
            source = video_stream(container, probe.path)
            for packet in container.demux(source):
                if not packet.size or packet.pts is None or packet.dts is None:
                    continue
                if packet.pts == dropped:
                    continue
                packet.pts += offset - base
                packet.dts += offset - base
                packet.stream = stream
                yield packet
        offset += cut.kept * ticks


def reencoded_packets(probes: Sequence[ShotProbe], cuts: Sequence[ShotCut], spec: VideoSpec,
                      stream: av.VideoStream) -> Iterator[av.Packet]:
    """Every shot decoded, normalised to ``spec`` and encoded on ``stream`` (H.264).

    Each shot starts on a keyframe, so a player can jump to any shot (chapter) at once.
    """
    index = 0
    for probe, cut in zip(probes, cuts):
        for n, frame in enumerate(_frames_at_rate(probe, spec, cut.kept)):
            frame.pts = index
            frame.time_base = Fraction(1) / spec.fps
            frame.pict_type = PictureType.I if n == 0 else PictureType.NONE
            yield from stream.encode(frame)
            index += 1
    yield from stream.encode(None)


def _frames_at_rate(probe: ShotProbe, spec: VideoSpec, count: int) -> Iterator[av.VideoFrame]:
    """Exactly ``count`` frames of the shot at ``spec``'s rate and size.

    Output frame i shows the latest source frame whose time is at or before the middle of
    output frame i: frames are repeated or skipped by time, never blended, and a shot that
    decodes to fewer frames than it claims holds its last picture.
    """
    normalise = _normaliser(probe, spec)
    source_rate = float(probe.video.fps)
    with open_input(probe.path) as container:
        source = video_stream(container, probe.path)
        source.thread_type = "AUTO"
        decoded = ((f.time if f.time is not None else j / source_rate, f)
                   for j, f in enumerate(container.decode(source)))
        first = next(decoded, None)
        if first is None:
            raise MediaError(f"{str(probe.path)!r} has no decodable video frame")
        base, current = first
        upcoming = next(decoded, None)
        shown: tuple[av.VideoFrame, av.VideoFrame] | None = None  # (source, normalised)
        for i in range(count):
            middle = base + (i + 0.5) / float(spec.fps)
            while upcoming is not None and upcoming[0] <= middle:
                current, upcoming = upcoming[1], next(decoded, None)
            if shown is None or shown[0] is not current:  # skipped frames are never scaled
                shown = (current, normalise(current))
            yield shown[1]


def _normaliser(probe: ShotProbe, spec: VideoSpec) -> _Normaliser:
    if (probe.video.width, probe.video.height) == (spec.width, spec.height):
        return _Normaliser(None, spec)
    return _Normaliser(_letterbox_graph(probe, spec), spec)


class _Normaliser:
    """Scales a frame into ``spec``'s size, keeping its aspect (black bars fill the rest),
    and converts it to ``spec``'s pixel format."""

    def __init__(self, graph: av.filter.Graph | None, spec: VideoSpec) -> None:
        self.graph = graph
        self.spec = spec

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame:
        if self.graph is None:
            if frame.format.name == self.spec.pix_fmt:
                return frame
            out = frame.reformat(format=self.spec.pix_fmt)
        else:
            self.graph.vpush(frame)
            out = self.graph.vpull()
        out.pts, out.time_base = frame.pts, frame.time_base
        return out


def _letterbox_graph(probe: ShotProbe, spec: VideoSpec) -> av.filter.Graph:
    graph = av.filter.Graph()
    w, h = spec.width, spec.height
    graph.link_nodes(
        graph.add_buffer(width=probe.video.width, height=probe.video.height,
                         format=av.VideoFormat(probe.video.pix_fmt), time_base=probe.time_base),
        graph.add("scale", f"{w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2"),
        graph.add("pad", f"{w}:{h}:(ow-iw)/2:(oh-ih)/2:black"),
        graph.add("setsar", "1"),
        graph.add("format", spec.pix_fmt),
        graph.add("buffersink"),
    )
    graph.configure()
    return graph
