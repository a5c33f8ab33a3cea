"""The sound of a stitch: every shot's audio on one timeline, joined with short crossfades.

Each shot's audio is decoded, resampled to one format, placed where the shot's video starts
and cut to the shot's kept video length, so the sound never drifts from the pictures however
many shots there are. At each join the outgoing shot keeps sounding for ``fade`` samples past
its cut (its own audio beyond the cut when it has some, as it does where a boundary frame was
dropped; otherwise its last samples mirrored, which continues the waveform without a step)
while the incoming shot fades in: an equal-power crossfade, cos/sin gains whose squares sum
to one, so the loudness does not dip for uncorrelated sounds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from fractions import Fraction

import av
import numpy as np

from hh_notebook.stitch_probe import AudioSpec, ShotProbe

AAC_FRAME = 1024  # samples per AAC frame: what the encoder takes at a time
AAC_BITS_PER_CHANNEL = 96_000  # 192 kb/s stereo: transparent enough to re-encode once


def shot_samples(probe: ShotProbe, spec: AudioSpec) -> np.ndarray:
    """The shot's sound as float32 (channels x samples) in ``spec``, sample 0 at the shot's
    first video frame; no samples for a shot without sound."""
    if probe.sound is None or probe.audio is None or probe.sound.shape[1] == 0:
        return np.zeros((av.AudioLayout(spec.layout).nb_channels, 0), dtype=np.float32)
    if probe.audio == spec:
        return probe.sound
    source = av.AudioFrame.from_ndarray(np.ascontiguousarray(probe.sound), format="fltp",
                                        layout=probe.audio.layout)
    source.sample_rate, source.pts = probe.audio.sample_rate, 0
    resampler = av.AudioResampler(format="fltp", layout=spec.layout, rate=spec.sample_rate)
    pieces = [out.to_ndarray() for out in [*resampler.resample(source),
                                          *resampler.resample(None)]]
    return np.concatenate(pieces, axis=1).astype(np.float32)


def joined(probes: Sequence[ShotProbe], kept_frames: Sequence[int], fps: Fraction,
           spec: AudioSpec, crossfade_ms: float) -> np.ndarray:
    """The whole stitch's sound in ``spec``: each shot's cut to its ``kept_frames`` of video,
    joined with crossfades of ``crossfade_ms``."""
    ends, frames = [], 0
    for kept in kept_frames:  # cut on the video's frame grid, rounded once: no drift
        frames += kept
        ends.append(round(frames / fps * spec.sample_rate))
    lengths = [end - start for start, end in zip([0, *ends], ends)]
    pieces = [shot_samples(probe, spec) for probe in probes]
    return join(pieces, lengths, round(crossfade_ms / 1000 * spec.sample_rate))


def join(pieces: Sequence[np.ndarray], cuts: Sequence[int], fade: int) -> np.ndarray:
    """Lay ``pieces`` end to end, piece k cut to ``cuts[k]`` samples, with an equal-power
    crossfade of ``fade`` samples after each join.

    >>> a, b = np.ones((1, 100), np.float32), -np.ones((1, 100), np.float32)
    >>> out = join([a, b], [80, 100], fade=20)
    >>> out.shape, float(out[0, 79]), float(out[0, 150])
    ((1, 180), 1.0, -1.0)
    >>> bool(np.abs(np.diff(out)).max() < 0.2)  # no step where the pieces meet
    True
    """
    channels = pieces[0].shape[0]
    out = np.zeros((channels, sum(cuts)), dtype=np.float32)
    tail = np.zeros((channels, 0), dtype=np.float32)
    start = 0
    for k, (piece, cut) in enumerate(zip(pieces, cuts)):
        overlap = min(fade, cuts[k + 1]) if k + 1 < len(cuts) else 0
        extended = _extended(piece, cut + overlap, fade)
        body = extended[:, :cut].copy()
        n = tail.shape[1]
        if n:  # this piece fades in while the previous one's continuation fades out
            angles = _angles(n)
            body[:, :n] = body[:, :n] * np.sin(angles) + tail * np.cos(angles)
        out[:, start : start + cut] = body
        tail = extended[:, cut : cut + overlap]
        start += cut
    return out


def _angles(n: int) -> np.ndarray:
    """n angles across a quarter turn: cos falls from 1 to 0 while sin rises from 0 to 1."""
    return ((np.arange(n, dtype=np.float64) + 0.5) * (math.pi / 2 / n)).astype(np.float32)


def _extended(piece: np.ndarray, length: int, fade: int) -> np.ndarray:
    """``piece`` cut or extended to ``length`` samples.

    A short shortfall (at most ``fade`` samples, e.g. AAC audio a few ms shorter than its
    video) is filled with the waveform mirrored about its last sample: continuous, so no
    step. A longer one gets ``fade`` mirrored samples fading out, then silence.
    """
    n = piece.shape[1]
    if n >= length:
        return piece[:, :length]
    span = min(length - n, n, fade)
    mirror = piece[:, n - span :][:, ::-1]
    if length - n > span and span:
        mirror = mirror * np.cos(_angles(span))
    extended = np.concatenate([piece, mirror], axis=1)
    return np.pad(extended, ((0, 0), (0, length - extended.shape[1])))


def add_stream(out: av.container.OutputContainer, spec: AudioSpec) -> av.AudioStream:
    """The output's AAC stream in ``spec``."""
    stream = out.add_stream("aac", rate=spec.sample_rate)
    stream.layout = spec.layout
    stream.codec_context.bit_rate = AAC_BITS_PER_CHANNEL * stream.layout.nb_channels
    # FFmpeg's "fast" coder: its authors find it sounds better than "twoloop" from 128 kb/s
    # on, and it takes half the time: the sound is the slowest part of a stream copy.
    stream.options = {"aac_coder": "fast"}
    return stream


def encode(samples: np.ndarray, stream: av.AudioStream, spec: AudioSpec
           ) -> Iterator[av.Packet]:
    """AAC packets for ``samples`` (float32, channels x samples) from the output's stream."""
    for start in range(0, samples.shape[1], AAC_FRAME):
        piece = np.ascontiguousarray(samples[:, start : start + AAC_FRAME])
        frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout=spec.layout)
        frame.sample_rate, frame.pts = spec.sample_rate, start
        yield from stream.encode(frame)
    yield from stream.encode(None)
