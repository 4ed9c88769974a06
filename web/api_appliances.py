"""API: an organization's appliances — list, add by pairing code or (a Kerio Control box) by
serial number, rename, remove."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import structlog

from actors.clients import ActorClient
from actors.connection import ConnectionActor, WaitingAppliance
from actors.gate import GateActor, PairingPreview
from actors.organization import OrganizationActor
from mykerio.accounts.validation import FieldError, clean_email
from mykerio.appliances.roster import clean_appliance_name, pairing_hash
from mykerio.appliances.view import ApplianceView
from mykerio.errors import Conflict, DomainError, InvalidInput, NotFound, Unavailable
from mykerio.models import StatusChange
from mykerio.protocol import identity
from mykerio.protocol.messages import ADMIN_PASSWORD_CHARS, ADMIN_USERNAME_CHARS
from mykerio.protocol.messages import text as text_check
from web.api_accounts import text
from web.appliance_links import BOX_GONE, ApplianceLinks
from web.models import appliances as models
from web.models.appliances import AddApplianceRequest, PairingCodeRequest, SerialRequest
from web.models.organizations import NameRequest
from web.openapi import Answer, Operation
from web.orgs import OrgHandler
from web.paging import decode_cursor, lookahead, page_limit, page_of

TAG = "appliances"
log = structlog.get_logger("web.appliances")


class AppliancesHandler(OrgHandler):
    """Lists an organization's appliances and adds new ones."""

    openapi = {
        "get": Operation(
            "The organization's appliances with status, by name",
            TAG,
            {200: Answer("List", models.Appliances)},
        ),
        "post": Operation(
            "Add an appliance by the pairing code of its 'add this appliance' link",
            TAG,
            {201: Answer("Added", models.Appliance)},
            {400: "Invalid or used code, or invalid name"},
            body=AddApplianceRequest,
        ),
    }

    async def get(self, org_id: str) -> None:
        """List."""
        # Encoded, and compressed, by the organization's actor once per change
        # (`models.Appliances` is its schema): thousands of appliances cost neither an encoding
        # nor a compression per request. Tornado's own compression leaves an answer that has a
        # Content-Encoding alone.
        gzipped = self.accepts_gzip()
        document = await self.org_call(org_id, OrganizationActor.appliance_document, gzipped)
        self.set_header("Vary", "Accept-Encoding")
        if gzipped:
            self.set_header("Content-Encoding", "gzip")
        self.write_encoded(document)

    async def post(self, org_id: str) -> None:
        """Add."""
        body = self.body(AddApplianceRequest)
        view: ApplianceView = await self.org_call(
            org_id,
            OrganizationActor.add_appliance,
            text(body, "code"),
            text(body, "name"),
            self.client,
        )
        self.write_model(models.Appliance.model_validate(view), 201)


class ApplianceHandler(OrgHandler):
    """Renames or removes one appliance."""

    openapi = {
        "patch": Operation(
            "Rename an appliance (the appliance is told)",
            TAG,
            {200: Answer("Renamed", models.Appliance)},
            body=NameRequest,
        ),
        "delete": Operation(
            "Remove an appliance: its key is revoked and its socket closed within 5 s",
            TAG,
            {204: Answer("Removed")},
        ),
    }

    async def patch(self, org_id: str, appliance_id: str) -> None:
        """Rename."""
        name = self.body(NameRequest).name
        view = await self.org_call(
            org_id, OrganizationActor.rename_appliance, appliance_id, name, self.client
        )
        self.write_model(models.Appliance.model_validate(view))

    async def delete(self, org_id: str, appliance_id: str) -> None:
        """Remove."""
        await self.org_call(org_id, OrganizationActor.remove_appliance, appliance_id, self.client)
        self.set_status(204)
        self.finish()


