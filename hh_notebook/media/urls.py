"""Image and audio URLs: what counts as one, the one normal form that is checked, recorded
and sent, and what is wrong with a malformed one. URLs are passed on, never fetched."""

from __future__ import annotations

import unicodedata

from ..catalog import MAX_URL_CHARS
from ..errors import FieldError
from ..present import safe_repr

__all__ = ["check_url", "is_url", "normalise_url"]


def is_url(value: object) -> bool:
    """True for a string that is an http(s) URL (these are passed on, never fetched)."""
    return isinstance(value, str) and value.strip().lower().startswith(("http://", "https://"))


def normalise_url(value: str) -> str:
    """An http(s) or ``data:`` URL as it is checked, recorded and sent: without the spaces
    around it (anything else is returned unchanged).

    >>> normalise_url("  https://example.com/a.png ")
    'https://example.com/a.png'
    """
    stripped = value.strip()
    return stripped if is_url(stripped) or stripped.startswith("data:") else value


def check_url(url: str, field: str) -> FieldError | None:
    """The problem with an http(s) URL, if any: no host, a bad port, spaces or control
    characters inside, or longer than :data:`~hh_notebook.catalog.MAX_URL_CHARS`.

    >>> print(check_url("https://exa mple.com/a.png", "image"))
    image: this URL is malformed: it contains a space (got 'https://exa mple.com/a.png'; \
allowed: an http(s) URL with a host name)
    """
    from urllib.parse import urlsplit

    allowed = "an http(s) URL with a host name"
    if len(url) > MAX_URL_CHARS:
        return FieldError(field, safe_repr(url), f"a URL of at most {MAX_URL_CHARS} characters",
                          f"the URL is {len(url)} characters long")
    bad = next((c for c in url if c.isspace() or unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        what = "a space" if bad == " " else f"the character U+{ord(bad):04X}"
        return FieldError(field, safe_repr(url), allowed, f"this URL is malformed: it contains "
                                                          f"{what}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        return FieldError(field, safe_repr(url), allowed, f"this URL is malformed: {exc}")
    if not parts.hostname:
        return FieldError(field, safe_repr(url), allowed, "this URL is malformed: no host name")
    return None
