"""Organizations over the API: create, rename, delete, leave, invitations, removal, activity."""

from __future__ import annotations

from mykerio.clock import FakeClock
from tests.api_client import ApiSession
from tests.conftest import api_session
from tests.smtp_server import LoopbackSmtp
from tests.web.accounts_helpers import token_in
from tests.web.org_helpers import member
from web.hub import Hub


async def invite(api: ApiSession, org_id: str, email: str) -> dict[str, str]:
    result = await api.post(f"/api/v1/organizations/{org_id}/invitations", {"email": email})
    assert result.status == 201, result
    return dict(result.json)


async def test_create_rename_and_switch(api: ApiSession, smtp_server: LoopbackSmtp) -> None:
    """A user creates and renames an organization and switches to it; names are validated."""
    first = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    bad = await api.post("/api/v1/organizations", {"name": "   "})
    assert (bad.status, bad.json["error"]["field"]) == (400, "name")
    created = await api.post("/api/v1/organizations", {"name": "Branch  Office"})
    assert created.status == 201
    assert created.json["name"] == "Branch Office"
    org_id = created.json["id"]
    renamed = await api.request("PATCH", f"/api/v1/organizations/{org_id}", {"name": "Prague"})
    assert renamed.json["name"] == "Prague"
    listed = (await api.get("/api/v1/organizations")).json
    assert [o["name"] for o in listed["organizations"]] == ["acme.example", "Prague"]
    assert listed["selected"] == first
    assert (await api.request("PUT", "/api/v1/me/organization", {"org_id": org_id})).status == 204
    assert (await api.get("/api/v1/organizations")).json["selected"] == org_id


