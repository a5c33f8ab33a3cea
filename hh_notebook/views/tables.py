"""The line magic's tables: the journal (``%happyhorse jobs``), the configuration
(``%happyhorse config``: keys reported as set or not, never shown), the money spent
(``%happyhorse cost``) and a clip's metrics (``%happyhorse show ID``). Each renders as HTML in a notebook and as text elsewhere."""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from typing import Any

from .. import catalog
from ..metrics_columns import METRIC_COLUMNS, format_metric
from ..present import SANDBOX_LABEL, cost_text, is_sandbox_work, shorten

__all__ = ["ConfigView", "CostView", "JobTable", "MetricsTable"]


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table_html(headers: Sequence[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th style='text-align:left'>{_esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td style='text-align:left'>{_esc(c)}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table class='hh-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _table_text(headers: Sequence[str], rows: list[list[Any]]) -> str:
    cells = [list(headers)] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)


class JobTable:
    """The journal as a table (``%happyhorse jobs``): id, status, provider, cost, time, prompt."""

    headers: tuple[str, ...] = ("id", "status", "provider", "cost", "created", "prompt")

    def __init__(self, records: list[Any]) -> None:
        self.records = records

    def rows(self) -> list[list[Any]]:
        """One row of display strings per record."""
        import datetime

        out = []
        for r in self.records:
            when = datetime.datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M:%S")
            cost = SANDBOX_LABEL if is_sandbox_work(r) else cost_text(r.cost, r.currency)
            out.append(
                [r.id[:8], r.status, f"{r.provider} {r.model}", cost, when, shorten(r.prompt)]
            )
        return out

    def _repr_html_(self) -> str:
        if not self.records:
            return "<p>No jobs in the journal yet.</p>"
        return _table_html(self.headers, self.rows())

    def __repr__(self) -> str:
        if not self.records:
            return "No jobs in the journal yet."
        return _table_text(self.headers, self.rows())


class ConfigView:
    """``%happyhorse config``: which provider runs where; keys are reported as set or not,
    never shown."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        is_sandbox: bool,
        data_dir: str,
        providers: list[dict[str, Any]],
    ) -> None:
        self.provider = provider
        self.base_url = base_url
        self.is_sandbox = is_sandbox
        self.data_dir = data_dir
        self.providers = providers

    @classmethod
    def of(cls, client: Any, env: Mapping[str, str] | None = None) -> ConfigView:
        """The configuration ``client`` runs with, and every provider's variables."""
        env = os.environ if env is None else env
        rows = []
        for name in catalog.PROVIDERS:
            facts = catalog.facts(name)
            rows.append({
                "provider": name,
                "key variable": facts.env_key,
                "key set": bool(env.get(facts.env_key)),
                "base URL": env.get(facts.base_url_env) or facts.default_base_url,
                "base URL variable": facts.base_url_env,
            })
        return cls(provider=client.provider, base_url=client.base_url,
                   is_sandbox=bool(client.is_sandbox), data_dir=str(client.data_dir),
                   providers=rows)

    def _summary(self) -> list[tuple[str, str]]:
        where = (
            f"{self.base_url} (sandbox: synthetic clips, nothing is paid)"
            if self.is_sandbox
            else self.base_url
        )
        return [("provider", self.provider), ("base URL", where), ("data dir", self.data_dir)]

    def _rows(self) -> list[list[Any]]:
        return [
            [
                p["provider"],
                p["key variable"],
                "set" if p["key set"] else "not set",
                p["base URL variable"],
                p["base URL"],
            ]
            for p in self.providers
        ]

    _headers: tuple[str, ...] = ("provider", "key variable", "key", "base URL variable", "base URL")

    def _repr_html_(self) -> str:
        summary = "".join(f"<div><b>{_esc(k)}</b>: {_esc(v)}</div>" for k, v in self._summary())
        return summary + _table_html(self._headers, self._rows())

    def __repr__(self) -> str:
        summary = "\n".join(f"{k}: {v}" for k, v in self._summary())
        return summary + "\n\n" + _table_text(self._headers, self._rows())


class CostView:
    """``%happyhorse cost``: what finished jobs cost this session and in total (jobs run on
    a sandbox are counted apart: never paid, never summed with money)."""

    def __init__(self, *, session: Any, total: Any, session_jobs: int, total_jobs: int) -> None:
        self.session = session
        self.total = total
        self.session_jobs = session_jobs
        self.total_jobs = total_jobs

    def __repr__(self) -> str:
        return (
            f"this session: {self.session} ({self.session_jobs} jobs)\n"
            f"total:        {self.total} ({self.total_jobs} jobs in the journal)"
        )

    def _repr_html_(self) -> str:
        return "<pre>" + _esc(repr(self)) + "</pre>"


class MetricsTable:
    """A clip's metrics (``%happyhorse show ID``): one row per figure, with unit and meaning."""

    headers: tuple[str, ...] = ("metric", "value", "what it is")

    def __init__(self, metrics: Any, title: str = "clip metrics") -> None:
        self.metrics = metrics
        self.title = title

    def rows(self) -> list[list[Any]]:
        """One row of display strings per figure the clip has (audio ones only with audio)."""
        return [[c.label, format_metric(c.name, getattr(self.metrics, c.name)), c.description]
                for c in METRIC_COLUMNS if getattr(self.metrics, c.name) is not None]

    def _summary(self) -> str:
        if self.metrics.error:
            return f"{self.title}: not measured ({self.metrics.error})"
        sha = (self.metrics.sha256 or "")[:12]
        return f"{self.title} (clip sha256 {sha}…, docs/METRICS.md for definitions)"

    def _repr_html_(self) -> str:
        return f"<div><b>{_esc(self._summary())}</b></div>" + _table_html(self.headers,
                                                                          self.rows())

    def __repr__(self) -> str:
        return self._summary() + "\n" + _table_text(self.headers, self.rows())
