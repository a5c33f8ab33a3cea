"""The checks of a request's free text (the prompt and the negative prompt): text that can be
sent as UTF-8, with no control characters, with something visible in it, and within the
length the catalog allows (a shorter limit when it holds a CJK ideograph).

>>> [e.message for e in check_text("prompt", "\\u200b\\u200b", 5000, 2500)]
['the prompt has no visible text (only spaces, zero-width or invisible characters)']
"""

from __future__ import annotations

import re
import unicodedata

from .errors import FieldError
from .present import safe_repr

__all__ = ["check_text", "has_visible_text", "is_chinese"]

_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
#: Letters that draw nothing (Hangul fillers, the braille blank): they count as invisible.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
#: Control characters a prompt may hold: tabs and line breaks.
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def is_chinese(text: str) -> bool:
    """True when ``text`` holds at least one CJK unified ideograph (then the shorter limit).

    >>> is_chinese("一匹白马"), is_chinese("a white horse"), is_chinese("horse 马")
    (True, False, True)
    """
    return bool(_CJK.search(text))


def has_visible_text(text: str) -> bool:
    """True when ``text`` holds a letter, digit, punctuation mark or symbol that shows: spaces,
    zero-width and format characters, lone combining marks and blank letters do not count.

    >>> has_visible_text(" \\u200b\\u2060\\ufeff"), has_visible_text("\\u3164"), has_visible_text("马")
    (False, False, True)
    """
    return any(unicodedata.category(c)[0] in "LNPS" and c not in _BLANK_LETTERS for c in text)


def _unsendable(text: str) -> tuple[int, str, str] | None:
    """(position, character, why) of the first character that cannot be sent, if any."""
    for index, char in enumerate(text):
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            return index, char, "an unpaired surrogate, which cannot be encoded as UTF-8"
        if unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROLS:
            return index, char, "a control character"
    return None


def check_text(field: str, text: str, limit: int, limit_chinese: int) -> list[FieldError]:
    """The problems of one free-text field that is set (an empty text is the caller's
    business: whether it is required depends on the mode)."""
    name = field.replace("_", " ")
    errors: list[FieldError] = []
    bad = _unsendable(text)
    if bad is not None:
        index, char, why = bad
        errors.append(FieldError(field, safe_repr(text), "text without control characters, "
                                 "encodable as UTF-8 (tabs and line breaks are fine)",
                                 f"the {name} holds U+{ord(char):04X} at character {index + 1}: "
                                 f"{why}"))
    elif text and not has_visible_text(text):
        errors.append(FieldError(field, safe_repr(text), "text with at least one visible "
                                 "character", f"the {name} has no visible text (only spaces, "
                                 "zero-width or invisible characters)"))
    chinese = is_chinese(text)
    most = limit_chinese if chinese else limit
    if len(text) > most:
        kind = f"Chinese {name} (it contains CJK ideographs)" if chinese else name
        errors.append(FieldError(field, safe_repr(text), f"at most {most} characters",
                                 f"the {kind} is {len(text)} characters long"))
    return errors
