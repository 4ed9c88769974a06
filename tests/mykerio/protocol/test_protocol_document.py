"""Tests that docs/protocol.md stays true to mykerio/protocol: examples, types, close codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mykerio.protocol.envelope import decode
from mykerio.protocol.errors import CloseCode
from mykerio.protocol.messages import MESSAGE_TYPES, RESERVED_TYPES
from mykerio.protocol.versions import PROTOCOL_VERSIONS

DOCUMENT = (Path(__file__).resolve().parents[3] / "docs" / "protocol.md").read_text("utf-8")


def json_examples() -> list[object]:
    """Every JSON value in the document's ```json blocks (a block may hold several)."""
    decoder = json.JSONDecoder()
    values: list[object] = []
    for block in re.findall(r"```json\n(.*?)```", DOCUMENT, re.DOTALL):
        text, position = block.strip(), 0
        while position < len(text):
            value, position = decoder.raw_decode(text, position)
            values.append(value)
            while position < len(text) and text[position].isspace():
                position += 1
    return values


def test_the_document_names_its_versions() -> None:
    """The document says which protocol versions it describes: those the code speaks."""
    assert PROTOCOL_VERSIONS == (1, 2)
    assert "**Protocol versions 1 and 2**" in DOCUMENT


def test_every_example_decodes() -> None:
    """Each JSON example is a valid message, and every type has one."""
    examples = [decode(json.dumps(value)) for value in json_examples()]
    assert {envelope.type for envelope in examples} == set(MESSAGE_TYPES)


def test_every_type_and_reserved_name_is_documented() -> None:
    """Each registered type has a row in the type table and each reserved name is listed."""
    for name in MESSAGE_TYPES:
        assert re.search(rf"^\| `{name}` +\|", DOCUMENT, re.MULTILINE), name
    for name in RESERVED_TYPES:
        assert f"`{name}`" in DOCUMENT, name


def test_every_close_code_is_in_the_table() -> None:
    """Each CloseCode has a row in the close-code table."""
    for close_code in CloseCode:
        assert re.search(rf"^\| +{int(close_code)} \|", DOCUMENT, re.MULTILINE), close_code
