"""Sweeps: range syntax, axis expansion, prompt variants, budget, cache, concurrency, stop/resume."""

from __future__ import annotations

import asyncio
import json
import pathlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sweep_fixtures import max_in_flight

from hh_notebook.client import Client
from hh_notebook.errors import BudgetExceeded, ValidationError
from hh_notebook.request import GenerationRequest
from hh_notebook.sandbox import Sandbox
from hh_notebook.sweep import (
    Sweep,
    parse_axis,
    parse_number_range,
    sweep,
    sweep_from_magic_args,
)

# Cheap clips the session sandbox encodes once and then serves from its cache.
PROMPT = "a red fox crossing a snowy field"
CHEAP = {"duration": 3, "resolution": "720P"}


@pytest.fixture()
def make_client(tmp_path: pathlib.Path) -> Iterator[Callable[..., Client]]:
    """Clients on a sandbox sharing one data folder (a new client = a kernel restart)."""
    made: list[Client] = []

    def make(sb: Sandbox, provider: str = "segmind") -> Client:
        client = Client(provider=provider, base_url=sb.base_url, data_dir=tmp_path / "data")
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def submits(sb: Sandbox, since: float = 0.0) -> list[dict[str, Any]]:
    return [e for e in sb.request_log() if e["endpoint"] == "submit" and e["time"] >= since]


def log_mark(sb: Sandbox) -> float:
    log = sb.request_log()
    return max((e["time"] for e in log), default=0.0) + 1e-6


# ----------------------------------------------------------------------------- range syntax


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1-8", [1, 2, 3, 4, 5, 6, 7, 8]),
        ("1-10 (+3)", [1, 4, 7, 10]),
        ("1-10 (3)", [1, 4, 7, 10]),
        ("10-1 (-4)", [10, 6, 2]),
        ("1-10 [4]", [1, 4, 7, 10]),
        ("0-100 [3]", [0, 50, 100]),
        ("5,8,12", [5, 8, 12]),
        ("1-3, 10", [1, 2, 3, 10]),
        (" 7 ", [7]),
        ("3-1", [3, 2, 1]),
    ],
)
def test_range_syntax_expands(text: str, expected: list[int]) -> None:
    assert parse_number_range(text, "seed") == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("1-x", "cannot read '1-x'"),
        ("1-10 (-2)", "never goes from 1 to 10"),
        ("1-10 (0)", "step 0"),
        ("1-3 [5]", "cannot give 5 different whole numbers"),
        ("1-10 [0]", "at least 1"),
        ("1,,2", "empty item"),
        ("", "no values given"),
        ("1.5", "not a whole number"),
        ("0-2000000", "at most"),
    ],
)
def test_range_syntax_errors_name_the_axis_and_the_text(text: str, needle: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_axis("seed", text)
    assert info.value.fields == ["seed"]
    message = str(info.value)
    assert needle in message
    assert repr(text) in message


def test_float_ranges_when_asked() -> None:
    assert parse_number_range("0.5-1 (+0.25)", "x", integer=False) == [0.5, 0.75, 1.0]


def test_bad_range_inside_a_sweep_names_the_axis() -> None:
    with pytest.raises(ValidationError) as info:
        sweep(PROMPT, seed="1-4", duration="3-five")
    assert info.value.fields == ["duration"]
    assert "'3-five'" in str(info.value)


# ----------------------------------------------------------------------------- expansion


def test_scalar_fixes_a_parameter_for_the_whole_sweep() -> None:
    sw = sweep(PROMPT, seed="1-3", duration=4, aspect_ratio="9:16")
    assert sw.size == 3
    assert [r.duration for r in sw.requests] == [4, 4, 4]
    assert {r.aspect_ratio for r in sw.requests} == {"9:16"}
    assert sw.fixed["duration"] == 4 and sw.fixed["aspect_ratio"] == "9:16"
    assert "seed" not in sw.fixed


def test_three_axes_become_rows_columns_pages() -> None:
    sw = sweep(PROMPT, seed="1-3", aspect="16:9,9:16", resolution=["720P", "1080P"], duration=3)
    assert sw.shape == (3, 2, 2)
    assert sw.size == 12
    assert [a.name for a in sw.axes] == ["seed", "aspect_ratio", "resolution"]
    cell = next(c for c in sw.cells if (c.row, c.col, c.page) == (2, 1, 1))
    assert (cell.request.seed, cell.request.aspect_ratio, cell.request.resolution) == (
        3,
        "9:16",
        "1080P",
    )
    assert cell.labels == {"seed": "3", "aspect_ratio": "9:16", "resolution": "1080P"}
    assert len({c.key for c in sw.cells}) == 12


def test_one_axis_is_a_row_of_columns() -> None:
    sw = sweep(PROMPT, seed="5,8,12", duration=3)
    assert sw.shape == (1, 3, 1)
    assert [c.col for c in sw.cells] == [0, 1, 2]


def test_more_than_three_axes_is_refused() -> None:
    with pytest.raises(ValidationError, match="at most 3 axes"):
        sweep(PROMPT, seed="1-2", duration="3,4", aspect="16:9,9:16", prompt_extend=[True, False])


def test_switches_and_lists_from_text() -> None:
    assert parse_axis("prompt_extend", "on,off", from_text=True) == [True, False]
    assert parse_axis("aspect", "16:9, 9:16") == ["16:9", "9:16"]
    assert parse_axis("prompt", "a fox, at dawn") == ["a fox, at dawn"]
    with pytest.raises(ValidationError, match="prompt_extend"):
        parse_axis("prompt_extend", "maybe", from_text=True)


def test_invalid_cell_values_are_reported_before_anything_runs() -> None:
    with pytest.raises(ValidationError) as info:
        sweep(PROMPT, duration="1-4", seed=1)
    assert info.value.fields == ["duration", "duration"]
    assert "cell duration=1" in str(info.value)


def test_unknown_axis_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="unknown sweep axis 'colour'"):
        sweep(PROMPT, colour=["red", "blue"])


