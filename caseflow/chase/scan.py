"""The overdue scan: 催办 (remind) → 逾期 (overdue, the issuer is told) → 督办 (escalate upward).

Set-based and idempotent.  Each pass starts with one ``UPDATE … SET level = L
WHERE level < L AND <deadline condition> RETURNING id``: a row moves up a level
once, so a second scan, or two workers scanning at once, find nothing left to
do (the row lock makes the loser re-check the level).  Partial indexes on open,
not-yet-escalated orders keep the cost independent of how many orders were
escalated before.  The unique ``chase_steps`` constraint is a second guard.

On PostgreSQL a pass is a single statement (data-modifying CTEs insert the
steps, timeline events and notifications server-side); on SQLite the same
SQL update is followed by inserts from Python.  The reason texts are written
once, below, and rendered by either path.
"""
from __future__ import annotations

import string
from collections import Counter
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

import sqlalchemy as sa

from caseflow.chase import facts
from caseflow.deadlines import policy, status
from caseflow.deadlines.settings import current_rules
from caseflow.extensions import db
from caseflow.models import (
    CaseEvent,
    ChaseStep,
    ExtensionState,
    Notification,
    Order,
    OrderKind,
    OrderPause,
    OrderState,
    Role,
    User,
)
from caseflow.timeutil import format_date_cn, local_today, utcnow

STEP_LABEL = {"remind": "催办", "overdue": "逾期", "escalate": "督办"}
WHAT = {"sign": "签收", "complete": "办结", "action": "办结", "review": "审核退回申请"}

REASONS = {
    ("order", "remind"): "{kind}{number}应于{due}前{what}，请抓紧办理。",
    ("order", "overdue"): "{kind}{number}已超过{what}时限{due}。",
    ("order", "escalate"): "投诉{case_number}的{kind}{number}逾期{late}个工作日以上仍未办结（时限{due}），提请上级督办。",
    ("case", "remind"): "投诉{case_number}应于{due}前完成下一步处理。",
    ("case", "overdue"): "投诉{case_number}已超过处理时限{due}。",
    ("case", "escalate"): "投诉{case_number}逾期{late}个工作日以上未处理（时限{due}），提请上级督办。",
    ("follow_up", "remind"): "投诉{case_number}应于{due}前完成回访。",
    ("follow_up", "overdue"): "投诉{case_number}已超过回访时限{due}。",
}

# Which unit a step goes to: the receiver is reminded, the issuer told, the unit above supervises.
# A pending return's review is chased at its reviewer (the issuer, or the unit above once disputed).
REVIEWER = "return_reviewer_id"
TARGET = {
    ("order", "remind"): "receiving_unit_id",
    ("order", "overdue"): "issuing_unit_id",
    ("order", "escalate"): "escalate_to",
    ("case", "remind"): "responsible_unit_id",
    ("case", "overdue"): "responsible_unit_id",
    ("case", "escalate"): "escalate_to",
    ("follow_up", "remind"): "responsible_unit_id",
    ("follow_up", "overdue"): "responsible_unit_id",
}

# Who hears of a step at the target unit.
AUDIENCE = {
    "remind": (Role.OFFICER, Role.SUPERVISOR),
    "overdue": (Role.SUPERVISOR, Role.OFFICER),
    "escalate": (Role.SUPERVISOR,),
}

# The tables as the passes' SQL text names them; each condition is built by the deadline rules.
_ORDERS = sa.table("orders", sa.column("state", sa.String), sa.column("kind", sa.String),
                   sa.column("parent_id", sa.Integer), sa.column("due_on", sa.Date),
                   sa.column("sign_due_on", sa.Date), sa.column("review_due_on", sa.Date)).c
_CASES = sa.table("cases", sa.column("state", sa.String), sa.column("action_due_on", sa.Date)).c
_FOLLOW_UPS = sa.table("follow_ups", sa.column("state", sa.String), sa.column("rate_until", sa.Date),
                       sa.column("due_on", sa.Date)).c
# Placeholders bound when a pass runs: today, the last day still "due soon", the escalation cutoff.
_TODAY: sa.ColumnClause[date]
_SOON: sa.ColumnClause[date]
_CUTOFF: sa.ColumnClause[date]
_TODAY, _SOON, _CUTOFF = (sa.literal_column(f":{name}") for name in ("today", "soon", "cutoff"))


def _sql(condition: sa.ColumnElement[bool]) -> str:
    return str(condition.compile(compile_kwargs={"literal_binds": True}))


