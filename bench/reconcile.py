"""After a load or fault run: is every accepted submission stored, whole, and notified once?"""
from __future__ import annotations

import sqlalchemy as sa

CHECKS = {
    "cases": "SELECT count(*) FROM cases",
    # A case without its timeline, its people or its registration SMS was half written.
    "half_written": """
        SELECT count(*) FROM cases c
        WHERE NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id)
           OR NOT EXISTS (SELECT 1 FROM persons p WHERE p.id = c.complainant_id)
           OR NOT EXISTS (SELECT 1 FROM persons p WHERE p.id = c.student_id)
           OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'sms'
                          AND CAST(o.payload AS jsonb) ->> 'case_id' = CAST(c.id AS text))""",
    "orphan_persons": """
        SELECT count(*) FROM persons p
        WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.complainant_id = p.id OR c.student_id = p.id)""",
    "sms_items": "SELECT count(*) FROM outbox WHERE kind = 'sms'",
    "sms_pending": "SELECT count(*) FROM outbox WHERE kind = 'sms' AND state = 'pending'",
    "sms_failed": "SELECT count(*) FROM outbox WHERE kind = 'sms' AND state = 'failed'",
    "sms_sent": "SELECT count(*) FROM sms_messages",
    # More than one message for one outbox item cannot happen (unique), nor for a done item twice:
    "sms_duplicated": """
        SELECT count(*) FROM (SELECT outbox_id FROM sms_messages GROUP BY outbox_id HAVING count(*) > 1) d""",
    "sms_for_unfinished_items": """
        SELECT count(*) FROM sms_messages s JOIN outbox o ON o.id = s.outbox_id WHERE o.state <> 'done'""",
}


def reconcile(url: str, accepted_tokens: set[str]) -> dict:
    """Counts from the database, and which accepted submission tokens it lacks."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            result = {name: conn.scalar(sa.text(sql)) for name, sql in CHECKS.items()}
            stored = set(conn.scalars(sa.text("SELECT submission_token FROM cases "
                                              "WHERE submission_token IS NOT NULL")))
    finally:
        engine.dispose()
    result["accepted"] = len(accepted_tokens)
    result["lost"] = len(accepted_tokens - stored)
    result["stored_not_acknowledged"] = len(stored - accepted_tokens)
    return result
