"""dashboard in SQL: working days frozen on the step, indexes for the aggregates

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 23:30:00

The dashboard averages the working days each stage took.  They were counted in
Python for every fetched row; now they are frozen when the step happens, like the
on-time flags: ``orders.sign_workdays`` (sent → signed), ``orders.complete_workdays``
(sent → reported) and ``case_events.workdays`` on ``close`` events (received →
closed).  This revision backfills them from the calendar in force now (the
administrator's ``calendar_days`` overrides, then ``chinesecalendar``, then
weekends): the count of each distinct (start day, end day) pair once, then one
UPDATE … FROM per column.  The working-day count is copied here, not imported from
``caseflow``: this revision must do the same whatever the app's code becomes.
"""
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

FIGURE_ACTIONS = "action IN ('close', 'rate')"
REPORTED = "completed_on_time IS NOT NULL"
_KNOWN_YEARS = {d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays}

# (table, column to fill, start timestamp, end timestamp, rows to fill, join for the start)
_FILLS = (
    ("orders", "sign_workdays", "orders.sent_at", "orders.signed_at", "orders.signed_on_time IS NOT NULL", None),
    ("orders", "complete_workdays", "orders.sent_at", "orders.reported_at",
     "orders.completed_on_time IS NOT NULL", None),
    ("case_events", "workdays", "cases.received_at", "case_events.created_at", "case_events.action = 'close'",
     "cases"),
)


def _local_day(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"(({column}) AT TIME ZONE 'Asia/Shanghai')::date"
    return f"date({column}, '+8 hours')"  # naive UTC text; Shanghai has no daylight saving time


def _counter(conn):
    overrides = {(d if isinstance(d, date) else date.fromisoformat(str(d))): bool(w)
                 for d, w in conn.execute(sa.text("SELECT day, is_workday FROM calendar_days"))}

    def workday(d: date) -> bool:
        if d in overrides:
            return overrides[d]
        if d.year in _KNOWN_YEARS:
            return chinese_calendar.is_workday(d)
        return d.weekday() < 5

    @lru_cache(maxsize=None)
    def count(after: date, until: date) -> int:
        total, d = 0, after
        while d < until:
            d += timedelta(days=1)
            total += workday(d)
        return total

    return count


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sign_workdays', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('complete_workdays', sa.SmallInteger(), nullable=True))
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('workdays', sa.SmallInteger(), nullable=True))

    conn = op.get_bind()
    dialect = conn.dialect.name
    count = _counter(conn)
    conn.execute(sa.text("CREATE TEMPORARY TABLE workday_pairs (a DATE NOT NULL, b DATE NOT NULL, n INTEGER NOT NULL, "
                         "PRIMARY KEY (a, b))"))
    for table, column, start, end, which, join in _FILLS:
        a, b = _local_day(dialect, start), _local_day(dialect, end)
        source = f"{table} JOIN cases ON cases.id = case_events.case_id" if join else table
        pairs = conn.execute(sa.text(f"SELECT DISTINCT {a}, {b} FROM {source} WHERE {which} AND {end} IS NOT NULL"))
        rows = [{"a": _as_date(x), "b": _as_date(y), "n": count(_as_date(x), _as_date(y))} for x, y in pairs]
        if not rows:
            continue
        conn.execute(sa.text("DELETE FROM workday_pairs"))
        conn.execute(sa.text("INSERT INTO workday_pairs (a, b, n) VALUES (:a, :b, :n)"), rows)
        joined = "cases, workday_pairs" if join else "workday_pairs"
        on = "cases.id = case_events.case_id AND " if join else ""
        conn.execute(sa.text(  # UPDATE … FROM: PostgreSQL, and SQLite since 3.33
            f"UPDATE {table} SET {column} = workday_pairs.n FROM {joined} "
            f"WHERE {on}workday_pairs.a = {a} AND workday_pairs.b = {b} AND {which} AND {end} IS NOT NULL"))
    conn.execute(sa.text("DROP TABLE workday_pairs"))

    # The dashboard reads its counts per unit and month from these indexes alone (EXPLAIN at 100k and 1M cases).
    op.create_index('ix_cases_received_unit', 'cases', ['received_at', 'responsible_unit_id'])
    op.create_index('ix_cases_unit_state', 'cases', ['responsible_unit_id', 'state'])
    op.create_index('ix_case_events_figures', 'case_events', ['created_at', 'case_id', 'action', 'value', 'workdays'],
                    postgresql_where=sa.text(FIGURE_ACTIONS), sqlite_where=sa.text(FIGURE_ACTIONS))
    op.create_index('ix_orders_sent_figures', 'orders', ['sent_at', 'receiving_unit_id', 'kind', 'signed_on_time',
                                                         'sign_workdays', 'completed_on_time', 'complete_workdays'])
    op.create_index('ix_orders_reported_figures', 'orders', ['reported_at', 'receiving_unit_id', 'completed_on_time'],
                    postgresql_where=sa.text(REPORTED), sqlite_where=sa.text(REPORTED))


def downgrade():
    op.drop_index('ix_orders_reported_figures', table_name='orders')
    op.drop_index('ix_orders_sent_figures', table_name='orders')
    op.drop_index('ix_case_events_figures', table_name='case_events')
    op.drop_index('ix_cases_unit_state', table_name='cases')
    op.drop_index('ix_cases_received_unit', table_name='cases')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_column('workdays')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('complete_workdays')
        batch_op.drop_column('sign_workdays')
