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