def test_reference_sets_as_an_axis() -> None:
    a, b, c = (f"https://example.com/{n}.png" for n in "abc")
    fixed = sweep("[Image 1] and [Image 2] dance", reference_images=[a, b], seed="1,2")
    assert all(r.reference_images == [a, b] for r in fixed.requests)
    varied = sweep("[Image 1] and [Image 2] dance", reference_images=[[a, b], [b, c]], seed=1)
    assert [r.reference_images for r in varied.requests] == [[a, b], [b, c]]
    assert varied.axes[0].labels == ("a.png + b.png", "b.png + c.png")


# ----------------------------------------------------------------------------- prompt variants


def test_prompt_search_and_replace() -> None:
    sw = sweep(PROMPT, prompt_sr=["red", "grey", "arctic"], seed=1)
    assert [r.prompt for r in sw.requests] == [
        "a red fox crossing a snowy field",
        "a grey fox crossing a snowy field",
        "a arctic fox crossing a snowy field",
    ]
    assert sw.axes[0].name == "prompt_sr"
    assert "prompt" not in sw.fixed


def test_prompt_search_and_replace_first_value_must_occur() -> None:
    with pytest.raises(ValidationError) as info:
        sweep(PROMPT, prompt_sr=["blue", "green"])
    assert info.value.fields == ["prompt_sr"]
    assert "'blue' does not occur in the prompt" in str(info.value)


def test_prompt_template_slots() -> None:
    sw = sweep("a {animal} at {time}, {style}", animal=["fox", "owl"], time="dawn", seed=2)
    assert [r.prompt for r in sw.requests] == ["a fox at dawn, {style}", "a owl at dawn, {style}"]
    assert [a.name for a in sw.axes] == ["animal"]


def test_magic_args_build_the_same_sweep() -> None:
    from_magic = sweep_from_magic_args(
        PROMPT, ["seed=1-4", "aspect=16:9,9:16"], fixed={"duration": 3}
    )
    from_python = sweep(PROMPT, seed=[1, 2, 3, 4], aspect_ratio=["16:9", "9:16"], duration=3)
    assert from_magic.shape == (4, 2, 1)
    assert from_magic.id == from_python.id
    with pytest.raises(ValueError, match="NAME=VALUES"):
        sweep_from_magic_args(PROMPT, ["seed"])
    with pytest.raises(ValidationError, match="seed"):
        sweep_from_magic_args(PROMPT, ["seed=1-"])


