"""The clerk tools on the command line."""
import pytest


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (["4141000001"], "410105 金水区教育局"),
        (["4141000001", "4141000002"], "410105 金水区教育局"),
        (["4141000001", "4141000003"], "410100 郑州市教育局"),
        (["4141000001", "4141000004"], "410000 河南省教育厅"),
        (["4141000005"], "410181 巩义市教育局"),
    ],
)
def test_units_responsible(world, cli, codes, expected):
    result = cli.invoke(args=["units", "responsible", *codes])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == expected


def test_units_responsible_outside_the_province(world, cli):
    result = cli.invoke(args=["units", "responsible", "4141000001", "1341000001"])
    assert result.exit_code == 0
    assert result.output.startswith("000000 教育部")
    assert "referred" in result.output


def test_units_responsible_unknown_code(world, cli):
    result = cli.invoke(args=["units", "responsible", "9999999999"])
    assert result.exit_code == 1
    assert "9999999999" in result.output


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [("2026-09-30", "5", "2026-10-13"), ("2026-09-25", "3", "2026-09-30"),
     ("2026-02-13", "5", "2026-02-27"), ("2026-04-30", "5", "2026-05-11")],
)
def test_calendar_due(cli, db, start, n, expected):
    result = cli.invoke(args=["calendar", "due", start, n])
    assert result.exit_code == 0
    assert result.output.strip() == expected


def test_calendar_due_provisional_for_unknown_year(cli, db):
    result = cli.invoke(args=["calendar", "due", "2027-03-01", "5"])
    assert result.exit_code == 0
    assert result.output.startswith("2027-03-08 (provisional")


def test_calendar_due_admin_override(cli, db):
    from datetime import date

    from caseflow.models import CalendarDay

    db.session.add(CalendarDay(day=date(2027, 3, 2), is_workday=False, note="测试"))
    db.session.commit()
    result = cli.invoke(args=["calendar", "due", "2027-03-01", "1"])
    assert result.output.startswith("2027-03-03")


def test_calendar_due_bad_date(cli, db):
    result = cli.invoke(args=["calendar", "due", "2027-13-01", "5"])
    assert result.exit_code != 0
    assert "ISO date" in result.output


def test_deadline_scan_refuses_a_future_date(world, db, cli):
    """Back-filling a past day is allowed; a future "today" would write permanent overdue marks now."""
    from datetime import timedelta

    from caseflow.models import ChaseStep
    from caseflow.timeutil import local_today
    from tests.factories import submit

    submit(db)
    future = (local_today() + timedelta(days=400)).isoformat()
    result = cli.invoke(args=["deadlines", "scan", "--today", future])
    assert result.exit_code == 2 and "after today" in result.output
    assert db.session.scalar(db.select(db.func.count()).select_from(ChaseStep)) == 0
    past = cli.invoke(args=["deadlines", "scan", "--today", (local_today() - timedelta(days=1)).isoformat()])
    assert past.exit_code == 0, past.output
    assert cli.invoke(args=["deadlines", "scan", "--today", local_today().isoformat()]).exit_code == 0


def test_summaries_check_finds_drift_and_rebuild_mends_it(world, db, cli):
    """The data kept beside the cases (summary rows, search tokens) is checked against the cases, and rebuilt."""
    import json

    import sqlalchemy as sa

    from tests.factories import submit

    case, _ = submit(db)
    result = cli.invoke(args=["summaries", "check"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"search_tokens": 0, "summary_facts": 0}
    # Rows changed behind the application's back (a restore, a hand-made fix in SQL).
    db.session.execute(sa.text("DELETE FROM case_facts WHERE case_id = :c"), {"c": case.id})
    postgres = db.engine.dialect.name == "postgresql"
    if postgres:
        db.session.execute(sa.text("UPDATE cases SET search_tokens = '{}' WHERE id = :c"), {"c": case.id})
    db.session.commit()
    result = cli.invoke(args=["summaries", "check"])
    assert result.exit_code == 1
    counts = json.loads(result.stdout)
    assert counts["summary_facts"] >= 1 and counts["search_tokens"] == (1 if postgres else 0)
    assert f"case {case.id}" in result.stderr and (not postgres or f"case {case.number}" in result.stderr)
    result = cli.invoke(args=["summaries", "rebuild"])
    assert result.exit_code == 0, result.output
    rebuilt = json.loads(result.stdout)
    assert rebuilt["cases"] >= 1 and rebuilt["search_tokens_changed"] == (1 if postgres else 0)
    result = cli.invoke(args=["summaries", "check"])
    assert result.exit_code == 0 and json.loads(result.stdout) == {"search_tokens": 0, "summary_facts": 0}
