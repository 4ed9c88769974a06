"""API: an organization's webhooks (issue 15) — add (the secret is answered once), list,
delete, "Send test" and the delivery log. Everything goes through the webhooks actor, which
checks membership (404 for another organization's)."""

from __future__ import annotations

from collections.abc import Callable

import tornado.web

from actors.webhooks import WebhookActor, WebhookSpec, WebhookView
from mykerio.models import WebhookDelivery
from web.auth import AccountHandler
from web.models.webhooks import (
    DeliveriesList,
    DeliveryEntry,
    NewWebhookAnswer,
    WebhookEntry,
    WebhookRequest,
    WebhooksList,
)
from web.openapi import Answer, Operation, Route

TAG = "webhooks"


def webhook_entry(webhook: WebhookView) -> WebhookEntry:
    """An endpoint as the API shows it."""
    return WebhookEntry(
        id=webhook.id,
        name=webhook.name,
        url=webhook.url,
        format=webhook.format,  # type: ignore[arg-type]  # (checked when added)
        events=list(webhook.events),  # type: ignore[arg-type]  # (checked when added)
        severity_from=webhook.severity_from,  # type: ignore[arg-type]  # (checked when added)
        created_by=webhook.created_by,
        created_at=webhook.created_at,
    )


def delivery_entry(delivery: WebhookDelivery) -> DeliveryEntry:
    """A delivery as the log shows it."""
    return DeliveryEntry(
        id=delivery.id,
        at=delivery.at,
        event=delivery.event,  # type: ignore[arg-type]  # (one of the actor's)
        status=delivery.status,  # type: ignore[arg-type]  # (one of the actor's)
        attempts=delivery.attempts,
        response_status=delivery.response_status,
        last_error=delivery.last_error,
        next_attempt_at=delivery.next_attempt_at,
        done_at=delivery.done_at,
    )


class WebhooksHandler(AccountHandler):
    """Lists and adds the organization's endpoints."""

    openapi = {
        "get": Operation(
            "The organization's webhooks",
            TAG,
            {200: Answer("List", WebhooksList)},
            {404: "No such organization (or not a member)"},
        ),
        "post": Operation(
            "Add a webhook: posts of every change (after the grace, batched as emails are), "
            "signed with Webhook-Id, Webhook-Timestamp and Webhook-Signature (v1, HMAC-SHA256 "
            "of id.timestamp.body); its secret is answered only now. URLs to loopback or "
            "private addresses are refused unless the hub allows them.",
            TAG,
            {201: Answer("Added", NewWebhookAnswer)},
            {400: "A bad URL, format or event list", 404: "No such organization"},
            body=WebhookRequest,
        ),
    }

    async def get(self, org_id: str) -> None:
        """List."""
        current = await self.current_session()
        found = await self.router.webhooks().call(WebhookActor.endpoints, current.user.id, org_id)
        self.write_model(WebhooksList(webhooks=[webhook_entry(w) for w in found]))

    async def post(self, org_id: str) -> None:
        """Add."""
        body = self.body(WebhookRequest)
        current = await self.current_session()
        spec = WebhookSpec(body.name, body.url, body.format, tuple(body.events), body.severity_from)
        made = await self.router.webhooks().call(WebhookActor.add, current.user.id, org_id, spec)
        self.set_header("Cache-Control", "no-store")  # (the secret)
        self.write_model(
            NewWebhookAnswer(webhook=webhook_entry(made.webhook), secret=made.secret), 201
        )


class WebhookHandler(AccountHandler):
    """Deletes one endpoint."""

    openapi = {
        "delete": Operation(
            "Delete a webhook, its pending posts and its log",
            TAG,
            {204: Answer("Deleted")},
            {404: "No such webhook in the organization"},
        )
    }

    async def delete(self, org_id: str, webhook_id: str) -> None:
        """Delete."""
        current = await self.current_session()
        await self.router.webhooks().call(WebhookActor.remove, current.user.id, org_id, webhook_id)
        self.set_status(204)
        self.finish()


class DeliveriesHandler(AccountHandler):
    """The endpoint's delivery log."""

    openapi = {
        "get": Operation(
            "The webhook's newest deliveries with their status codes and errors",
            TAG,
            {200: Answer("Log", DeliveriesList)},
            {404: "No such webhook in the organization"},
        )
    }

    async def get(self, org_id: str, webhook_id: str) -> None:
        """List."""
        current = await self.current_session()
        found = await self.router.webhooks().call(
            WebhookActor.log_of, current.user.id, org_id, webhook_id
        )
        self.write_model(DeliveriesList(deliveries=[delivery_entry(d) for d in found]))


class WebhookTestHandler(AccountHandler):
    """ "Send test"."""

    openapi = {
        "post": Operation(
            '"Send test": a test message, delivered and logged like any other',
            TAG,
            {202: Answer("Queued", DeliveryEntry)},
            {404: "No such webhook in the organization"},
        )
    }

    async def post(self, org_id: str, webhook_id: str) -> None:
        """Send."""
        current = await self.current_session()
        delivery = await self.router.webhooks().call(
            WebhookActor.send_test, current.user.id, org_id, webhook_id
        )
        self.write_model(delivery_entry(delivery), 202)


def routes(org_route: Callable[[str, type[tornado.web.RequestHandler]], Route]) -> list[Route]:
    """The webhooks routes (web/app.py adds them to its table)."""
    base = "/api/v1/organizations/{org_id}/webhooks"
    return [
        org_route(base, WebhooksHandler),
        org_route(base + "/{webhook_id}", WebhookHandler),
        org_route(base + "/{webhook_id}/deliveries", DeliveriesHandler),
        org_route(base + "/{webhook_id}/test", WebhookTestHandler),
    ]
