"""Tests of mykerio/security/passwords.py: the password rules, the common list and Argon2id."""

from __future__ import annotations

import dataclasses
import gzip
from importlib import resources

import argon2
import pytest

from mykerio.errors import InvalidInput
from mykerio.security.passwords import (
    MAX_PASSWORD_CHARS,
    PasswordHasher,
    RuleResult,
    character_groups,
    check_rules,
    common_passwords,
    first_failure,
    normalise,
    parse_password_list,
)

# Cheap enough for tests (a few milliseconds), still Argon2id with a full-size salt and output.
CHEAP = argon2.Parameters(
    type=argon2.Type.ID,
    version=19,
    salt_len=16,
    hash_len=32,
    time_cost=1,
    memory_cost=64,
    parallelism=1,
)
GOOD = "Tr0ub4dor&3x"


def fullwidth(text: str) -> str:
    """`text` with its printable ASCII characters in their full-width forms (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(CHEAP)


def rules(password: str, **who: str) -> dict[str, RuleResult]:
    people = {"full_name": "Ana Novak", "email": "ana.novak@acme.example"} | who
    return {result.rule: result for result in check_rules(password, **people)}


def test_normalise_is_nfkc() -> None:
    """Full-width letters and ligatures become their plain forms; accents are composed."""
    assert normalise(fullwidth("PASS")) == "PASS"
    assert normalise("ﬁle") == "file"
    assert normalise("e\u0301") == "\u00e9"


def test_a_good_password_meets_every_rule_in_form_order() -> None:
    """A long mixed password meets all five rules, listed in the order the form shows them."""
    results = check_rules(GOOD, full_name="Ana Novak", email="ana.novak@acme.example")
    assert [result.rule for result in results] == [
        "length",
        "groups",
        "personal",
        "common",
        "max_length",
    ]
    assert all(result.met for result in results)
    assert first_failure(results) is None


def test_seven_characters_are_too_short_and_eight_are_enough() -> None:
    """The length rule needs at least 8 characters."""
    assert not rules("Ab1!xyz")["length"].met
    assert rules("Ab1!xyzw")["length"].met


def test_first_failure_names_the_first_rule_not_met() -> None:
    """first_failure returns the first unmet rule, in form order."""
    failure = first_failure(check_rules("ab", full_name="Ana Novak", email="a@b.example"))
    assert failure is not None
    assert failure.rule == "length"
    assert "8 characters" in failure.message


@pytest.mark.parametrize(
    ("password", "groups"),
    [
        ("abcdefgh", {"lowercase"}),
        ("abcdEFGH", {"lowercase", "uppercase"}),
        ("abcdEF12", {"lowercase", "uppercase", "digits"}),
        ("ab cd!", {"lowercase", "symbols"}),
        ("ÄÖÜäöü", {"lowercase", "uppercase"}),
        ("ǅ", {"uppercase"}),
        ("пароль٣", {"lowercase", "digits"}),
        ("日本語パスワード", {"symbols"}),
        ("🙂", {"symbols"}),
    ],
)
def test_character_groups_follow_unicode_categories(password: str, groups: set[str]) -> None:
    """Cased letters count by their case, any decimal digit as a digit, the rest as symbols."""
    assert character_groups(password) == groups


def test_three_groups_are_needed() -> None:
    """The groups rule needs characters from 3 of the 4 groups."""
    assert not rules("abcdefgh12")["groups"].met
    assert rules("abcdefgh1!")["groups"].met
    assert rules("Überall7Grün")["groups"].met
    assert rules("日本語パスワード1a")["groups"].met


@pytest.mark.parametrize(
    ("password", "who", "part", "source"),
    [
        ("xNOVAKx12!", {}, "novak", "your name"),
        ("Zz9!kwiat77", {"email": "kwiat77@acme.example"}, "kwiat77", "your email address"),
        ("Kowalski!9", {"email": "a.kowalski@acme.example"}, "kowalski", "your email address"),
        ("Zz9!acmeQQ", {}, "acme", "your email address"),
        ("Q1!zorro_xRocks", {"username": "zorro_x"}, "zorro_x", "your username"),
    ],
)
def test_personal_parts_are_refused_and_named(
    password: str, who: dict[str, str], part: str, source: str
) -> None:
    """A password holding part of the name, email or username fails and says which part."""
    result = rules(password, **who)["personal"]
    assert not result.met
    assert f'"{part}"' in result.message
    assert source in result.message


def test_personal_check_ignores_short_parts_and_the_top_level_domain() -> None:
    """Name parts under 3 characters and the email's top-level label are not personal."""
    result = check_rules("Li9!Computers", full_name="Li Wu", email="li@wu.com", username="wu")
    assert {r.rule: r.met for r in result}["personal"]


