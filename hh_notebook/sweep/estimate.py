"""What a sweep will cost and take, before anything is submitted, and the budget cap.

Defaults come from :data:`settings`, which follows ``HH_BUDGET`` and ``HH_SWEEP_CONCURRENCY``
until set. Every budget and concurrency — an argument, a ``--budget``/``--concurrency``
option, a variable — is checked where it is read: a bad one is an error naming the setting
(never an import crash, never a silent default).

>>> parse_budget("USD=10, credits=200", "--budget")
{'USD': 10.0, 'credits': 200.0}
>>> budget_limits(12)
{'USD': 12.0}
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import check_number
from ..errors import BudgetExceeded, ConfigError, FieldError, ValidationError
from ..present import SANDBOX_LABEL, duration_text, format_money

__all__ = [
    "Budget",
    "SweepEstimate",
    "SweepSettings",
    "budget_limits",
    "check_budget",
    "check_concurrency",
    "over_budget",
    "parse_budget",
    "refuse_above",
    "settings",
]

#: A budget: a number (USD), or a number per currency (``{"USD": 10, "credits": 200}``).
Budget = float | Mapping[str, float]
_CURRENCIES = {"usd": "USD", "credits": "credits"}
_BUDGET_ALLOWED = ('a number of dollars (at least 0), or one per currency: {"USD": 10, '
                   '"credits": 200}')
_BUDGET_TEXT_ALLOWED = "a number of dollars, USD=10,credits=200, or none/off (no cap)"
_NO_CAP = ("none", "off", "no")


def check_budget(budget: object, field: str = "budget") -> dict[str, float]:
    """``budget`` as ``{currency: cap}``, or a :class:`ValidationError` naming ``field``."""
    if isinstance(budget, Mapping):
        caps: dict[str, float] = {}
        for currency, cap in budget.items():
            name = _CURRENCIES.get(str(currency).strip().lower())
            if name is None:
                raise ValidationError([FieldError(
                    field, dict(budget), _BUDGET_ALLOWED,
                    f"unknown currency {currency!r}: prices are in USD or credits")])
            problem = check_number(f"{field}[{currency!r}]", cap, low_ok=True,
                                   allowed=_BUDGET_ALLOWED)
            if problem is not None:
                raise ValidationError([problem])
            caps[name] = float(cap)
        return caps
    problem = check_number(field, budget, low_ok=True, allowed=_BUDGET_ALLOWED)
    if problem is not None:
        raise ValidationError([problem])
    return {"USD": float(budget)}  # type: ignore[arg-type]


def parse_budget(text: str, field: str) -> dict[str, float] | None:
    """A budget typed as text (``--budget``, ``HH_BUDGET``): ``10``, ``USD=10,credits=200``,
    or ``none``/``off`` for no cap (None). A :class:`ValidationError` naming ``field``."""
    words = text.strip()
    if words.lower() in _NO_CAP:
        return None

    def refuse(message: str) -> ValidationError:
        return ValidationError([FieldError(field, text, _BUDGET_TEXT_ALLOWED, message)])

    if "=" not in words:
        try:
            amount = float(words)
        except ValueError:
            raise refuse(f"{text!r} is not a number") from None
        return check_budget(amount, field)
    caps: dict[str, float] = {}
    for part in words.split(","):
        currency, _, value = part.partition("=")
        try:
            caps[currency.strip()] = float(value)
        except ValueError:
            raise refuse(f"{part.strip()!r} is not CURRENCY=AMOUNT") from None
    return check_budget(caps, field)


def check_concurrency(value: object, field: str = "concurrency") -> int:
    """``value`` as a number of jobs in flight per provider (a whole number, at least 1)."""
    problem = check_number(field, value, integer=True, low=1, low_ok=True)
    if problem is not None:
        raise ValidationError([problem])
    return int(value)  # type: ignore[call-overload]


def _from_env(variable: str, read: Any) -> Any:
    try:
        return read(os.environ.get(variable, "").strip(), variable)
    except ValidationError as exc:
        raise ConfigError(str(exc.errors[0])) from None


def _env_budget(text: str, variable: str) -> dict[str, float] | None:
    return parse_budget(text or "10", variable)


def _env_concurrency(text: str, variable: str) -> int:
    try:
        value: object = int(text or "4")
    except ValueError:
        value = text
    return check_concurrency(value, variable)


class SweepSettings:
    """Module-wide defaults for sweeps; change them on :data:`settings`.

    ``budget`` caps the estimated cost of a sweep's new clips (USD, or a dict
    ``{"USD": 10, "credits": 2000}`` per currency); ``None`` means no cap. Until set it
    follows the ``HH_BUDGET`` environment variable (default 10 USD; ``none`` or ``off``: no
    cap). ``concurrency`` is the number of jobs in flight per provider
    (``HH_SWEEP_CONCURRENCY``, default 4). Variables are read, and checked, when a sweep
    needs them: a bad one is a :class:`~hh_notebook.errors.ConfigError` naming it.
    """

    _unset: Any = object()

    def __init__(self, budget: Budget | None | Any = _unset,
                 concurrency: int | Any = _unset) -> None:
        self._budget: Any = SweepSettings._unset
        self._concurrency: Any = SweepSettings._unset
        if budget is not SweepSettings._unset:
            self.budget = budget
        if concurrency is not SweepSettings._unset:
            self.concurrency = concurrency

    @property
    def budget(self) -> dict[str, float] | None:
        """The default cap per currency (None: no cap)."""
        if self._budget is SweepSettings._unset:
            return _from_env("HH_BUDGET", _env_budget)  # type: ignore[no-any-return]
        return self._budget  # type: ignore[no-any-return]

    @budget.setter
    def budget(self, value: Budget | None) -> None:
        self._budget = None if value is None else check_budget(value, "settings.budget")

    @property
    def concurrency(self) -> int:
        """The default number of jobs in flight per provider."""
        if self._concurrency is SweepSettings._unset:
            return _from_env("HH_SWEEP_CONCURRENCY", _env_concurrency)  # type: ignore[no-any-return]
        return self._concurrency  # type: ignore[no-any-return]

    @concurrency.setter
    def concurrency(self, value: int) -> None:
        self._concurrency = check_concurrency(value, "settings.concurrency")

    def __repr__(self) -> str:
        return f"SweepSettings(budget={self._budget!r}, concurrency={self._concurrency!r})"


#: The defaults used when :func:`sweep` gets no ``budget``/``concurrency``.
settings = SweepSettings()


@dataclass(frozen=True)
class SweepEstimate:
    """What a sweep will cost and take before anything is submitted.

    ``by_currency`` sums the estimated cost of the clips still to be paid
    (``{"USD": 8.4}``; Apiframe prices in ``"credits"``). Cells already paid
    for (same seeded parameters in the journal, or finished in an earlier run
    of this sweep) cost nothing and are counted in ``cached``. ``unknown`` counts
    clips whose price could not be estimated. ``seconds`` is the ideal wall
    time for the concurrency limit (real seconds, time scale applied). On a sandbox
    (``sandbox``) the amounts are the providers' prices and nothing is paid.
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
    #: The sweep runs on a sandbox: nothing is paid.
    sandbox: bool = False

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
        if self.sandbox:
            text += f" at the providers' prices ({SANDBOX_LABEL})"
        return text

    def __str__(self) -> str:
        cached = f", {self.cached} already paid ($0)" if self.cached else ""
        if self.resumed:
            cached += f", {self.resumed} still running (resumed, $0)"
        return (
            f"{self.clips} clips ({self.new} new{cached}): about {self.cost_text()}, "
            f"~{duration_text(self.seconds)} at {self.concurrency} at a time"
        )


