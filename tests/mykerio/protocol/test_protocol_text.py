"""The one name rule (`mykerio.protocol.text`): what the API stores, the link always carries."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mykerio.accounts.validation import FieldError
from mykerio.appliances.roster import clean_appliance_name
from mykerio.protocol.envelope import Envelope, decode, encode
from mykerio.protocol.errors import ProtocolError
from mykerio.protocol.identity import b64url, new_nonce
from mykerio.protocol.text import NAME_CHARS, name_problem, sendable_name, tidy

KEY = b64url(bytes(32))
# Every kind of code point, lone surrogates included, with controls and spaces made common.
ANY_TEXT = st.text(
    st.one_of(
        st.characters(codec=None),
        st.characters(min_codepoint=0, max_codepoint=0x9F),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        st.sampled_from(" \u00a0\u2028\u3000\t\n"),
    ),
    max_size=120,
)


def follows_rule(name: str) -> bool:
    return 1 <= len(name) <= NAME_CHARS and not any(
        unicodedata.category(char) in ("Cc", "Cs") for char in name
    )


def welcome(name: str) -> Envelope:
    return Envelope.new("welcome", {"appliance_id": "a1", "name": name, "hub_key": KEY})


@given(ANY_TEXT)
def test_an_accepted_name_always_travels_on_the_link(text: str) -> None:
    """Whatever people type, the API either refuses it naming the rule or stores a name that
    the appliance's `welcome` and `rename` carry unchanged."""
    if not follows_rule(tidy(text)):
        with pytest.raises(FieldError) as caught:
            clean_appliance_name(text)
        assert caught.value.field == "name"
        assert caught.value.rule in ("required", "max_length", "control_characters")
        return
    name = clean_appliance_name(text)
    assert follows_rule(name)
    assert decode(encode(welcome(name)), sent_by="hub").body["name"] == name
    assert Envelope.new("rename", {"name": name}).body["name"] == name


@given(ANY_TEXT)
def test_any_stored_name_can_be_sent(stored: str) -> None:
    """A stored name that breaks the rule (stored before it existed) is still sendable."""
    sent = sendable_name(stored)
    assert follows_rule(sent)
    assert decode(encode(welcome(sent)), sent_by="hub").body["name"] == sent
    if follows_rule(stored):
        assert sent == stored


@given(ANY_TEXT)
def test_hello_name_is_checked_by_the_same_rule(name: str) -> None:
    """A `hello.name` is taken exactly when it follows the name rule; otherwise `bad_body`
    (never another exception), also for lone surrogates spelt as JSON escapes."""
    frame = json.dumps(
        {
            "id": "h1",
            "type": "hello",
            "body": {
                "versions": [1],
                "nonce": b64url(new_nonce()),
                "product": "control",
                "version": "9.4.0",
                "name": name,
            },
        }
    )  # ensure_ascii: a lone surrogate travels as \ud800
    if follows_rule(name):
        assert decode(frame, sent_by="appliance").body["name"] == name
        assert name_problem(name) is None
    else:
        with pytest.raises(ProtocolError) as caught:
            decode(frame, sent_by="appliance")
        assert caught.value.code == "bad_body"
        assert "hello.name" in caught.value.message


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Brno\x7f", "control_characters"),
        ("Brno\u009bgw", "control_characters"),
        ("Brno\x01", "control_characters"),
        ("Brno\tgw", "control_characters"),
        ("Brno\ud800", "control_characters"),
        (" \u3000 ", "required"),
        ("x" * 101, "max_length"),
    ],
)
def test_the_rule_names_what_is_wrong(text: str, rule: str) -> None:
    """DEL, C0 (tabs too), C1 such as U+009B and lone surrogates are control characters."""
    with pytest.raises(FieldError) as caught:
        clean_appliance_name(text)
    assert caught.value.rule == rule
    if rule == "control_characters":
        assert "control characters" in caught.value.message


def test_spaces_are_tidied_not_refused() -> None:
    """Leading, trailing and repeated spaces of any kind become single spaces."""
    assert clean_appliance_name("  Brno\u00a0\u00a0 gateway\u2028") == "Brno gateway"