class ApplianceHistoryHandler(OrgHandler):
    """An appliance's status history."""

    openapi = {
        "get": Operation(
            "An appliance's status changes (colour and reasons), newest first; page with limit "
            "and next_cursor",
            TAG,
            {200: Answer("A page of changes", models.History)},
            {404: "No such appliance in the organization"},
            query=models.HistoryQuery,
        )
    }

    async def get(self, org_id: str, appliance_id: str) -> None:
        """One page."""
        limit = page_limit(self.get_query_argument("limit", ""))
        found: list[StatusChange] = await self.org_call(
            org_id,
            OrganizationActor.appliance_history,
            appliance_id,
            lookahead(limit),
            decode_cursor(self.get_query_argument("cursor", "")),
        )
        changes, cursor = page_of(found, limit)
        self.write_model(
            models.History(
                changes=[models.StatusChange.model_validate(c) for c in changes],
                next_cursor=cursor,
            )
        )


class _LinksHandler(OrgHandler):
    """A handler that also reaches the appliance side of the hub: the gate, waiting sockets."""

    def initialize(self, appliances: ApplianceLinks, **kwargs: Any) -> None:  # type: ignore[override]
        """Store the appliance links."""
        super().initialize(**kwargs)
        self.appliances = appliances

    def gate(self) -> ActorClient[GateActor]:
        """The GateActor (pairing codes, lookups and their throttles)."""
        return self.appliances.gate()


class PairingPreviewHandler(_LinksHandler):
    """Tells the add dialog what appliance a pairing code belongs to."""

    openapi = {
        "post": Operation(
            "Product, version and suggested name of the appliance of a pairing code",
            TAG,
            {200: Answer("The appliance", models.PairingPreview)},
            {401: "Not logged in", 404: "Unknown or expired code"},
            body=PairingCodeRequest,
        )
    }

    async def post(self) -> None:
        """Preview."""
        current = await self.current_session()
        code = self.body(PairingCodeRequest).code  # a malformed body is a 400, not a bad code
        try:
            code_hash = pairing_hash(code)
        except InvalidInput:
            raise NotFound("This code is not valid. Open the appliance's link again.") from None
        preview: PairingPreview | None = await self.gate().call(
            GateActor.preview, current.user.id, code_hash
        )
        if preview is None:
            raise NotFound("This code is not valid any more. Open the appliance's link again.")
        self.write_model(models.PairingPreview.model_validate(preview))


SERIAL_HELP = "A serial number has 12 letters and digits, like SRLNMR123456."
# The box's `setup_result` codes (docs/protocol.md), as the wizard shows them: field, message.
SETUP_REFUSALS = {
    "bad_credentials": ("password", "The box says the user name or password is not correct."),
    "no_admin": (
        "admin",
        'The box has no administrator yet. Choose "Set up a new administrator".',
    ),
    "admin_exists": (
        "admin",
        "The box already has an administrator. Choose \"Use the box's existing local "
        'administrator" and enter its user name and password.',
    ),
    "bad_email": ("email", "The box did not accept this email address."),
    "eula": ("eula_accepted", "Accept the Privacy Policy and the End User License Agreement."),
}
# How long the box may take to check or create its administrator.
SETUP_TIMEOUT = 60.0
MIN_NEW_ADMIN_PASSWORD = 8


def clean_serial(text_value: str) -> str:
    """The serial as the box reports it: capitals and digits, spaces and dashes dropped."""
    serial = "".join(text_value.split()).replace("-", "").upper()
    if len(serial) != 12 or not serial.isascii() or not serial.isalnum():
        raise FieldError("serial", SERIAL_HELP)
    return serial


def box_json(socket: WaitingAppliance) -> dict[str, Any]:
    """What "Find this appliance" shows, and the box's fingerprint for the steps after it."""
    return {
        "serial": socket.serial,
        "product": socket.product,
        "version": socket.version,
        "ip": socket.ip,
        "name_hint": socket.host_name,
        "box": identity.public_key_id(socket.public_key),
        "certified": socket.certified,
    }


