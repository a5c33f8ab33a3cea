"""Downloading a finished job's clip: streamed to a part file named after the job (locked, so
one process writes it), resumed with Range by whichever process picks the job up, checked to
really play — its first video and audio frames decode and its length is the one asked for —
then renamed into place. Part files nobody will finish are cleaned up."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from ..errors import RateLimited
from ..media import clip_problem
from ..providers.base import HttpCall, Status
from ..providers.parsing import is_http_url
from .base import LifecycleBase, _GaveUp
from .job import Job
from .transport import DownloadFailed, Gone, TransientDownload, download_once, is_private_host

__all__ = ["DownloadSteps"]

#: A part file untouched this long, of a job no longer being downloaded, is removed.
STALE_PART_SECONDS = 3600.0


class DownloadSteps(LifecycleBase):
    """The download step of the lifecycle (see the module docs)."""

    def part_path(self, job_id: str) -> Path:
        """Where ``job_id``'s clip is written while it downloads."""
        return self.clips_dir / f".{job_id}.part"

    async def _download(self, job: Job) -> None:
        if not job.output_url:
            self._finish(job, Status.FAILED, "succeeded without an output URL", "no output URL")
            return
        call = self.provider.build_download(job.output_url, self._key.reveal(), self.base_url)
        if not is_http_url(call.url):
            self._finish(job, Status.FAILED,
                         f"refusing to download from a non-http(s) URL: {call.url[:100]!r}",
                         "bad output URL")
            return
        if job.expires_at is not None and job.expires_at < time.time():
            self._finish(job, Status.EXPIRED, "the output URL expired before it was downloaded",
                         "expired before download")
            return
        self.clips_dir.mkdir(parents=True, exist_ok=True)
        final = self.clips_dir / f"{job.id}.mp4"
        part = self.part_path(job.id)
        try:
            async with _locked(part):
                await self._fetch(job, call, part)
                problem = clip_problem(part, job.request.duration)
                if problem:
                    # A broken file is not kept: the next attempt starts from byte 0.
                    part.unlink(missing_ok=True)
                    raise DownloadFailed(f"the downloaded clip does not play: {problem}",
                                         retryable=True)
                os.replace(part, final)
        except Gone as exc:
            part.unlink(missing_ok=True)
            self._finish(job, Status.EXPIRED, f"{exc} ({self.retention()})",
                         "expired before download")
            return
        except DownloadFailed as exc:
            # A transient failure keeps the phase, so resume() retries the download (the part
            # file stays, and is resumed with Range); a final one leaves nothing behind.
            if not exc.retryable:
                part.unlink(missing_ok=True)
            self._finish(job, Status.FAILED, f"download failed: {self._error_text(exc)}",
                         "download failed", keep_phase=exc.retryable)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            self._finish(job, Status.FAILED,
                         f"the disk is full: the clip could not be written to {self.clips_dir}."
                         f" Free some space, then resume('{job.id}') (nothing is paid again)",
                         "disk full", keep_phase=True)
            return
        job.video_path = final
        job.progress = 100.0
        self._finish(job, Status.SUCCEEDED, None, f"done: {final.name}")

    async def _fetch(self, job: Job, call: HttpCall, part: Path) -> None:
        attempts = self.policy.download_attempts
        host = call.url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
        own_host = self.base_url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
        # A sandbox serves its files from loopback; a real provider's outputs never are.
        allow_private = is_private_host(own_host) and (host == own_host or is_private_host(host))
        try:
            await self._retrying(
                job, "download",
                lambda: download_once(call, part, self.policy.max_clip_bytes,
                                      allow_private=allow_private),
                transient=(TransientDownload,), max_errors=attempts - 1, error_cap=5.0)
        except _GaveUp as exc:
            raise DownloadFailed(f"gave up after {attempts} attempts ({exc.last})",
                                 retryable=True) from None
        except RateLimited as exc:  # pragma: no cover - downloads report 429 as transient
            raise DownloadFailed(str(exc), retryable=True) from None

    def clean_parts(self) -> int:
        """Remove part files nobody will finish: of jobs that ended or are unknown to the
        journal, left an hour untouched, or named the older way (by process id). Returns how
        many were removed."""
        if not self.clips_dir.is_dir():
            return 0
        removed = 0
        for path in [*self.clips_dir.glob(".*.part"), *self.clips_dir.glob(".*.lock")]:
            job_id, _, rest = path.name[1:].partition(".")
            try:
                unfinished = self.journal.get(job_id).unfinished
            except KeyError:
                unfinished = False
            legacy = rest not in ("part", "lock")  # ".{job}.{pid}.part"
            if legacy and unfinished and not self.part_path(job_id).exists():
                os.replace(path, self.part_path(job_id))  # resumed by the next download
                continue
            old = time.time() - path.stat().st_mtime > STALE_PART_SECONDS
            if legacy or not unfinished or old:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
        return removed


@contextlib.asynccontextmanager
async def _locked(part: Path) -> AsyncIterator[IO[bytes]]:
    """Hold the part file's lock: a second process downloading the same job waits its turn
    (and then resumes from what the first one wrote)."""
    handle = await asyncio.to_thread(open, part.with_suffix(".lock"), "ab")
    try:
        for _ in range(600):  # bounded: 60 s
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(0.1)
        else:
            raise DownloadFailed("another process kept this clip's download locked for 60 s",
                                 retryable=True)
        yield handle
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.with_suffix(".lock").unlink()
        handle.close()  # the lock goes with it
