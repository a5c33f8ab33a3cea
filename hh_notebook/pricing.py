"""What a request will cost, per provider, before anything is submitted.

Prices come from the providers' own pages (:data:`hh_notebook.catalog.PRICES`, each with
its source) and are flat per second of output, by resolution, audio included. Apiframe
prices in credits, the others in dollars.

An unpublished price gives an estimate whose ``amount`` is None and whose
note says so; it is never guessed.

    >>> from hh_notebook.request import GenerationRequest
    >>> cost = estimate_cost(GenerationRequest(prompt="horse", duration=5), "segmind")
    >>> str(cost), cost.per_second
    ('$0.70', 0.14)
    >>> str(estimate_cost(GenerationRequest(prompt="horse", resolution="1080P", duration=10),
    ...                   "apiframe"))
    '310 credits'

Work on the sandbox is never paid: its estimates carry ``sandbox=True``, show as "sandbox —
not paid" and are counted apart from money in every total::

    >>> str(estimate_cost(GenerationRequest(prompt="horse"), "sandbox"))
    "sandbox — not paid ($0.70 at segmind's price)"

Estimates add up (same currency sums, different currencies stay apart)::

    >>> a = estimate_cost(GenerationRequest(prompt="a"), "segmind")
    >>> b = estimate_cost(GenerationRequest(prompt="b"), "apiframe")
    >>> str(a + a + b)
    '$1.40 + 120 credits'
    >>> str(sum([a, a]))
    '$1.40'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from . import catalog
from .errors import FieldError, ValidationError
from .present import SANDBOX_LABEL, format_money, is_sandbox_work

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .request import CheckedRequest, GenerationRequest

__all__ = ["CostEstimate", "CostTotal", "estimate_cost", "format_money", "spent", "sum_costs"]

USD = "USD"
CREDITS = "credits"


@dataclass(frozen=True)
class CostEstimate:
    """The expected cost of one clip.

    ``amount`` is None when the provider publishes no price (``note`` says
    so). ``currency`` is ``"USD"`` or ``"credits"`` (Apiframe).
    ``per_second`` is the rate and ``seconds`` the billed duration.
    ``str()`` gives the amount alone (``"$0.70"``), :attr:`detail` the sum
    behind it.

    >>> CostEstimate(0.7, "USD", 0.14, 5, "", "segmind", "720P").detail
    '$0.70 (5 s × $0.14/s at 720P, segmind)'
    """

    amount: float | None
    currency: str
    per_second: float | None
    seconds: int
    note: str = ""
    provider: str | None = None
    resolution: str | None = None
    #: Work on a sandbox: ``amount`` is what the provider would charge, and nothing is paid.
    sandbox: bool = False

    @property
    def known(self) -> bool:
        """True when the provider publishes a price for this request."""
        return self.amount is not None

    @property
    def detail(self) -> str:
        """The amount with how it was reached, or why there is none."""
        if self.amount is None or self.per_second is None or self.sandbox:
            return str(self)
        how = f"{self.seconds} s × {format_money(self.per_second, self.currency)}/s"
        if self.resolution:
            how += f" at {self.resolution}"
        if self.provider:
            how += f", {self.provider}"
        return f"{self} ({how})"

    @classmethod
    def free(
        cls, currency: str = USD, note: str = "already paid: served from the journal"
    ) -> CostEstimate:
        """A zero cost, e.g. for a clip reused from the journal instead of paid again.

        >>> str(CostEstimate.free())
        '$0.00'
        """
        return cls(0.0, currency, 0.0, 0, note)

    def __str__(self) -> str:
        if self.sandbox:
            if self.amount is None:
                return SANDBOX_LABEL
            return f"{SANDBOX_LABEL} ({format_money(self.amount, self.currency)} at " \
                   f"{self.provider or 'the provider'}'s price)"
        if self.amount is None:
            return "price not published"
        return format_money(self.amount, self.currency)

    def on_sandbox(self) -> CostEstimate:
        """The same estimate for work on a sandbox: shown, never paid or summed as money."""
        return dataclasses.replace(self, sandbox=True)

    def __add__(self, other: object) -> CostTotal:
        return CostTotal.of([self]) + other

    def __radd__(self, other: object) -> CostTotal:
        # sum() starts from 0, which CostTotal.__add__ already treats as nothing.
        return self.__add__(other)


@dataclass(frozen=True)
class CostTotal:
    """A sum of estimates: one amount per currency, plus a count of unpriced clips and a
    count of sandbox clips (never paid, so never in the amounts).

    >>> total = sum_costs([CostEstimate(0.7, "USD", 0.14, 5),
    ...                    CostEstimate(120, "credits", 24, 5),
    ...                    CostEstimate(None, "USD", None, 5, "price not published")])
    >>> str(total), total.usd, total.unknown
    ('$0.70 + 120 credits + 1 clip without a published price', 0.7, 1)
    >>> str(total + CostEstimate(0.7, "USD", 0.14, 5, sandbox=True))
    '$0.70 + 120 credits + 1 clip without a published price · 1 sandbox clip — not paid'
    """

    amounts: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    unknown: int = 0
    count: int = 0
    #: Clips made on a sandbox: counted here, never in ``amounts``.
    sandbox: int = 0

    @classmethod
    def of(cls, items: Iterable[CostEstimate | CostTotal | None]) -> CostTotal:
        """Sum estimates (and totals); ``None`` counts as a clip without a known price."""
        amounts: dict[str, float] = {}
        unknown = count = sandbox = 0
        for item in items:
            if isinstance(item, CostTotal):
                for currency, value in item.amounts.items():
                    amounts[currency] = round(amounts.get(currency, 0.0) + value, 6)
                unknown += item.unknown
                count += item.count
                sandbox += item.sandbox
            elif isinstance(item, CostEstimate):
                count += 1
                if item.sandbox:
                    sandbox += 1
                elif item.amount is None:
                    unknown += 1
                else:
                    current = amounts.get(item.currency, 0.0)
                    amounts[item.currency] = round(current + item.amount, 6)
            elif item is None:
                count += 1
                unknown += 1
            else:
                raise TypeError(
                    f"cannot add a {type(item).__name__} to costs: use CostEstimate "
                    "(a bare number has no currency)"
                )
        return cls(MappingProxyType(amounts), unknown, count, sandbox)

    def amount(self, currency: str) -> float:
        """The total in one currency (0.0 when nothing was priced in it)."""
        return self.amounts.get(currency, 0.0)

    @property
    def usd(self) -> float:
        """The dollar part of the total."""
        return self.amount(USD)

    @property
    def credits(self) -> float:
        """The credit part of the total (Apiframe)."""
        return self.amount(CREDITS)

    def __add__(self, other: object) -> CostTotal:
        if other == 0:
            return self
        return CostTotal.of([self, other])  # type: ignore[list-item]

    def __radd__(self, other: object) -> CostTotal:
        return self.__add__(other)

    def __str__(self) -> str:
        parts = [format_money(value, currency) for currency, value in sorted(
            self.amounts.items(), key=lambda kv: (kv[0] != USD, kv[0]))]
        if self.unknown:
            noun = "clip" if self.unknown == 1 else "clips"
            parts.append(f"{self.unknown} {noun} without a published price")
        money = " + ".join(parts) if parts else "$0.00"
        if not self.sandbox:
            return money
        noun = "clip" if self.sandbox == 1 else "clips"
        sandbox = f"{self.sandbox} sandbox {noun} — not paid"
        return sandbox if self.sandbox == self.count else f"{money} · {sandbox}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: ``{"amounts": {...}, "unknown": n, "count": n, "sandbox": n}``."""
        return {"amounts": dict(self.amounts), "unknown": self.unknown, "count": self.count,
                "sandbox": self.sandbox}


