"""Tests of mykerio/protocol/versions.py: protocol version negotiation."""

from __future__ import annotations

import pytest

from mykerio.protocol.errors import CloseCode, ProtocolError, close_code_for
from mykerio.protocol.versions import PROTOCOL_VERSIONS, negotiate


def test_this_hub_speaks_versions_one_and_two() -> None:
    """PROTOCOL_VERSIONS is (1, 2): version 1 stays, version 2 adds streams."""
    assert PROTOCOL_VERSIONS == (1, 2)


@pytest.mark.parametrize("offered", [[1], [1, 3], [3, 1], (1,)])
def test_an_offer_of_one_without_two_gets_one(offered: list[int]) -> None:
    """An offer containing 1 but not 2 negotiates version 1, in any order."""
    assert negotiate(offered) == 1


@pytest.mark.parametrize("offered", [[1, 2], [2], [2, 1, 3]])
def test_an_offer_with_two_gets_two(offered: list[int]) -> None:
    """Any offer containing 2 negotiates version 2, the highest this hub speaks."""
    assert negotiate(offered) == 2


def test_the_highest_common_version_wins() -> None:
    """With several versions in common, the highest is chosen."""
    assert negotiate([1, 2, 5], supported=(1, 2, 3)) == 2


@pytest.mark.parametrize("offered", [[3, 4], [], [0]])
def test_no_common_version_is_refused_naming_the_supported_ones(offered: list[int]) -> None:
    """Without a common version, unsupported_version names what the hub speaks; closes 4001."""
    with pytest.raises(ProtocolError) as caught:
        negotiate(offered)
    assert caught.value.code == "unsupported_version"
    assert "this hub speaks 1, 2" in caught.value.message
    assert close_code_for(caught.value) == CloseCode.UNSUPPORTED_VERSION
    assert int(CloseCode.UNSUPPORTED_VERSION) == 4001
