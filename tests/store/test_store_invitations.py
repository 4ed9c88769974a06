"""The invitations contract: one pending invitation per address, its links, and its one-time end.

Runs against SQLite and MongoDB; adding and deleting are raced 20 ways.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from datetime import datetime, timedelta

import pytest

from mykerio.errors import Conflict, InvalidInput, NotFound
from mykerio.models import Invitation
from mykerio.store import Store
from tests.store.factories import T0, WEEK, make_invitation

MILLISECOND = timedelta(milliseconds=1)


def link_hash(name: str) -> str:
    """The SHA-256 hex digest standing for the token of one sent link."""
    return hashlib.sha256(name.encode()).hexdigest()


async def test_add_and_look_up_by_id_and_token(store: Store) -> None:
    """An added invitation comes back as given, by its id and by its link's token hash."""
    invitation = make_invitation("Bob@Example.com")

    assert await store.invitations.add(invitation, link_hash("first")) == invitation

    assert await store.invitations.by_id(invitation.id) == invitation
    assert await store.invitations.by_token(link_hash("first"), T0) == invitation
    assert await store.invitations.by_token(link_hash("never-sent"), T0) is None
    assert await store.invitations.by_id("missing") is None


async def test_one_pending_invitation_per_organization_and_address(store: Store) -> None:
    """A second invitation of the same address to the same organization, in any letter case,
    conflicts and leaves the first alone; other organizations and addresses are free.
    """
    first = await store.invitations.add(make_invitation("bob@example.com"), link_hash("1"))

    for email in ("bob@example.com", "BOB@Example.COM"):
        with pytest.raises(Conflict):
            await store.invitations.add(make_invitation(email), link_hash(email))
    elsewhere = await store.invitations.add(
        make_invitation("BOB@example.com", org_id="org2"), link_hash("2")
    )
    someone_else = await store.invitations.add(make_invitation("cid@example.com"), link_hash("3"))

    assert await store.invitations.pending("org1", T0) == sorted(
        [first, someone_else], key=lambda invitation: invitation.id
    )
    assert await store.invitations.pending("org2", T0) == [elsewhere]
    assert await store.invitations.by_token(link_hash("BOB@Example.COM"), T0) is None


async def test_an_expired_invitation_gives_way_to_a_new_one(store: Store) -> None:
    """An invitation expired by the new one's creation is replaced, its links with it."""
    old = await store.invitations.add(
        make_invitation("bob@example.com", expires_at=T0 + WEEK), link_hash("old")
    )

    new = await store.invitations.add(
        make_invitation("BOB@example.com", created_at=T0 + WEEK), link_hash("new")
    )

    assert await store.invitations.by_id(old.id) is None
    assert await store.invitations.by_token(link_hash("old"), T0) is None
    assert await store.invitations.by_token(link_hash("new"), T0 + WEEK) == new
    assert await store.invitations.pending("org1", T0 + WEEK) == [new]


async def test_an_invitation_still_pending_by_one_millisecond_blocks(store: Store) -> None:
    """An invitation expiring just after the new one's creation still conflicts."""
    old = await store.invitations.add(make_invitation(expires_at=T0 + WEEK), link_hash("old"))

    with pytest.raises(Conflict):
        await store.invitations.add(
            make_invitation(created_at=T0 + WEEK - MILLISECOND), link_hash("new")
        )

    assert await store.invitations.by_id(old.id) == old
    assert await store.invitations.by_token(link_hash("new"), T0) is None


async def test_taken_id_or_token_hash_conflicts_and_stores_nothing(store: Store) -> None:
    """Adding with an existing id or token hash is refused, and nothing of it is kept."""
    first = await store.invitations.add(make_invitation("bob@example.com"), link_hash("1"))

    with pytest.raises(Conflict):
        await store.invitations.add(
            dataclasses.replace(first, email="cid@example.com"), link_hash("2")
        )
    taken_hash = make_invitation("dan@example.com")
    with pytest.raises(Conflict):
        await store.invitations.add(taken_hash, link_hash("1"))

    assert await store.invitations.by_token(link_hash("2"), T0) is None
    assert await store.invitations.by_token(link_hash("1"), T0) == first
    assert await store.invitations.by_id(taken_hash.id) is None
    assert await store.invitations.pending("org1", T0) == [first]


async def test_every_link_works_until_the_invitation_is_deleted(store: Store) -> None:
    """All links sent for an invitation lead to it, and none does once it is deleted."""
    invitation = await store.invitations.add(make_invitation(), link_hash("1"))
    await store.invitations.renew(invitation.id, link_hash("2"), T0 + WEEK)
    await store.invitations.renew(invitation.id, link_hash("3"), T0 + WEEK)
    links = [link_hash(name) for name in ("1", "2", "3")]
    for link in links:
        assert await store.invitations.by_token(link, T0) == invitation

    assert await store.invitations.delete(invitation.id)
    assert not await store.invitations.delete(invitation.id)

    for link in links:
        assert await store.invitations.by_token(link, T0) is None
    assert await store.invitations.by_id(invitation.id) is None


