"""A local HappyHorse provider sandbox: Segmind, the OpenAI-style aggregator, Apiframe
and HiAPI protocols on one loopback port, with real synthetic MP4 clips.

It is written from the providers' public documentation on its own and imports
nothing else from ``hh_notebook``, so a misreading of a protocol in the client
shows up as a failing test instead of being mirrored here.

>>> from hh_notebook.sandbox import Sandbox
>>> with Sandbox(time_scale=0.01) as sb:            # doctest: +SKIP
...     print(sb.base_url)

Paths (one root): Segmind ``POST /v2/happyhorse-1.1|1.0``, ``GET /v2/requests/{id}/status``,
``GET /v2/requests/{id}``, ``GET /v1/requests/{id}``; aggregator ``POST /v1/video/generations``
(``/v1/videos``), ``GET /v1/videos/{id}`` (``/v1/video/generations/{id}``),
``GET /v1/videos/{id}/content``; Apiframe ``POST /v2/videos/generate``, ``GET /v2/jobs/{id}``;
HiAPI ``POST /v1/tasks``, ``GET /v1/tasks/{id}``, ``GET /v1/tasks?page=&size=``; output files
``/files/{provider}/{id}.mp4`` (and ``.png``, the first frame), with Range.

Where the documentation is silent the sandbox chose, and says so here:

- Segmind error bodies are ``{"error": message}`` (what the official SDK reads);
  ``image`` together with ``reference_images`` is a 400; ``happyhorse-1.0`` refuses
  ``reference_images`` (reference-to-video arrived with 1.1); the 406 reservation is the
  model's average cost ($1.44 for 1.1: 9 s at the mean per-second price); the 429 reset
  time is ISO 8601 UTC (``2026-01-01T12:00:00.000Z``).
- Aggregator: validation and balance problems are HTTP 200 business errors; auth is 401,
  unknown task / content not ready / expired content 404, all with the same error object.
- Apiframe HTTP errors are ``{"error": message, "code": CODE}`` (401, 400, 402 for
  credits, 404); ``result`` is ``{"videoUrl", "thumbnailUrl"}``; ``happyhorse11Params.duration``
  (3-15, default 5) is accepted; a webhook to a non-loopback URL is never called and its
  ``webhookStatus`` ends ``FAILED``.
- HiAPI: image-to-video takes ``input.image_url`` (alias ``image``), reference-to-video
  ``input.reference_images`` (alias ``image_urls``); the list is
  ``data: {items, page, size, total}``; times are Unix seconds; an output expires 24 h
  (scaled) after completion; status 402 ``INSUFFICIENT_BALANCE`` for a low balance;
  callbacks carry the same envelope as ``GET /v1/tasks/{id}`` and are retried twice.
- A prompt "is Chinese" (2500-character limit) when it contains any CJK character.
- Requests without a seed get one from the sandbox's own seeded generator.
- Files: Segmind outputs live 7 days, aggregator and HiAPI 24 h, Apiframe 7 days (scaled).
"""

from __future__ import annotations

from .clips import frame_size
from .faults import ENDPOINTS, KINDS, PROVIDERS, FaultRule
from .server import Sandbox

__all__ = ["ENDPOINTS", "KINDS", "PROVIDERS", "FaultRule", "Sandbox", "frame_size"]