class _BoxHandler(_LinksHandler):
    """Finds waiting Kerio Control boxes by serial number."""

    async def waiting_box(self, serial: str) -> WaitingAppliance:
        """The one waiting socket of this serial (lookups throttled per user)."""
        current = await self.current_session()
        claims = self.appliances.waiting.by_serial(serial)
        if self.appliances.factory_keys:
            # Only the maker's signature says which socket is the box: the others are posing.
            claims = [claim for claim in claims if claim.certified]
        await self.gate().call(GateActor.find_box, current.user.id, serial, len(claims))
        return claims[0]

    async def box_found(self, serial: str, box: str) -> WaitingAppliance:
        """The waiting socket of this serial, if it is still the box found and shown (`box`:
        its fingerprint); `NotFound` if it reconnected with another key or another appliance
        claims its serial now: credentials never go to it."""
        socket = await self.waiting_box(serial)
        if identity.public_key_id(socket.public_key) != box:
            raise NotFound(BOX_GONE)
        return socket

    async def refuse_unless_ok(self, answer: Mapping[str, Any], serial: str) -> None:
        """`FieldError` with the hub's own words unless the box accepted (`setup_result`)."""
        if answer.get("ok") is True:
            return
        current = await self.current_session()
        code = str(answer.get("code", ""))
        if code == "bad_credentials":
            await self.gate().call(GateActor.setup_refused, current.user.id, serial)
        # The hub's own words: a box (or something posing as one) does not write to users.
        field, message = SETUP_REFUSALS.get(code, ("admin", "The box refused the set-up."))
        raise FieldError(field, message)


class FindBoxHandler(_BoxHandler):
    """Step 1 of adding a Kerio Control box: find it by the serial number on its label."""

    openapi = {
        "post": Operation(
            "Find a Kerio Control box waiting to be added, by serial number: its product, "
            "version and IP address",
            TAG,
            {200: Answer("The box", models.Box)},
            {
                401: "Not logged in",
                404: "No box with this serial is connected",
                409: "Already added, or claimed by more than one appliance",
                429: "Too many failed lookups",
            },
            body=SerialRequest,
        )
    }

    async def post(self) -> None:
        """Find."""
        serial = clean_serial(self.body(SerialRequest).serial)
        self.write_json(box_json(await self.waiting_box(serial)))


class CheckBoxHandler(_BoxHandler):
    """The Set up step of adding a Kerio Control box: the box checks the administrator choice."""

    openapi = {
        "post": Operation(
            "Ask a found Kerio Control box whether it accepts this administrator choice "
            "(existing credentials right, or no administrator yet for a new one); the box "
            "changes nothing and the credentials are never stored",
            TAG,
            {200: Answer("The box accepts it", models.BoxAccepts)},
            {
                400: "Invalid field, or the box refused the credentials",
                401: "Not logged in",
                404: "Box gone",
                409: "Claimed by more than one appliance, or being set up",
                429: "Too many failed lookups or refused set-ups",
                503: "The box did not answer",
            },
            body=models.AdminChoice,
        )
    }

    async def post(self) -> None:
        """Check."""
        body = self.body(models.AdminChoice)
        serial = clean_serial(text(body, "serial"))
        check = _admin_body(body)
        socket = await self.box_found(serial, text(body, "box"))
        answer = await ask_box(socket, check, check=True)
        check.clear()  # the credentials are not needed any more
        await self.refuse_unless_ok(answer, serial)
        self.write_json({"ok": True})


