"""OrganizationActor: one per organization (key `org:<id>`), started on first use.

Its parts each own one thing — `membership` (name, members, invitations), `roster` (the
appliances and their history), `activity` (the activity log), `backups` (the Backups
section), `definitions` (the shared definitions and each appliance's sync of them), `relay` (its
relaying appliances), `administration` ("Open administration") — on the
state and checks of `core`. Callers reach it through `actors.router.Router.organization`, with
typed calls:
`await router.organization(org_id).call(OrganizationActor.view, user)`.
"""

from __future__ import annotations

from actors.organization.activity import ActivityPart
from actors.organization.administration import AdministrationPart
from actors.organization.backups import BackupsPart
from actors.organization.core import FindAppliance, SendMail
from actors.organization.definitions import DefinitionsPart
from actors.organization.membership import MembershipPart
from actors.organization.relay import RelayPart
from actors.organization.roster import RosterPart

__all__ = ["FindAppliance", "OrganizationActor", "SendMail"]


class OrganizationActor(
    MembershipPart,
    RosterPart,
    ActivityPart,
    BackupsPart,
    DefinitionsPart,
    RelayPart,
    AdministrationPart,
):
    """Membership, invitations, appliances, the activity log, the backups, the shared
    definitions, the relaying appliances and the opening of appliances' administration of one
    organization."""
