"""Webhooks: status changes of a unit's cases and orders POSTed to the URLs its integrations registered.

Every state move writes a ``CaseEvent`` (``cases.operations``); :func:`announce` turns one into a
``WebhookDelivery`` per active webhook of the units concerned (the case's responsible unit, the order's
issuing and receiving units) and an outbox item, in the same transaction.  The outbox job
(:func:`deliver_webhook`, through ``jobs.tasks``) POSTs the JSON body signed with HMAC-SHA256 over
``"<timestamp>.<body>"``; a refusal or an unreachable receiver raises, so the outbox retries it with
backoff (``jobs.tasks.MAX_ATTEMPTS``), each try counted on the item.  The body holds numbers and
states only, never personal data.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import sqlalchemy as sa

from caseflow.errors import InvalidInput
from caseflow.extensions import db
from caseflow.jobs import add_outbox
from caseflow.models import ApiToken, CaseEvent, OutboxItem, Webhook, WebhookDelivery
from caseflow.timeutil import utcnow

SIGNATURE_HEADER = "X-Caseflow-Signature"
TIMESTAMP_HEADER = "X-Caseflow-Timestamp"
DELIVERY_HEADER = "X-Caseflow-Delivery"
TIMEOUT_SECONDS = 10
MAX_PER_TOKEN = 5


class DeliveryFailed(Exception):
    """The receiver did not answer 2xx (the outbox retries)."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``"<timestamp>." + body``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def register(token: ApiToken, url: str) -> tuple[Webhook, str]:
    """Register ``url`` for the token's unit; returns the webhook and its signing secret (shown once)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise InvalidInput("请填写以http://或https://开头的完整网址（不超过500个字符）", field="url")
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Webhook).where(
        Webhook.token_id == token.id, Webhook.active.is_(True))) or 0
    if count >= MAX_PER_TOKEN:
        raise InvalidInput(f"每个令牌最多登记{MAX_PER_TOKEN}个接收地址，请先删除不用的地址", field="url")
    secret = secrets.token_hex(32)
    hook = Webhook(token=token, unit_id=token.unit_id, url=url, secret=secret)
    db.session.add(hook)
    db.session.flush()
    return hook, secret


def hooks_of(token: ApiToken) -> list[Webhook]:
    return list(db.session.scalars(sa.select(Webhook).where(Webhook.token_id == token.id,
                                                            Webhook.active.is_(True)).order_by(Webhook.id)))


def remove(token: ApiToken, webhook_id: int) -> None:
    hook = db.session.get(Webhook, webhook_id)
    if hook is None or hook.token_id != token.id or not hook.active:
        raise InvalidInput("没有找到该接收地址", field="id")
    hook.active = False
    db.session.flush()


def _body(event: CaseEvent) -> dict:
    case, order = event.case, event.order
    return {
        "event": event.action,
        "at": utcnow().isoformat(),
        "case": {"number": case.number, "state": case.state.value, "state_label": case.state.label},
        "order": None if order is None else {
            "number": order.number, "kind": order.kind.value, "state": order.state.value,
            "state_label": order.state.label},
        "from_state": event.from_state, "to_state": event.to_state,
    }


def announce(event: CaseEvent) -> None:
    """Queue the deliveries of one state move to the webhooks of the units it concerns."""
    case, order = event.case, event.order
    units = {case.responsible_unit.id} if case.responsible_unit is not None else set()
    if event.actor_unit_id is not None:  # the unit that acted, too: a transfer's old unit, say
        units.add(event.actor_unit_id)
    if order is not None:
        units |= {u.id for u in (order.issuing_unit, order.receiving_unit) if u is not None}
    with db.session.no_autoflush:
        hooks = list(db.session.scalars(sa.select(Webhook).where(Webhook.unit_id.in_(units),
                                                                 Webhook.active.is_(True))))
        if not hooks:
            return
        body = json.dumps(_body(event), ensure_ascii=False, sort_keys=True)
        for hook in hooks:
            item = add_outbox("webhook", webhook_id=hook.id)
            db.session.add(WebhookDelivery(webhook=hook, outbox=item, event=event.action, body=body))


def deliver_webhook(item: OutboxItem) -> None:
    """POST one delivery, signed; raise (the outbox retries) unless the receiver answers 2xx."""
    delivery = db.session.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.outbox_id == item.id)).one()
    hook = delivery.webhook
    if not hook.active:
        return  # the integration removed it, or its token was revoked: nothing to send
    body = delivery.body.encode("utf-8")
    timestamp = str(int(time.time()))
    request = urllib.request.Request(hook.url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "caseflow-webhook/1",
        TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(hook.secret, timestamp, body),
        DELIVERY_HEADER: str(delivery.id)})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - http(s) only
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryFailed(f"unreachable: {type(exc).__name__}") from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status}")
    delivery.delivered_at, delivery.status_code = utcnow(), status


def recent_deliveries(limit: int = 50) -> list[WebhookDelivery]:
    return list(db.session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)))