class BoxesHandler(_BoxHandler):
    """The last step of adding a Kerio Control box: set it up, then reserve it."""

    openapi = {
        "post": Operation(
            "Finish adding a Kerio Control box found by serial: its administrator (existing "
            "credentials, or new ones with email and the usage-statistics choice) goes to the box "
            "only and is never stored; the EULA must be accepted. The box shows grey until it "
            "has restarted and connected",
            TAG,
            {201: Answer("Added (grey until the box connects)", models.Appliance)},
            {
                400: "Invalid field, or the box refused the credentials",
                404: "Box gone or unknown organization",
                409: "Already added, claimed by more than one appliance, or being set up",
                429: "Too many failed lookups or refused set-ups",
                503: "The box did not answer",
            },
            body=models.BoxSetupRequest,
        )
    }

    async def post(self, org_id: str) -> None:
        """Set up and add."""
        body = self.body(models.BoxSetupRequest)
        await self.org_call(
            org_id, OrganizationActor.require_member
        )  # outsiders learn nothing, not even why
        serial = clean_serial(text(body, "serial"))
        name = clean_appliance_name(text(body, "name"))
        setup = _setup_body(body)
        socket = await self.box_found(serial, text(body, "box"))
        answer = await ask_box(socket, setup, check=False)
        setup.clear()  # the credentials are not needed any more
        await self.refuse_unless_ok(answer, serial)
        try:
            view: ApplianceView = await self.org_call(
                org_id,
                OrganizationActor.add_box,
                serial,
                socket.public_key,
                (socket.product, socket.version, socket.ip),
                name,
                self.client,
            )
        except DomainError as error:
            # The box has its administrator now; only the reservation is missing.
            log.warning("a box was set up but not reserved", error=type(error).__name__)
            raise Conflict(
                f"The box is set up, but MyKerio could not add it: {error} Find it again and "
                "choose the box's existing administrator with the credentials you just gave."
            ) from error
        self.write_model(models.Appliance.model_validate(view), 201)


async def ask_box(box: WaitingAppliance, body: dict[str, Any], *, check: bool) -> Mapping[str, Any]:
    """Ask the box's connection to send it `setup` (or `setup_check`); the box's answer."""
    pending = await box.connection.call(ConnectionActor.setup, body, SETUP_TIMEOUT, check)
    # The actor settles it within SETUP_TIMEOUT; this bound is only for an actor that crashed.
    try:
        async with asyncio.timeout(SETUP_TIMEOUT + box.connection.timeout):
            return await pending
    except TimeoutError:
        raise Unavailable("The box did not answer. Try again in a minute.") from None


def _setup_body(body: models.BoxSetupRequest) -> dict[str, Any]:
    """The `setup` message's body from the form; `FieldError` for what is missing or wrong."""
    if not body.eula_accepted:
        raise FieldError(
            "eula_accepted", "Accept the Privacy Policy and the End User License Agreement."
        )
    setup = _admin_body(body)
    setup["eula_accepted"] = True
    if setup["admin"] == "new":
        setup["email"] = clean_email(body.email or "")
        setup["statistics"] = body.statistics is True  # not sent: no statistics
    return setup


def _admin_body(body: models.AdminChoice) -> dict[str, Any]:
    """The administrator choice (`setup_check`'s body); `FieldError` for what is wrong (the
    model has checked the shape: `admin` is "existing" or "new")."""
    admin = body.admin
    username = body.username.strip()
    if not username or len(username) > ADMIN_USERNAME_CHARS or not username.isprintable():
        raise FieldError(
            "username", f"Enter the user name (at most {ADMIN_USERNAME_CHARS} characters)."
        )
    password = body.password
    if not password:
        raise FieldError("password", "Enter the password.")
    if text_check(ADMIN_PASSWORD_CHARS)(password) is not None:
        raise FieldError(
            "password",
            f"A password has at most {ADMIN_PASSWORD_CHARS} characters and no control "
            "characters (such as tabs or line breaks).",
        )
    if admin == "new" and len(password) < MIN_NEW_ADMIN_PASSWORD:
        raise FieldError(
            "password",
            f"The box's administrator password needs at least {MIN_NEW_ADMIN_PASSWORD} characters.",
        )
    return {"admin": admin, "username": username, "password": password}
