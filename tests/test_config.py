"""Provider, key, base URL and data directory resolution."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from hh_notebook.config import SANDBOX_KEY, Secret, default_data_dir, resolve_settings
from hh_notebook.errors import ConfigError, ValidationError

KEY_VARS = ("SEGMIND_API_KEY", "APIFRAME_API_KEY", "HIAPI_API_KEY", "HH_OPENAI_API_KEY")


def env(**values: str) -> dict[str, str]:
    return {"HH_DATA_DIR": "/tmp/hh-test-data", **values}


def test_secret_never_shows() -> None:
    key = Secret("SG_canary0123456789abcdef")
    assert "canary" not in repr(key) and "canary" not in str(key) and "canary" not in f"{key}"
    assert key.reveal() == "SG_canary0123456789abcdef"
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_explicit_provider_beats_everything() -> None:
    s = resolve_settings("apiframe", env=env(HH_PROVIDER="hiapi", SEGMIND_API_KEY="sg",
                                             APIFRAME_API_KEY="af"))
    assert (s.provider, s.api_key.reveal(), s.is_sandbox) == ("apiframe", "af", False)
    assert s.base_url == "https://api.apiframe.ai"


def test_hh_provider_beats_key_order() -> None:
    s = resolve_settings(env=env(HH_PROVIDER="hiapi", SEGMIND_API_KEY="sg", HIAPI_API_KEY="hi"))
    assert (s.provider, s.api_key.reveal()) == ("hiapi", "hi")


@pytest.mark.parametrize(
    ("keys", "expected"),
    [({"SEGMIND_API_KEY": "a", "HIAPI_API_KEY": "b"}, "segmind"),
     ({"HIAPI_API_KEY": "b", "APIFRAME_API_KEY": "c"}, "apiframe"),
     ({"HH_OPENAI_API_KEY": "d", "HH_OPENAI_BASE_URL": "https://gw.example"}, "openai")],
)
def test_first_provider_with_a_key(keys: dict[str, str], expected: str) -> None:
    assert resolve_settings(env=env(**keys)).provider == expected


def test_explicit_key_beats_the_environment() -> None:
    s = resolve_settings("segmind", api_key="explicit", env=env(SEGMIND_API_KEY="from-env"))
    assert s.api_key.reveal() == "explicit"


def test_base_url_from_argument_or_environment() -> None:
    s = resolve_settings("segmind", api_key="k",
                         env=env(HH_SEGMIND_BASE_URL="http://127.0.0.1:9/"))
    assert s.base_url == "http://127.0.0.1:9"
    s = resolve_settings("segmind", api_key="k", base_url="http://127.0.0.1:8",
                         env=env(HH_SEGMIND_BASE_URL="http://127.0.0.1:9"))
    assert s.base_url == "http://127.0.0.1:8"
    assert not s.is_sandbox  # nothing answers /_sandbox/info there


def test_missing_key_is_a_clear_config_error_when_another_key_is_set() -> None:
    with pytest.raises(ConfigError, match="SEGMIND_API_KEY"):
        resolve_settings("segmind", env=env(HIAPI_API_KEY="hi"))


def test_missing_key_with_a_real_base_url_is_an_error() -> None:
    with pytest.raises(ConfigError, match="HIAPI_API_KEY"):
        resolve_settings("hiapi", base_url="http://127.0.0.1:9", env=env())


@pytest.mark.parametrize("provider", ["segmind", "apiframe", "hiapi"])
def test_named_provider_without_its_key_is_an_error_naming_the_variable(provider: str) -> None:
    variable = {"segmind": "SEGMIND_API_KEY", "apiframe": "APIFRAME_API_KEY",
                "hiapi": "HIAPI_API_KEY"}[provider]
    with pytest.raises(ConfigError) as info:
        resolve_settings(provider, env=env())
    message = str(info.value)
    assert variable in message and "jupyter lab" in message and "'sandbox'" in message


def test_hh_provider_without_its_key_is_an_error_too() -> None:
    with pytest.raises(ConfigError, match="HIAPI_API_KEY"):
        resolve_settings(env=env(HH_PROVIDER="hiapi"))


@pytest.mark.parametrize("how", ["argument", "HH_PROVIDER"])
def test_sandbox_as_a_provider_is_the_local_sandbox_speaking_segmind(how: str) -> None:
    values = env(HH_SANDBOX_TIME_SCALE="0.005", SEGMIND_API_KEY="real-key")
    if how == "HH_PROVIDER":
        values["HH_PROVIDER"] = "Sandbox"
    s = resolve_settings("sandbox" if how == "argument" else None, env=values)
    assert (s.provider, s.is_sandbox) == ("segmind", True)
    assert s.base_url.startswith("http://127.0.0.1:")
    assert s.api_key.reveal() == SANDBOX_KEY  # the real key is never sent to a sandbox


def test_sandbox_true_speaks_the_named_providers_protocol() -> None:
    s = resolve_settings("hiapi", sandbox=True, env=env(HH_SANDBOX_TIME_SCALE="0.005"))
    assert (s.provider, s.is_sandbox) == ("hiapi", True)


def test_unknown_provider_is_a_validation_error_with_a_guess() -> None:
    with pytest.raises(ValidationError) as info:
        resolve_settings("segmnd", env=env())
    assert info.value.fields == ["provider"] and "did you mean 'segmind'" in str(info.value)


def test_an_empty_provider_name_is_refused_not_the_default() -> None:
    with pytest.raises(ValidationError, match="provider name is empty"):
        resolve_settings("", env=env(SEGMIND_API_KEY="sg"))


def test_an_unknown_hh_provider_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="^HH_PROVIDER: unknown provider 'runway'"):
        resolve_settings(env=env(HH_PROVIDER="runway"))


@pytest.mark.parametrize("value", ["abc", "nan", "inf", "0", "-1"])
def test_a_bad_sandbox_time_scale_names_the_variable(value: str) -> None:
    from hh_notebook.config import read_number

    with pytest.raises(ConfigError, match="^HH_SANDBOX_TIME_SCALE: "):
        read_number("HH_SANDBOX_TIME_SCALE", {"HH_SANDBOX_TIME_SCALE": value}, 0.03)


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    for where in (afile, afile / "sub"):
        with pytest.raises(ConfigError, match="a file, not a folder"):
            default_data_dir(where)
    with pytest.raises(ConfigError, match="HH_DATA_DIR"):
        default_data_dir(None, {"HH_DATA_DIR": str(afile)})


def test_aggregator_needs_a_base_url() -> None:
    with pytest.raises(ConfigError, match="HH_OPENAI_BASE_URL"):
        resolve_settings("openai", api_key="k", env=env())


def test_non_http_base_url_is_refused() -> None:
    with pytest.raises(ConfigError):
        resolve_settings("segmind", api_key="k", base_url="file:///tmp", env=env())


def test_a_sandbox_base_url_needs_no_key(sandbox) -> None:
    s = resolve_settings("hiapi", base_url=sandbox.base_url, env=env())
    assert s.is_sandbox and s.api_key.reveal() == SANDBOX_KEY
    assert s.sandbox_time_scale == sandbox.time_scale


def test_data_dir_order(tmp_path: Path) -> None:
    assert default_data_dir(tmp_path, {"HH_DATA_DIR": "/elsewhere"}) == tmp_path
    assert default_data_dir(None, {"HH_DATA_DIR": str(tmp_path)}) == tmp_path
    assert default_data_dir(None, {}).name == "hh_notebook"


def test_no_key_anywhere_starts_the_local_sandbox_with_one_notice(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    code = (
        "from hh_notebook.client import Client\n"
        "a = Client(); b = Client(provider='hiapi', sandbox=True)\n"
        "print(a.provider, a.is_sandbox, a.base_url == b.base_url, b.provider, a.time_scale)\n"
    )
    clean = {k: v for k, v in os.environ.items() if k not in KEY_VARS and k != "HH_PROVIDER"}
    clean.update(HH_DATA_DIR=str(tmp_path), HH_SANDBOX_TIME_SCALE="0.02")
    done = subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.split() == ["segmind", "True", "True", "hiapi", "0.02"]
    notices = [line for line in done.stderr.splitlines() if "synthetic" in line]
    assert len(notices) == 1
    assert "sandbox" in notices[0] and "http://127.0.0.1:" in notices[0]


def test_sandbox_false_refuses_the_fallback() -> None:
    with pytest.raises(ConfigError, match="no provider configured"):
        resolve_settings(sandbox=False, env=env())
