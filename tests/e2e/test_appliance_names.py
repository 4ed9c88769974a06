"""The dashboard's name check (web/static/names.js) is the hub's name rule, in Chromium."""

from __future__ import annotations

import sys
import unicodedata

from playwright.async_api import BrowserContext

from mykerio.accounts.validation import FieldError
from mykerio.appliances.roster import clean_appliance_name
from mykerio.protocol.text import CONTROL_CATEGORIES, SPACE_CATEGORIES
from web.hub import Hub

# Every code point: which ones the page calls control characters, and which spaces.
SCAN = """async () => {
  const names = await import("/static/names.js");
  const control = [], spaces = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    const char = String.fromCodePoint(cp);
    if (names.nameProblem("a" + char) === "control_characters") control.push(cp);
    else if (names.tidyName("a" + char + "b") === "a b") spaces.push(cp);
  }
  return { control, spaces };
}"""
CHECK = """async (samples) => {
  const names = await import("/static/names.js");
  return samples.map((units) => names.checkName(String.fromCharCode(...units)));
}"""
SAMPLES = [
    "Brno gateway",
    "  Brno \u00a0 gateway\u2028",
    "Brno\x7f",
    "Brno\u009bgw",
    "\tBrno",
    "Brno\ud800",
    "",
    " \u3000 ",
    "x" * 100,
    "x" * 101,
    "\U0001f600" * 100,
    "\U0001f600" * 101,
    "Zürich 🛰 gateway",
]


def utf16(text: str) -> list[int]:
    raw = text.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(raw[i : i + 2], "little") for i in range(0, len(raw), 2)]


def hub_says(text: str) -> dict[str, str]:
    try:
        return {"name": clean_appliance_name(text), "rule": "", "message": ""}
    except FieldError as error:
        return {"rule": error.rule, "message": error.message}


async def test_the_page_checks_names_by_the_hubs_rule(
    hub: Hub, page_context: BrowserContext
) -> None:
    """Chromium and the hub agree on every code point (control character, space or neither)
    and give the same rule and message for sample names."""
    page = await page_context.new_page()
    await page.goto(hub.url + "/login")
    scanned = await page.evaluate(SCAN)
    categories = [unicodedata.category(chr(cp)) for cp in range(sys.maxunicode + 1)]
    control = [cp for cp, c in enumerate(categories) if c in CONTROL_CATEGORIES]
    spaces = [cp for cp, c in enumerate(categories) if c in SPACE_CATEGORIES]
    assert scanned == {"control": control, "spaces": spaces}
    answers = await page.evaluate(CHECK, [utf16(text) for text in SAMPLES])
    for text, answer in zip(SAMPLES, answers, strict=True):
        expected = hub_says(text)
        if expected["rule"]:
            assert (answer["rule"], answer["message"]) == (expected["rule"], expected["message"])
        else:
            assert answer == expected, text