def sum_costs(costs: Iterable[CostEstimate | CostTotal | None]) -> CostTotal:
    """Total a sweep's estimates: same currency adds, others are kept apart.

    ``None`` (a job whose cost is not known) counts as one unpriced clip.

    >>> str(sum_costs([]))
    '$0.00'
    """
    return CostTotal.of(costs)


def spent(records: Iterable[Any]) -> CostTotal:
    """What finished jobs cost, from journal records: failed jobs are refunded or never
    charged, clips served from the journal are free, so only succeeded jobs count; jobs run
    on a sandbox are counted apart (``CostTotal.sandbox``), never as money."""
    paid = [CostEstimate(r.cost, r.currency or USD, None, 0, provider=r.provider,
                         sandbox=is_sandbox_work(r))
            for r in records
            if r.status == "succeeded" and (r.cost is not None or is_sandbox_work(r))]
    return sum_costs(paid)


def estimate_cost(request: GenerationRequest | CheckedRequest, provider: str) -> CostEstimate:
    """The expected cost of ``request`` at ``provider``, from the provider's published price.

    Uses the request's model version (or the provider's default). Raises
    :class:`~hh_notebook.errors.ValidationError` when the provider, the resolution or the
    duration is not one that can be priced. A checked request (``request.check(provider)``)
    is priced as it was checked, without checking it again.

    >>> from hh_notebook.request import GenerationRequest
    >>> estimate_cost(GenerationRequest(prompt="x", duration=8, resolution="1080p"), "segmind")
    CostEstimate(amount=1.44, currency='USD', per_second=0.18, seconds=8, note='', \
provider='segmind', resolution='1080P', sandbox=False)
    >>> estimate_cost(GenerationRequest(prompt="x"), "hiapi").amount is None
    True
    """
    if provider == catalog.SANDBOX:
        return estimate_cost(request, catalog.SANDBOX_PROTOCOL).on_sandbox()
    checked = getattr(request, "contract", None) is not None
    inner: Any = getattr(request, "request", request)
    if checked:
        resolution, seconds = inner.resolution.strip().upper(), int(inner.duration)
        version = request.version  # type: ignore[union-attr]
    else:
        resolution, seconds = _priceable(inner, provider)
        version = inner.model or catalog.default_version(provider)
    price = catalog.price(provider, version)
    if price is None:
        facts = catalog.facts(provider)
        note = facts.unpublished_note or "price not published"
        return CostEstimate(None, facts.currency, None, seconds, note, provider, resolution)
    rate = price.per_second[resolution]
    amount = round(rate * seconds, 2 if price.currency == USD else 6)
    return CostEstimate(amount, price.currency, rate, seconds, "", provider, resolution)


def _priceable(request: GenerationRequest, provider: str) -> tuple[str, int]:
    """(resolution, seconds) of an unchecked request, or the reasons it cannot be priced."""
    errors: list[FieldError] = []
    if provider not in catalog.PROVIDERS:
        errors.append(FieldError("provider", provider, ", ".join(catalog.PROVIDERS),
                                 "unknown provider"))
    res = request.resolution
    resolution = res.strip().upper() if isinstance(res, str) else None
    if resolution not in catalog.RESOLUTIONS:
        errors.append(FieldError("resolution", res, " or ".join(catalog.RESOLUTIONS),
                                 "cannot price this resolution"))
    seconds = request.duration
    low, high = catalog.duration_range(provider if provider in catalog.PROVIDERS else None,
                                       request.model)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not low <= seconds <= high:
        errors.append(FieldError("duration", seconds,
                                 f"a whole number of seconds from {low} to {high}",
                                 "cannot price this duration"))
    if errors:
        raise ValidationError(errors)
    assert resolution is not None
    return resolution, seconds
