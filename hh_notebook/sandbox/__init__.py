"""A local HappyHorse provider sandbox: Segmind, the OpenAI-style aggregator, Apiframe
and HiAPI protocols on one loopback port, with real synthetic MP4 clips.

It is written from the providers' public documentation on its own and imports
nothing else from ``hh_notebook``, so a misreading of a protocol in the client
shows up as a failing test instead of being mirrored here.

>>> from hh_notebook.sandbox import Sandbox
>>> with Sandbox(time_scale=0.01) as sb:            # doctest: +SKIP
...     print(sb.base_url)

Paths (one root): Segmind ``POST /v2/happyhorse-1.1`` (HappyHorse 1.1) and
``POST /v2/happyhorse`` (1.0's own slug), ``GET /v2/requests/{id}/status``,
``GET /v2/requests/{id}``, ``GET /v1/requests/{id}``; aggregator ``POST /v1/video/generations``
(``/v1/videos``), ``GET /v1/videos/{id}`` (``/v1/video/generations/{id}``),
``GET /v1/videos/{id}/content``; Apiframe ``POST /v2/videos/generate``, ``GET /v2/jobs/{id}``;
HiAPI ``POST /v1/tasks``, ``GET /v1/tasks/{id}``, ``GET /v1/tasks?page=&size=``; output files
``/files/{provider}/{id}.mp4`` (and ``.png``, the first frame), with Range.

Every submit takes exactly the fields its provider's page lists for that model and mode
(each module's docstring names them and the page); anything else is refused in the
provider's own error shape. Where the pages are silent the sandbox chose, and says so here:

- Segmind error bodies are ``{"error": message}`` (what the official SDK reads);
  ``image`` together with ``reference_images`` is a 400; the 406 reservation is the
  model's average cost ($1.44 for 1.1: 9 s at the mean per-second price; $1.80 for 1.0);
  the 429 reset time is ISO 8601 UTC (``2026-01-01T12:00:00.000Z``). Image limits are
  not on Segmind's pages: the shared ones (JPEG/PNG/WEBP, both sides >= 300 px, <= 10 MB,
  1:2.5 to 2.5:1) apply, to ``last_frame`` too.
- Segmind 1.0 (slug ``happyhorse``): its page lists no ``seed``, so a seed is refused as an
  unknown field (a strict reading); ``resolution`` takes 720P/1080P (default 720P) as on
  1.1, the page naming no values; ``audio_url`` must be an http(s) URL (the page says
  nothing of base64 audio) and goes with any mode; ``last_frame`` takes what ``image``
  takes (URL or base64). 1.0 is priced like 1.1.
- Lip-sync and first+last-frame inputs are fetched only from loopback URLs, like images:
  a loopback ``audio_url`` must be MP3 or WAV of 3-30 s and <= 15 MB (read with PyAV);
  other URLs are accepted unread, as the provider would.
- Aggregator: validation and balance problems are HTTP 200 business errors; auth is 401,
  unknown task / content not ready / expired content 404, all with the same error object.
  ``metadata.ratio`` on i2v is accepted and ignored, as documented.
- Apiframe HTTP errors are ``{"error": message, "code": CODE}`` (401, 400, 402 for
  credits, 404); ``result`` is ``{"videoUrl", "thumbnailUrl"}``; ``happyhorse11Params.duration``
  (3-15, default 5) is accepted: the input table omits it but the page's Capabilities list
  3 s to 15 s; image limits are the shared ones; a webhook to a non-loopback URL is never
  called and its ``webhookStatus`` ends ``FAILED``.
- HiAPI: only ``input`` is validated strictly (as HiAPI documents); unknown top-level
  fields beside ``model``, ``input`` and ``callback`` pass. No image aspect-ratio bound:
  HiAPI's pages set none. The list endpoint's shape is undocumented: the sandbox answers
  ``data: {items, page, size, total}``. Times are Unix seconds; an output expires 24 h
  (scaled) after completion; status 402 ``INSUFFICIENT_BALANCE`` for a low balance;
  callbacks carry the same envelope as ``GET /v1/tasks/{id}`` and are retried twice.
- A prompt "is Chinese" (2500-character limit) when it contains any CJK character.
- A request that leaves out a seed its API takes gets one from the sandbox's own seeded
  generator (Segmind: "leave empty for fresh random variations"). Where the API takes no
  seed at all (HiAPI, Segmind 1.0), the seed is derived from the request itself: identical
  requests give the same clip.
- Files: Segmind outputs live 7 days, aggregator and HiAPI 24 h, Apiframe 7 days (scaled).
"""

from __future__ import annotations

from .clips import frame_size
from .faults import ENDPOINTS, KINDS, PROVIDERS, FaultRule
from .server import Sandbox

__all__ = ["ENDPOINTS", "KINDS", "PROVIDERS", "FaultRule", "Sandbox", "frame_size"]
