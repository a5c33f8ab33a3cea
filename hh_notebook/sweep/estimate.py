"""What a sweep will cost and take, before anything is submitted, and the budget cap.

Defaults come from :data:`settings` (``HH_BUDGET``, ``HH_SWEEP_CONCURRENCY``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import BudgetExceeded
from ..present import duration_text, format_money

__all__ = ["SweepEstimate", "SweepSettings", "budget_limits", "over_budget", "settings"]


@dataclass
class SweepSettings:
    """Module-wide defaults for sweeps; change them on :data:`settings`.

    ``budget`` caps the estimated cost of a sweep's new clips (USD, or a dict
    ``{"USD": 10, "credits": 2000}`` per currency); ``None`` means no cap.
    It starts from the ``HH_BUDGET`` environment variable (default 10 USD).
    ``concurrency`` is the number of jobs in flight per provider
    (``HH_SWEEP_CONCURRENCY``, default 4).
    """

    budget: float | dict[str, float] | None = None
    concurrency: int = 4

    @classmethod
    def from_env(cls) -> SweepSettings:
        """Read ``HH_BUDGET`` and ``HH_SWEEP_CONCURRENCY`` from the environment."""
        budget_text = os.environ.get("HH_BUDGET", "10").strip()
        budget: float | None
        if budget_text.lower() in ("", "none", "off", "inf"):
            budget = None
        else:
            budget = float(budget_text)
        concurrency = int(os.environ.get("HH_SWEEP_CONCURRENCY", "4"))
        return cls(budget=budget, concurrency=max(1, concurrency))


#: The defaults used when :func:`sweep` gets no ``budget``/``concurrency``.
settings = SweepSettings.from_env()


@dataclass(frozen=True)
class SweepEstimate:
    """What a sweep will cost and take before anything is submitted.

    ``by_currency`` sums the estimated cost of the clips still to be paid
    (``{"USD": 8.4}``; Apiframe prices in ``"credits"``). Cells already paid
    for (same seeded parameters in the journal, or finished in an earlier run
    of this sweep) cost nothing and are counted in ``cached``. ``unknown`` counts
    clips whose price could not be estimated. ``seconds`` is the ideal wall
    time for the concurrency limit (real seconds, time scale applied).
    """

    clips: int
    new: int
    cached: int
    by_currency: dict[str, float]
    unknown: int
    seconds: float
    concurrency: int
    #: Cells whose job was submitted before and is still running: resumed, not paid again.
    resumed: int = 0

    @property
    def amount(self) -> float | None:
        """The total in the sweep's only currency (None when mixed or unknown)."""
        if self.unknown or len(self.by_currency) > 1:
            return None
        return next(iter(self.by_currency.values()), 0.0)

    @property
    def currency(self) -> str:
        """The currency of :attr:`amount` (``"USD"`` when nothing is to be paid)."""
        return next(iter(self.by_currency), "USD")

    def cost_text(self) -> str:
        """The total cost as text: ``$8.40``, ``1,440 credits``, or both."""
        parts = [format_money(v, c) for c, v in self.by_currency.items()] or ["$0.00"]
        text = " + ".join(parts)
        if self.unknown:
            text += f" + {self.unknown} clip(s) of unknown cost"
        return text

    def __str__(self) -> str:
        cached = f", {self.cached} already paid ($0)" if self.cached else ""
        if self.resumed:
            cached += f", {self.resumed} still running (resumed, $0)"
        return (
            f"{self.clips} clips ({self.new} new{cached}): about {self.cost_text()}, "
            f"~{duration_text(self.seconds)} at {self.concurrency} at a time"
        )


def budget_limits(budget: float | dict[str, float] | None) -> dict[str, float]:
    if budget is None:
        budget = settings.budget
    if budget is None or budget is False:
        return {}
    if isinstance(budget, Mapping):
        return {str(k): float(v) for k, v in budget.items()}
    value = float(budget)
    return {} if math.isinf(value) else {"USD": value}


def over_budget(est: SweepEstimate, budget: float | dict[str, float] | None, sweep_id: str) -> None:
    """Raise :class:`~hh_notebook.errors.BudgetExceeded` when the new clips of ``est`` cost
    more than ``budget`` (None: :data:`settings`), or cannot be priced against it."""
    limit = budget_limits(budget)
    if not limit or est.new == 0:
        return
    over = [
        f"{format_money(est.by_currency.get(cur, 0.0), cur)} > budget {format_money(cap, cur)}"
        for cur, cap in limit.items()
        if est.by_currency.get(cur, 0.0) > cap + 1e-9
    ]
    uncapped = [c for c in est.by_currency if c not in limit]
    if uncapped:
        over.append(f"no budget set for {', '.join(uncapped)}")
    if est.unknown:
        over.append(f"{est.unknown} clip(s) of unknown cost")
    if over:
        raise BudgetExceeded(
            f"sweep {sweep_id}: {est.new} new clip(s) would cost about {est.cost_text()} "
            f"({'; '.join(over)}). Nothing was submitted. Pass confirm=True to run it "
            "anyway, or raise the cap (budget=..., hh_notebook.sweep.settings.budget, "
            "HH_BUDGET)."
        )