def test_sweep_from_a_request_keeps_its_fields() -> None:
    base = GenerationRequest(prompt=PROMPT, negative_prompt="blurry, dark", duration=3)
    sw = sweep(base, seed="1,2")
    assert all(r.negative_prompt == "blurry, dark" and r.duration == 3 for r in sw.requests)


# ----------------------------------------------------------------------------- running


def test_budget_refusal_submits_nothing(
    sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    client = make_client(sandbox)
    sw = sweep(PROMPT, client=client, seed="101-104", **CHEAP)
    mark = log_mark(sandbox)
    assert sw.estimated_cost.by_currency == {"USD": pytest.approx(4 * 3 * 0.14)}
    with pytest.raises(BudgetExceeded) as info:
        sw.run(budget=1.0)
    assert "confirm=True" in str(info.value) and "$1.68" in str(info.value)
    assert submits(sandbox, mark) == []
    assert sw.progress.pending == 4


def test_default_budget_applies(
    sandbox: Sandbox, make_client: Callable[..., Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HH_BUDGET", "0.5")  # read when used, not when imported
    sw = sweep(PROMPT, client=make_client(sandbox), seed="101-102", **CHEAP)
    with pytest.raises(BudgetExceeded, match="budget \\$0.50"):
        sw.check_budget()


def test_confirm_runs_above_budget(sandbox: Sandbox, make_client: Callable[..., Client]) -> None:
    sw = sweep(PROMPT, client=make_client(sandbox), seed="101-102", **CHEAP)
    result = sw.run(budget=0.1, confirm=True, timeout=60)
    assert [r.status for r in result] == ["succeeded", "succeeded"]
    assert all(r.video_path and r.video_path.is_file() for r in result)
    assert sw.progress.spent == {} and sw.progress.sandbox == 2  # a sandbox pays nothing
    assert str(sw.progress).endswith("· sandbox — not paid")


def test_cache_hits_cost_zero_and_are_not_submitted(
    sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    client = make_client(sandbox)
    sweep(PROMPT, client=client, seed="101-102", **CHEAP).run(budget=5, timeout=60)
    bigger = sweep(PROMPT, client=client, seed="101-103", **CHEAP)
    est = bigger.estimate()
    assert (est.clips, est.new, est.cached) == (3, 1, 2)
    assert est.by_currency == {"USD": pytest.approx(0.42)}
    assert "2 already paid ($0)" in str(est)
    mark = log_mark(sandbox)
    result = bigger.run(budget=0.5, timeout=60)
    assert len(submits(sandbox, mark)) == 1
    rows = {r.params["seed"]: r for r in result}
    assert rows[101].from_cache and rows[101].cost == 0.0
    assert rows[102].from_cache and rows[102].cost == 0.0
    assert not rows[103].from_cache and rows[103].cost == pytest.approx(0.42)
    assert rows[103].sandbox and bigger.progress.sandbox == 1 and bigger.progress.spent == {}


def test_concurrency_bound_is_respected(
    fresh_sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    sw = sweep(PROMPT, client=make_client(fresh_sandbox), seed="201-206", concurrency=2, **CHEAP)
    result = sw.run(budget=5, timeout=120)
    assert all(r.status == "succeeded" for r in result)
    log = fresh_sandbox.request_log()
    assert len([e for e in log if e["endpoint"] == "submit"]) == 6
    assert max_in_flight(log) == 2


def test_stop_then_resume_after_restart_submits_each_cell_once(
    sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    mark = log_mark(sandbox)
    first = sweep(PROMPT, client=make_client(sandbox), seed="301-304", concurrency=1, **CHEAP)
    stopped = threading.Event()

    def stop_after_first_submit(progress: Any, _key: str | None) -> None:
        if progress.running >= 1 and not stopped.is_set():
            stopped.set()
            first.stop()

    first.subscribe(stop_after_first_submit)
    partial = first.run(budget=5, timeout=60)
    statuses = sorted(r.status for r in partial)
    assert statuses == ["stopped", "stopped", "stopped", "succeeded"]
    assert len(submits(sandbox, mark)) == 1

    # A new client on the same data folder: what a kernel restart leaves behind.
    again = sweep(PROMPT, client=make_client(sandbox), seed="301-304", concurrency=1, **CHEAP)
    assert again.id == first.id
    assert again.progress.done == 1
    assert again.estimate().new == 3
    result = again.run(budget=5, timeout=60)
    assert all(r.status == "succeeded" for r in result)
    assert len(submits(sandbox, mark)) == 4


def test_resume_follows_a_job_left_running(
    sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    mark = log_mark(sandbox)
    first = sweep(PROMPT, client=make_client(sandbox), seed="401-402", concurrency=2, **CHEAP)
    seen = threading.Event()

    def cancel_when_running(progress: Any, _key: str | None) -> None:
        if progress.running == 2 and not seen.is_set():
            seen.set()
            first.stop(cancel_running=True)

    first.subscribe(cancel_when_running)
    partial = first.run(budget=5, timeout=60)
    assert [r.status for r in partial] == ["stopped", "stopped"]
    assert all(r.job_id for r in partial)
    again = sweep(PROMPT, client=make_client(sandbox), seed="401-402", concurrency=2, **CHEAP)
    est = again.estimate()
    assert (est.new, est.resumed, est.by_currency) == (0, 2, {})
    assert "2 still running (resumed, $0)" in str(est)
    result = again.run(budget=0.01, timeout=60)
    assert [r.status for r in result] == ["succeeded", "succeeded"]
    assert [r.job_id for r in result] == [r.job_id for r in partial]
    assert len(submits(sandbox, mark)) == 2


def test_rerun_failed_only_resubmits_failed_cells(
    fresh_sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    fresh_sandbox.add_fault({"provider": "segmind", "endpoint": "submit", "kind": "fail_job"})
    sw = sweep(PROMPT, client=make_client(fresh_sandbox), seed="501-503", concurrency=1, **CHEAP)
    result = sw.run(budget=5, timeout=60)
    assert sorted(r.status for r in result) == ["failed", "succeeded", "succeeded"]
    failed_key = result.failed[0].key
    assert result.failed[0].error
    done_jobs = {r.key: r.job_id for r in result.succeeded}
    retried = result.rerun_failed()
    assert all(r.status == "succeeded" for r in retried)
    assert len([e for e in fresh_sandbox.request_log() if e["endpoint"] == "submit"]) == 4
    assert {r.key: r.job_id for r in retried if r.key != failed_key} == done_jobs


def test_result_rows_and_exports(
    sandbox: Sandbox, make_client: Callable[..., Client], tmp_path: pathlib.Path
) -> None:
    sw = sweep(PROMPT, client=make_client(sandbox), seed="101-102", prompt_sr=["red", "grey"],
               **CHEAP)  # fmt: skip
    result = sw.run(budget=5, timeout=60)
    sw.set_rating(result.rows[0].key, 4, 'nice <b>tail</b>, "sharp"')
    result = result.refresh()
    records = result.to_records()
    assert len(records) == 4
    first = records[0]
    for column in ("seed", "prompt", "prompt_sr", "duration", "resolution", "aspect_ratio",
                   "provider", "model", "status", "cost", "submitted_at", "finished_at",
                   "elapsed_s", "video_path", "rating", "note", "job_id"):  # fmt: skip
        assert column in first
    assert first["rating"] == 4 and first["note"] == 'nice <b>tail</b>, "sharp"'
    frame = result.to_pandas()
    assert list(frame["seed"]) == [101, 102, 101, 102] or sorted(frame["seed"]) == [
        101, 101, 102, 102,
    ]  # fmt: skip
    assert str(frame["finished_at"].dtype).startswith("datetime64")
    data = json.loads(result.to_json(tmp_path / "r.json"))
    assert data["rows"][0]["request"]["prompt"] in {PROMPT, PROMPT.replace("red", "grey")}
    assert GenerationRequest.from_dict(data["rows"][0]["request"]).fingerprint("segmind")
    csv_text = result.to_csv(tmp_path / "r.csv")
    assert csv_text.splitlines()[0].startswith("cell,page,row,col,provider,")
    assert (tmp_path / "r.csv").read_text() == csv_text


def test_progress_counts_the_whole_sweep(
    sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    sw = sweep(PROMPT, client=make_client(sandbox), seed="101-103", **CHEAP)
    seen: list[Any] = []
    sw.subscribe(lambda progress, _key: seen.append(progress))
    sw.run(budget=5, timeout=60)
    assert any(p.running > 0 for p in seen)
    assert any(p.queued > 0 for p in seen)
    final = sw.progress
    assert (final.total, final.done, final.failed, final.running, final.queued) == (3, 3, 0, 0, 0)
    assert "3/3 done" in str(final)


def test_repr_and_preview_do_not_submit(
    sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    sw = sweep(PROMPT, client=make_client(sandbox), seed="1-2", aspect="16:9,9:16", **CHEAP)
    text = sw.preview_text()
    assert "rows: seed = 1, 2" in text and "columns: aspect_ratio = 16:9, 9:16" in text
    assert "4 clips (4 new)" in text
    assert isinstance(sw, Sweep) and sw.id in repr(sw)


def test_start_refuses_above_budget_before_scheduling(
    sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    sw = sweep(PROMPT, client=make_client(sandbox), seed="101-104", **CHEAP)

    async def start() -> None:
        sw.start(budget=0.5)

    with pytest.raises(BudgetExceeded):
        asyncio.run(start())
    assert sw.progress.pending == 4


def test_start_runs_in_the_background_of_the_loop(
    sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    sw = sweep(PROMPT, client=make_client(sandbox), seed="101-102", **CHEAP)

    async def start_then_wait() -> tuple[bool, Any]:
        task = sw.start(budget=5)
        returned_before_done = not task.done()
        return returned_before_done, await asyncio.wait_for(task, 60)

    returned_before_done, result = asyncio.run(start_then_wait())
    assert returned_before_done
    assert [r.status for r in result] == ["succeeded", "succeeded"]


def test_rate_limited_submits_wait_and_every_cell_still_runs(
    fresh_sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    fresh_sandbox.add_fault({"provider": "segmind", "endpoint": "submit", "kind": "rate_limit",
                             "reset_after_s": 2, "count": 6})  # fmt: skip
    sw = sweep(PROMPT, client=make_client(fresh_sandbox), seed="101-103", concurrency=3, **CHEAP)
    result = sw.run(budget=5, timeout=120)
    assert [r.status for r in result] == ["succeeded"] * 3
    answers = [e["status"] for e in fresh_sandbox.request_log() if e["endpoint"] == "submit"]
    assert answers.count(429) == 6 and answers.count(200) == 3


def test_a_cell_answered_by_five_429s_then_success_is_one_job_and_one_record(
    fresh_sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    fresh_sandbox.add_fault({"provider": "segmind", "endpoint": "submit", "kind": "rate_limit",
                             "reset_after_s": 2, "count": 5})  # fmt: skip
    client = make_client(fresh_sandbox)
    result = sweep(PROMPT, client=client, seed="104", **CHEAP).run(budget=5, timeout=120)
    assert [r.status for r in result] == ["succeeded"]
    answers = [e["status"] for e in submits(fresh_sandbox)]
    assert answers == [429] * 5 + [200]  # one accepted submit, after five refusals
    records = client.journal.jobs()
    assert len(records) == 1 and records[0].status == "succeeded"
    assert records[0].id == result.rows[0].job_id


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize("budget", [float("nan"), float("inf"), -1, "10", True,
                                    {"EUR": 5}, {"USD": float("nan")}, {"credits": -3}])
def test_a_bad_budget_is_refused_naming_it(budget: Any) -> None:
    sw = sweep(PROMPT, seed="1-2", **CHEAP)
    with pytest.raises(ValidationError) as info:
        sw.check_budget(budget)
    assert info.value.fields[0].startswith("budget")


@pytest.mark.parametrize("concurrency", [0, -2, 1.5, float("nan"), "4", True])
def test_a_bad_concurrency_is_refused_naming_it(concurrency: Any) -> None:
    with pytest.raises(ValidationError) as info:
        sweep(PROMPT, seed="1-2", concurrency=concurrency, **CHEAP)
    assert info.value.fields == ["concurrency"]


@pytest.mark.parametrize(("variable", "value"), [("HH_BUDGET", "abc"), ("HH_BUDGET", "nan"),
                                                 ("HH_BUDGET", "-4"),
                                                 ("HH_SWEEP_CONCURRENCY", "four"),
                                                 ("HH_SWEEP_CONCURRENCY", "0")])
def test_bad_variables_are_reported_when_used_naming_them(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    from hh_notebook.errors import ConfigError

    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"^{variable}: "):
        sweep(PROMPT, seed="1-2", **CHEAP).check_budget()


def test_importing_never_fails_on_a_bad_variable() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "HH_BUDGET": "abc", "HH_SWEEP_CONCURRENCY": "four"}
    done = subprocess.run([sys.executable, "-c", "import hh_notebook, hh_notebook.sweep"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_budget_text_takes_one_cap_per_currency() -> None:
    from hh_notebook.sweep.estimate import parse_budget

    assert parse_budget("USD=10,credits=200", "--budget") == {"USD": 10.0, "credits": 200.0}
    assert parse_budget(" 7.5 ", "HH_BUDGET") == {"USD": 7.5}
    assert parse_budget("off", "HH_BUDGET") is None


def test_a_mixed_currency_refusal_shows_the_budget_that_works(
    sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    sw = sweep(PROMPT, client=make_client(sandbox), provider="segmind,apiframe", **CHEAP)
    with pytest.raises(BudgetExceeded) as info:
        sw.check_budget(0.1)
    assert 'budget={"USD": 0.42, "credits": 72}' in str(info.value)
    assert info.value.needed == {"USD": 0.42, "credits": 72}


def test_an_unknown_axis_is_refused_with_a_guess() -> None:
    from hh_notebook.errors import UnknownParameter

    with pytest.raises(UnknownParameter, match="did you mean 'seed'"):
        sweep_from_magic_args(PROMPT, ["seeds=1-3"])


def test_a_plain_python_sweep_prints_one_progress_line(
    sandbox: Sandbox, make_client: Callable[..., Client], capsys: pytest.CaptureFixture[str]
) -> None:
    sw = sweep(PROMPT, client=make_client(sandbox), seed="111-112", **CHEAP)
    sw.run(budget=5, timeout=60, progress=True)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n")
    assert err.split("\r")[-1].startswith(f"sweep {sw.id}: finished · 2/2 done")


def test_the_csv_never_holds_a_spreadsheet_formula(
    sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    sw = sweep("=HYPERLINK(\"http://evil\")", client=make_client(sandbox), seed="121", **CHEAP)
    result = sw.run(budget=5, timeout=60)
    sw.set_rating(result.rows[0].key, 3, "+1 for this one")
    text = result.refresh().to_csv()
    assert "'=HYPERLINK" in text and "'+1 for this one" in text
    assert ",=" not in text and ",+" not in text


def test_a_sweep_timeout_that_never_ends_is_refused(
    sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    sw = sweep(PROMPT, client=make_client(sandbox), seed="131-132", **CHEAP)
    mark = log_mark(sandbox)
    with pytest.raises(ValidationError, match="timeout"):
        sw.run(budget=5, timeout=float("nan"))
    assert submits(sandbox, mark) == []


def test_a_sandbox_sweep_never_speaks_of_money_spent(
    sandbox: Sandbox, make_client: Callable[..., Client]
) -> None:
    sw = sweep(PROMPT, client=make_client(sandbox), seed="141-142", **CHEAP)
    preview = sw.preview_text()
    assert "sandbox — not paid" in preview and "spent" not in preview
    assert "at the providers' prices (sandbox — not paid)" in str(sw.estimate())