@dataclass(frozen=True)
class Pass:
    """One level of the chase for one deadline column."""

    subject: str  # order / case / follow_up
    step: str  # remind / overdue / escalate
    deadline: str  # sign / complete / action / review (a follow-up's call is the responsible unit's own step: action)
    level: int
    level_col: str
    due_col: str
    condition: str  # SQL on the subject's table, with :today, :soon, :cutoff
    kind: OrderKind | None = None  # escalation waits per order kind

    @property
    def table(self) -> str:
        return {"order": "orders", "case": "cases", "follow_up": "follow_ups"}[self.subject]

    @property
    def target(self) -> str:
        return REVIEWER if self.deadline == "review" else TARGET[(self.subject, self.step)]


_o, _c, _f = _ORDERS, _CASES, _FOLLOW_UPS
PASSES = [
    Pass("order", "remind", "sign", 1, "sign_chase_level", "sign_due_on",
         _sql(status.sign_running(_o) & status.is_due_soon(_o.sign_due_on, _TODAY, _SOON))),
    Pass("order", "overdue", "sign", 2, "sign_chase_level", "sign_due_on",
         _sql(status.sign_running(_o) & status.is_past(_o.sign_due_on, _TODAY))),
    Pass("order", "remind", "complete", 1, "chase_level", "due_on",
         _sql(status.completion_running(_o) & status.is_due_soon(_o.due_on, _TODAY, _SOON))),
    Pass("order", "overdue", "complete", 2, "chase_level", "due_on",
         _sql(status.completion_running(_o) & status.is_past(_o.due_on, _TODAY))),
    # Escalation concerns the case: only the root hop of a chain is escalated; one pass per order kind.
    *[Pass("order", "escalate", "complete", 3, "chase_level", "due_on",
           _sql(status.completion_running(_o) & (_o.kind == kind.value) & _o.parent_id.is_(None)
                & status.is_late_by(_o.due_on, _TODAY, _CUTOFF)), kind)
      for kind in OrderKind],
    # A pending return (退单审核): its reviewer is reminded, then marked overdue (told itself).
    Pass("order", "remind", "review", 1, "review_chase_level", "review_due_on",
         _sql(status.review_running(_o) & status.is_due_soon(_o.review_due_on, _TODAY, _SOON))),
    Pass("order", "overdue", "review", 2, "review_chase_level", "review_due_on",
         _sql(status.review_running(_o) & status.is_past(_o.review_due_on, _TODAY))),
    Pass("case", "remind", "action", 1, "action_chase_level", "action_due_on",
         _sql(status.action_running(_c) & status.is_due_soon(_c.action_due_on, _TODAY, _SOON))),
    Pass("case", "overdue", "action", 2, "action_chase_level", "action_due_on",
         _sql(status.action_overdue(_c, _TODAY))),
    Pass("case", "escalate", "action", 3, "action_chase_level", "action_due_on",
         _sql(status.action_running(_c) & status.is_late_by(_c.action_due_on, _TODAY, _CUTOFF))),
    # The follow-up call (回访) the responsible unit owes: reminded and marked overdue to that unit itself.
    Pass("follow_up", "remind", "action", 1, "chase_level", "due_on",
         _sql(status.follow_up_call_owed(_f, _TODAY) & status.is_due_soon(_f.due_on, _TODAY, _SOON))),
    Pass("follow_up", "overdue", "action", 2, "chase_level", "due_on",
         _sql(status.follow_up_call_owed(_f, _TODAY) & status.is_past(_f.due_on, _TODAY))),
]


def _update_sql(p: Pass) -> str:
    return (f"UPDATE {p.table} SET {p.level_col} = :level WHERE {p.level_col} < :level AND {p.condition} "
            "RETURNING id")


# The columns every pass needs about its rows, whatever the subject.
_SOURCE = {
    "order": """SELECT o.id AS subject_id, 'order:' || o.id AS subject, o.case_id, o.id AS order_id, o.number,
                       o.kind, c.number AS case_number, o.{due_col} AS due_on, o.receiving_unit_id,
                       o.issuing_unit_id, c.responsible_unit_id, coalesce(r.parent_id, o.issuing_unit_id) AS escalate_to,
                       o.return_reviewer_id
                FROM orders o JOIN cases c ON c.id = o.case_id JOIN units r ON r.id = c.responsible_unit_id""",
    "case": """SELECT c.id AS subject_id, 'case:' || c.id AS subject, c.id AS case_id,
                      CAST(NULL AS INTEGER) AS order_id, CAST(NULL AS TEXT) AS number, CAST(NULL AS TEXT) AS kind,
                      c.number AS case_number, c.{due_col} AS due_on, CAST(NULL AS INTEGER) AS receiving_unit_id,
                      CAST(NULL AS INTEGER) AS issuing_unit_id, c.responsible_unit_id,
                      coalesce(r.parent_id, c.responsible_unit_id) AS escalate_to,
                      CAST(NULL AS INTEGER) AS return_reviewer_id
               FROM cases c JOIN units r ON r.id = c.responsible_unit_id""",
    "follow_up": """SELECT f.id AS subject_id, 'follow_up:' || f.id AS subject, f.case_id,
                           CAST(NULL AS INTEGER) AS order_id, CAST(NULL AS TEXT) AS number, CAST(NULL AS TEXT) AS kind,
                           c.number AS case_number, f.{due_col} AS due_on, CAST(NULL AS INTEGER) AS receiving_unit_id,
                           CAST(NULL AS INTEGER) AS issuing_unit_id, f.unit_id AS responsible_unit_id,
                           coalesce(r.parent_id, f.unit_id) AS escalate_to
                    FROM follow_ups f JOIN cases c ON c.id = f.case_id JOIN units r ON r.id = f.unit_id""",
}
_ALIAS = {"order": "o", "case": "c", "follow_up": "f"}

