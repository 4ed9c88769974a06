"""Tests of mykerio/protocol/status.py: status colours, hover reasons and pending counts."""

from __future__ import annotations

import pytest

from mykerio.protocol.status import KNOB_NAMES, Knobs, colour, pending_notifications, reasons

MINOR = [
    "low_memory",
    "update_available",
    "certificate_expiring",
    "mapped_domain_problem",
    "backup_line_active",
]
MAJOR = ["licence_expired", "maintenance_expired"]


def knob(name: str) -> Knobs:
    """Knobs with just `name` on."""
    return Knobs(**{name: True})


def test_every_knob_is_minor_or_major() -> None:
    """The seven knobs are exactly the minor and the major ones."""
    assert sorted(KNOB_NAMES) == sorted(MINOR + MAJOR)


def test_online_with_no_issue_is_green() -> None:
    """A connected appliance with every knob off is green, with no reason and nothing pending."""
    assert colour(connected=True, reserved=False, knobs=Knobs()) == "green"
    assert reasons(Knobs(), connected=True) == ()
    assert pending_notifications(Knobs()) == 0


@pytest.mark.parametrize("name", MINOR)
def test_each_minor_knob_makes_yellow(name: str) -> None:
    """Online with one minor issue is yellow."""
    assert colour(connected=True, reserved=False, knobs=knob(name)) == "yellow"


@pytest.mark.parametrize("name", MAJOR)
def test_each_major_knob_makes_red(name: str) -> None:
    """Online with an expired licence or expired software maintenance is red."""
    assert colour(connected=True, reserved=False, knobs=knob(name)) == "red"
    assert colour(connected=True, reserved=False, knobs=Knobs(low_memory=True, **{name: True}))


def test_a_major_issue_outranks_minor_ones() -> None:
    """Major and minor issues together make red, not yellow."""
    every = Knobs(**dict.fromkeys(KNOB_NAMES, True))
    assert colour(connected=True, reserved=False, knobs=every) == "red"


def test_offline_is_red_whatever_the_knobs() -> None:
    """A disconnected appliance is red even if its last status was clean."""
    assert colour(connected=False, reserved=False, knobs=Knobs()) == "red"
    assert colour(connected=False, reserved=False, knobs=knob("low_memory")) == "red"


def test_a_reserved_box_that_never_connected_is_grey() -> None:
    """A box added by serial that has not connected yet is grey."""
    assert colour(connected=False, reserved=True, knobs=Knobs()) == "grey"


def test_a_reserved_box_that_connects_is_judged_like_any_other() -> None:
    """Once connected, a reserved box shows green or yellow by its knobs."""
    assert colour(connected=True, reserved=True, knobs=Knobs()) == "green"
    assert colour(connected=True, reserved=True, knobs=knob("update_available")) == "yellow"


def test_reasons_read_like_the_dashboard_hover() -> None:
    """reasons() gives human texts, most serious first."""
    knobs = Knobs(low_memory=True, update_available=True, licence_expired=True)
    assert reasons(knobs, connected=True) == ("Licence expired", "Low memory", "Update available")
    assert reasons(knob("maintenance_expired"), connected=True) == ("Software maintenance expired",)
    assert reasons(knob("mapped_domain_problem"), connected=True) == ("Problem with mapped domain",)


def test_each_knob_has_one_reason() -> None:
    """Every knob alone gives exactly one reason, all different."""
    texts = [reasons(knob(name), connected=True) for name in KNOB_NAMES]
    assert all(len(text) == 1 for text in texts)
    assert len(set(texts)) == len(KNOB_NAMES)


def test_offline_and_reserved_reasons() -> None:
    """Not connected, the only reason is "Offline", or the reserved text for a reserved box."""
    assert reasons(knob("low_memory"), connected=False) == ("Offline",)
    assert reasons(Knobs(), connected=False, reserved=True) == ("Reserved, not connected yet",)


def test_pending_notifications_count_the_active_kinds() -> None:
    """Each knob that is on is one pending notification kind."""
    assert pending_notifications(knob("certificate_expiring")) == 1
    assert pending_notifications(Knobs(low_memory=True, backup_line_active=True)) == 2
    assert pending_notifications(Knobs(**dict.fromkeys(KNOB_NAMES, True))) == 7


def test_knobs_round_trip_through_a_status_body() -> None:
    """to_json() and from_json() carry every knob."""
    knobs = Knobs(low_memory=True, licence_expired=True)
    assert knobs.to_json()["low_memory"] is True
    assert set(knobs.to_json()) == set(KNOB_NAMES)
    assert Knobs.from_json(knobs.to_json()) == knobs