def budget_limits(budget: Budget | None) -> dict[str, float]:
    """The caps per currency of ``budget`` (None: :data:`settings`; no cap: ``{}``)."""
    if budget is None:
        return settings.budget or {}
    return check_budget(budget)


def _raise_to(amount: float, currency: str) -> float:
    """An amount rounded up to what a cap is written in (cents, whole credits)."""
    step = 100 if currency == "USD" else 1
    return math.ceil(amount * step - 1e-9) / step


def over_budget(est: SweepEstimate, budget: Budget | None, sweep_id: str) -> None:
    """Raise :class:`~hh_notebook.errors.BudgetExceeded` when the new clips of ``est`` cost
    more than ``budget`` (None: :data:`settings`), or cannot be priced against it."""
    limit = budget_limits(budget)
    if limit and est.new:
        refuse_above(limit, est.by_currency, est.unknown,
                     f"sweep {sweep_id}: {est.new} new clip(s) would cost about "
                     f"{est.cost_text()}")


def refuse_above(limit: Mapping[str, float], amounts: Mapping[str, float], unknown: int,
                 what: str) -> None:
    """Raise :class:`~hh_notebook.errors.BudgetExceeded` when ``amounts`` (per currency, plus
    ``unknown`` unpriced clips) go beyond the caps in ``limit``; ``what`` says what would cost
    that. The error carries the caps that would let it run (``needed``), so each front door
    can say how in its own words."""
    over = [
        f"{format_money(amounts.get(cur, 0.0), cur)} > budget {format_money(cap, cur)}"
        for cur, cap in limit.items()
        if amounts.get(cur, 0.0) > cap + 1e-9
    ]
    uncapped = [c for c in amounts if c not in limit]
    if uncapped:
        over.append(f"no budget set for {', '.join(uncapped)}")
    if unknown:
        over.append(f"{unknown} clip(s) of unknown cost")
    if not over:
        return
    currencies = sorted({*limit, *amounts}, key=lambda c: (c != "USD", c))
    needed = {cur: _raise_to(max(amounts.get(cur, 0.0), limit.get(cur, 0.0)), cur)
              for cur in currencies}
    summary = f"{what} ({'; '.join(over)}). Nothing was submitted."
    raise BudgetExceeded(summary + " " + budget_advice(needed, unknown, "python"),
                         summary=summary, needed=needed, unknown=unknown)


def budget_advice(needed: Mapping[str, float], unknown: int, door: str) -> str:
    """How to run a refused sweep anyway, in the words of one front door (``"python"``,
    ``"magic"`` or ``"cli"``).

    >>> budget_advice({"USD": 8.4, "credits": 1440}, 0, "cli")
    'Add --confirm to run it anyway, or raise the cap: --budget USD=8.40,credits=1440.'
    >>> print(budget_advice({"USD": 8.4, "credits": 1440}, 0, "python"))
    Pass confirm=True to run it anyway, or raise the cap: budget={"USD": 8.4, "credits": 1440} \
(or settings.budget, HH_BUDGET).
    """
    confirm = "confirm=True" if door == "python" else "--confirm"
    verb = "Pass" if door == "python" else "Add"
    text = f"{verb} {confirm} to run it anyway"
    if unknown:
        return text + " (clips of unknown cost can only run that way)."
    if door == "python":
        caps = (f"{needed['USD']:g}" if list(needed) == ["USD"] else "{" + ", ".join(
            f'"{c}": {v:g}' for c, v in needed.items()) + "}")
        return text + f", or raise the cap: budget={caps} (or settings.budget, HH_BUDGET)."
    caps = (f"{needed['USD']:.2f}" if list(needed) == ["USD"] else ",".join(
        f"{c}={v:.2f}" if c == "USD" else f"{c}={v:g}" for c, v in needed.items()))
    return text + f", or raise the cap: --budget {caps}."
