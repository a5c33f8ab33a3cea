"""What an arena compares: the finished clips of a sweep, its result or a list of jobs, what
tells them apart, their groups under ``by``, and the arena's id.

Votes always name clips (job ids), so the same votes rank clips, prompt variants or seeds
alike: ``by`` only decides how clips are grouped when fitting. The id is derived from the
source, not from the moment: the same sweep (its id is a content hash) or the same set of
jobs gives the same arena after a kernel restart, and its votes are found in the journal.

>>> from types import SimpleNamespace as NS
>>> from hh_notebook.request import GenerationRequest
>>> jobs = [NS(id=f"job{k}", provider="segmind", status="succeeded", video_path=__file__,
...            request=GenerationRequest(prompt="a fox", seed=k)) for k in (1, 2)]
>>> source = arena_source(jobs, journal=NS())
>>> [clip.describe() for clip in source.clips], source.arena_id.startswith("jobs-")
(['seed: 1', 'seed: 2'], True)
"""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .journal import Journal
from .present import status_value
from .sweep import Sweep, SweepResult
from .sweep.axes import REQUEST_FIELDS, value_label

__all__ = ["ArenaClip", "ArenaSource", "arena_source", "sweep_arena_id"]


@dataclass(frozen=True)
class ArenaClip:
    """One clip of an arena. ``item`` is its job id (what votes name), ``labels`` what tells
    it apart from the others (axis or parameter → value; shown only when revealed),
    ``group`` its value of the ``by`` axis (``""`` when single clips are ranked)."""

    item: str
    path: pathlib.Path
    labels: Mapping[str, str] = field(default_factory=dict)
    group: str = ""

    def describe(self) -> str:
        """``"seed: 1 · aspect_ratio: 16:9"``, or the job id when nothing tells it apart."""
        return " · ".join(f"{k}: {v}" for k, v in self.labels.items()) or f"job {self.item[:8]}"


@dataclass(frozen=True)
class ArenaSource:
    """The clips of an arena, the journal its votes go to, and its id."""

    arena_id: str
    clips: tuple[ArenaClip, ...]
    journal: Any
    by: str | None = None

    @property
    def groups(self) -> list[str]:
        """The ``by`` values in the order first met (empty when single clips are ranked)."""
        return list(dict.fromkeys(c.group for c in self.clips)) if self.by else []


def sweep_arena_id(sweep_id: str) -> str:
    """The id under which the votes on a sweep's clips are stored."""
    return f"sweep-{sweep_id}"


def arena_source(source: Any, *, by: str | None = None, journal: Any = None) -> ArenaSource:
    """The arena of ``source``: a :class:`~hh_notebook.sweep.SweepResult`, a
    :class:`~hh_notebook.sweep.Sweep` or an iterable of jobs (:class:`~hh_notebook.jobs.Job`
    or journal records).

    A sweep contributes its finished clips (failed cells are left out) and its journal; a
    list of jobs must hold only finished clips, and its journal is ``journal`` (default:
    the default client's). ``by`` names a sweep axis or a request field whose values are
    ranked (``"prompt"`` also covers prompt variants and ``{slot}`` templates).
    """
    if isinstance(source, (Sweep, SweepResult)):
        made = _from_sweep(source if isinstance(source, SweepResult) else source.result(), by)
    elif isinstance(source, Iterable) and not isinstance(source, (str, bytes, Mapping)):
        made = _from_jobs(list(source), by, journal)
    else:
        raise TypeError("an arena takes a SweepResult, a Sweep or a list of jobs, not "
                        f"{type(source).__name__}")
    if len(made.clips) < 2:
        raise ValueError(f"an arena needs at least two finished clips, got {len(made.clips)}")
    if by is not None and len(made.groups) < 2:
        raise ValueError(f"every clip has the same {by} ({made.groups[0]!r}): nothing to rank")
    return made


def _from_sweep(result: SweepResult, by: str | None) -> ArenaSource:
    axes = [a.name for a in result.axes]
    if by is not None and by not in axes and by not in REQUEST_FIELDS:
        raise ValueError(f"cannot rank by {by!r}: not an axis of sweep {result.sweep_id} "
                         f"(axes: {', '.join(axes) or 'none'})")
    clips = []
    for row in result.rows:
        path = row.video_path
        if row.status != "succeeded" or not row.job_id or path is None or not path.is_file():
            continue
        labels = dict(row.axes)
        group = ""
        if by is not None:
            group = labels.get(by) or value_label(by, getattr(row.request, by), 0)
            labels.setdefault(by, group)
        clips.append(ArenaClip(row.job_id, pathlib.Path(path), labels, group))
    journal = result.sweep.client.journal
    return ArenaSource(sweep_arena_id(result.sweep_id), tuple(clips), journal, by)


def _from_jobs(jobs: list[Any], by: str | None, journal: Any) -> ArenaSource:
    names = sorted(REQUEST_FIELDS) + ["provider"]
    if by is not None and by not in names:
        raise ValueError(f"cannot rank jobs by {by!r}: not a request field or 'provider'")
    found = [_finished_clip(job) for job in jobs]
    values = [{name: _field_label(job, name) for name in names} for job in jobs]
    varying = [n for n in names if len({v[n] for v in values}) > 1]
    clips = []
    for (item, path), labels in zip(found, values):
        shown = {name: labels[name] for name in varying}
        group = labels[by] if by is not None else ""
        if by is not None:
            shown.setdefault(by, group)
        clips.append(ArenaClip(item, path, shown, group))
    ids = sorted(item for item, _ in found)
    if len(set(ids)) != len(ids):
        raise ValueError("the same job is listed twice")
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
    return ArenaSource(f"jobs-{digest}", tuple(clips), journal or _default_journal(), by)


def _finished_clip(job: Any) -> tuple[str, pathlib.Path]:
    job_id = str(getattr(job, "id", "") or "")
    path = getattr(job, "video_path", None)
    status = status_value(getattr(job, "status", ""))
    if not job_id or status != "succeeded" or not path or not pathlib.Path(path).is_file():
        raise ValueError(f"job {job_id or job!r} has no finished clip on this machine "
                         f"(status {status or 'unknown'}): an arena compares finished clips")
    return job_id, pathlib.Path(path)


def _field_label(job: Any, name: str) -> str:
    if name == "provider":
        return str(getattr(job, "provider", ""))
    request = job.request
    # A journal record keeps the request as a dict; a job's request gives the same dict.
    record = request if isinstance(request, Mapping) else request.to_dict()
    value = record.get(name)
    if isinstance(value, list):
        return " + ".join(_image_text(v) for v in value)
    if isinstance(value, Mapping):
        return _image_text(value)
    return value_label(name, value, 0)


def _image_text(value: Any) -> str:
    """An image as the journal describes it: its file or URL name, else its digest."""
    if not isinstance(value, Mapping):
        return str(value)
    where = value.get("url") or value.get("path")
    if where:
        return str(where).rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    return f"image {str(value.get('sha256') or '')[:8]}".strip()


def _default_journal() -> Journal:
    from .client import default_client

    return default_client().journal
