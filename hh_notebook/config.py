"""Which provider runs, with which key, at which base URL, storing where.

Provider choice: an explicit ``provider=`` > ``HH_PROVIDER`` > the first provider whose key
variable is set (each provider's variable is in :mod:`hh_notebook.catalog`, checked in the
catalog's order) > the local sandbox, started in this process on 127.0.0.1 with a one-line
notice that its clips are synthetic. A provider named while no key of any provider and no
base URL is configured also runs on the sandbox, speaking that provider's protocol; with
some other provider's key set, a missing key is an error instead. Base URLs come from
``base_url=`` or the provider's base URL variable; the data directory from ``data_dir=``,
``HH_DATA_DIR`` or the per-user data directory. Keys are wrapped in :class:`Secret`, whose
repr never shows them.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from . import catalog
from .errors import ConfigError, register_secret

__all__ = [
    "DEFAULT_SANDBOX_TIME_SCALE",
    "SANDBOX_KEY",
    "Secret",
    "Settings",
    "choose_provider",
    "default_data_dir",
    "local_sandbox",
    "probe_sandbox",
    "provider_name",
    "resolve_settings",
]

log = logging.getLogger(__name__)

#: Sandbox speed when ``HH_SANDBOX_TIME_SCALE`` is unset: a 150 s job takes ~4.5 s.
DEFAULT_SANDBOX_TIME_SCALE = 0.03
#: The key sent to a sandbox when no real key is configured.
SANDBOX_KEY = "sandbox-placeholder-key"

SANDBOX_NOTICE = (
    "hh_notebook: no provider key found; using the local sandbox at {url} "
    f"(clips are synthetic test videos, not HappyHorse output; set "
    f"{catalog.facts(catalog.PROVIDERS[0]).env_key} or another provider key to generate for "
    "real)."
)


def _key_variables() -> str:
    names = [catalog.facts(p).env_key for p in catalog.PROVIDERS]
    return ", ".join(names[:-1]) + " or " + names[-1]


class Secret:
    """A string that does not show itself: ``repr`` and ``str`` are redacted.

    >>> key = Secret("SG_0123456789abcdef")
    >>> key
    Secret('***')
    >>> key.reveal()[:3]
    'SG_'
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a key must be a string")
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        """The secret value itself: only for building a request header."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class Settings:
    """A resolved configuration: what :class:`~hh_notebook.client.Client` runs with."""

    provider: str
    api_key: Secret
    base_url: str
    data_dir: Path
    is_sandbox: bool
    #: The sandbox's time scale (from ``GET /_sandbox/info``); None for real providers.
    sandbox_time_scale: float | None = None


def default_data_dir(data_dir: str | os.PathLike[str] | None = None,
                     env: Mapping[str, str] | None = None) -> Path:
    """``data_dir`` if given, else ``HH_DATA_DIR``, else the per-user data directory."""
    env = os.environ if env is None else env
    if data_dir is not None:
        return Path(data_dir).expanduser()
    if env.get("HH_DATA_DIR"):
        return Path(env["HH_DATA_DIR"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("hh_notebook", appauthor=False))


def probe_sandbox(base_url: str, timeout: float = 2.0) -> float | None:
    """The time scale of the sandbox at ``base_url``; None when it is not a sandbox."""
    try:
        answer = httpx.get(base_url.rstrip("/") + "/_sandbox/info", timeout=timeout)
        data = answer.json() if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("time_scale"), (int, float)):
        scale = float(data["time_scale"])
        return scale if scale > 0 else None
    return None


_sandbox_lock = threading.Lock()
_sandbox: Any = None


def local_sandbox(env: Mapping[str, str] | None = None) -> Any:
    """The sandbox this process started on loopback, starting it on first use.

    Its speed comes from ``HH_SANDBOX_TIME_SCALE`` (default 0.03). It stops when
    the interpreter exits. Prints one notice that clips are synthetic.
    """
    global _sandbox
    env = os.environ if env is None else env
    with _sandbox_lock:
        if _sandbox is not None:
            return _sandbox
        try:
            scale = float(env.get("HH_SANDBOX_TIME_SCALE") or DEFAULT_SANDBOX_TIME_SCALE)
        except ValueError:
            raise ConfigError(
                f"HH_SANDBOX_TIME_SCALE must be a number, got {env.get('HH_SANDBOX_TIME_SCALE')!r}"
            ) from None
        if scale <= 0:
            raise ConfigError("HH_SANDBOX_TIME_SCALE must be greater than 0")
        try:
            from .sandbox import Sandbox
        except ImportError as exc:  # the sandbox extra is not installed
            raise ConfigError(
                "no provider key is set and the local sandbox cannot start "
                f"({exc}); install hh_notebook[sandbox] or set a provider key"
            ) from None
        sandbox = Sandbox(time_scale=scale)
        sandbox.start()
        atexit.register(sandbox.stop)
        print(SANDBOX_NOTICE.format(url=sandbox.base_url), file=sys.stderr)
        _sandbox = sandbox
        return sandbox


def provider_name(name: object) -> str:
    """``name`` as a known provider name (any case); :class:`ConfigError` otherwise."""
    text = name.strip().lower() if isinstance(name, str) else ""
    if text not in catalog.PROVIDERS:
        raise ConfigError(
            f"unknown provider {name!r}; choose one of {', '.join(catalog.PROVIDERS)}"
        )
    return text


def _any_key(env: Mapping[str, str]) -> bool:
    return any(env.get(catalog.facts(n).env_key) for n in catalog.PROVIDERS)


def choose_provider(provider: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The provider that runs: ``provider`` > ``HH_PROVIDER`` > the first whose key is set;
    None when nothing names one (then: the sandbox, speaking Segmind's protocol)."""
    env = os.environ if env is None else env
    if provider:
        return provider_name(provider)
    if env.get("HH_PROVIDER"):
        return provider_name(env["HH_PROVIDER"])
    for name in catalog.PROVIDERS:
        if env.get(catalog.facts(name).env_key):
            return name
    return None


