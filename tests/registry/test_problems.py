"""The generator's manifest, the problem check, and the seed 000 / seed 004 tables."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from caseflow.models import Headcount, RegistryProblem, Setting
from caseflow.registry.generator import demo_schools, generate
from caseflow.registry.problems import headcount_report, headcount_row, reconcile, run_check
from caseflow.registry.reports import to_csv, to_xlsx
from tests.registry.helpers import do_import, student, write_csv


def test_generator_problems_are_found_with_the_exact_injected_counts(db, world, tmp_path):
    manifest = generate(demo_schools(), 2000, seed=7, out=tmp_path)
    assert manifest["registry_numbers"]["J"] > 0 and manifest["registry_numbers"]["L"] > 0
    for source in ("national", "provincial"):
        summary, _ = do_import(manifest["files"][source], source)
        assert summary["rows"] == manifest["rows"][source]
        assert summary["rejected"] == manifest["rejected"][source]
        assert summary["imported"] == manifest["imported"][source]
    result = run_check()
    assert result.counts == manifest["problems"]
    assert manifest["problems"] == {"only_national": 40, "only_provincial": 40, "mismatch": 50,
                                    "duplicate_active": 20, "graduate_pool": 20}


def test_generator_is_deterministic_and_cli_prints_the_manifest(db, world, tmp_path, app):
    a = generate(demo_schools(), 300, seed=3, out=tmp_path / "a")
    b = generate(demo_schools(), 300, seed=3, out=tmp_path / "b")
    assert Path(a["files"]["national"]).read_bytes() == Path(b["files"]["national"]).read_bytes()
    result = app.test_cli_runner().invoke(args=["registry", "generate", "--students", "300", "--seed", "3",
                                                "--out", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["problems"] == a["problems"]


def test_generated_students_are_in_schools_that_teach_their_grade(db, world, tmp_path):
    """A 高一 student is never at a 小学, a 一年级 pupil never at a 初级中学 (issue 20, item 19)."""
    import csv

    stage = {"小学": {"一年级", "二年级", "三年级", "四年级", "五年级", "六年级"},
             "初级中学": {"七年级", "八年级", "九年级"}}
    schools = demo_schools()
    manifest = generate(schools, 600, seed=5, out=tmp_path)
    seen = set()
    with open(manifest["files"]["national"], encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            kind = next((k for k in stage if k in row["学校名称"]), None)
            if kind and row["姓名"] not in {"错号", "错校", "错态"}:
                assert row["年级"] in stage[kind], (row["学校名称"], row["年级"])
                seen.add(kind)
            if row["年级"].startswith("高"):
                assert "小学" not in row["学校名称"] and "初级中学" not in row["学校名称"]
    assert seen == {k for k in stage if any(k in s.name for s in schools)} and "小学" in seen


@pytest.fixture
def hand_made(db, world, tmp_path):
    """Jinshui (two schools), Erqi (one school), Gongyi (a directly administered county), Luoyang."""
    national = [student("甲", seq=101), student("乙", seq=103), student("丙", seq=105, school="4141000002"),
                student("丁", seq=107, school="4141000003"), student("戊", seq=109, school="4141000005"),
                student("己", seq=111, school="4141000004"),
                student("己", seq=111, school="4141000001", 学籍号="L410105201503080001"),
                student("庚", seq=113, status="毕业", grade="六年级")]
    provincial = [student("甲", seq=101), student("乙改", seq=103), student("丁", seq=107, school="4141000003"),
                  student("戊", seq=109, school="4141000005"), student("辛", seq=115, school="4141000005"),
                  student("己", seq=111, school="4141000004"), student("庚", seq=113, status="毕业", grade="六年级")]
    do_import(write_csv(tmp_path / "n.csv", national), "national")
    do_import(write_csv(tmp_path / "p.csv", provincial), "provincial")
    return world


def test_check_finds_each_problem_on_a_hand_made_fixture(hand_made, db):
    result = run_check()
    assert result.counts == {"only_national": 2, "only_provincial": 1, "mismatch": 1, "duplicate_active": 1,
                             "graduate_pool": 1}
    mismatch = db.session.scalars(sa.select(RegistryProblem).where(RegistryProblem.kind == "mismatch")).one()
    assert mismatch.detail == "国网与省网不一致：姓名 " and mismatch.name == "乙"
    dup = db.session.scalars(sa.select(RegistryProblem).where(RegistryProblem.kind == "duplicate_active")).one()
    assert {dup.school.code, dup.other_school.code} == {"4141000001", "4141000004"}


def test_seed_000_table_per_city_and_per_county(hand_made, db):
    city = reconcile(date(2026, 11, 30), "city")
    assert city.headings[0] == "地市" and city.headings[1:3] == ["省网学籍总数", "国网学籍总数"]
    # name, provincial, national, only national, only provincial, duplicates, mismatches
    assert city.rows == [["郑州市教育局", 3, 5, 2, 0, 1, 1], ["巩义市教育局", 2, 1, 0, 1, 0, 0],
                         ["洛阳市教育局", 1, 1, 0, 0, 0, 0]]
    assert city.total == ["合计", 6, 7, 2, 1, 1, 1]
    county = reconcile(date(2026, 11, 30), "county")
    assert [r[0] for r in county.rows] == ["二七区教育局", "金水区教育局", "巩义市教育局", "西工区教育局"]
    assert county.rows[1] == ["金水区教育局", 2, 4, 2, 0, 1, 1]
    school = reconcile(date(2026, 11, 30), "school", hand_made.unit("410105"))
    assert school.rows == [["郑州市金水区第一小学", 2, 3, 1, 0, 1, 1], ["郑州市金水区第二小学", 0, 1, 1, 0, 0, 0]]
    assert to_csv(school).splitlines()[-1] == "合计,2,4,2,0,1,1"
    assert to_xlsx(school)[:2] == b"PK"


def test_seed_004_table_difference_ratio_and_flag(hand_made, db):
    # The seed's own figures: 城关 7711 − 7571 = 140, 0.018 (not flagged); 巩店 −0.032 and 程家集 0.021 flagged.
    # Shown as percentages, and the flag in words (超标), not only as a colour.
    assert headcount_row("城关", 7571, 7711, 0.02) == (["城关", 7571, 7711, 140, "1.8%", ""], False)
    assert headcount_row("巩店", 2552, 2474, 0.02) == (["巩店", 2552, 2474, -78, "-3.2%", "超标"], True)
    assert headcount_row("程家集", 886, 905, 0.02) == (["程家集", 886, 905, 19, "2.1%", "超标"], True)
    assert headcount_row("某校", 34, 90, 0.02)[0][4:] == ["62.2%", "超标"]
    day = date(2026, 11, 20)
    w = hand_made
    db.session.add_all([Headcount(school=w.unit("4141000001"), grade="四年级", counted_on=day, counted=2),
                        Headcount(school=w.unit("4141000005"), grade="四年级", counted_on=day, counted=3)])
    db.session.commit()
    report = headcount_report(day, w.unit("410100"))
    assert report.rows == [["郑州市金水区第一小学 四年级", 2, 3, 1, "33.3%", "超标"]]
    assert report.flagged == [True]
    report = headcount_report(day)
    assert report.rows[1] == ["巩义市第一初级中学 四年级", 3, 1, -2, "-200.0%", "超标"]
    check = run_check()
    assert check.counts["headcount"] == 2
    problem = db.session.scalars(sa.select(RegistryProblem).where(RegistryProblem.kind == "headcount")
                                 .order_by(RegistryProblem.id)).first()
    assert problem.detail == "2026-11-20现场核查四年级：在校2人，学籍3人，差额1人，差额比例33.3%"
    from caseflow.models import Category
    from caseflow.registry.monitoring import open_case

    case = open_case(w.user("supervisor", "410105"), problem.id)
    assert case.category is Category.SEPARATED and case.responsible_unit.code == "410105"
    db.session.add(Setting(key="registry_headcount_threshold", value="5"))
    db.session.commit()
    assert headcount_report(day).flagged == [False, False]


def test_cli_check_and_reconcile(hand_made, app, tmp_path):
    runner = app.test_cli_runner()
    check = runner.invoke(args=["registry", "check"])
    assert check.exit_code == 0, check.output
    assert json.loads(check.output)["problems"]["only_national"] == 2
    result = runner.invoke(args=["registry", "reconcile", "--as-of", "2026-11-30", "--level", "county"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("县（市、区）,省网学籍总数,国网学籍总数")
    assert "金水区教育局,2,4,2,0,1,1" in lines and lines[-1] == "合计,6,7,2,1,1,1"
    out = tmp_path / "r.xlsx"
    result = runner.invoke(args=["registry", "reconcile", "--as-of", "2026-11-30", "--level", "school",
                                 "--unit", "410105", "--format", "xlsx", "--output", str(out)])
    assert result.exit_code == 0 and out.read_bytes()[:2] == b"PK"
    from openpyxl import load_workbook

    book = load_workbook(out, read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert rows[2] == ("郑州市金水区第一小学", 2, 3, 1, 0, 1, 1) and rows[-1][0] == "合计"


def _problems(db) -> dict[tuple[str, str], tuple[int, int | None]]:
    """(kind, school code) -> (id, case id) of every problem on file."""
    db.session.expire_all()
    rows = db.session.scalars(sa.select(RegistryProblem)).all()
    found: dict[tuple[str, str], tuple[int, int | None]] = {}
    for p in rows:
        key = (p.kind.value, p.school.code)
        assert key not in found or p.resolved_at is not None, f"{key} listed twice"
        found[key] = (p.id, p.case_id)
    return found


def test_rerunning_the_check_keeps_problems_and_filed_ones_stay_filed(hand_made, db):
    from caseflow.registry import monitoring

    run_check()
    db.session.commit()
    first = _problems(db)
    run_check()
    db.session.commit()
    assert _problems(db) == first  # the same rows: identity kept across checks
    problem = db.session.get(RegistryProblem, first[("only_provincial", "4141000005")][0])
    case = monitoring.open_case(hand_made.user("supervisor", "410000"), problem.id)
    db.session.commit()
    again = run_check()
    db.session.commit()
    after = _problems(db)
    assert after[("only_provincial", "4141000005")] == (problem.id, case.id)  # still filed, not open again
    assert len(after) == len(first) and sum(again.counts.values()) == len(first)


def test_a_district_check_leaves_the_rest_of_the_province_alone(hand_made, db, app):
    from caseflow.models import ProblemKind
    from tests.web.staff_support import Browser

    run_check()
    # A problem in Luoyang that the data no longer shows: only a check over Luoyang may remove it.
    stale = RegistryProblem(check_id="earlier", kind=ProblemKind.MISMATCH, school_id=hand_made.unit("4141000004").id,
                            detail="国网与省网不一致：出生日期 ", name="旧")
    db.session.add(stale)
    db.session.commit()
    before = _problems(db)
    district = Browser(app, hand_made.user("supervisor", "410105"))
    assert district.post("/registry/problems/check").status_code == 302
    assert _problems(db) == before
    province = Browser(app, hand_made.user("supervisor", "410000"))
    assert province.post("/registry/problems/check").status_code == 302
    after = _problems(db)
    assert ("mismatch", "4141000004") not in after
    assert after == {k: v for k, v in before.items() if k != ("mismatch", "4141000004")}


@pytest.mark.postgres
def test_parallel_checks_never_multiply_the_lists(hand_made, db, app):
    import threading

    from caseflow.errors import IllegalTransition
    from caseflow.extensions import unit_of_work

    run_check()
    db.session.commit()
    first = _problems(db)
    barrier, outcomes = threading.Barrier(4), []

    def check():
        with app.app_context():
            barrier.wait()
            try:
                with unit_of_work():
                    run_check()
                outcomes.append("ran")
            except IllegalTransition:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=check) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert "ran" in outcomes and len(outcomes) == 4
    assert _problems(db) == first


def test_filing_a_problem_that_routes_above_the_supervisor_shows_where_it_went(hand_made, db, app):
    """One person registered in 金水区 and in 洛阳: the province is responsible, out of the district's sight."""
    from tests.web.staff_support import Browser

    run_check()
    db.session.commit()
    dup = db.session.scalars(sa.select(RegistryProblem).where(RegistryProblem.kind == "duplicate_active")).one()
    assert dup.school.code == "4141000001"
    district = Browser(app, hand_made.user("supervisor", "410105"))
    resp = district.post(f"/registry/problems/{dup.id}/case")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/intake/registered/")
    page = district.page(resp.headers["Location"])
    assert "河南省教育厅" in page and "本单位看不到其后的办理过程" in page


