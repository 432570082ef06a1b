"""Builders for tests: a small real unit tree, users in it, and complaints."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

from caseflow.identity import check_char


def make_id_number(division: str = "410105", born: date = date(2015, 3, 8), seq: int = 123) -> str:
    """A valid 18-character citizen ID number (odd seq = male)."""
    body = f"{division}{born:%Y%m%d}{seq:03d}"
    return body + check_char(body)


# code, name, kind, parent code
TREE = [
    ("000000", "教育部", "ministry", None),
    ("410000", "河南省教育厅", "province", "000000"),
    ("410100", "郑州市教育局", "city", "410000"),
    ("410105", "金水区教育局", "county", "410100"),
    ("4141000001", "郑州市金水区第一小学", "school", "410105"),
    ("4141000002", "郑州市金水区第二小学", "school", "410105"),
    ("410103", "二七区教育局", "county", "410100"),
    ("4141000003", "郑州市二七区实验小学", "school", "410103"),
    ("410300", "洛阳市教育局", "city", "410000"),
    ("410303", "西工区教育局", "county", "410300"),
    ("4141000004", "洛阳市西工区第一中学", "school", "410303"),
    ("410181", "巩义市教育局", "county", "410000"),
    ("4141000005", "巩义市第一初级中学", "school", "410181"),
    ("4141000006", "郑州市直属实验中学", "school", "410100"),
    ("130000", "河北省教育厅", "province", "000000"),
    ("130100", "石家庄市教育局", "city", "130000"),
    ("130102", "长安区教育局", "county", "130100"),
    ("1341000001", "石家庄市长安区第一小学", "school", "130102"),
]


@dataclass
class World:
    units: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)

    def unit(self, code):
        return self.units[code]

    def user(self, role: str, code: str):
        return self.users[(role, code)]


def add_unit(db, code, name, kind, parent=None):
    from caseflow.models import Unit, UnitKind

    unit = Unit(code=code, name=name, kind=UnitKind(kind), parent=parent, path=Unit.make_path(parent, code),
                phone="0371-6590" + code[-4:], directly_administered=(kind == "county" and parent is not None
                                                                      and parent.kind.value == "province"))
    db.session.add(unit)
    return unit


def add_user(db, password_hash, role: str, unit, username: str | None = None):
    from caseflow.models import Role, User

    user = User(username=username or f"{role}-{unit.code}", password_hash=password_hash,
                name=f"{unit.name[:4]}{Role(role).label}", role=Role(role), unit=unit,
                phone="1380000" + unit.code[-4:])
    db.session.add(user)
    return user


def build_world(db, password_hash) -> World:
    world = World()
    for code, name, kind, parent in TREE:
        world.units[code] = add_unit(db, code, name, kind, world.units.get(parent))
    for code, unit in world.units.items():
        if unit.kind.value == "ministry":
            continue
        roles = ["officer"] if unit.kind.value == "school" else ["officer", "supervisor", "intake"]
        if code == "410000":
            roles.append("admin")
        for role in roles:
            world.users[(role, code)] = add_user(db, password_hash, role, unit)
    db.session.commit()
    return world


def complaint_data(schools=("4141000001",), **overrides):
    """A valid ComplaintData for the given school codes."""
    from caseflow.cases.operations import ComplaintData, PersonData
    from caseflow.models import Category, Sex

    data = ComplaintData(
        complainant=PersonData(name="张伟", sex=Sex.MALE, age=38, ethnicity="汉族",
                               id_number=make_id_number("410105", date(1988, 5, 4), 311),
                               phone="13812345678"),
        student=PersonData(name="张小明", sex=Sex.MALE, age=11, ethnicity="汉族",
                           id_number=make_id_number("410105", date(2015, 3, 8), 123),
                           registry_no="G" + make_id_number("410105", date(2015, 3, 8), 123)),
        category=Category.UNREGISTERED,
        description="孩子在金水区第一小学就读两年，学校一直没有给办理学籍注册。",
        school_codes=list(schools),
    )
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


def submit(db, schools=("4141000001",), **overrides):
    """Submit a web complaint and commit; returns (case, access_code)."""
    from caseflow.cases.operations import submit_complaint

    case, code = submit_complaint(complaint_data(schools, **overrides))
    db.session.commit()
    return case, code


def report_and_close(db, officer, supervisor, case, order, reply="已处理。"):
    """The school's officer signs ``order`` and reports it true, the supervisor accepts the report and closes
    ``case`` with ``reply``; commit."""
    from caseflow.cases import operations as ops
    from caseflow.models import Verdict

    ops.sign_order(officer, order)
    ops.report_order(officer, order, text="经核实情况属实。", verdict=Verdict.TRUE)
    ops.accept_report(supervisor, order)
    ops.close_case(supervisor, case, reply)
    db.session.commit()


def wait_for_lock_waiter(name: str, timeout: float = 60) -> None:
    """Until the session named ``name`` waits for a lock (a condition, not a fixed time)."""
    import os

    import sqlalchemy as sa

    from tests.conftest import _pg_url

    engine = sa.create_engine(_pg_url(sa.engine.make_url(os.environ["DATABASE_URL"]).database))
    try:
        deadline = time.monotonic() + timeout
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                if conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n "
                                        "AND wait_event_type = 'Lock'"), {"n": name}).scalar():
                    return
                conn.rollback()
                time.sleep(0.05)
        raise AssertionError(f"{name} never waited for the lock")
    finally:
        engine.dispose()
