"""Tests of mykerio/protocol/pairing.py: pairing codes and the "add this appliance" link."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from mykerio.errors import InvalidInput
from mykerio.protocol.pairing import (
    ALPHABET,
    CODE_PATTERN,
    PAIRING_VALID,
    add_link,
    new_pairing_code,
    normalise_pairing_code,
)


def test_codes_are_grouped_and_unique() -> None:
    """new_pairing_code() gives XXXXX-XXXXX codes that do not repeat in a thousand draws."""
    codes = {new_pairing_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(CODE_PATTERN.fullmatch(code) for code in codes)


def test_the_alphabet_has_no_look_alikes() -> None:
    """Codes never contain 0, O, 1 or I; the alphabet has 32 characters (50 bits per code)."""
    assert len(set(ALPHABET)) == 32
    assert not set("0O1I") & set(ALPHABET)


def test_a_code_is_valid_for_fifteen_minutes() -> None:
    """PAIRING_VALID is the 15 minutes the design asks for."""
    assert timedelta(minutes=15) == PAIRING_VALID


@pytest.mark.parametrize("typed", ["abcde-23456", "ABCDE23456", " abcde 23456 ", "ab-cde\t234-56"])
def test_case_spaces_and_dashes_do_not_matter(typed: str) -> None:
    """normalise_pairing_code() turns any typing of a code into its display form."""
    assert normalise_pairing_code(typed) == "ABCDE-23456"


def test_full_width_characters_are_folded() -> None:
    """A code typed with full-width characters (some keyboards) is folded to ASCII."""
    full_width = "".join(chr(ord(char) + 0xFEE0) for char in "ABCDE-23456")
    assert normalise_pairing_code(full_width) == "ABCDE-23456"


@pytest.mark.parametrize("typed", ["", "HJKMN-7654", "HJKMN-765432", "HJKMN-7654O", "HJKMN-7651I"])
def test_what_is_not_a_code_is_refused_without_echoing_it(typed: str) -> None:
    """Wrong length or a character outside the alphabet is InvalidInput, text not repeated."""
    with pytest.raises(InvalidInput) as caught:
        normalise_pairing_code(typed)
    if typed:
        assert typed not in caught.value.message


def test_the_link_carries_the_code_in_its_fragment() -> None:
    """add_link() puts the code after #, so browsers never send it to a server or proxy."""
    link = add_link("https://hub.example:8443/", "abcde 23456")
    assert link == "https://hub.example:8443/appliances/add#code=ABCDE-23456"
    parts = urlsplit(link)
    assert "ABCDE" not in parts.path + parts.query
    assert parts.fragment == "code=ABCDE-23456"


@pytest.mark.parametrize("public_url", ["hub.example", "https://hub.example/?x=1", "ftp://hub"])
def test_the_link_needs_a_plain_http_base(public_url: str) -> None:
    """A public URL that is not http(s), or already has a query or fragment, is refused."""
    with pytest.raises(ValueError, match="public URL"):
        add_link(public_url, new_pairing_code())