def test_a_monitoring_case_about_a_student_already_complained_about_is_matched(hand_made, db):
    """Issue 18: registry monitoring is an intake path too; the unit sees the citizen's earlier complaint."""
    from caseflow.cases import repeats
    from caseflow.cases.operations import PersonData
    from caseflow.models import MatchReason
    from caseflow.registry import monitoring
    from tests.factories import make_id_number, submit

    citizen, _ = submit(db, schools=("4141000005",),
                        student=PersonData(name="辛", id_number=make_id_number("410105", date(2015, 3, 8), 115)))
    run_check()
    db.session.commit()
    problem = db.session.scalars(sa.select(RegistryProblem).where(RegistryProblem.kind == "only_provincial")).one()
    case = monitoring.open_case(hand_made.user("supervisor", "410000"), problem.id)
    db.session.commit()
    assert [(m.case.id, m.reason) for m in repeats.matches_of(case)] == [(citizen.id, MatchReason.ID_NUMBER)]


def test_a_problem_found_again_is_left_as_it_is_and_a_resolved_one_opens_again(hand_made, db):
    """A check writes only what changes: the problems it finds again keep the check and the time that first
    found them; a filed problem marked resolved (an earlier check did not find it) opens again when found."""
    from datetime import timedelta

    from caseflow.registry import monitoring
    from caseflow.timeutil import utcnow

    first = run_check()
    db.session.commit()
    created = dict(db.session.execute(sa.select(RegistryProblem.id, RegistryProblem.created_at)).all())
    problem = db.session.get(RegistryProblem, _problems(db)[("only_provincial", "4141000005")][0])
    monitoring.open_case(hand_made.user("supervisor", "410000"), problem.id)
    problem.resolved_at = utcnow() - timedelta(days=1)
    db.session.commit()
    second = run_check()
    db.session.commit()
    db.session.expire_all()
    rows = db.session.scalars(sa.select(RegistryProblem)).all()
    assert {p.check_id for p in rows} == {first.check_id} != {second.check_id}
    assert {p.id: p.created_at for p in rows} == created
    assert db.session.get(RegistryProblem, problem.id).resolved_at is None
    assert second.counts == first.counts


def test_a_check_makes_its_found_table_afresh_where_a_failed_check_left_one(hand_made, db):
    """SQLite runs DDL outside the transaction, so a check that failed half-way leaves its temporary table on the
    pooled connection: the next check there starts from an empty one (PostgreSQL's rollback drops it anyway)."""
    from caseflow.models import ProblemKind
    from caseflow.registry import problems

    left = problems._found_table()
    db.session.execute(sa.insert(left), [{"check_id": "failed", "kind": ProblemKind.MISMATCH,
                                          "school_id": hand_made.unit("4141000004").id, "detail": "旧"}])
    fresh = problems._found_table()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(fresh)) == 0
    db.session.rollback()
    assert run_check().counts  # and a whole check still runs on the same session
