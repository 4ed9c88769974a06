"""Tests of mykerio/security/phone.py: international numbers in, E.164 out, masked display."""

from __future__ import annotations

import re

import pytest

from mykerio.errors import InvalidInput
from mykerio.security.phone import country_code, mask_phone, normalise_phone


def fullwidth(text: str) -> str:
    """`text` with its printable ASCII characters in their full-width forms (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+18005550199", "+18005550199"),
        ("+1 800 555 0199", "+18005550199"),
        ("+1 (800) 555-0199", "+18005550199"),
        ("+1.800.555.0199", "+18005550199"),
        ("+420 377 338 901", "+420377338901"),
        ("+420-377-338-901", "+420377338901"),
        ("+420\u2013377\u2013338\u2013901", "+420377338901"),
        ("  +420\u00a0377\u00a0338\u00a0901  ", "+420377338901"),
        (fullwidth("+420 377 338 901"), "+420377338901"),
        ("(+44) 20 7946 0958", "+442079460958"),
    ],
)
def test_international_forms_are_accepted(typed: str, e164: str) -> None:
    """Common ways of writing an international number all give the same E.164 form."""
    assert normalise_phone(typed) == e164


@pytest.mark.parametrize(
    ("typed", "complaint"),
    [
        ("", "enter a phone number"),
        ("420 377 338 901", "start with +"),
        ("00420 377 338 901", "replace the leading 00 with +"),
        ("+1 800 FLOWERS", "letters"),
        ("+1 800 555 0199 ext 12", "letters"),
        ("+4203773", "7 digits"),
        ("+1234 5678 9012 3456", "at most 15"),
        ("+0420 377 338 901", "never starts with 0"),
        ("+44 (0)20 7946 0958", "leave out the (0)"),
        ("+1 (800 555 0199", "pair of parentheses"),
        ("+1 (800) (555) 0199", "pair of parentheses"),
        ("+1/800/555/0199", "cannot contain /"),
        ("+420 ٣٧٧ ٣٣٨ ٩٠١", "digits 0-9"),
        ("++420 377 338 901", "only stand at the start"),
        ("+420 377 + 338 901", "only stand at the start"),
        ("+99912345678", "+99912345678 does not start with a country code in use"),
        ("+1 000 000 0000", "not a phone number in use"),
        ("+37012345678", "not a phone number in use"),
    ],
)
def test_bad_numbers_are_refused_with_the_reason(typed: str, complaint: str) -> None:
    """Each kind of bad number raises InvalidInput whose message says what is wrong."""
    with pytest.raises(InvalidInput, match=re.escape(complaint)):
        normalise_phone(typed)


@pytest.mark.parametrize(
    ("e164", "code"),
    [
        ("+18005550199", "1"),
        ("+74951234567", "7"),
        ("+442079460958", "44"),
        ("+420377338901", "420"),
    ],
)
def test_country_codes_are_found_by_their_e164_length(e164: str, code: str) -> None:
    """Country codes are one, two or three digits as ITU-T assigns them."""
    assert country_code(e164) == code


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+420377338901", "+420 ••• ••• 901"),
        ("+18005550199", "+1 ••• •••• 199"),
        ("+442079460958", "+44 ••• •••• 958"),
        # Not numbers in use: a phone saved before the hub checked that still shows.
        ("+491234567890", "+49 ••• •••• 890"),
        ("+37012345678", "+370 ••• •• 678"),
    ],
)
def test_masked_numbers_show_the_country_code_and_last_three_digits(e164: str, masked: str) -> None:
    """The display form hides every digit but the country code and the last three."""
    assert mask_phone(e164) == masked