async def test_a_deleted_invitations_id_brings_no_old_link_back(store: Store) -> None:
    """An invitation added again under a deleted one's id answers only to its own links."""
    invitation = await store.invitations.add(make_invitation(), link_hash("old"))
    await store.invitations.delete(invitation.id)

    await store.invitations.add(invitation, link_hash("new"))

    assert await store.invitations.by_token(link_hash("old"), T0) is None
    assert await store.invitations.by_token(link_hash("new"), T0) == invitation


async def test_renew_moves_the_expiry_for_old_and_new_links(store: Store) -> None:
    """Renewing returns the invitation with its new expiry, which every link then follows."""
    invitation = await store.invitations.add(make_invitation(), link_hash("1"))
    later = T0 + 2 * WEEK

    renewed = await store.invitations.renew(invitation.id, link_hash("2"), later)

    assert renewed == dataclasses.replace(invitation, expires_at=later)
    assert await store.invitations.by_id(invitation.id) == renewed
    after_first_week = T0 + WEEK + timedelta(days=1)
    assert await store.invitations.by_token(link_hash("1"), after_first_week) == renewed
    assert await store.invitations.by_token(link_hash("2"), after_first_week) == renewed
    assert await store.invitations.pending("org1", after_first_week) == [renewed]
    assert await store.invitations.by_token(link_hash("1"), later) is None


async def test_renew_can_bring_the_expiry_closer(store: Store) -> None:
    """Renewing sets the expiry it is given, even an earlier one."""
    invitation = await store.invitations.add(make_invitation(), link_hash("1"))
    sooner = T0 + timedelta(days=1)

    renewed = await store.invitations.renew(invitation.id, link_hash("2"), sooner)

    assert renewed.expires_at == sooner
    assert await store.invitations.by_token(link_hash("1"), sooner) is None


async def test_renew_of_a_missing_invitation_or_with_a_taken_hash_fails(store: Store) -> None:
    """Renewing a gone invitation raises `NotFound`; a taken hash raises `Conflict` and changes
    nothing.
    """
    invitation = await store.invitations.add(make_invitation(), link_hash("1"))
    other = await store.invitations.add(make_invitation("cid@example.com"), link_hash("2"))

    with pytest.raises(Conflict):
        await store.invitations.renew(invitation.id, link_hash("2"), T0 + 2 * WEEK)
    await store.invitations.delete(other.id)
    with pytest.raises(NotFound):
        await store.invitations.renew(other.id, link_hash("3"), T0 + 2 * WEEK)
    with pytest.raises(NotFound):
        await store.invitations.renew("missing", link_hash("4"), T0 + 2 * WEEK)

    assert await store.invitations.by_id(invitation.id) == invitation
    for name in ("2", "3", "4"):
        assert await store.invitations.by_token(link_hash(name), T0) is None


async def test_links_stop_at_the_expiry_time(store: Store) -> None:
    """A link works until 1 ms before `expires_at` and not at it; `by_id` still finds it."""
    invitation = await store.invitations.add(make_invitation(), link_hash("1"))
    expiry = invitation.expires_at

    assert await store.invitations.by_token(link_hash("1"), expiry - MILLISECOND) == invitation
    assert await store.invitations.by_token(link_hash("1"), expiry) is None
    assert await store.invitations.pending("org1", expiry) == []
    assert await store.invitations.by_id(invitation.id) == invitation


async def test_pending_lists_the_organizations_live_invitations_oldest_first(
    store: Store,
) -> None:
    """`pending` gives one organization's unexpired invitations by creation time, then id."""
    newer = await store.invitations.add(
        make_invitation("ann@example.com", created_at=T0 + timedelta(hours=1)), link_hash("a")
    )
    short = await store.invitations.add(
        make_invitation("dan@example.com", expires_at=T0 + timedelta(days=1)), link_hash("d")
    )
    same_time = sorted(
        [
            short,
            await store.invitations.add(make_invitation("bob@example.com"), link_hash("b")),
            await store.invitations.add(make_invitation("cid@example.com"), link_hash("c")),
        ],
        key=lambda invitation: invitation.id,
    )
    await store.invitations.add(make_invitation("eve@example.com", org_id="org2"), link_hash("e"))

    assert await store.invitations.pending("org1", T0) == [*same_time, newer]
    assert await store.invitations.pending("org1", T0 + timedelta(days=1)) == [
        *(invitation for invitation in same_time if invitation != short),
        newer,
    ]
    assert await store.invitations.pending("nowhere", T0) == []


async def test_pending_for_email_spans_organizations_and_letter_case(store: Store) -> None:
    """An address's pending invitations to every organization are found whatever its case."""
    first = await store.invitations.add(
        make_invitation("Bob@Example.com", org_id="org2"), link_hash("1")
    )
    second = await store.invitations.add(
        make_invitation("bob@example.com", org_id="org1", created_at=T0 + MILLISECOND),
        link_hash("2"),
    )
    await store.invitations.add(
        make_invitation("bob@example.com", org_id="org3", expires_at=T0), link_hash("3")
    )
    await store.invitations.add(make_invitation("cid@example.com"), link_hash("4"))

    assert await store.invitations.pending_for_email("BOB@example.COM", T0) == [first, second]
    assert await store.invitations.pending_for_email("nobody@example.com", T0) == []


