"""Passwords: the rules a new password must meet, and Argon2id hashing and verification.

Every password is NFKC-normalised before it is checked or hashed, so the same password typed on
different keyboards (full-width letters, composed or decomposed accents) is the same password.
Nothing is truncated: the whole normalised password is hashed. `MAX_PASSWORD_CHARS` is checked
on the raw text before any other work, so an over-long password costs nothing to refuse.

Character groups for the "groups" rule (after normalisation): a letter with a lowercase case
(Unicode category Ll) is lowercase, one with an uppercase or titlecase case (Lu, Lt) is
uppercase, a decimal digit in any script (Nd) is a digit, and everything else is a symbol:
punctuation, spaces, emoji, and also letters that have no case (Chinese, Japanese, Arabic,
Hebrew, ...), which a password could otherwise not count at all.

`PasswordHasher` is synchronous and deliberately slow (tens of milliseconds and 64 MiB per call
with the production parameters): callers on the event loop run `hash`, `verify`,
`dummy_verify` and `needs_rehash`'s follow-up rehash in an executor, never on the loop.
"""

from __future__ import annotations

import functools
import gzip
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import argon2
from argon2.exceptions import VerifyMismatchError

from mykerio.errors import InvalidInput

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
MIN_GROUPS = 3
# Shorter parts of a name ("Li", "Jo") would refuse too many good passwords.
MIN_PERSONAL_PART_CHARS = 3
COMMON_PASSWORDS_FILE = "common-passwords.txt"
BREACHED_PASSWORDS_FILE = "breached-passwords.txt.gz"
# The product's own name is the first thing a guesser tries on this hub ("MyKerio2026!").
PRODUCT_NAMES = ("kerio",)
# A base shorter than this, left after taking off appended digits and symbols, is not compared:
# "ab" followed by twenty symbols is not the common password "ab".
MIN_COMMON_BASE_CHARS = 4
# Common look-alike substitutions, undone before the list is checked ("P@ssw0rd" is "password").
# "1" stands for "i" or "l", so both readings are checked.
_SUBSTITUTIONS = (
    str.maketrans(
        {
            "@": "a",
            "4": "a",
            "0": "o",
            "1": "i",
            "!": "i",
            "3": "e",
            "$": "s",
            "5": "s",
            "7": "t",
            "+": "t",
            "8": "b",
            "9": "g",
            "6": "g",
            "2": "z",
        }
    ),
    str.maketrans({"1": "l", "|": "l"}),
)
_APPENDED = re.compile(r"[\d\W_]+$")
_PREPENDED = re.compile(r"^[\d\W_]+")

# Argon2id with argon2-cffi's own defaults since 21.2 (RFC 9106's second recommendation:
# t=3, m=64 MiB, p=4). Named explicitly so an argon2-cffi upgrade cannot lower them silently.
PRODUCTION_PARAMETERS = argon2.profiles.RFC_9106_LOW_MEMORY

