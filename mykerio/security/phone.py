"""Phone numbers for the backup phone: what is accepted, the E.164 form stored, the masked display.

Accepted: a `+`, the country code and the subscriber number, grouped with spaces, dots, hyphens
or dashes: `+18005550199`, `+1 800 555 0199`, `+420 377 338 901`, `+420-377-338-901`. One pair of
parentheses may enclose the country code with its plus, `(+44) 20 7946 0958`, or one digit group,
`+1 (800) 555-0199`; a parenthesised group starting with 0, as in `+44 (0)20 7946 0958`, is a
national trunk prefix that must not be dialled from abroad, so it is refused with a message
saying to leave it out rather than guessed at. Full-width digits and signs are read as ASCII.
Refused: no leading `+` (also `00420...`), letters, a country code starting with 0, fewer than 8
or more than 15 digits, and then any number that Google's libphonenumber (the `phonenumbers`
package) does not know as a valid number of its country: an unassigned country code such as
`+999 12345678`, or a number its country never gives out such as `+1 000 000 0000`. The result is
`+` and the digits alone: `+420377338901`.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from mykerio.errors import InvalidInput

MIN_DIGITS = 8
MAX_DIGITS = 15  # E.164's maximum, country code included
SEPARATORS = " -.\u2010\u2011\u2012\u2013\u2014\u2212"  # space, dot, hyphen and dashes
MASK = "\u2022"  # bullet

_PARENTHESISED = re.compile(r"\(([^()]*)\)")

# ITU-T E.164 country codes are prefix-free: "1" and "7" are one digit, these are two (20, 27,
# 30-34, 36, 39, 40, 41, 43-49, 51-58, 60-66, 81, 82, 84, 86, 90-95, 98), and every other code is
# three digits. Used only to show the country code unmasked.
_TWO_DIGIT_COUNTRY_CODE = re.compile(r"2[07]|3[0-469]|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58]")


def normalise_phone(text: str) -> str:
    """`text` as an E.164 number (`+420377338901`); raises `InvalidInput` saying what is wrong."""
    e164 = _written_e164(text)
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        parsed = None
    if (
        parsed is None
        or parsed.country_code is None
        or phonenumbers.region_code_for_country_code(parsed.country_code)
        == phonenumbers.UNKNOWN_REGION
    ):
        raise InvalidInput(
            f"{e164} does not start with a country code in use; check the digits after the +"
        )
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(
            "this is not a phone number in use; check the number and its country code"
        )
    return e164


def _written_e164(text: str) -> str:
    """`text` as `+` and its digits if it is written like an international number."""
    number = unicodedata.normalize("NFKC", text).strip()
    if not number:
        raise InvalidInput("enter a phone number in international format, e.g. +420 377 338 901")
    if any(char.isalpha() for char in number):
        raise InvalidInput("a phone number cannot contain letters; enter it as digits")
    unexpected = sorted({c for c in number if not (c.isdigit() or c in SEPARATORS + "+()")})
    if unexpected:
        raise InvalidInput(
            f"a phone number cannot contain {' '.join(unexpected)}; "
            "use only digits, spaces, dashes or dots"
        )
    if any(c.isdigit() and not c.isascii() for c in number):
        raise InvalidInput("enter the phone number with the digits 0-9")
    body = _without_parentheses(number)
    if not body.startswith("+"):
        hint = "replace the leading 00 with +" if body.startswith("00") else "start with +"
        raise InvalidInput(
            f"enter the number in international format with its country code: {hint}, "
            "e.g. +420 377 338 901"
        )
    if "+" in body[1:]:
        raise InvalidInput("a + may only stand at the start of a phone number")
    digits = "".join(c for c in body if c.isdigit())
    if digits.startswith("0"):
        raise InvalidInput("a country code never starts with 0; leave out the 0 after the +")
    if len(digits) < MIN_DIGITS:
        raise InvalidInput(
            f"this number has {len(digits)} digits; an international number has at least "
            f"{MIN_DIGITS} with its country code"
        )
    if len(digits) > MAX_DIGITS:
        raise InvalidInput(
            f"this number has {len(digits)} digits; an international number has at most "
            f"{MAX_DIGITS} with its country code"
        )
    return f"+{digits}"


def _without_parentheses(number: str) -> str:
    """`number` with its one allowed pair of parentheses removed, or `InvalidInput`."""
    groups = _PARENTHESISED.findall(number)
    bare = _PARENTHESISED.sub(lambda match: match.group(1), number, count=1)
    if len(groups) > 1 or "(" in bare or ")" in bare:
        raise InvalidInput("a phone number may have one matching pair of parentheses at most")
    if not groups:
        return number
    inside = groups[0].strip()
    if inside.startswith("+") and number.startswith("("):
        if not inside[1:].isdigit():
            raise InvalidInput("put only the + and the country code in the parentheses")
        return bare
    if not inside.isdigit():
        raise InvalidInput("put only digits in the parentheses")
    if inside.startswith("0"):
        raise InvalidInput(
            f"leave out the ({inside}): a 0 in parentheses is dialled only inside the country"
        )
    return bare


def country_code(e164: str) -> str:
    """The country calling code of an E.164 number, without the `+` (`"420"`, `"1"`)."""
    digits = _written_e164(e164)[1:]
    if digits[0] in "17":
        return digits[0]
    if _TWO_DIGIT_COUNTRY_CODE.fullmatch(digits[:2]):
        return digits[:2]
    return digits[:3]


def mask_phone(e164: str) -> str:
    """The number for display with all but its country code and last 3 digits hidden.

    `+420377338901` → `+420 ••• ••• 901`; `+18005550199` → `+1 ••• •••• 199`.
    """
    # A saved number is shown as it is, even one saved before today's rules.
    digits = _written_e164(e164)[1:]
    code = country_code(e164)
    hidden = len(digits) - len(code) - 3
    groups = [3] * (hidden // 3)
    remainder = hidden % 3
    if remainder == 1 and groups:
        groups[-1] += 1  # no lone bullet: "••• ••••" rather than "••• ••• •"
    elif remainder:
        groups.append(remainder)
    masked = " ".join(MASK * size for size in groups)
    return f"+{code} {masked} {digits[-3:]}"
