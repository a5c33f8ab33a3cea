"""The bad-input table through the magic and the command, and every command mistake a
newcomer made: refused before any HTTP request (the sandbox's request log), with no journal
row, in one line naming the field — and for the command, exit status 2 and no traceback."""

from __future__ import annotations

import pathlib
import shlex
from collections.abc import Iterator

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from test_validation_table import BAD_REQUESTS, as_options, names_every_field

from hh_notebook import catalog, config
from hh_notebook.cli import main
from hh_notebook.journal import Journal
from hh_notebook.sandbox import Sandbox

MAGIC_CASES = [c for c in BAD_REQUESTS if as_options(c[2], None, "magic") is not None]
CLI_CASES = [c for c in BAD_REQUESTS if as_options(c[2], None, "cli") is not None]


@pytest.fixture(scope="module")
def quiet_sandbox(sandbox_clip_cache: pathlib.Path) -> Iterator[Sandbox]:
    """A sandbox no other test's jobs talk to: its request log counts this module's only."""
    with Sandbox(time_scale=0.005, cache_dir=sandbox_clip_cache) as sb:
        yield sb


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path,
             quiet_sandbox: Sandbox) -> pathlib.Path:
    """No key anywhere; every provider's base URL at the quiet sandbox; Segmind by default."""
    for name in catalog.PROVIDERS:
        facts = catalog.facts(name)
        monkeypatch.delenv(facts.env_key, raising=False)
        monkeypatch.setenv(facts.base_url_env, quiet_sandbox.base_url)
    for name in ("HH_BUDGET", "HH_SWEEP_CONCURRENCY", "HH_WAIT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HH_PROVIDER", "segmind")
    folder = tmp_path / "data"
    monkeypatch.setenv("HH_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def ip(data_dir: pathlib.Path) -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "hh_notebook")
    yield shell
    for name in [n for n in shell.user_ns if n.startswith("hh_bad_")]:
        shell.user_ns.pop(name)
    shell.magics_manager.registry.pop("HappyHorseMagics", None)
    shell.extension_manager.loaded.discard("hh_notebook")


def nothing_recorded(folder: pathlib.Path) -> bool:
    journal = folder / "journal.sqlite3"
    return not journal.exists() or Journal(journal).jobs() == []


def provider_options(provider: str | None) -> list[str]:
    return [] if provider is None else ["--provider", provider]


def test_the_doors_replay_most_of_the_table() -> None:
    assert len(MAGIC_CASES) >= 120 and len(CLI_CASES) >= 100


@pytest.mark.parametrize(("case", "provider", "kwargs", "expected"), MAGIC_CASES,
                         ids=[c[0] for c in MAGIC_CASES])
def test_the_magic_refuses_the_table_before_sending(ip: InteractiveShell, data_dir, quiet_sandbox,
                                                    tmp_path, case, provider, kwargs,
                                                    expected) -> None:
    said = as_options(kwargs, tmp_path, "magic", ip.user_ns)
    assert said is not None
    prompt, options = said
    line = " ".join(shlex.quote(o) for o in provider_options(provider) + options)
    before = len(quiet_sandbox.request_log())
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("happyhorse", line, prompt)
    message = str(info.value)
    assert names_every_field(message, expected), message
    assert "\n" not in message and "Traceback" not in message
    assert len(quiet_sandbox.request_log()) == before
    assert nothing_recorded(data_dir)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``happyhorse *argv`` in this process: (exit status, stdout, stderr)."""
    try:
        status = main(list(argv))
    except SystemExit as exc:
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line(status: int, _out: str, err: str) -> str:
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(("case", "provider", "kwargs", "expected"), CLI_CASES,
                         ids=[c[0] for c in CLI_CASES])
def test_the_command_refuses_the_table_before_sending(capsys, data_dir, quiet_sandbox, tmp_path,
                                                      case, provider, kwargs,
                                                      expected) -> None:
    files = tmp_path / "inputs"
    files.mkdir()
    said = as_options(kwargs, files, "cli")
    assert said is not None
    prompt, options = said
    before = len(quiet_sandbox.request_log())
    line = assert_one_line(*run_cli(capsys, "generate", *provider_options(provider), *options,
                                    "--", prompt))
    assert names_every_field(line, expected), line
    assert len(quiet_sandbox.request_log()) == before
    assert nothing_recorded(data_dir)


# ------------------------------------------------------------------ the newcomer's mistakes

def _a_file(tmp_path: pathlib.Path) -> str:
    path = tmp_path / "notes.txt"
    path.write_text("not a folder")
    return str(path)


#: (id, environment, argv, words the one line must hold). ``{file}``: an existing file;
#: ``{folder}``: an existing folder.
CLI_MISTAKES: list[tuple[str, dict[str, str], list[str], list[str]]] = [
    ("sweep-unknown-axis", {}, ["sweep", "a fox", "--sweep", "seeds=1-3"],
     ["seeds", "did you mean 'seed'"]),
    ("sweep-four-axes", {}, ["sweep", "a fox", "--sweep", "seed=1-2", "--sweep",
                             "aspect=16:9,9:16", "--sweep", "duration=3,4", "--sweep",
                             "resolution=720P,1080P"], ["at most 3 axes"]),
    ("sweep-axis-without-values", {}, ["sweep", "a fox", "--sweep", "seed"],
     ["--sweep", "NAME=VALUES"]),
    ("data-dir-is-a-file", {}, ["generate", "a fox", "--data-dir", "{file}"],
     ["--data-dir", "not a folder"]),
    ("jobs-data-dir-is-a-file", {}, ["jobs", "--data-dir", "{file}"], ["--data-dir"]),
    ("report-is-an-existing-file", {}, ["sweep", "a fox", "--sweep", "seed=1-2", "--report",
                                        "{file}"], ["--report", "is a file"]),
    ("csv-is-a-folder", {}, ["sweep", "a fox", "--sweep", "seed=1-2", "--csv", "{folder}"],
     ["--csv", "is a folder"]),
    ("concurrency-zero", {}, ["sweep", "a fox", "--sweep", "seed=1-2", "--concurrency", "0"],
     ["--concurrency", "at least 1"]),
    ("concurrency-words", {}, ["sweep", "a fox", "--sweep", "seed=1-2", "--concurrency",
                               "four"], ["--concurrency", "invalid int"]),
    ("budget-not-a-number", {}, ["sweep", "a fox", "--sweep", "seed=1-2", "--budget", "abc"],
     ["--budget", "'abc'"]),
    ("budget-negative", {}, ["sweep", "a fox", "--sweep", "seed=1-2", "--budget", "-5"],
     ["--budget", "at least 0"]),
    ("budget-nan", {}, ["sweep", "a fox", "--sweep", "seed=1-2", "--budget", "nan"],
     ["--budget", "not a finite number"]),
    ("budget-infinite", {}, ["sweep", "a fox", "--sweep", "seed=1-2", "--budget", "inf"],
     ["--budget", "not a finite number"]),
    ("budget-unknown-currency", {}, ["sweep", "a fox", "--sweep", "seed=1-2", "--budget",
                                     "EUR=5"], ["--budget", "unknown currency 'EUR'"]),
    ("hh-budget-not-a-number", {"HH_BUDGET": "abc"}, ["sweep", "a fox", "--sweep", "seed=1-2"],
     ["HH_BUDGET", "'abc'"]),
    ("hh-budget-nan", {"HH_BUDGET": "nan"}, ["sweep", "a fox", "--sweep", "seed=1-2"],
     ["HH_BUDGET"]),
    ("hh-sweep-concurrency-words", {"HH_SWEEP_CONCURRENCY": "four"},
     ["sweep", "a fox", "--sweep", "seed=1-2"], ["HH_SWEEP_CONCURRENCY", "'four'"]),
    ("hh-sweep-concurrency-zero", {"HH_SWEEP_CONCURRENCY": "0"},
     ["sweep", "a fox", "--sweep", "seed=1-2"], ["HH_SWEEP_CONCURRENCY", "at least 1"]),
    ("budget-refusal-speaks-options", {}, ["sweep", "a fox", "--sweep", "seed=1-8", "-d",
                                           "10", "--budget", "1"],
     ["Nothing was submitted", "--confirm", "--budget 11.20"]),
    ("mixed-currency-refusal-shows-the-form", {},
     ["sweep", "a fox", "--sweep", "provider=segmind,apiframe", "-d", "10", "--budget", "1"],
     ["--confirm", "--budget USD=1.40,credits=240"]),
    ("provider-without-its-key", {"HH_APIFRAME_BASE_URL": ""},
     ["generate", "a fox", "--provider", "apiframe"],
     ["APIFRAME_API_KEY", "jupyter lab", "'sandbox'"]),
    ("hh-provider-without-its-key", {"HH_PROVIDER": "apiframe", "HH_APIFRAME_BASE_URL": ""},
     ["generate", "a fox"], ["APIFRAME_API_KEY"]),
    ("provider-empty", {}, ["generate", "a fox", "--provider", ""], ["provider", "empty"]),
    ("provider-typo", {}, ["generate", "a fox", "--provider", "hiap"],
     ["did you mean 'hiapi'"]),
    ("hh-provider-unknown", {"HH_PROVIDER": "runway"}, ["generate", "a fox"],
     ["HH_PROVIDER", "'runway'"]),
    ("jobs-limit-negative", {}, ["jobs", "--limit", "-1"], ["--limit", "at least 1"]),
    ("option-typo", {}, ["generate", "a fox", "--durations", "5"],
     ["--durations", "did you mean --duration?"]),
    ("command-typo", {}, ["generat", "a fox"], ["did you mean 'generate'"]),
    ("duration-too-short", {}, ["generate", "a fox", "-d", "2"], ["duration", "too short"]),
    ("image-is-a-device", {}, ["generate", "a fox", "--image", "/dev/zero"],
     ["image", "not a regular file"]),
    ("sandbox-time-scale-nan", {}, ["sandbox", "--time-scale", "nan"],
     ["--time-scale", "finite"]),
    ("demo-time-scale-zero", {}, ["demo", "--time-scale", "0"], ["--time-scale"]),
    ("hh-sandbox-time-scale-nan", {"HH_PROVIDER": "", "HH_SANDBOX_TIME_SCALE": "nan"},
     ["generate", "a fox", "--dry-run"], ["HH_SANDBOX_TIME_SCALE", "finite"]),
]


@pytest.mark.parametrize(("case", "env", "argv", "words"), CLI_MISTAKES,
                         ids=[c[0] for c in CLI_MISTAKES])
def test_each_command_mistake_is_one_line_and_exit_2(capsys, monkeypatch, data_dir,
                                                     quiet_sandbox, tmp_path, case, env, argv,
                                                     words) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # As in a fresh process: no local sandbox started yet by an earlier test.
    monkeypatch.setattr(config, "_sandbox", None)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    argv = [a.replace("{file}", _a_file(tmp_path)).replace("{folder}", str(folder))
            for a in argv]
    monkeypatch.chdir(tmp_path)
    before = len(quiet_sandbox.request_log())
    line = assert_one_line(*run_cli(capsys, *argv))
    for word in words:
        assert word in line, line
    assert len(quiet_sandbox.request_log()) == before
    assert nothing_recorded(data_dir)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv", [["generate", "a fox"], ["sweep", "a fox", "--sweep", "seed=1-2"]])
def test_a_dry_run_says_nothing_was_submitted_once(capsys, data_dir, argv) -> None:
    status, out, _ = run_cli(capsys, *argv, "--dry-run")
    assert status == 0 and out.lower().count("nothing submitted") == 1, out


@pytest.mark.parametrize("argv", [["--help"], ["jobs", "--help"], ["sandbox", "--help"],
                                  ["generate", "--help"]])
def test_the_help_speaks_plainly(capsys, argv) -> None:
    status, out, _ = run_cli(capsys, *argv)
    assert status == 0 and out.startswith("usage: happyhorse")
    assert "``" not in out and "python -m" not in out, out
    if argv[0] == "jobs":
        assert "journal and clips" in out and "newest jobs" in out
