"""Working-day arithmetic (DOMAIN §4): holidays off, make-up days on, unknown years provisional."""
from datetime import date

import pytest

from caseflow.workdays import WorkCalendar

cal = WorkCalendar()


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 9, 30), 5, date(2026, 10, 13)),  # National Day + make-up Saturday 10-10
        (date(2026, 9, 25), 3, date(2026, 9, 30)),
        (date(2026, 2, 13), 5, date(2026, 2, 27)),  # Spring Festival with make-up Saturday 02-14
        (date(2026, 4, 30), 5, date(2026, 5, 11)),  # Labour Day with make-up Saturday 05-09
        (date(2026, 11, 20), 1, date(2026, 11, 23)),  # Friday -> Monday
        (date(2026, 11, 23), 0, date(2026, 11, 23)),
    ],
)
def test_examples_of_the_issue(start, n, expected):
    due = cal.add(start, n)
    assert due.on == expected
    assert due.provisional is False


def test_make_up_saturday_counts_and_holiday_weekday_does_not():
    assert cal.is_workday(date(2026, 10, 10))  # 调休 Saturday
    assert not cal.is_workday(date(2026, 10, 5))  # Monday inside the holiday


def test_day_of_event_does_not_count_even_if_it_is_a_workday():
    assert cal.add(date(2026, 11, 23), 1).on == date(2026, 11, 24)


def test_unknown_year_falls_back_to_weekends_and_is_provisional():
    due = cal.add(date(2026, 12, 30), 5)
    # 12-31 Thu, 2027-01-01 Fri (treated as a working day: calendar unknown), 01-04, 01-05, 01-06
    assert due.on == date(2027, 1, 6)
    assert due.provisional is True


def test_administrator_calendar_makes_a_year_authoritative():
    overrides = {date(2027, 1, 1): False}
    cal2027 = WorkCalendar(overrides, confirmed_years=[2027])
    due = cal2027.add(date(2026, 12, 30), 5)
    assert due.on == date(2027, 1, 7)
    assert due.provisional is False


def test_override_beats_the_package():
    cal2 = WorkCalendar({date(2026, 11, 24): False, date(2026, 11, 28): True})
    assert cal2.add(date(2026, 11, 23), 1).on == date(2026, 11, 25)
    assert cal2.add(date(2026, 11, 27), 1).on == date(2026, 11, 28)


def test_days_left_positive_zero_negative():
    assert cal.days_left(date(2026, 11, 23), date(2026, 11, 25)) == 2
    assert cal.days_left(date(2026, 11, 25), date(2026, 11, 25)) == 0
    assert cal.days_left(date(2026, 11, 30), date(2026, 11, 25)) == -3  # 26, 27, 30


def test_negative_n_refused():
    with pytest.raises(ValueError):
        cal.add(date(2026, 1, 5), -1)


def test_adding_is_monotonic_over_a_year():
    start = date(2026, 1, 1)
    previous = start
    for n in range(1, 240, 7):
        due = cal.add(start, n).on
        assert due > previous
        assert cal.count(start, due) == n
        previous = due


@pytest.mark.parametrize("n", [0, 1, 2, 5, 9])
def test_back_is_the_latest_date_n_working_days_before(n):
    for today in (date(2026, 10, 8), date(2026, 10, 12), date(2026, 11, 23), date(2026, 2, 24)):
        d = cal.back(today, n)
        assert cal.count(d, today) == n
        assert cal.count(d + (date(2000, 1, 2) - date(2000, 1, 1)), today) < n or n == 0