_NON_ALPHANUMERIC = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One password rule, whether the password meets it, and a sentence to show the user."""

    rule: str
    met: bool
    message: str


def normalise(password: str) -> str:
    """The password in Unicode normal form NFKC, the form that is checked and hashed."""
    return unicodedata.normalize("NFKC", password)


def _fold(text: str) -> str:
    """NFKC then case-folded: the form in which passwords and personal parts are compared."""
    return normalise(text).casefold()


def check_rules(
    password: str, *, full_name: str, email: str, username: str | None = None
) -> list[RuleResult]:
    """Check `password` against every rule, in the order the form shows them.

    A password longer than `MAX_PASSWORD_CHARS` is refused before anything else is computed:
    the result then holds only the unmet "max_length" rule.
    """
    if len(password) > MAX_PASSWORD_CHARS:
        return [_max_length_result(met=False)]
    normalised = normalise(password)
    if len(normalised) > MAX_PASSWORD_CHARS:
        # NFKC can lengthen text (one ligature becomes several letters); the hashed form counts.
        return [_max_length_result(met=False)]
    return [
        _check_length(normalised),
        _check_groups(normalised),
        _check_personal(normalised, full_name=full_name, email=email, username=username),
        _check_common(normalised),
        _max_length_result(met=True),
    ]


def first_failure(results: Iterable[RuleResult]) -> RuleResult | None:
    """The first rule not met, or None when the password meets every rule."""
    return next((result for result in results if not result.met), None)


def _max_length_result(*, met: bool) -> RuleResult:
    return RuleResult("max_length", met, f"At most {MAX_PASSWORD_CHARS:,} characters")


def _check_length(password: str) -> RuleResult:
    return RuleResult(
        "length", len(password) >= MIN_PASSWORD_CHARS, f"At least {MIN_PASSWORD_CHARS} characters"
    )


def character_groups(password: str) -> set[str]:
    """The groups ("lowercase", "uppercase", "digits", "symbols") that `password` draws on."""
    groups: set[str] = set()
    for char in password:
        category = unicodedata.category(char)
        if category == "Ll":
            groups.add("lowercase")
        elif category in ("Lu", "Lt"):
            groups.add("uppercase")
        elif category == "Nd":
            groups.add("digits")
        else:
            groups.add("symbols")
    return groups


def _check_groups(password: str) -> RuleResult:
    return RuleResult(
        "groups",
        len(character_groups(password)) >= MIN_GROUPS,
        "Characters from 3 of these 4 groups: lowercase, uppercase, digits, symbols",
    )


def personal_parts(*, full_name: str, email: str, username: str | None) -> list[tuple[str, str]]:
    """The (part, where it comes from) pairs a password must not contain, folded for comparison.

    Parts are the words of the full name, the email's local part whole and split at its
    punctuation, the labels of the email's domain except the top-level one ("com", "cz" say
    nothing about the user, and refusing them would refuse "computer" and "czech"), and the
    username whole and split. Parts shorter than `MIN_PERSONAL_PART_CHARS` are left out.
    """
    candidates: list[tuple[str, str]] = [
        (word, "your name") for word in _NON_ALPHANUMERIC.split(_fold(full_name))
    ]
    local, at, domain = _fold(email).rpartition("@")
    if not at:  # not an address at all: treat the whole text as its local part
        local, domain = domain, ""
    if local:
        candidates.append((local, "your email address"))
        candidates += [(word, "your email address") for word in _NON_ALPHANUMERIC.split(local)]
    candidates += [(label, "your email address") for label in domain.split(".")[:-1]]
    if username:
        folded = _fold(username)
        candidates.append((folded, "your username"))
        candidates += [(word, "your username") for word in _NON_ALPHANUMERIC.split(folded)]
    seen: set[str] = set()
    parts: list[tuple[str, str]] = []
    for part, source in candidates:
        if len(part) >= MIN_PERSONAL_PART_CHARS and part not in seen:
            seen.add(part)
            parts.append((part, source))
    return parts


def _check_personal(
    password: str, *, full_name: str, email: str, username: str | None
) -> RuleResult:
    folded = password.casefold()
    for part, source in personal_parts(full_name=full_name, email=email, username=username):
        if part in folded:
            return RuleResult(
                "personal", False, f'Must not contain "{part}", which is part of {source}'
            )
    return RuleResult("personal", True, "Must not contain part of your name, email or username")


def common_bases(password: str) -> set[str]:
    """The forms of `password` checked against the breached list, folded for comparison.

    The password itself; with appended (and prepended) digits and symbols taken off
    ("Password123!" -> "password"); with look-alike substitutions undone ("p@ssw0rd" ->
    "password", "1" read as "i" and as "l"), before and after taking them off.
    """
    folded = _fold(password)
    forms = {folded}
    for _ in range(2):
        for form in list(forms):
            forms.add(_APPENDED.sub("", form))
            forms.add(_PREPENDED.sub("", _APPENDED.sub("", form)))
            for table in _SUBSTITUTIONS:
                forms.add(form.translate(table))
                forms.add(form.translate(_SUBSTITUTIONS[0]).translate(table))
    return {form for form in forms if form == folded or len(form) >= MIN_COMMON_BASE_CHARS}


def _check_common(password: str) -> RuleResult:
    bases = common_bases(password)
    if any(name in base for base in bases for name in PRODUCT_NAMES):
        return RuleResult("common", False, "Must not be based on the product's name (Kerio)")
    return RuleResult(
        "common",
        bases.isdisjoint(common_passwords()),
        "Must not be a common breached password, even with digits or symbols added or letters "
        "swapped (@ for a, 0 for o)",
    )


def parse_password_list(text: str) -> frozenset[str]:
    """The passwords in a list file, folded for comparison.

    The file opens with a header block of lines starting with "#"; every line after that block
    is one password, even one that itself starts with "#". Blank lines are ignored.
    """
    lines = iter(text.splitlines())
    passwords: set[str] = set()
    for line in lines:
        if not line.startswith("#"):
            if line:
                passwords.add(_fold(line))
            break
    passwords.update(_fold(line) for line in lines if line)
    return frozenset(passwords)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped lists (Django's 10,000 most common and SecLists' 100,000 most common breached
    passwords), read once per process into one set for constant-time membership."""
    data = resources.files("mykerio.security").joinpath("data")
    common = parse_password_list(data.joinpath(COMMON_PASSWORDS_FILE).read_text("utf-8"))
    breached = gzip.decompress(data.joinpath(BREACHED_PASSWORDS_FILE).read_bytes())
    return common | parse_password_list(breached.decode("utf-8"))


