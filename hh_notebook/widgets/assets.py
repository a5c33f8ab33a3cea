"""The widgets' front-end code: each widget's module is ``common.js`` (helpers every widget
uses) followed by its own files, and its stylesheet ``common.css`` (theme colours and type)
followed by its own, joined here because the package ships plain files with no bundler."""

from __future__ import annotations

import pathlib

__all__ = ["css", "esm"]

_HERE = pathlib.Path(__file__).parent


def _joined(*names: str) -> str:
    return "\n".join((_HERE / name).read_text(encoding="utf-8") for name in names)


def esm(*names: str) -> str:
    """``common.js`` then the named files of this folder, as one ES module's text."""
    return _joined("common.js", *names)


def css(*names: str) -> str:
    """``common.css`` then the named stylesheets of this folder, as one stylesheet."""
    return _joined("common.css", *names)
