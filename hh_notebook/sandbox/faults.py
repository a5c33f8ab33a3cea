"""Fault injection: rules that make the sandbox misbehave the way real providers do.

A rule is a dict (or a JSON object in a ``--faults`` file)::

    {"provider": "segmind", "endpoint": "poll", "kind": "status", "status": 503, "count": 2}

``provider`` and ``endpoint`` default to ``"*"``; ``count`` to 1 (``-1``: forever).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PROVIDERS = ("segmind", "apiframe", "hiapi", "openai")
ENDPOINTS = ("submit", "poll", "result", "download", "list")
KINDS = (
    "status",
    "rate_limit",
    "reset_before",
    "reset_after",
    "slow",
    "fail_job",
    "expire_early",
    "cut_download",
)
# Kinds that replace the answer entirely: the first one that matches wins.
SHORT_CIRCUIT = ("reset_before", "status", "rate_limit")


@dataclass
class FaultRule:
    """One fault rule; see the module docstring for the fields."""

    kind: str
    provider: str = "*"
    endpoint: str = "*"
    status: int = 503
    delay: float = 1.0
    count: int = 1
    after_bytes: int = 100_000
    reset_after_s: float = 30.0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FaultRule:
        """Build and check a rule from a dict; raises ValueError naming the bad field."""
        if not isinstance(d, dict):
            raise TypeError("a fault rule must be a JSON object")
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault rule field(s): {', '.join(sorted(unknown))}")
        rule = cls(**d)
        if rule.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {rule.kind!r}")
        if rule.provider not in (*PROVIDERS, "*"):
            raise ValueError(f"provider must be one of {', '.join(PROVIDERS)} or '*'")
        if rule.endpoint not in (*ENDPOINTS, "*"):
            raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)} or '*'")
        if not isinstance(rule.count, int) or rule.count == 0 or rule.count < -1:
            raise ValueError("count must be a positive integer or -1 (forever)")
        if rule.kind == "status" and not (400 <= int(rule.status) <= 599):
            raise ValueError("status must be an HTTP error status (400-599)")
        if float(rule.delay) < 0 or int(rule.after_bytes) < 0 or float(rule.reset_after_s) < 0:
            raise ValueError("delay, after_bytes and reset_after_s must be >= 0")
        return rule

    def applies(self, provider: str, endpoint: str) -> bool:
        """Whether this rule concerns a request to ``provider``'s ``endpoint``."""
        if self.provider not in ("*", provider):
            return False
        # Some kinds only make sense on one kind of endpoint, whatever the rule says.
        if self.kind in ("fail_job", "expire_early", "reset_after"):
            return endpoint == "submit" and self.endpoint in ("*", "submit")
        if self.kind == "cut_download":
            return endpoint == "download" and self.endpoint in ("*", "download")
        return self.endpoint in ("*", endpoint)

    def to_dict(self) -> dict[str, Any]:
        """The rule as a JSON-safe dict (remaining count included)."""
        return asdict(self)


class FaultBook:
    """The active fault rules, shared between the HTTP thread and the owner's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: dict[str, Any] | FaultRule) -> FaultRule:
        """Add one rule (dict or FaultRule) after the existing ones."""
        r = rule if isinstance(rule, FaultRule) else FaultRule.from_dict(rule)
        with self._lock:
            self._rules.append(r)
        return r

    def set(self, rules: list[dict[str, Any]]) -> None:
        """Replace all rules (all are checked before any is installed)."""
        parsed = [FaultRule.from_dict(r) for r in rules]
        with self._lock:
            self._rules = parsed

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules = []

    def rules(self) -> list[dict[str, Any]]:
        """The remaining rules as dicts."""
        with self._lock:
            return [r.to_dict() for r in self._rules]

    def take(self, provider: str, endpoint: str) -> list[FaultRule]:
        """Consume the rules that fire on this request and return them.

        ``slow`` rules always fire; then either the first short-circuit rule
        (reset_before / status / rate_limit) fires alone, or every other
        applicable rule does.
        """
        with self._lock:
            matching = [r for r in self._rules if r.applies(provider, endpoint)]
            if not matching:
                return []
            fired = [r for r in matching if r.kind == "slow"]
            short = next((r for r in matching if r.kind in SHORT_CIRCUIT), None)
            if short is not None:
                fired.append(short)
            else:
                fired += [r for r in matching if r.kind != "slow"]
            for r in fired:
                if r.count > 0:
                    r.count -= 1
            self._rules = [r for r in self._rules if r.count != 0]
            return fired


def load_fault_file(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON file holding one rule object or a list of them."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return data if isinstance(data, list) else [data]
