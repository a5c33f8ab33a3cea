"""The widgets' front-end code: each widget's module is ``common.js`` (helpers every widget
uses) followed by its own files, joined here because the package ships plain JavaScript with
no bundler."""

from __future__ import annotations

import pathlib

__all__ = ["esm"]

_HERE = pathlib.Path(__file__).parent


def esm(*names: str) -> str:
    """``common.js`` then the named files of this folder, as one ES module's text."""
    return "\n".join((_HERE / name).read_text(encoding="utf-8") for name in ("common.js", *names))