_SQL_FIELDS = {
    "kind": "CASE s.kind WHEN 'verification' THEN '核查单' ELSE '督办单' END",
    "number": "s.number",
    "case_number": "s.case_number",
    "due": """to_char(s.due_on, 'YYYY"年"FMMM"月"FMDD"日"')""",
    "what": "CAST(:what AS text)",
    "late": "CAST(:late AS text)",
}


def _sql_text(template: str) -> str:
    """A reason template as a PostgreSQL string expression over the source row ``s``."""
    parts = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        if literal:
            parts.append("'" + literal.replace("'", "''") + "'")
        if name:
            parts.append(_SQL_FIELDS[name])
    return " || ".join(parts)


def _py_text(template: str, row, what: str, late: int) -> str:
    kind = OrderKind(row.kind).label if row.kind else ""
    return template.format(kind=kind, number=row.number, case_number=row.case_number,
                           due=format_date_cn(row.due_on), what=what, late=late)


def _params(p: Pass, today: date, soon: date, cutoffs: dict, late_days: dict) -> dict:
    kind = p.kind
    return {"level": p.level, "today": today, "soon": soon, "cutoff": cutoffs[kind], "step": p.step,
            "deadline": p.deadline, "action": f"chase_{p.step}", "what": WHAT[p.deadline],
            "late": late_days[kind], "title": f"【{STEP_LABEL[p.step]}】",
            "roles": [r.value for r in AUDIENCE[p.step]]}


def _run_pass_postgres(p: Pass, params: dict, now) -> tuple[int, int]:
    """The whole pass as one statement; returns (steps created, emails to send)."""
    source = _SOURCE[p.subject].format(due_col=p.due_col)
    alias = _ALIAS[p.subject]
    sql = f"""
    WITH hit AS ({_update_sql(p)}),
    s AS ({source} JOIN hit ON hit.id = {alias}.id),
    steps AS (
      INSERT INTO chase_steps (subject, step, deadline, due_on, case_id, order_id, target_unit_id, reason, created_at)
      SELECT s.subject, :step, :deadline, s.due_on, s.case_id, s.order_id, s.{p.target},
             {_sql_text(REASONS[(p.subject, p.step)])}, :now
      FROM s
      ON CONFLICT DO NOTHING
      RETURNING id, case_id, order_id, target_unit_id, reason),
    ev AS (
      INSERT INTO case_events (case_id, order_id, action, note, public, created_at)
      SELECT case_id, order_id, :action, reason, false, :now FROM steps),
    notes AS (
      INSERT INTO notifications (user_id, kind, title, body, case_id, chase_step_id, created_at, email_state)
      SELECT u.id, :step, :title || left(st.reason, 60), st.reason, st.case_id, st.id, :now,
             CASE WHEN coalesce(u.email, '') <> '' THEN 'pending' END
      FROM steps st JOIN users u ON u.unit_id = st.target_unit_id AND u.active AND u.role = ANY(:roles)
      ON CONFLICT DO NOTHING
      RETURNING email_state)
    SELECT (SELECT count(*) FROM steps), (SELECT count(*) FROM notes WHERE email_state = 'pending'),
           (SELECT array_agg(DISTINCT case_id) FROM steps)
    """
    created, emails, cases = db.session.execute(sa.text(sql), {**params, "now": now}).one()
    facts.touch(cases or ())  # the dashboard's overdue and escalation counts
    return created, emails