async def test_twenty_concurrent_deletes_let_one_win(store: Store) -> None:
    """Of twenty simultaneous deletes of one invitation exactly one reports it deleted."""
    invitation = await store.invitations.add(make_invitation(), link_hash("1"))
    await store.invitations.renew(invitation.id, link_hash("2"), T0 + WEEK)
    # Open twenty connections first, so the deletes truly overlap instead of queueing for one.
    await asyncio.gather(*(store.invitations.by_id(invitation.id) for _ in range(20)))

    outcomes = await asyncio.gather(*(store.invitations.delete(invitation.id) for _ in range(20)))

    assert sorted(outcomes) == [False] * 19 + [True]
    assert await store.invitations.by_token(link_hash("1"), T0) is None
    assert await store.invitations.by_token(link_hash("2"), T0) is None


async def test_twenty_concurrent_adds_for_one_address_let_one_in(store: Store) -> None:
    """Of twenty simultaneous invitations of one address, also replacing an expired one, one
    is stored and the rest conflict.
    """
    await store.invitations.add(make_invitation(expires_at=T0), link_hash("expired"))
    candidates = [make_invitation("Bob@example.com") for _ in range(20)]
    # Open twenty connections first, so the adds truly overlap instead of queueing for one.
    await asyncio.gather(*(store.invitations.pending("org1", T0) for _ in range(20)))

    outcomes = await asyncio.gather(
        *(
            store.invitations.add(candidate, link_hash(str(i)))
            for i, candidate in enumerate(candidates)
        ),
        return_exceptions=True,
    )

    winners = [outcome for outcome in outcomes if isinstance(outcome, Invitation)]
    assert len(winners) == 1
    assert sum(isinstance(outcome, Conflict) for outcome in outcomes) == 19
    assert await store.invitations.pending("org1", T0) == winners
    links = [await store.invitations.by_token(link_hash(str(i)), T0) for i in range(20)]
    assert [link for link in links if link is not None] == winners


async def test_delete_expired_includes_the_expiry_time(store: Store) -> None:
    """Cleanup deletes invitations expiring at or before now, with their links, and counts them."""
    early = await store.invitations.add(
        make_invitation("ann@example.com", expires_at=T0 + WEEK - MILLISECOND), link_hash("a")
    )
    on_time = await store.invitations.add(
        make_invitation("bob@example.com", expires_at=T0 + WEEK), link_hash("b")
    )
    later = await store.invitations.add(
        make_invitation("cid@example.com", expires_at=T0 + WEEK + MILLISECOND), link_hash("c")
    )
    await store.invitations.renew(on_time.id, link_hash("b2"), T0 + WEEK)

    assert await store.invitations.delete_expired(T0 + WEEK) == 2
    assert await store.invitations.delete_expired(T0 + WEEK) == 0

    assert await store.invitations.by_id(early.id) is None
    assert await store.invitations.by_id(on_time.id) is None
    for name in ("a", "b", "b2"):
        assert await store.invitations.by_token(link_hash(name), T0) is None
    assert await store.invitations.by_token(link_hash("c"), T0) == later


async def test_delete_for_org_spares_other_organizations(store: Store) -> None:
    """Deleting an organization's invitations, expired ones too, leaves other organizations'."""
    await store.invitations.add(make_invitation("ann@example.com"), link_hash("a"))
    await store.invitations.add(make_invitation("bob@example.com", expires_at=T0), link_hash("b"))
    kept = await store.invitations.add(
        make_invitation("ann@example.com", org_id="org2"), link_hash("c")
    )

    assert await store.invitations.delete_for_org("org1") == 2
    assert await store.invitations.delete_for_org("org1") == 0

    assert await store.invitations.by_token(link_hash("a"), T0) is None
    assert await store.invitations.pending("org1", T0 - WEEK) == []
    assert await store.invitations.pending_for_email("ann@example.com", T0) == [kept]
    assert await store.invitations.by_token(link_hash("c"), T0) == kept


async def test_naive_datetimes_are_refused(store: Store) -> None:
    """Every invitation operation taking a time refuses a naive one with `InvalidInput`."""
    naive = datetime(2026, 1, 1)
    invitation = await store.invitations.add(make_invitation(), link_hash("1"))

    with pytest.raises(InvalidInput):
        await store.invitations.add(
            make_invitation("cid@example.com", created_at=naive, expires_at=T0), link_hash("2")
        )
    with pytest.raises(InvalidInput):
        await store.invitations.renew(invitation.id, link_hash("3"), naive)
    with pytest.raises(InvalidInput):
        await store.invitations.by_token(link_hash("1"), naive)
    with pytest.raises(InvalidInput):
        await store.invitations.pending("org1", naive)
    with pytest.raises(InvalidInput):
        await store.invitations.pending_for_email("bob@example.com", naive)
    with pytest.raises(InvalidInput):
        await store.invitations.delete_expired(naive)

    assert await store.invitations.by_id(invitation.id) == invitation
    assert await store.invitations.by_token(link_hash("3"), T0) is None