def _password_bytes(password: str) -> bytes:
    # surrogatepass: JSON can carry lone surrogates; they must hash, not crash the request.
    return normalise(password).encode("utf-8", "surrogatepass")


class PasswordHasher:
    """Argon2id hashing with the hub's parameters; synchronous, run it in an executor.

    `parameters` defaults to `PRODUCTION_PARAMETERS`; tests pass cheap ones. Only Argon2id is
    accepted. The constructor hashes a random password once to make the dummy hash that
    `dummy_verify` checks against, so construct one hasher at start-up and share it.
    """

    def __init__(self, parameters: argon2.Parameters = PRODUCTION_PARAMETERS) -> None:
        if parameters.type is not argon2.Type.ID:
            raise ValueError(f"passwords are hashed with Argon2id, not {parameters.type.name}")
        self.parameters = parameters
        self._hasher = argon2.PasswordHasher.from_parameters(parameters)
        self._dummy_hash = self._hasher.hash(secrets.token_bytes(32))

    def hash(self, password: str) -> str:
        """The Argon2id hash (PHC string) of the normalised password.

        Raises `InvalidInput` for a password over `MAX_PASSWORD_CHARS`, before hashing.
        """
        if len(password) > MAX_PASSWORD_CHARS:
            raise InvalidInput(f"a password has at most {MAX_PASSWORD_CHARS:,} characters")
        return self._hasher.hash(_password_bytes(password))

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether `password` matches `password_hash`; False for a wrong or over-long password.

        A stored hash that is not an Argon2 hash at all is a data error and raises argon2's
        `InvalidHashError` or `VerificationError`, not False.
        """
        if len(password) > MAX_PASSWORD_CHARS:
            return False
        try:
            return self._hasher.verify(password_hash, _password_bytes(password))
        except VerifyMismatchError:
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether `password_hash` was made with other parameters; rehash after a good login."""
        return self._hasher.check_needs_rehash(password_hash)

    def dummy_verify(self, password: str) -> None:
        """Spend the time a real `verify` would, for a login to an account that does not exist."""
        self.verify(self._dummy_hash, password)
