"""pricing.py: per-provider estimates from published prices, and totals across currencies."""

from __future__ import annotations

import doctest

import pytest

import hh_notebook.pricing
from hh_notebook.errors import ValidationError
from hh_notebook.pricing import CostEstimate, CostTotal, estimate_cost, sum_costs
from hh_notebook.request import GenerationRequest

# Segmind's published table for HappyHorse 1.1 (seconds -> (720P, 1080P)).
SEGMIND_TABLE = {3: ("$0.42", "$0.54"), 5: ("$0.70", "$0.90"), 8: ("$1.12", "$1.44"),
                 10: ("$1.40", "$1.80"), 15: ("$2.10", "$2.70")}


@pytest.mark.parametrize("seconds", sorted(SEGMIND_TABLE))
def test_segmind_matches_its_published_table(seconds: int) -> None:
    for resolution, expected in zip(("720P", "1080P"), SEGMIND_TABLE[seconds], strict=True):
        request = GenerationRequest(prompt="p", duration=seconds, resolution=resolution)
        assert str(estimate_cost(request, "segmind")) == expected


def test_five_seconds_at_720p_on_segmind_is_70_cents() -> None:
    cost = estimate_cost(GenerationRequest(prompt="p"), "segmind")
    assert (cost.amount, cost.currency, cost.per_second, cost.seconds) == (0.7, "USD", 0.14, 5)
    assert cost.known and cost.note == ""
    assert cost.detail == "$0.70 (5 s × $0.14/s at 720P, segmind)"


def test_resolution_case_does_not_change_the_price() -> None:
    lower = estimate_cost(GenerationRequest(prompt="p", resolution="1080p"), "segmind")
    assert lower.amount == 0.9 and lower.resolution == "1080P"


@pytest.mark.parametrize(("resolution", "seconds", "credits"),
                         [("720P", 5, 120), ("1080P", 10, 310), ("720p", 15, 360)])
def test_apiframe_prices_in_credits(resolution: str, seconds: int, credits: int) -> None:
    request = GenerationRequest(prompt="p", duration=seconds, resolution=resolution)
    cost = estimate_cost(request, "apiframe")
    assert (cost.amount, cost.currency) == (credits, "credits")
    assert str(cost) == f"{credits} credits"
    assert cost.detail.endswith("credits/s at " + resolution.upper() + ", apiframe)")


@pytest.mark.parametrize("provider", ["hiapi", "openai"])
def test_unpublished_prices_are_unknown_not_guessed(provider: str) -> None:
    cost = estimate_cost(GenerationRequest(prompt="p", duration=8), provider)
    assert cost.amount is None and cost.per_second is None and not cost.known
    assert cost.seconds == 8
    assert cost.note.startswith("price not published")
    assert str(cost) == "price not published"


def test_segmind_1_0_has_no_published_price() -> None:
    cost = estimate_cost(GenerationRequest(prompt="p", model="1.0"), "segmind")
    assert cost.amount is None and "1.1" in cost.note


def test_unpriceable_requests_raise_naming_the_fields() -> None:
    request = GenerationRequest(prompt="p", duration=2.5, resolution="4K")
    with pytest.raises(ValidationError) as info:
        estimate_cost(request, "segmind")
    assert info.value.fields == ["resolution", "duration"]
    with pytest.raises(ValidationError) as info:
        estimate_cost(GenerationRequest(prompt="p"), "runway")
    assert info.value.fields == ["provider"]


def test_the_sandbox_is_priced_as_segmind_but_never_paid() -> None:
    est = estimate_cost(GenerationRequest(prompt="p", duration=5), "sandbox")
    assert est.sandbox and est.amount == pytest.approx(0.7) and est.provider == "segmind"
    assert str(est).startswith("sandbox — not paid")
    total = sum_costs([est, estimate_cost(GenerationRequest(prompt="p"), "segmind")])
    assert total.usd == pytest.approx(0.7) and total.sandbox == 1 and total.count == 2
    assert str(total) == "$0.70 · 1 sandbox clip — not paid"


def test_spent_never_counts_sandbox_jobs_as_money() -> None:
    from types import SimpleNamespace

    from hh_notebook.pricing import spent

    def record(cost: float, sandbox: bool) -> SimpleNamespace:
        tags = {"sandbox": True} if sandbox else {}
        return SimpleNamespace(status="succeeded", cost=cost, currency="USD",
                               provider="segmind", tags=tags)

    only_sandbox = spent([record(0.7, True), record(7.0, True)])
    assert only_sandbox.usd == 0 and only_sandbox.sandbox == 2
    assert str(only_sandbox) == "2 sandbox clips — not paid"
    assert spent([record(0.7, True), record(1.4, False)]).usd == pytest.approx(1.4)


def test_same_currency_adds_up() -> None:
    a = estimate_cost(GenerationRequest(prompt="p"), "segmind")
    b = estimate_cost(GenerationRequest(prompt="p", duration=15, resolution="1080P"), "segmind")
    total = a + b
    assert isinstance(total, CostTotal)
    assert total.usd == pytest.approx(3.4) and total.count == 2 and total.unknown == 0
    assert str(total) == "$3.40"


def test_mixed_currencies_are_kept_apart() -> None:
    usd = estimate_cost(GenerationRequest(prompt="p"), "segmind")
    credits = estimate_cost(GenerationRequest(prompt="p"), "apiframe")
    unknown = estimate_cost(GenerationRequest(prompt="p"), "hiapi")
    total = sum_costs([usd, credits, credits, unknown, usd])
    assert total.usd == pytest.approx(1.4) and total.credits == 240
    assert total.unknown == 1 and total.count == 5
    assert str(total) == "$1.40 + 240 credits + 1 clip without a published price"
    assert total.to_dict() == {"amounts": {"USD": 1.4, "credits": 240}, "unknown": 1, "count": 5,
                               "sandbox": 0}


def test_builtin_sum_and_totals_of_totals() -> None:
    cost = estimate_cost(GenerationRequest(prompt="p", duration=3), "segmind")
    first = sum([cost, cost, cost])
    assert isinstance(first, CostTotal) and str(first) == "$1.26"
    both = first + sum_costs([cost]) + cost
    assert both.count == 5 and str(both) == "$2.10"


def test_many_small_amounts_do_not_drift() -> None:
    cost = estimate_cost(GenerationRequest(prompt="p", duration=3), "segmind")
    assert sum_costs([cost] * 1000).usd == 420.0


def test_unknown_job_costs_count_as_unpriced_and_bare_numbers_are_refused() -> None:
    assert sum_costs([None]).unknown == 1
    with pytest.raises(TypeError, match="no currency"):
        sum_costs([0.7])  # type: ignore[list-item]


def test_free_clips_cost_nothing() -> None:
    paid = estimate_cost(GenerationRequest(prompt="p"), "segmind")
    total = paid + CostEstimate.free()
    assert str(total) == "$0.70" and total.count == 2
    assert str(sum_costs([])) == "$0.00"


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(hh_notebook.pricing, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