def _on_local_sandbox(
    name: str, key: Secret | None, folder: Path, env: Mapping[str, str]
) -> Settings:
    """``name``'s protocol on this process's sandbox, whose time scale is known (no probe)."""
    sandbox = local_sandbox(env)
    return Settings(name, key or Secret(SANDBOX_KEY), sandbox.base_url.rstrip("/"), folder, True,
                    sandbox.time_scale)


def resolve_settings(
    provider: str | None = None,
    api_key: str | Secret | None = None,
    base_url: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    sandbox: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve provider, key, base URL and data directory (see the module docs).

    ``sandbox=True`` runs against the local sandbox whatever keys are set
    (any provider name works there, with a placeholder key); ``sandbox=False``
    refuses to fall back to it. A ``base_url`` that answers like a sandbox
    (``GET /_sandbox/info``) needs no key either.
    """
    env = os.environ if env is None else env
    folder = default_data_dir(data_dir, env)
    key = api_key if isinstance(api_key, Secret) else (Secret(api_key) if api_key else None)

    if sandbox:
        chosen = provider_name(provider or env.get("HH_PROVIDER") or "segmind")
        if not base_url:
            return _on_local_sandbox(chosen, key, folder, env)
        return Settings(chosen, key or Secret(SANDBOX_KEY), base_url.rstrip("/"), folder, True,
                        probe_sandbox(base_url))

    name = choose_provider(provider, env)
    if name is None:
        if base_url:
            name = "segmind"
        elif sandbox is False:
            raise ConfigError(
                f"no provider configured: set {_key_variables()}, or pass provider= and "
                "api_key="
            )
        else:
            return _on_local_sandbox("segmind", key, folder, env)

    spec = catalog.facts(name)
    if key is None and sandbox is None and not base_url and not env.get(spec.base_url_env) \
            and not _any_key(env):
        # A provider named but nothing configured at all: its protocol on the local sandbox.
        # (With some other provider's key set, a missing key stays an error below.)
        return _on_local_sandbox(name, None, folder, env)
    url = base_url or env.get(spec.base_url_env) or spec.default_base_url
    if not url:
        raise ConfigError(
            f"{name} needs a base URL: pass base_url= or set {spec.base_url_env}"
        )
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"base URL must start with http:// or https://, got {url!r}")
    if key is None and env.get(spec.env_key):
        key = Secret(env[spec.env_key])
    scale = None if url == spec.default_base_url.rstrip("/") else probe_sandbox(url)
    if key is None:
        if scale is None:
            why = ("a key for another provider is set, so the local sandbox is not used"
                   if _any_key(env) else "or pass sandbox=True to use the local sandbox")
            raise ConfigError(
                f"no API key for {name}: set {spec.env_key} or pass api_key= ({why})"
            )
        key = Secret(SANDBOX_KEY)
    return Settings(name, key, url, folder, scale is not None, scale)
