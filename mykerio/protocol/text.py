"""The one rule for names and other text on the appliance link, shared by the hub's API, the
dashboard (web/static/names.js mirrors it) and the protocol's body checks.

"Control characters" (docs/protocol.md, section 3) are the Unicode code points of general
category Cc — C0 (U+0000 to U+001F, tab and line breaks included), DEL (U+007F) and C1 (U+0080
to U+009F, such as U+009B) — and lone surrogates (category Cs, U+D800 to U+DFFF), which JSON can
spell as `\\ud800` but UTF-8 cannot carry. A name is 1 to 100 characters (code points) after
trimming, with none of them. People's input is tidied first: leading and trailing spaces go and
each run of spaces (categories Zs, Zl, Zp) becomes one space; control characters are refused,
never silently removed, so what the user sees is what is stored.
"""

from __future__ import annotations

import dataclasses
import unicodedata

NAME_CHARS = 100
CONTROL_CATEGORIES = frozenset({"Cc", "Cs"})
SPACE_CATEGORIES = frozenset({"Zs", "Zl", "Zp"})
# What a stored name that breaks the rule (one stored before the rule) is sent as.
FALLBACK_NAME = "Appliance"


@dataclasses.dataclass(frozen=True, slots=True)
class NameProblem:
    """Why a name is refused: a stable `rule` code and the sentence people read."""

    rule: str  # "required", "max_length" or "control_characters"
    message: str


EMPTY = NameProblem("required", "Enter a name.")
TOO_LONG = NameProblem("max_length", f"A name can have at most {NAME_CHARS} characters.")
CONTROL = NameProblem(
    "control_characters",
    "A name cannot contain control characters (such as tabs, line breaks, DEL or U+009B).",
)


def is_control(char: str) -> bool:
    """Whether one code point is a control character in the sense above."""
    return unicodedata.category(char) in CONTROL_CATEGORIES


def has_control(text: str) -> bool:
    """Whether `text` holds any control character."""
    return any(is_control(char) for char in text)


def tidy(text: str) -> str:
    """`text` without leading and trailing spaces, each inner run of spaces made one U+0020."""
    words: list[str] = []
    word: list[str] = []
    for char in text:
        if unicodedata.category(char) in SPACE_CATEGORIES:
            if word:
                words.append("".join(word))
                word = []
        else:
            word.append(char)
    if word:
        words.append("".join(word))
    return " ".join(words)


def name_problem(name: str) -> NameProblem | None:
    """What is wrong with `name` as it stands (no tidying), or None if it follows the rule."""
    if has_control(name):
        return CONTROL
    if not name:
        return EMPTY
    if len(name) > NAME_CHARS:
        return TOO_LONG
    return None


def text_problem(value: str, max_chars: int) -> str | None:
    """The protocol's check of any text field: 1 to `max_chars` characters, none of them a
    control character; what is wrong (naming the rule, never the value), or None."""
    if not 1 <= len(value) <= max_chars:
        return f"must be 1 to {max_chars} characters"
    if has_control(value):
        return "must not contain control characters (C0, DEL, C1 or lone surrogates)"
    return None


def sendable_name(stored: str) -> str:
    """A stored name as the link can carry it: unchanged when it follows the rule; otherwise
    (stored before the rule existed) with control characters taken out, tidied and cut to
    length, or `FALLBACK_NAME` if nothing is left. Never raises."""
    if name_problem(stored) is None:
        return stored
    cleaned = tidy("".join(" " if is_control(char) else char for char in stored))[:NAME_CHARS]
    return cleaned.strip() or FALLBACK_NAME
