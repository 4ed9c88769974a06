"""Tests of mykerio/security/backup_codes.py: generation, normalisation and keyed hashing."""

from __future__ import annotations

import re

import pytest

from mykerio.security.backup_codes import ALPHABET, generate, hash_code, normalise_code

KEY = bytes(range(32))


def test_a_set_is_ten_distinct_grouped_codes() -> None:
    """generate() gives 10 different codes shaped like abcde-fghij."""
    codes = generate()
    assert len(codes) == 10
    assert len(set(codes)) == 10
    for code in codes:
        assert re.fullmatch(rf"[{ALPHABET}]{{5}}-[{ALPHABET}]{{5}}", code)


def test_the_count_can_be_chosen() -> None:
    """generate(count) gives that many codes."""
    assert len(generate(3)) == 3


def test_the_alphabet_has_no_look_alikes() -> None:
    """Codes never contain 0, o, 1, l or i, which are easy to misread."""
    assert not set("0o1li") & set(ALPHABET)
    assert not set("0o1li") & set("".join(generate(50)))


def test_two_sets_differ() -> None:
    """Each set is freshly random."""
    assert set(generate()).isdisjoint(generate())


@pytest.mark.parametrize("typed", ["abcde-fghjk", "ABCDE FGHJK", " abcdefghjk ", "ab-cde\tfg hjk"])
def test_spaces_dashes_and_case_are_ignored(typed: str) -> None:
    """Whatever spacing, dashes or case the user types, the code normalises the same."""
    assert normalise_code(typed) == "abcdefghjk"


def test_the_hash_ignores_formatting() -> None:
    """A code hashes the same as shown and as typed loosely."""
    assert hash_code("abcde-fghjk", KEY) == hash_code("ABCDE FGHJK", KEY)


def test_the_hash_depends_on_the_code_and_the_key() -> None:
    """Different codes, or the same code under another key, hash differently."""
    assert hash_code("abcde-fghjk", KEY) != hash_code("abcde-fghjm", KEY)
    assert hash_code("abcde-fghjk", KEY) != hash_code("abcde-fghjk", bytes(32))
    assert re.fullmatch(r"[0-9a-f]{64}", hash_code("abcde-fghjk", KEY))


def test_an_empty_key_is_refused() -> None:
    """Hashing without a key would be a plain hash; it is a programming error."""
    with pytest.raises(ValueError, match="key"):
        hash_code("abcde-fghjk", b"")