def _run_pass_portable(p: Pass, params: dict, now) -> tuple[int, int]:
    """The same pass for SQLite: the update in SQL, the inserts from Python."""
    ids = list(db.session.scalars(sa.text(_update_sql(p)), params))
    if not ids:
        return 0, 0
    source = _SOURCE[p.subject].format(due_col=p.due_col)
    rows = db.session.execute(sa.text(f"{source} WHERE {_ALIAS[p.subject]}.id IN :ids")
                              .bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids}).all()
    template, target = REASONS[(p.subject, p.step)], p.target
    conn = db.session.connection()
    created = []
    for result_row in rows:
        row = SimpleNamespace(**result_row._asdict())
        if not isinstance(row.due_on, date):  # SQLite returns dates as text from plain SQL
            row.due_on = date.fromisoformat(row.due_on)
        due_on = row.due_on
        reason = _py_text(template, row, params["what"], params["late"])
        step = dict(subject=row.subject, step=p.step, deadline=p.deadline, due_on=due_on, case_id=row.case_id,
                    order_id=row.order_id, target_unit_id=getattr(row, target), reason=reason, created_at=now)
        inserted = conn.execute(_sqlite_insert(ChaseStep.__table__).on_conflict_do_nothing(), step)
        if inserted.rowcount:
            key = inserted.inserted_primary_key
            assert key is not None  # a row was inserted
            created.append(dict(step, id=key[0]))
    if not created:
        return 0, 0
    facts.touch(c["case_id"] for c in created)  # the dashboard's overdue and escalation counts
    conn.execute(sa.insert(CaseEvent), [
        dict(case_id=c["case_id"], order_id=c["order_id"], action=params["action"], note=c["reason"],
             public=False, created_at=now) for c in created])
    users = db.session.execute(sa.select(User.id, User.unit_id, User.email).where(
        User.unit_id.in_({c["target_unit_id"] for c in created}), User.active,
        User.role.in_(AUDIENCE[p.step]))).all()
    notes = [dict(user_id=u.id, kind=p.step, title=params["title"] + c["reason"][:60], body=c["reason"],
                  case_id=c["case_id"], chase_step_id=c["id"], created_at=now,
                  email_state="pending" if u.email else None)
             for c in created for u in users if u.unit_id == c["target_unit_id"]]
    if notes:
        conn.execute(_sqlite_insert(Notification.__table__).on_conflict_do_nothing(), notes)
    return len(created), sum(1 for n in notes if n["email_state"])


def _sqlite_insert(table):
    from sqlalchemy.dialects.sqlite import insert

    return insert(table)


class FutureScanDate(ValueError):
    """A scan was asked for a date after today."""


def run_scan(today: date | None = None) -> dict[str, int]:
    """One scan over every open order and waiting case. Flushes; the caller commits."""
    if today is not None and today > local_today():
        # Marks and escalations are permanent and dated now: a future "today" would invent them.
        raise FutureScanDate(f"cannot scan as of {today.isoformat()}: it is after today ({local_today().isoformat()})")
    rules = current_rules()  # the calendar and every day setting, read once
    cal = rules.calendar
    today = today or local_today()
    soon = status.soon_after(cal, today)
    now = utcnow()
    late_days = {kind: rules.days[policy.escalate_key(kind)] for kind in (*OrderKind, None)}
    cutoffs = {kind: status.late_cutoff(cal, today, n) for kind, n in late_days.items()}
    run_pass = _run_pass_postgres if db.engine.dialect.name == "postgresql" else _run_pass_portable
    db.session.flush()
    counts: Counter[str] = Counter()
    resumed = resume_expired_pauses(today)
    if resumed:
        counts["pause_resumed"] = resumed
    emails = 0
    for p in PASSES:
        created, mails = run_pass(p, _params(p, today, soon, cutoffs, late_days), now)
        if created:
            counts[f"{p.deadline}_{p.step}"] += created
        emails += mails
    if emails:
        from caseflow.jobs import add_outbox

        add_outbox("email_notifications")
    return dict(counts)


def resume_expired_pauses(today: date) -> int:
    """Restart the clock of every order whose pause (中止计时) reached its maximum length by ``today``.

    Before the passes, so a resumed order is chased on its moved deadline in the same scan.  Few rows a
    day, each an ordinary operation (event, moved deadline); returns how many were resumed.
    """
    from caseflow.cases import operations

    expired = db.session.scalars(
        sa.select(OrderPause).join(Order, Order.id == OrderPause.order_id)
        .where(Order.state == OrderState.PAUSED, OrderPause.state == ExtensionState.APPROVED,
               OrderPause.ended_at.is_(None), OrderPause.ends_by <= today)
        .order_by(OrderPause.id)).all()
    for pause in expired:
        operations.resume_order(None, pause.order, today=today)
    return len(expired)
