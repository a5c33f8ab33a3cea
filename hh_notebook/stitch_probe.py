"""Reading shots for :mod:`hh_notebook.stitch`: what a shot holds, its first and last frames.

A shot is read once, in one pass: every video packet's timestamps (demuxed, not decoded:
the exact frame count, decode and presentation order, what a stream copy needs to know),
its first picture (the first packets decoded), its sound (decoded whole: a crossfade needs
samples) and its last picture (a seek to the last keyframe, decoded to the end of the file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from hh_notebook.errors import MediaError

# The picture two frames are compared at: small enough that compression noise averages out
# and that shots of different sizes can be compared at all.
SIGNATURE_SIZE = (64, 36)
FLAT = 1.0  # grey levels of standard deviation below which a picture has no pattern


@dataclass(frozen=True)
class VideoSpec:
    """The picture format a shot is normalised to: size, frame rate and pixel format."""

    width: int
    height: int
    fps: Fraction
    pix_fmt: str


@dataclass(frozen=True)
class AudioSpec:
    """The sound format a shot is normalised to: sample rate and channel layout name."""

    sample_rate: int
    layout: str


@dataclass(frozen=True, eq=False)
class ShotProbe:
    """What one shot holds.

    ``pts``/``dts`` are the video packets' timestamps in decode order, in ``time_base``
    ticks, and ``keyframes`` marks their sync samples. ``first_look``/``last_look`` are the
    grey signatures of the first and last pictures (:func:`signature`). ``sound`` is the
    decoded audio (float32, channels x samples, in ``audio``'s rate and layout) with sample
    0 at the first video frame, ending at the last real sample; None without audio.
    """

    path: Path
    video: VideoSpec
    codec: str
    extradata: bytes
    time_base: Fraction
    pts: np.ndarray
    dts: np.ndarray
    keyframes: np.ndarray
    first_look: np.ndarray
    last_look: np.ndarray
    audio: AudioSpec | None
    sound: np.ndarray | None

    @property
    def frames(self) -> int:
        """How many video frames the shot has (one per packet in MP4)."""
        return int(self.pts.size)

    @property
    def frame_ticks(self) -> int | None:
        """The constant frame duration in ``time_base`` ticks; None if it varies."""
        if self.frames < 2:
            return None
        steps = np.unique(np.diff(np.sort(self.pts)))
        return int(steps[0]) if steps.size == 1 else None

    @property
    def last_presented_is_last_decoded(self) -> bool:
        """True when the frame shown last is also the final packet in decode order."""
        return bool(self.pts[-1] == self.pts.max())


def open_input(path: str | os.PathLike[str]) -> av.container.InputContainer:
    """Open a media file for reading; MediaError when it is missing or not media."""
    shown = os.fspath(path)
    if not os.path.isfile(shown):
        raise MediaError(f"{shown!r} does not exist or is not a file")
    if os.path.getsize(shown) == 0:
        raise MediaError(f"{shown!r} is empty")
    try:
        return av.open(shown)
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise MediaError(f"cannot read {shown!r} as a video: {exc}") from None


def video_stream(container: av.container.InputContainer, path: str | os.PathLike[str]
                 ) -> av.VideoStream:
    """The container's first video stream (decoded with threads); MediaError if none."""
    if not container.streams.video:
        raise MediaError(f"{os.fspath(path)!r} has no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return stream


def probe_shot(path: str | os.PathLike[str]) -> ShotProbe:
    """Read one shot (see the module's documentation).

    >>> probe_shot("shot1.mp4").frames  # doctest: +SKIP
    120
    """
    shown = os.fspath(path)
    with open_input(path) as container:
        stream = video_stream(container, path)
        ctx = stream.codec_context
        fps = stream.average_rate or stream.guessed_rate or ctx.framerate
        if stream.time_base is None or not fps:
            raise MediaError(f"{shown!r}: the video stream has no time base or frame rate")
        audio = container.streams.audio[0] if container.streams.audio else None
        reading = _Pass(stream, audio)
        reading.run(container)
        if not reading.rows or reading.first is None:
            raise MediaError(f"{shown!r} has no decodable video frame")
        last = _last_frame_in(container, stream)
        pts, dts, keys = (np.array(column) for column in zip(*reading.rows))
        return ShotProbe(
            path=Path(path),
            video=VideoSpec(ctx.width, ctx.height, Fraction(fps), ctx.pix_fmt or "yuv420p"),
            codec=ctx.name,
            extradata=bytes(ctx.extradata or b""),
            time_base=Fraction(stream.time_base),
            pts=pts, dts=dts, keyframes=keys.astype(bool),
            first_look=signature(reading.first), last_look=signature(last or reading.first),
            audio=reading.spec,
            sound=reading.sound(_start(stream)),
        )


class _Pass:
    """One demux of the whole file: video packet timestamps, the first picture, the sound."""

    def __init__(self, video: av.VideoStream, audio: av.AudioStream | None) -> None:
        self.video, self.audio = video, audio
        self.rows: list[tuple[int, int, bool]] = []
        self.first: av.VideoFrame | None = None
        self.pieces: list[np.ndarray] = []
        self.audio_end = 0.0  # the packets' declared end: a decoder adds the encoder's padding
        self.spec: AudioSpec | None = None
        self.resampler: av.AudioResampler | None = None
        if audio is not None and audio.codec_context.sample_rate:
            self.spec = AudioSpec(audio.codec_context.sample_rate, audio.codec_context.layout.name)
            self.resampler = av.AudioResampler(format="fltp", layout=self.spec.layout,
                                               rate=self.spec.sample_rate)

    def run(self, container: av.container.InputContainer) -> None:
        streams = [self.video] if self.resampler is None else [self.video, self.audio]
        for packet in container.demux(streams):
            if packet.stream.type == "video":
                self._video(packet)
            else:
                self._audio(packet)

    def _video(self, packet: av.Packet) -> None:
        if packet.size and packet.pts is not None and packet.dts is not None:
            self.rows.append((packet.pts, packet.dts, packet.is_keyframe))
        if self.first is None:  # decode only until the first picture comes out
            self.first = next(iter(packet.decode()), None)

    def _audio(self, packet: av.Packet) -> None:
        assert self.resampler is not None
        if packet.size and packet.pts is not None and packet.time_base is not None:
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            self.audio_end = max(self.audio_end, end)
        for frame in packet.decode():
            assert isinstance(frame, av.AudioFrame)
            self.pieces.extend(out.to_ndarray() for out in self.resampler.resample(frame))

    def sound(self, video_start: float) -> np.ndarray | None:
        """The decoded sound, sample 0 at ``video_start``, cut at the last real sample."""
        if self.spec is None or self.audio is None or self.resampler is None:
            return None
        self.pieces.extend(out.to_ndarray() for out in self.resampler.resample(None))
        rate = self.spec.sample_rate
        channels = av.AudioLayout(self.spec.layout).nb_channels
        samples = (np.concatenate(self.pieces, axis=1) if self.pieces
                   else np.zeros((channels, 0))).astype(np.float32)
        lead = round((_start(self.audio) - video_start) * rate)
        if lead > 0:  # the sound starts after the pictures: silence until it does
            samples = np.pad(samples, ((0, 0), (lead, 0)))
        else:
            samples = samples[:, -lead:]
        return samples[:, : round((self.audio_end - video_start) * rate)]


def _start(stream: av.stream.Stream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def final_frame(path: str | os.PathLike[str]) -> av.VideoFrame:
    """The last frame of the shot in presentation order, decoded at full resolution."""
    with open_input(path) as container:
        found = _last_frame_in(container, video_stream(container, path))
    if found is None:
        raise MediaError(f"{os.fspath(path)!r} has no decodable video frame")
    return found


def _last_frame_in(container: av.container.InputContainer, stream: av.VideoStream
                   ) -> av.VideoFrame | None:
    """The container's duration only says where to start looking: we seek to the keyframe
    before the end it claims, decode every packet from there to the end of the file and keep
    the frame with the largest timestamp. Decoding to the end of the file is what makes the
    answer right even when the duration is wrong (audio longer than the video, a short
    index); if the seek landed where no keyframe follows, we step further back, and finally
    decode from the start."""
    end = _claimed_end(container, stream)
    back = 2 / float(stream.average_rate or stream.guessed_rate or 24)  # two frames
    while end is not None and back < end:
        found = _last_from(container, stream, end - back)
        if found is not None:
            return found
        back *= 8
    return _last_from(container, stream, None)


def _claimed_end(container: av.container.InputContainer, stream: av.VideoStream
                 ) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float((stream.duration + (stream.start_time or 0)) * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _last_from(container: av.container.InputContainer, stream: av.VideoStream,
               seconds: float | None) -> av.VideoFrame | None:
    """Decode from the keyframe at or before ``seconds`` (None: the start) to the end of
    the file; return the frame with the largest timestamp, None if no keyframe was reached."""
    assert stream.time_base is not None
    target = 0 if seconds is None else max(0, int(seconds / stream.time_base))
    try:
        container.seek(target, stream=stream, backward=True, any_frame=False)
    except av.error.FFmpegError:
        return None
    best: av.VideoFrame | None = None
    best_key = -1
    started = seconds is None
    for packet in container.demux(stream):
        # A seek into a broken index may land after a keyframe: decoding from there would
        # conceal missing references, so skip to the next keyframe (or give up).
        started = started or packet.is_keyframe
        if not started and packet.size:
            continue
        for frame in packet.decode():
            key = frame.pts if frame.pts is not None else best_key + 1
            if key >= best_key:
                best, best_key = frame, key
    return best


def signature(frame: av.VideoFrame) -> np.ndarray:
    """A small grey picture of ``frame`` (area-averaged, so compression noise cancels out)
    to compare frames of any size by."""
    width, height = SIGNATURE_SIZE
    small = frame.reformat(width=width, height=height, format="gray", interpolation="AREA")
    return small.to_ndarray().astype(np.float64)


def similarity(x: np.ndarray, y: np.ndarray) -> float:
    """How alike two pictures are, from their signatures: -1 to 1, where 1 is the same
    picture even if one is brighter or more contrasted than the other (a re-encoded or
    re-generated copy).

    The correlation of the two signatures; two flat pictures (a fade to black) have no
    pattern to correlate, so they compare by brightness alone.
    """
    if min(float(x.std()), float(y.std())) < FLAT:
        return 1.0 - abs(float(x.mean() - y.mean())) / 255.0
    return float(np.corrcoef(x.ravel(), y.ravel())[0, 1])