def test_personal_check_is_case_insensitive_after_normalisation() -> None:
    """Full-width or differently cased name parts in the password are still found."""
    assert not rules(fullwidth("NOVAK") + "-2024x")["personal"].met


def test_common_passwords_are_refused_case_insensitively() -> None:
    """A password on the common list fails in any case and in full-width characters."""
    assert not rules("Password1")["common"].met
    assert not rules(fullwidth("password") + "1")["common"].met
    assert not rules("Michael")["common"].met
    assert rules(GOOD)["common"].met


def test_the_shipped_list_holds_10000_passwords_after_its_header() -> None:
    """The data file has a commented header, then exactly 10,000 passwords, most common first."""
    text = resources.files("mykerio.security").joinpath("data", "common-passwords.txt")
    lines = text.read_text("utf-8").splitlines()
    header = next(index for index, line in enumerate(lines) if not line.startswith("#"))
    entries = lines[header:]
    assert header > 0
    assert "licen" in "\n".join(lines[:header]).lower()
    assert len(entries) == 10_000
    assert entries[:4] == ["123456", "123456789", "qwerty", "password"]
    assert all(entry == entry.lower() for entry in entries)
    assert "password" in common_passwords()


def test_the_breached_list_holds_the_100000_most_common_after_its_header() -> None:
    """The gzip data file credits its source and licence, then holds SecLists' 100,000 most
    common breached passwords (lowercased, so a few thousand collapse), most common first."""
    data = resources.files("mykerio.security").joinpath("data", "breached-passwords.txt.gz")
    lines = gzip.decompress(data.read_bytes()).decode("utf-8").splitlines()
    header = next(index for index, line in enumerate(lines) if not line.startswith("#"))
    assert "mit licence" in "\n".join(lines[:header]).lower()
    entries = lines[header:]
    assert 95_000 < len(entries) <= 100_000
    assert entries[:3] == ["123456", "password", "12345678"]
    assert len(common_passwords()) > 95_000


@pytest.mark.parametrize(
    "password",
    ["Password123!", "P@ssw0rd2024", "Dr@g0n!!1", "!!Sunshine#1", "L3tM3In99$", "Qwerty!2026"],
)
def test_common_passwords_are_refused_with_digits_and_symbols_added_or_letters_swapped(
    password: str,
) -> None:
    """Appended or prepended digits and symbols and look-alike swaps do not hide a common one."""
    result = rules(password)["common"]
    assert not result.met
    assert "common breached password" in result.message


@pytest.mark.parametrize("password", ["MyKerio2026!", "K3r10-Rocks!", "kerio-Control-88"])
def test_the_product_name_is_refused_as_a_base(password: str) -> None:
    """A password built on the product's name (MyKerio, Kerio) is refused, substitutions too."""
    result = rules(password)["common"]
    assert not result.met
    assert "product's name" in result.message


def test_good_passwords_still_pass_the_common_rule() -> None:
    """Passphrases and random passwords are not caught by the wider check."""
    for password in (GOOD, "Tulip-Harbour-42", "correct-Horse-battery-9", "Kx9#mPq2vL!s"):
        assert rules(password)["common"].met, password


def test_list_parsing_keeps_passwords_that_start_with_a_hash() -> None:
    """Only the leading header block is comments; a later '#' line is a password."""
    parsed = parse_password_list("# source\n# licence\nDragon\n#1secret\n\n")
    assert parsed == frozenset({"dragon", "#1secret"})


def test_the_common_list_is_read_once() -> None:
    """The list is loaded lazily and the same frozenset is returned afterwards."""
    assert common_passwords() is common_passwords()


def test_an_over_long_password_is_refused_before_other_rules() -> None:
    """1,025 characters fail at once with only the max_length rule reported."""
    assert rules("aA1!" * 256)["max_length"].met
    results = check_rules("x" * (MAX_PASSWORD_CHARS + 1), full_name="A", email="a@b.example")
    assert results == [RuleResult("max_length", False, results[0].message)]
    assert "1,024" in results[0].message


