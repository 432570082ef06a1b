"""Working-day arithmetic (工作日): pure functions, no Flask, no database.

Chinese public holidays are off, official make-up working days (调休) count.
Precedence for one day: an administrator's override, then ``chinesecalendar``,
then weekends-only for years the package does not know — such results are
*provisional* unless an administrator has confirmed that year's calendar.
The day of the triggering event never counts.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar

_MAX_SPAN_DAYS = 366 * 3


@dataclass(frozen=True)
class Due:
    """A computed deadline and whether it rests on an unknown year's calendar."""

    on: date
    provisional: bool


def package_years() -> range:
    """The years the installed chinesecalendar knows."""
    years = sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})
    return range(years[0], years[-1] + 1)


_PACKAGE_YEARS = package_years()


@functools.lru_cache(maxsize=8192)
def _package_workday(d: date) -> bool:
    """chinesecalendar's answer for one day, kept: each call scans its whole holiday table (about 40 µs)."""
    return chinese_calendar.is_workday(d)


class WorkCalendar:
    """Which days are working days, given overrides and confirmed years."""

    def __init__(self, overrides: Mapping[date, bool] | None = None, confirmed_years: Iterable[int] = ()):
        self.overrides = dict(overrides or {})
        self.confirmed_years = frozenset(confirmed_years)

    def day(self, d: date) -> tuple[bool, bool]:
        """(is a working day, is provisional) for one date."""
        if d in self.overrides:
            return self.overrides[d], False
        if d.year in _PACKAGE_YEARS:
            return _package_workday(d), False
        return d.weekday() < 5, d.year not in self.confirmed_years

    def is_workday(self, d: date) -> bool:
        return self.day(d)[0]

    def add(self, start: date, n: int) -> Due:
        """The date ``n`` working days after ``start`` (``start`` itself not counted)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        d, provisional, counted = start, False, 0
        while counted < n:
            d += timedelta(days=1)
            workday, prov = self.day(d)
            provisional |= prov
            counted += workday
            if (d - start).days > _MAX_SPAN_DAYS:
                raise ValueError("no working days found: check the calendar overrides")
        return Due(d, provisional)

    def back(self, today: date, n: int) -> date:
        """The latest date that lies ``n`` working days before ``today`` (``count(d, today) == n``)."""
        d, counted = today, 0
        while counted < n:
            counted += self.is_workday(d)
            d -= timedelta(days=1)
            if (today - d).days > _MAX_SPAN_DAYS:
                raise ValueError("no working days found: check the calendar overrides")
        return d

    def count(self, after: date, until: date) -> int:
        """Working days in the half-open interval (after, until]."""
        total, d = 0, after
        while d < until:
            d += timedelta(days=1)
            total += self.is_workday(d)
        return total

    def days_left(self, today: date, due: date) -> int:
        """Working days from today to the due date; 0 on the day, negative once overdue."""
        if due >= today:
            return self.count(today, due)
        return -self.count(due, today)
