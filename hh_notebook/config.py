"""Which provider runs, with which key, at which base URL, storing where.

Provider choice: an explicit ``provider=`` > ``HH_PROVIDER`` > the first provider whose key
variable is set (each provider's variable is in :mod:`hh_notebook.catalog`, checked in the
catalog's order) > the local sandbox, started in this process on 127.0.0.1 with a one-line
notice that its clips are synthetic. The sandbox runs only when nothing names a provider, when
``"sandbox"`` is the provider named (it speaks Segmind's protocol), with ``sandbox=True``, or
at a base URL that answers as a sandbox: a provider named without its key is an error naming
the key's variable, never a quiet run on the sandbox. Base URLs come from ``base_url=`` or the
provider's base URL variable; the data directory from ``data_dir=``, ``HH_DATA_DIR`` or the
per-user data directory. Keys are wrapped in :class:`Secret`, whose repr never shows them.

Numbers a user sets (time scales, budgets, concurrency) are checked where they are read, by
:func:`check_number`: finite and in range, or an error naming the setting.
"""

from __future__ import annotations

import atexit
import logging
import math
import numbers
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from . import catalog
from .errors import ConfigError, FieldError, ValidationError, register_secret
from .request_checks import provider_error

__all__ = [
    "DEFAULT_SANDBOX_TIME_SCALE",
    "SANDBOX_KEY",
    "Secret",
    "Settings",
    "check_number",
    "choose_provider",
    "default_data_dir",
    "local_sandbox",
    "missing_key_message",
    "probe_sandbox",
    "provider_name",
    "read_number",
    "resolve_settings",
]

log = logging.getLogger(__name__)

#: Sandbox speed when ``HH_SANDBOX_TIME_SCALE`` is unset: a 150 s job takes ~4.5 s.
DEFAULT_SANDBOX_TIME_SCALE = 0.03
#: The key sent to a sandbox when no real key is configured.
SANDBOX_KEY = "sandbox-placeholder-key"