def test_normalisation_that_lengthens_past_the_limit_is_refused() -> None:
    """The limit applies to the normalised password too: ligatures that expand count."""
    results = check_rules("\ufb03" * 400, full_name="A", email="a@b.example")
    assert first_failure(results) == RuleResult("max_length", False, results[0].message)


def test_hash_then_verify(hasher: PasswordHasher) -> None:
    """A hash verifies its own password and is an Argon2id PHC string."""
    password_hash = hasher.hash(GOOD)
    assert password_hash.startswith("$argon2id$")
    assert hasher.verify(password_hash, GOOD)


def test_a_wrong_password_is_false_not_an_error(hasher: PasswordHasher) -> None:
    """verify returns False for a wrong password, an empty one or one with a lone surrogate."""
    password_hash = hasher.hash(GOOD)
    assert not hasher.verify(password_hash, GOOD + "x")
    assert not hasher.verify(password_hash, "")
    assert not hasher.verify(password_hash, "\ud800")


def test_a_100_character_password_is_verified_in_full(hasher: PasswordHasher) -> None:
    """Changing only the 100th character of a 100-character password fails verification."""
    password = ("Correct-Horse-Battery-Staple-" * 4)[:99] + "A"
    assert len(password) == 100
    password_hash = hasher.hash(password)
    assert hasher.verify(password_hash, password)
    assert not hasher.verify(password_hash, password[:99] + "B")


def test_equivalent_unicode_forms_verify(hasher: PasswordHasher) -> None:
    """A password hashed in one Unicode form verifies when typed in another."""
    password_hash = hasher.hash("Caf\u00e9-Paris-1")
    assert hasher.verify(password_hash, "Cafe\u0301-Paris-1")
    assert hasher.verify(password_hash, fullwidth("Caf") + "é-Paris-1")


class NoHashing:
    """Stands in for argon2's hasher and fails the test if anything reaches it."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"argon2 was asked to {name}")


def test_an_over_long_password_is_never_hashed() -> None:
    """hash refuses and verify returns False for over 1,024 characters, before any Argon2 work."""
    hasher = PasswordHasher(CHEAP)
    password_hash = hasher.hash(GOOD)
    hasher._hasher = NoHashing()  # type: ignore[assignment]
    huge = "a" * 10_000_000
    with pytest.raises(InvalidInput, match="1,024"):
        hasher.hash(huge)
    assert not hasher.verify(password_hash, huge)
    hasher.dummy_verify(huge)


def test_needs_rehash_when_parameters_rise(hasher: PasswordHasher) -> None:
    """A hash made with the old parameters needs a rehash once the memory cost rises."""
    old_hash = hasher.hash(GOOD)
    assert not hasher.needs_rehash(old_hash)
    raised = PasswordHasher(dataclasses.replace(CHEAP, memory_cost=128, time_cost=2))
    assert raised.verify(old_hash, GOOD)
    assert raised.needs_rehash(old_hash)
    assert not raised.needs_rehash(raised.hash(GOOD))


def test_dummy_verify_checks_a_hash_made_with_the_same_parameters(
    hasher: PasswordHasher,
) -> None:
    """The dummy hash has the hasher's own parameters, so unknown accounts cost the same."""
    assert argon2.extract_parameters(hasher._dummy_hash) == CHEAP
    hasher.dummy_verify(GOOD)


def test_production_defaults_are_argon2id_at_least_as_strong_as_argon2_cffi() -> None:
    """By default passwords use Argon2id with at least argon2-cffi's memory and time cost."""
    production = PasswordHasher()
    library = argon2.PasswordHasher()
    assert production.parameters.type is argon2.Type.ID
    assert production.parameters.memory_cost >= library.memory_cost
    assert production.parameters.time_cost >= library.time_cost
    assert production.hash(GOOD).startswith("$argon2id$")


def test_other_argon2_variants_are_refused() -> None:
    """A hasher cannot be built for Argon2i or Argon2d."""
    with pytest.raises(ValueError, match="Argon2id"):
        PasswordHasher(dataclasses.replace(CHEAP, type=argon2.Type.I))
