"""%%happyhorse and %happyhorse driven through IPython's own shell, against the sandbox."""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from core_fixtures import write_image
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from hh_notebook import magics, runtime
from hh_notebook.magics import interpolate
from hh_notebook.request import GenerationRequest
from hh_notebook.runtime import blocking_wanted, is_headless


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path, sandbox: Any) -> pathlib.Path:
    """Point the default client at the session sandbox with its own data dir; no real keys."""
    for var in (
        "SEGMIND_API_KEY",
        "APIFRAME_API_KEY",
        "HIAPI_API_KEY",
        "HH_OPENAI_API_KEY",
        "HH_PROVIDER",
        "HH_WAIT",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HH_SEGMIND_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("HH_HIAPI_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("HH_PROVIDER", "segmind")
    monkeypatch.setenv("HH_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture
def ip(env: pathlib.Path) -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "hh_notebook")
    yield shell
    for name in ("clip", "req", "frame", "animal", "job", "other"):
        shell.user_ns.pop(name, None)
    shell.magics_manager.registry.pop("HappyHorseMagics", None)
    shell.extension_manager.loaded.discard("hh_notebook")


def submits(sandbox: Any) -> list[dict[str, Any]]:
    return [
        r for r in sandbox.request_log() if r["method"] == "POST" and r.get("endpoint") == "submit"
    ]


# --------------------------------------------------------------------------- interpolation


def test_interpolation_replaces_names_and_dotted_attributes() -> None:
    ns = {"animal": "horse", "scene": type("S", (), {"place": "beach"})()}
    assert interpolate("a {{animal}} on a {{ scene.place }}", ns) == "a horse on a beach"


def test_interpolation_leaves_single_braces_dollars_and_expressions_alone() -> None:
    text = 'json {"a": 1} costs $5 and {{ 1 + 2 }} stays'
    assert interpolate(text, {}) == text


def test_interpolation_escape_keeps_literal_double_braces() -> None:
    assert interpolate(r"\{{animal}} vs {{animal}}", {"animal": "fox"}) == "{{animal}} vs fox"


def test_interpolation_of_unknown_name_is_a_usage_error_naming_it() -> None:
    with pytest.raises(UsageError, match="prompt.*'missing'"):
        interpolate("a {{ missing }}", {})


def test_interpolation_of_missing_attribute_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no attribute 'nope'"):
        interpolate("{{ x.nope }}", {"x": 3})


# --------------------------------------------------------------------------- options


def test_help_lists_every_option(ip: InteractiveShell) -> None:
    with capture_output() as out:
        ip.run_cell_magic("happyhorse", "--help", "ignored")
    for option in (
        "--duration",
        "--resolution",
        "--aspect",
        "--seed",
        "--image",
        "--ref",
        "--negative",
        "--no-extend",
        "--watermark",
        "--provider",
        "--model",
        "--output",
        "--wait",
        "--dry-run",
        "--force",
        "{{ name }}",
    ):
        assert option in out.stdout


def test_unknown_option_is_a_one_line_usage_error(ip: InteractiveShell) -> None:
    with capture_output() as out:
        result = ip.run_cell("%%happyhorse --bogus\na horse")
    assert isinstance(result.error_in_exec, UsageError)
    assert "--bogus" in str(result.error_in_exec)
    assert "Traceback" not in out.stdout + out.stderr


def test_bad_option_value_names_the_option(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="duration.*'five'"):
        ip.run_cell_magic("happyhorse", "-d five", "a horse")


def test_invalid_request_is_one_line_naming_the_field(ip: InteractiveShell, sandbox: Any) -> None:
    before = len(submits(sandbox))
    with pytest.raises(UsageError) as err:
        ip.run_cell_magic("happyhorse", "-d 2 -s 7", "a horse")
    message = str(err.value)
    assert "duration" in message and "\n" not in message
    assert len(submits(sandbox)) == before


def test_several_problems_are_reported_together(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="2 problems") as err:
        ip.run_cell_magic("happyhorse", "-d 20 -r 4K", "a horse")
    assert "duration" in str(err.value) and "resolution" in str(err.value)


def test_more_than_nine_references_is_refused(ip: InteractiveShell, env: pathlib.Path) -> None:
    refs = " ".join(f"--ref https://example.com/{i}.png" for i in range(10))
    with pytest.raises(UsageError, match="reference_images: at most 9"):
        ip.run_cell_magic("happyhorse", refs, "[Image 1] runs")


def test_image_option_takes_a_notebook_variable(ip: InteractiveShell, env: pathlib.Path) -> None:
    from PIL import Image

    ip.user_ns["frame"] = Image.open(write_image(env, "f.png", 640, 360))
    with capture_output():
        ip.run_cell_magic("happyhorse", "--image frame --dry-run -o req", "it starts to rain")
    req = ip.user_ns["req"]
    assert isinstance(req, GenerationRequest)
    assert req.mode.value == "i2v" and req.image is ip.user_ns["frame"]


def test_image_option_that_is_no_variable_file_or_url_is_refused(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="image: 'nothing_here'"):
        ip.run_cell_magic("happyhorse", "--image nothing_here --dry-run", "rain")


def test_references_and_options_map_onto_the_request(ip: InteractiveShell) -> None:
    line = (
        "-d 8 -r 1080p -a 9:16 -s 42 -n 'blurry, text' --no-extend --watermark --model 1.1 "
        "--ref https://example.com/a.png --ref https://example.com/b.png --dry-run -o req"
    )
    with capture_output():
        ip.run_cell_magic("happyhorse", line, "[Image 1] rides [Image 2]")
    req = ip.user_ns["req"]
    assert (req.duration, req.resolution, req.aspect_ratio, req.seed) == (8, "1080P", "9:16", 42)
    assert req.negative_prompt == "blurry, text"
    assert (req.prompt_extend, req.watermark, req.model) == (False, True, "1.1")
    assert req.reference_images == ["https://example.com/a.png", "https://example.com/b.png"]
    assert req.mode.value == "r2v"


def test_audio_and_last_frame_map_onto_the_request(ip: InteractiveShell) -> None:
    line = ("--model 1.0 -d 2 --image https://example.com/a.png --last-frame "
            "https://example.com/b.png --audio https://example.com/s.wav --dry-run -o req")
    with capture_output():
        ip.run_cell_magic("happyhorse", line, "the horse says hello")
    req = ip.user_ns["req"]
    assert (req.image, req.last_frame, req.audio) == (
        "https://example.com/a.png", "https://example.com/b.png", "https://example.com/s.wav")
    assert (req.model, req.duration, req.mode.value) == ("1.0", 2, "i2v")


def test_audio_at_a_version_that_does_not_take_it_is_one_clear_line(
    ip: InteractiveShell,
) -> None:
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("happyhorse", "--audio https://example.com/s.wav --dry-run", "hello")
    assert "audio" in str(info.value) and "segmind 1.0" in str(info.value)
    assert "\n" not in str(info.value)


def test_prompt_interpolation_happens_in_the_cell_body(ip: InteractiveShell) -> None:
    ip.user_ns["animal"] = "zebra"
    with capture_output():
        ip.run_cell_magic("happyhorse", "--dry-run -o req", "a {{animal}} in {fog}")
    assert ip.user_ns["req"].prompt == "a zebra in {fog}"


# --------------------------------------------------------------------------- running


def test_dry_run_shows_mode_and_cost_and_submits_nothing(
    ip: InteractiveShell, sandbox: Any
) -> None:
    before = len(submits(sandbox))
    with capture_output() as out:
        ip.run_cell_magic("happyhorse", "-d 5 -r 720P --dry-run", "a horse on a beach")
    shown = out.outputs[-1].data
    assert "$0.70" in shown["text/html"] and "text-to-video" in shown["text/html"]
    assert "sandbox — not paid" in shown["text/html"]
    assert shown["text/plain"].count("nothing submitted") == 1  # said once, not twice
    assert len(submits(sandbox)) == before


def test_dry_run_escapes_the_prompt(ip: InteractiveShell) -> None:
    with capture_output() as out:
        ip.run_cell_magic("happyhorse", "--dry-run", "<img src=x onerror=alert(1)> horse")
    html = out.outputs[-1].data["text/html"]
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_wait_blocks_until_the_clip_is_on_disk_and_binds_the_job(
    ip: InteractiveShell, sandbox: Any
) -> None:
    before = len(submits(sandbox))
    with capture_output():
        ip.run_cell_magic("happyhorse", "-d 3 -s 11 --wait -o clip", "a grey horse trotting")
    job = ip.user_ns["clip"]
    assert job.status.value == "succeeded"
    assert job.video_path is not None and pathlib.Path(job.video_path).stat().st_size > 0
    assert len(submits(sandbox)) == before + 1


def test_same_seeded_cell_twice_is_served_from_the_journal_unless_forced(
    ip: InteractiveShell, sandbox: Any
) -> None:
    with capture_output():
        ip.run_cell_magic("happyhorse", "-d 3 -s 12 --wait -o clip", "a paid horse")
        n = len(submits(sandbox))
        ip.run_cell_magic("happyhorse", "-d 3 -s 12 --wait -o other", "a paid horse")
        assert ip.user_ns["other"].from_cache and len(submits(sandbox)) == n
        ip.run_cell_magic("happyhorse", "-d 3 -s 12 --wait --force -o other", "a paid horse")
    assert not ip.user_ns["other"].from_cache and len(submits(sandbox)) == n + 1


def test_provider_error_is_a_one_line_usage_error(
    ip: InteractiveShell, fresh_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HH_SEGMIND_BASE_URL", fresh_sandbox.base_url)
    fresh_sandbox.set_balance("segmind", 0.0)
    with pytest.raises(UsageError) as err:
        ip.run_cell_magic("happyhorse", "-d 3 --wait", "a horse")
    message = str(err.value)
    assert "\n" not in message
    assert "406" in message or "credit" in message.lower(), message


def test_provider_error_in_a_headless_run_is_a_usage_error_shown_in_the_static_view(
    ip: InteractiveShell, fresh_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HH_SEGMIND_BASE_URL", fresh_sandbox.base_url)
    monkeypatch.setattr(magics, "view_kind", lambda: "static")
    fresh_sandbox.set_balance("segmind", 0.0)
    with capture_output() as out, pytest.raises(UsageError) as err:
        ip.run_cell_magic("happyhorse", "-d 3 --wait", "a <b>horse</b>")
    assert "\n" not in str(err.value)
    pages = [o.data.get("text/html", "") for o in out.outputs]
    assert any("hh-job-static" in p and "failed" in p for p in pages), pages
    assert all("<b>horse</b>" not in p for p in pages)


# --------------------------------------------------------------------------- line magic


def test_jobs_lists_the_journal(ip: InteractiveShell) -> None:
    with capture_output():
        ip.run_cell_magic("happyhorse", "-d 3 -s 21 --wait -o clip", "a listed <b>horse</b>")
    table = ip.run_line_magic("happyhorse", "jobs")
    text, html = repr(table), table._repr_html_()
    assert ip.user_ns["clip"].id[:8] in text and "succeeded" in text
    assert "sandbox — not paid" in text and "$" not in text  # never shown as money
    assert "a listed <b>horse</b>" in text
    assert "&lt;b&gt;horse&lt;/b&gt;" in html


def test_show_displays_a_job_by_id_prefix(ip: InteractiveShell) -> None:
    with capture_output():
        ip.run_cell_magic("happyhorse", "-d 3 -s 22 --wait -o clip", "a shown horse")
    with capture_output() as out:
        ip.run_line_magic("happyhorse", f"show {ip.user_ns['clip'].id[:10]}")
    assert "a shown horse" in out.outputs[0].data["text/html"]
    assert "<video" in out.outputs[0].data["text/html"]


def test_show_lists_the_clip_metrics_and_stores_them(ip: InteractiveShell) -> None:
    from hh_notebook.metrics import METRICS_VERSION, file_sha256

    with capture_output():
        ip.run_cell_magic("happyhorse", "-d 3 -s 23 --wait -o clip", "a measured horse")
    clip = ip.user_ns["clip"]
    with capture_output() as out:
        ip.run_line_magic("happyhorse", f"show {clip.id[:10]}")
    table = out.outputs[-1].data["text/plain"]
    assert f"clip metrics of job {clip.id[:8]}" in table
    for row in ("motion", "px/frame", "flicker", "cuts", "loudness", "LUFS"):
        assert row in table, row
    journal = magics_client(ip).journal
    stored = journal.get_metrics(file_sha256(clip.video_path), METRICS_VERSION)
    assert stored is not None and f"{stored['cuts']}" in table


def test_show_without_the_metrics_extra_says_so_in_one_line(
        ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> None:
    with capture_output():
        ip.run_cell_magic("happyhorse", "-d 3 -s 24 --wait -o clip", "an unmeasured horse")
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` fail
    with capture_output() as out:
        ip.run_line_magic("happyhorse", f"show {ip.user_ns['clip'].id[:10]}")
    assert out.stdout.strip().splitlines() == [
        "happyhorse: no clip metrics without the metrics extra: pip install 'hh_notebook[metrics]'"
    ]
    assert "<video" in out.outputs[0].data["text/html"]


def magics_client(ip: InteractiveShell) -> Any:
    """The client the loaded magics use (same data dir as the test's)."""
    return ip.magics_manager.registry["HappyHorseMagics"].client()


def test_show_unknown_id_is_a_usage_error(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="show: no job"):
        ip.run_line_magic("happyhorse", "show ffffffffff")


def test_config_says_which_keys_are_set_but_never_shows_them(
    ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMIND_API_KEY", "SG_0123456789abcdef")
    view = ip.run_line_magic("happyhorse", "config")
    text = repr(view) + view._repr_html_()
    assert "SG_0123456789abcdef" not in text
    assert "SEGMIND_API_KEY" in text and "set" in text and "segmind" in text


def test_cost_sums_this_session(ip: InteractiveShell) -> None:
    with capture_output():
        ip.run_cell_magic("happyhorse", "-d 3 -s 31 --wait", "a costly horse")
        ip.run_cell_magic("happyhorse", "-d 4 -s 32 --wait", "another costly horse")
    view = ip.run_line_magic("happyhorse", "cost")
    session, total = repr(view).splitlines()
    assert "2 sandbox clips — not paid" in session and "$" not in session
    assert "2 sandbox clips — not paid" in total and "$" not in total


def test_a_provider_named_without_its_key_is_refused_not_the_sandbox(
    ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch, sandbox: Any
) -> None:
    monkeypatch.delenv("HH_APIFRAME_BASE_URL", raising=False)
    before = len(submits(sandbox))
    with pytest.raises(UsageError) as err:
        ip.run_cell_magic("happyhorse", "--provider apiframe -d 3", "a horse")
    assert "APIFRAME_API_KEY" in str(err.value) and "jupyter lab" in str(err.value)
    assert len(submits(sandbox)) == before


def test_sandbox_flag_runs_a_providers_protocol_on_the_local_sandbox(
    ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HH_SANDBOX_TIME_SCALE", "0.005")
    with capture_output():
        ip.run_cell_magic("happyhorse", "--provider apiframe --sandbox -d 3 --dry-run -o req",
                          "a horse")
    client = ip.find_magic("happyhorse").__self__.client("apiframe", sandbox=True)
    assert client.provider == "apiframe" and client.is_sandbox


def test_a_mistyped_option_gets_a_guess(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="did you mean --duration"):
        ip.run_cell_magic("happyhorse", "--durations 5", "a horse")


def test_jobs_with_zero_rows_is_refused(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="at least 1"):
        ip.run_line_magic("happyhorse", "jobs 0")


def test_unknown_subcommand_names_the_choices(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="jobs, resume, show, config, cost"):
        ip.run_line_magic("happyhorse", "frobnicate")


# --------------------------------------------------------------------------- blocking rules


class _FakeKernel:
    def __init__(self, allow_stdin: bool) -> None:
        self._allow_stdin = allow_stdin


def test_headless_means_execute_requests_without_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    shell = InteractiveShell.instance()
    monkeypatch.setattr(shell, "kernel", _FakeKernel(allow_stdin=False), raising=False)
    assert is_headless()
    monkeypatch.setattr(shell, "kernel", _FakeKernel(allow_stdin=True), raising=False)
    assert not is_headless()


def test_blocking_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "in_kernel", lambda: True)
    monkeypatch.setattr(runtime, "is_headless", lambda: False)
    assert not blocking_wanted(False, {})
    assert blocking_wanted(True, {})
    assert blocking_wanted(False, {"HH_WAIT": "1"})
    monkeypatch.setattr(runtime, "is_headless", lambda: True)
    assert blocking_wanted(False, {})
    assert not blocking_wanted(False, {"HH_WAIT": "0"})
    monkeypatch.setattr(runtime, "in_kernel", lambda: False)
    monkeypatch.setattr(runtime, "is_headless", lambda: False)
    assert blocking_wanted(False, {})


def test_resume_with_nothing_unfinished_says_so(ip: InteractiveShell) -> None:
    with capture_output() as out:
        ip.run_line_magic("happyhorse", "resume")
    assert "no unfinished jobs" in out.stdout


def test_resume_finishes_a_job_left_unfinished(ip: InteractiveShell) -> None:
    from hh_notebook.runtime import run_blocking as run_sync

    magics_obj = ip.magics_manager.registry["HappyHorseMagics"]
    client = magics_obj.client()
    # Submitted, then the session "ended" before the job was followed to its end.
    job = run_sync(client.submit(GenerationRequest(prompt="an unfinished horse", duration=3)))
    client.cancel(job.id)
    assert [r.id for r in client.journal.jobs(unfinished=True)] == [job.id]
    with capture_output():
        ip.run_line_magic("happyhorse", "resume")
    assert client.journal.jobs(unfinished=True) == []
    assert client.journal.get(job.id).status == "succeeded"


def test_sweep_runs_a_grid_through_the_sweep_module(ip: InteractiveShell, sandbox: Any) -> None:
    before = len(submits(sandbox))
    with capture_output():
        ip.run_cell_magic("happyhorse", "-d 3 --sweep seed=1-2 --wait -o clip", "a swept horse")
    result = ip.user_ns["clip"]
    assert len(submits(sandbox)) - before == 2
    assert type(result).__name__ == "SweepResult"


def test_sweep_with_a_bad_axis_is_a_usage_error(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="sweep"):
        ip.run_cell_magic("happyhorse", "--sweep colour=red --wait", "a horse")


def test_sweep_over_budget_is_refused_before_submitting(ip: InteractiveShell, sandbox: Any) -> None:
    before = len(submits(sandbox))
    with pytest.raises(UsageError, match="budget"):
        ip.run_cell_magic("happyhorse", "-d 3 --sweep seed=50-53 --budget 0.5 --wait", "a horse")
    assert len(submits(sandbox)) == before


def test_view_kind_follows_the_front_end_and_hh_display(monkeypatch: pytest.MonkeyPatch) -> None:
    from hh_notebook.runtime import view_kind

    monkeypatch.setattr(runtime, "in_kernel", lambda: False)
    assert view_kind({"HH_DISPLAY": "widget"}) == "text"  # no kernel: nothing can render one
    monkeypatch.setattr(runtime, "in_kernel", lambda: True)
    monkeypatch.setattr(runtime, "is_headless", lambda: False)
    assert view_kind({}) == "widget"
    assert view_kind({"HH_DISPLAY": "static"}) == "static"
    monkeypatch.setattr(runtime, "is_headless", lambda: True)
    assert view_kind({}) == "static"
    assert view_kind({"HH_DISPLAY": "widget"}) == "widget"