SANDBOX_NOTICE = (
    "hh_notebook: using the local sandbox at {url}: clips are synthetic test videos, not "
    "HappyHorse output, and nothing is paid (set "
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
    """``data_dir`` if given, else ``HH_DATA_DIR``, else the per-user data directory.

    :class:`ConfigError` when that path is a file (or lies under one): the journal and the
    clips need a folder.
    """
    env = os.environ if env is None else env
    if data_dir is not None:
        folder, source = Path(data_dir).expanduser(), "data_dir"
    elif env.get("HH_DATA_DIR"):
        folder, source = Path(env["HH_DATA_DIR"]).expanduser(), "HH_DATA_DIR"
    else:
        import platformdirs

        folder = Path(platformdirs.user_data_dir("hh_notebook", appauthor=False))
        source = "the per-user data directory"
    for part in (folder, *folder.parents):
        if part.exists():
            if not part.is_dir():
                where = "is" if part == folder else f"lies under {part}, which is"
                raise ConfigError(f"data folder ({source}): {folder} {where} a file, not a "
                                  "folder; point it at a folder for the journal and the clips")
            break
    return folder


def check_number(field: str, value: object, *, integer: bool = False, low: float = 0.0,
                 low_ok: bool = False, allowed: str | None = None) -> FieldError | None:
    """The problem with a number a user set, if any: not a number (booleans are not), not
    finite, not whole where ``integer``, or not above ``low`` (at least ``low`` if
    ``low_ok``).

    >>> print(check_number("time_scale", float("nan")))
    time_scale: nan is not a finite number (got nan; allowed: a number greater than 0)
    >>> check_number("concurrency", 4, integer=True, low=1, low_ok=True) is None
    True
    """
    kind = "a whole number" if integer else "a number"
    bound = f"at least {low:g}" if low_ok else f"greater than {low:g}"
    allowed = allowed or f"{kind} {bound}"
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not real or (integer and not isinstance(value, numbers.Integral)):
        return FieldError(field, value, allowed, f"{value!r} is not {kind}")
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        return FieldError(field, value, allowed, f"{value!r} is not a finite number")
    if number < low or (number == low and not low_ok):
        return FieldError(field, value, allowed, f"{value!r} is not {bound}")
    return None


def read_number(variable: str, env: Mapping[str, str], default: float, *,
                integer: bool = False, low: float = 0.0, low_ok: bool = False) -> float:
    """A numeric environment variable, checked when it is read: :class:`ConfigError` naming
    the variable when it is not a number in range (unset or empty: ``default``)."""
    text = (env.get(variable) or "").strip()
    if not text:
        return default
    try:
        value: float = int(text) if integer else float(text)
    except ValueError:
        value = text  # type: ignore[assignment]  # reported below, as typed
    problem = check_number(variable, value, integer=integer, low=low, low_ok=low_ok)
    if problem is not None:
        raise ConfigError(f"{variable}: {problem.message} (got {text!r}; allowed: "
                          f"{problem.allowed})")
    return value


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
        scale = read_number("HH_SANDBOX_TIME_SCALE", env, DEFAULT_SANDBOX_TIME_SCALE)
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


def provider_name(name: object, variable: str | None = None) -> str:
    """``name`` as a known provider name or ``"sandbox"`` (any case). An unknown or empty
    name is a :class:`ValidationError` naming ``provider``, or a :class:`ConfigError` naming
    the environment ``variable`` it was read from."""
    text = name.strip().lower() if isinstance(name, str) else ""
    if text in catalog.PROVIDERS or text == catalog.SANDBOX:
        return text
    problem = provider_error(name)
    if variable is not None:
        raise ConfigError(f"{variable}: {problem.message} (got {name!r}; allowed: "
                          f"{problem.allowed})")
    raise ValidationError([problem])


def _any_key(env: Mapping[str, str]) -> bool:
    return any(env.get(catalog.facts(n).env_key) for n in catalog.PROVIDERS)


def choose_provider(provider: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The provider that runs: ``provider`` > ``HH_PROVIDER`` > the first whose key is set;
    ``"sandbox"`` when one of the first two asks for it; None when nothing names one (then:
    the sandbox, speaking Segmind's protocol)."""
    env = os.environ if env is None else env
    if provider is not None:
        return provider_name(provider)
    if env.get("HH_PROVIDER", "").strip():
        return provider_name(env["HH_PROVIDER"], "HH_PROVIDER")
    for name in catalog.PROVIDERS:
        if env.get(catalog.facts(name).env_key):
            return name
    return None


def missing_key_message(name: str) -> str:
    """What to do when ``name`` is asked for but its key is not set."""
    variable = catalog.facts(name).env_key
    return (
        f"no API key for {name}: {variable} is not set in this process. Set it where Python "
        f"or the Jupyter server starts (e.g. {variable}=... jupyter lab: a variable exported "
        "after the server started never reaches its kernels), or ask for the local sandbox "
        f"with provider {catalog.SANDBOX!r} (synthetic clips, nothing is paid)"
    )


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

    ``provider="sandbox"`` or ``sandbox=True`` runs against the local sandbox whatever keys
    are set (with ``sandbox=True`` any provider's protocol, with a placeholder key);
    ``sandbox=False`` refuses to fall back to it. A ``base_url`` that answers like a sandbox
    (``GET /_sandbox/info``) needs no key either. A provider named without its key is a
    :class:`ConfigError` naming the variable to set.
    """
    env = os.environ if env is None else env
    folder = default_data_dir(data_dir, env)
    key = api_key if isinstance(api_key, Secret) else (Secret(api_key) if api_key else None)
    name = choose_provider(provider, env)

    if sandbox or name == catalog.SANDBOX:
        if sandbox is False:
            raise ConfigError(f"provider {catalog.SANDBOX!r} is the local sandbox, which "
                              "sandbox=False refuses")
        explicit = provider if provider is not None else env.get("HH_PROVIDER", "").strip()
        chosen = catalog.protocol_of(provider_name(explicit)) if explicit else \
            catalog.SANDBOX_PROTOCOL
        if not base_url:
            return _on_local_sandbox(chosen, key, folder, env)
        return Settings(chosen, key or Secret(SANDBOX_KEY), _base_url(base_url), folder, True,
                        probe_sandbox(base_url))

    if name is None:
        if base_url:
            name = catalog.SANDBOX_PROTOCOL
        elif sandbox is False:
            raise ConfigError(
                f"no provider configured: set {_key_variables()}, or pass provider= and "
                "api_key="
            )
        else:
            return _on_local_sandbox(catalog.SANDBOX_PROTOCOL, key, folder, env)

    spec = catalog.facts(name)
    url = base_url or env.get(spec.base_url_env) or spec.default_base_url
    if not url:
        raise ConfigError(
            f"{name} needs a base URL: pass base_url= or set {spec.base_url_env}"
        )
    url = _base_url(url)
    if key is None and env.get(spec.env_key):
        key = Secret(env[spec.env_key])
    scale = None if url == spec.default_base_url.rstrip("/") else probe_sandbox(url)
    if key is None:
        if scale is None:
            raise ConfigError(missing_key_message(name))
        key = Secret(SANDBOX_KEY)
    return Settings(name, key, url, folder, scale is not None, scale)


def _base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"base URL must start with http:// or https://, got {url!r}")
    return url
