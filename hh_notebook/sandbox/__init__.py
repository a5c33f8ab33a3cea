"""A local HappyHorse provider sandbox: Segmind, the OpenAI-style aggregator, Apiframe
and HiAPI protocols on one loopback port, with real synthetic MP4 clips.

It is written from the providers' public documentation on its own and imports
nothing else from ``hh_notebook``, so a misreading of a protocol in the client
shows up as a failing test instead of being mirrored here.

>>> from hh_notebook.sandbox import Sandbox
>>> with Sandbox(time_scale=0.01) as sb:            # doctest: +SKIP
...     print(sb.base_url)
"""

from __future__ import annotations

from .clips import frame_size
from .faults import ENDPOINTS, KINDS, PROVIDERS, FaultRule
from .server import Sandbox

__all__ = ["ENDPOINTS", "KINDS", "PROVIDERS", "FaultRule", "Sandbox", "frame_size"]