async def test_invitation_is_emailed_listed_and_accepted_by_the_invitee(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """The invitee gets "Ana Novak has invited you to shared …", registers with that address,
    accepts, and the organization then lists them as a member."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    pending = await invite(api, org_id, "bob@other.example")
    mail = await smtp_server.find("bob@other.example", "invited")
    assert mail["Subject"] == "Ana Novak has invited you to shared acme.example organization"
    view = (await api.get(f"/api/v1/organizations/{org_id}")).json
    assert [i["email"] for i in view["invitations"]] == ["bob@other.example"]
    assert view["invitations"][0]["expires_at"] == pending["expires_at"]

    bob = api_session(hub, user_agent="bob-browser")
    await member(bob, smtp_server, "bob@other.example", "Bob Smith")
    preview = await bob.post("/api/v1/invitations/preview", {"token": token_in(mail)})
    assert preview.json == {
        "email": "bob@other.example",
        "organization": "acme.example",
        "invited_by": "Ana Novak",
        "logged_in_as": "bob@other.example",
        "for_this_account": True,
    }
    accepted = await bob.post("/api/v1/invitations/accept", {"token": token_in(mail)})
    assert accepted.status == 200, accepted
    names = [o["name"] for o in (await bob.get("/api/v1/organizations")).json["organizations"]]
    assert "acme.example" in names
    view = (await api.get(f"/api/v1/organizations/{org_id}")).json
    assert {m["email"] for m in view["members"]} == {"ana@acme.example", "bob@other.example"}
    assert view["invitations"] == []
    again = await bob.post("/api/v1/invitations/accept", {"token": token_in(mail)})
    assert again.status == 404


async def test_only_the_invited_address_can_accept(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Someone logged in with another address is told to use the invited one; the preview
    says so before they try, and says nothing of the kind to a visitor who is logged out."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    await invite(api, org_id, "bob@other.example")
    mail = await smtp_server.find("bob@other.example", "invited")
    eve = api_session(hub)
    visitor = (await eve.post("/api/v1/invitations/preview", {"token": token_in(mail)})).json
    assert (visitor["logged_in_as"], visitor["for_this_account"]) == (None, None)
    await member(eve, smtp_server, "eve@evil.example", "Eve")
    preview = (await eve.post("/api/v1/invitations/preview", {"token": token_in(mail)})).json
    assert (preview["logged_in_as"], preview["for_this_account"]) == ("eve@evil.example", False)
    refused = await eve.post("/api/v1/invitations/accept", {"token": token_in(mail)})
    assert refused.status == 403
    assert "bob@other.example" in refused.json["error"]["message"]


async def test_inviting_a_member_or_twice_answers_clearly(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Inviting an existing member, or an address already invited, is a clear 400."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    self_invite = await api.post(
        f"/api/v1/organizations/{org_id}/invitations", {"email": "ANA@acme.example"}
    )
    assert "already a member" in self_invite.json["error"]["message"]
    await invite(api, org_id, "bob@other.example")
    twice = await api.post(
        f"/api/v1/organizations/{org_id}/invitations", {"email": "Bob@Other.example"}
    )
    assert twice.status == 400
    assert "already invited" in twice.json["error"]["message"]


async def test_resend_resets_the_seven_days_and_expired_ones_disappear(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Resending sends a new email and restarts 7 days; an invitation left alone for 7 days
    disappears from the list and its link is refused."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    first = await invite(api, org_id, "bob@other.example")
    first_link = token_in(await smtp_server.find("bob@other.example", "invited"))
    clock.advance(6 * 24 * 3600)
    resent = await api.post(f"/api/v1/organizations/{org_id}/invitations/{first['id']}/resend")
    assert resent.status == 200
    assert resent.json["expires_at"] > first["expires_at"]
    await smtp_server.wait_for(3)
    clock.advance(2 * 24 * 3600)  # 8 days after the first email, 2 after the resend
    view = (await api.get(f"/api/v1/organizations/{org_id}")).json
    assert [i["email"] for i in view["invitations"]] == ["bob@other.example"]
    bob = api_session(hub)
    await member(bob, smtp_server, "bob@other.example", "Bob Smith")
    assert (await bob.post("/api/v1/invitations/preview", {"token": first_link})).status == 200
    clock.advance(6 * 24 * 3600)
    view = (await api.get(f"/api/v1/organizations/{org_id}")).json
    assert view["invitations"] == []
    assert (await bob.post("/api/v1/invitations/accept", {"token": first_link})).status == 404


async def test_revoked_invitation_links_all_fail(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """After revoking, every link sent for the invitation (first and resent) is refused."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    pending = await invite(api, org_id, "bob@other.example")
    base = f"/api/v1/organizations/{org_id}/invitations/{pending['id']}"
    await api.post(f"{base}/resend")
    messages = await smtp_server.wait_for(3)
    links = [token_in(m) for m in messages if m["To"] == "bob@other.example"]
    assert len(links) == 2
    assert (await api.request("DELETE", base)).status == 204
    bob = api_session(hub)
    await member(bob, smtp_server, "bob@other.example", "Bob Smith")
    for link in links:
        assert (await bob.post("/api/v1/invitations/preview", {"token": link})).status == 404
        assert (await bob.post("/api/v1/invitations/accept", {"token": link})).status == 404


async def with_opted_out_bob(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> tuple[str, ApiSession]:
    """Ana's organization with Bob as a member who turned off email notifications."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    await invite(api, org_id, "bob@other.example")
    token = token_in(await smtp_server.find("bob@other.example", "invited"))
    bob = api_session(hub)
    await member(bob, smtp_server, "bob@other.example", "Bob Smith")
    await bob.request("PUT", "/api/v1/me/notifications", {"enabled": False})
    await bob.post("/api/v1/invitations/accept", {"token": token})
    return org_id, bob


async def test_removed_member_is_emailed_and_loses_access_at_once(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Removing a member emails them (despite their opt-out) and their very next request for
    the organization answers 404."""
    org_id, bob = await with_opted_out_bob(hub, api, smtp_server)
    assert (await bob.get(f"/api/v1/organizations/{org_id}")).status == 200
    view = (await api.get(f"/api/v1/organizations/{org_id}")).json
    bob_id = next(m["user_id"] for m in view["members"] if m["email"] == "bob@other.example")
    removed = await api.request("DELETE", f"/api/v1/organizations/{org_id}/members/{bob_id}")
    assert removed.status == 204
    assert (await bob.get(f"/api/v1/organizations/{org_id}")).status == 404
    assert (await bob.get(f"/api/v1/audit?org_id={org_id}")).status == 404
    notice = await smtp_server.find("bob@other.example", "removed")
    assert notice["Subject"] == "You were removed from acme.example in MyKerio"


async def test_last_member_cannot_leave_but_can_delete(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Leaving as the last member is refused with an explanation; deleting works, even with a
    pending invitation, and tells what was removed."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    refused = await api.post(f"/api/v1/organizations/{org_id}/leave")
    assert refused.status == 409
    assert "Delete the organization instead" in refused.json["error"]["message"]
    await invite(api, org_id, "bob@other.example")
    summary = await api.get(f"/api/v1/organizations/{org_id}/deletion")
    assert summary.json == {"members": 1, "invitations": 1, "appliances": 0, "backups": 0}
    deleted = await api.request("DELETE", f"/api/v1/organizations/{org_id}")
    assert deleted.status == 200
    assert deleted.json["removed"]["invitations"] == 1
    assert (await api.get(f"/api/v1/organizations/{org_id}")).status == 404
    assert (await api.get("/api/v1/organizations")).json["organizations"] == []
    assert (await api.get("/api/v1/me")).status == 200, "the account is kept"


async def test_deleting_an_organization_emails_its_other_members(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Deleting an organization sends every other member (despite their opt-out) the removal
    notice, and none to the person who deleted it."""
    org_id, _bob = await with_opted_out_bob(hub, api, smtp_server)
    assert (await api.request("DELETE", f"/api/v1/organizations/{org_id}")).status == 200
    notice = await smtp_server.find("bob@other.example", "removed")
    assert notice["Subject"] == "You were removed from acme.example in MyKerio"
    body = notice.get_body(("plain",))
    assert body is not None
    assert "Ana Novak deleted the acme.example organization." in body.get_content()
    assert not [
        m
        for m in smtp_server.messages
        if "removed" in str(m["Subject"]) and m["To"] == "ana@acme.example"
    ]


async def test_a_member_can_leave(hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp) -> None:
    """A member who is not the last one leaves and no longer sees the organization."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    await invite(api, org_id, "bob@other.example")
    token = token_in(await smtp_server.find("bob@other.example", "invited"))
    bob = api_session(hub)
    await member(bob, smtp_server, "bob@other.example", "Bob Smith")
    await bob.post("/api/v1/invitations/accept", {"token": token})
    assert (await bob.post(f"/api/v1/organizations/{org_id}/leave")).status == 204
    assert (await bob.get(f"/api/v1/organizations/{org_id}")).status == 404


async def test_activity_log_records_who_did_what_from_where(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp, clock: FakeClock
) -> None:
    """Every administrative action is in the activity log with who, when and IP; filterable."""
    org_id = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    clock.advance(1)
    await api.request("PATCH", f"/api/v1/organizations/{org_id}", {"name": "Acme"})
    clock.advance(1)
    pending = await invite(api, org_id, "bob@other.example")
    clock.advance(1)
    base = f"/api/v1/organizations/{org_id}/invitations/{pending['id']}"
    await api.post(f"{base}/resend")
    clock.advance(1)
    await api.request("DELETE", base)
    log = (await api.get(f"/api/v1/organizations/{org_id}/activity")).json["events"]
    assert [e["action"] for e in log] == [
        "invitation_revoked",
        "invitation_resent",
        "member_invited",
        "organization_renamed",
        "organization_created",
    ]
    assert all(e["actor"] == "ana@acme.example" and e["ip"] == "127.0.0.1" for e in log)
    only = await api.get(f"/api/v1/organizations/{org_id}/activity?action=member_invited")
    assert [e["target"] for e in only.json["events"]] == ["bob@other.example"]
    bad = await api.get(f"/api/v1/organizations/{org_id}/activity?action=dance")
    assert bad.status == 400


async def test_unknown_invitation_link_gets_a_clear_answer(api: ApiSession) -> None:
    """A made-up invitation token answers 404 with a message saying the link is not valid."""
    result = await api.post("/api/v1/invitations/preview", {"token": "made-up"})
    assert result.status == 404
    assert "no longer valid" in result.json["error"]["message"]
    page = await api.get("/invitations/accept")
    assert page.status == 200


async def test_a_users_organizations_never_share_a_name(
    hub: Hub, api: ApiSession, smtp_server: LoopbackSmtp
) -> None:
    """Create, rename and accepting an invitation each answer 409 when the user (or another
    member) would then belong to two organizations whose names differ only in case."""
    first = await member(api, smtp_server, "ana@acme.example", "Ana Novak")
    twin = await api.post("/api/v1/organizations", {"name": "ACME.example"})
    assert twin.status == 409, twin
    assert 'already belong to an organization named "acme.example"' in twin.json["error"]["message"]
    other = await api.post("/api/v1/organizations", {"name": "Prague"})
    assert other.status == 201
    renamed = await api.request(
        "PATCH", f"/api/v1/organizations/{other.json['id']}", {"name": " prague "}
    )
    assert renamed.status == 200, "renaming to its own name (other case) is fine"
    clash = await api.request(
        "PATCH", f"/api/v1/organizations/{other.json['id']}", {"name": "Acme.Example"}
    )
    assert clash.status == 409

    bob = api_session(hub, user_agent="bob-browser")
    await member(bob, smtp_server, "bob@acme.example", "Bob Smith")  # his own "acme.example"
    await invite(api, first, "bob@acme.example")
    mail = await smtp_server.find("bob@acme.example", "invited")
    refused = await bob.post("/api/v1/invitations/accept", {"token": token_in(mail)})
    assert refused.status == 409, refused
    assert "Rename yours" in refused.json["error"]["message"]
    bobs = (await bob.get("/api/v1/organizations")).json
    await bob.request("PATCH", f"/api/v1/organizations/{bobs['selected']}", {"name": "Bob's lab"})
    accepted = await bob.post("/api/v1/invitations/accept", {"token": token_in(mail)})
    assert accepted.status == 200, "the refused attempt left the invitation valid"
    # Another member's organizations count too: Bob already has a "Bob's lab".
    shared = await api.request("PATCH", f"/api/v1/organizations/{first}", {"name": "BOB'S LAB"})
    assert shared.status == 409, shared
    assert shared.json["error"]["message"].startswith("Another member already belongs")
