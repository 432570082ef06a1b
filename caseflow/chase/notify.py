"""Email for in-app notifications, over SMTP (settings in config); a log backend without a server."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage as MimeMessage

import sqlalchemy as sa
from flask import current_app

from caseflow.extensions import db
from caseflow.models import EmailMessage, Notification, OutboxItem, User

log = logging.getLogger("caseflow.email")
BATCH = 200


def send_email(to: str, subject: str, body: str) -> None:
    """Send one message through the configured SMTP server (or log it when none is set)."""
    server = current_app.config.get("MAIL_SERVER")
    if not server:
        log.info("email to %s: %s", to, subject)
        return
    msg = MimeMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP(server, current_app.config["MAIL_PORT"], timeout=20) as smtp:
        if current_app.config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if current_app.config.get("MAIL_USERNAME"):
            smtp.login(current_app.config["MAIL_USERNAME"], current_app.config["MAIL_PASSWORD"])
        smtp.send_message(msg)


def deliver_email_notifications(item: OutboxItem) -> None:
    """Email every pending notification, each at most once (marked before sending)."""
    while True:
        query = (sa.select(Notification).join(User).where(Notification.email_state == "pending")
                 .order_by(Notification.id).limit(BATCH))
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=Notification)
        batch = list(db.session.scalars(query))
        if not batch:
            return
        for note in batch:
            note.email_state = "sending"
        db.session.commit()
        for note in batch:
            if not note.user.email:  # the address was removed after the notification was written
                note.email_state, note.email_error = "failed", "no email address"
                db.session.commit()
                continue
            try:
                send_email(note.user.email, note.title, note.body)
            except (OSError, smtplib.SMTPException) as exc:
                note.email_state, note.email_error = "failed", f"{type(exc).__name__}: {exc}"[:1000]
            else:
                note.email_state = "sent"
                db.session.add(EmailMessage(notification_id=note.id, recipient=note.user.email,
                                            subject=note.title))
            db.session.commit()
