"""Issue 19: the complaint channels (/directory), the FAQ and its deflection counts, the rules as data."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa

from caseflow.guidance import faq, rules
from caseflow.models import Category, FaqCount, FaqEntry, PolicyRule
from tests.web.formdata import valid_form


@pytest.fixture
def guidance(db, world):
    rules.load()
    faq.seed()
    db.session.commit()
    return world


def test_the_repository_rules_load_once_and_every_cited_rule_exists(db, world, app):
    result = app.test_cli_runner().invoke(args=["rules", "load", str(rules.DEFAULT_FILE)])
    assert result.exit_code == 0, result.output
    added = json.loads(result.output)["added"]
    assert added >= 20
    again = app.test_cli_runner().invoke(args=["rules", "load"])
    assert json.loads(again.output) == {"added": 0, "amended": 0, "unchanged": added}
    defined = rules.file_keys()
    seeded = tomllib.loads(faq.SEED_FILE.read_text(encoding="utf-8"))["entry"]
    assert {e["rule"] for e in seeded if e.get("rule")} <= defined


def test_an_amended_article_is_a_new_version_and_the_old_one_stays(db, world, tmp_path):
    rules.load()
    original = rules.current("zhoukou-2022:第十一条（八）")
    amended = rules.DEFAULT_FILE.read_text(encoding="utf-8").replace(
        'text = "接收转入学生的学校必须是班额不超出国家规定。"',
        'text = "接收转入学生的学校必须是班额不超出国家规定（修订）。"')
    path = tmp_path / "rules.toml"
    path.write_text(amended, encoding="utf-8")
    result = rules.load(path)
    db.session.commit()
    assert (result.added, result.amended) == (0, 1)
    latest = rules.current("zhoukou-2022:第十一条（八）")
    assert latest.version == 2 and latest.text.endswith("（修订）。")
    kept = db.session.get(PolicyRule, original.id)
    assert kept.version == 1 and "（修订）" not in kept.text  # what cited version 1 still reads version 1


def test_a_bad_rules_file_is_refused_with_a_message(db, world, app, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nkey = "x"\ntitle = "X"\ndate = 2020-01-01\n[[source.article]]\narticle = "第一条"\n',
                   encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["rules", "load", str(bad)])
    assert result.exit_code != 0 and "缺少" in result.output
    assert not db.session.scalars(sa.select(PolicyRule)).all()


def test_the_directory_finds_the_bureau_of_a_school_by_name_and_code(client, guidance, db):
    county = guidance.unit("410105")
    county.hotline, county.address = "0371-63330000", "郑州市金水区政七街"
    db.session.commit()
    for q in ("金水区第一小学", "4141000001"):
        html = client.get("/directory", query_string={"q": q}).get_data(as_text=True)
        assert "郑州市金水区第一小学" in html and "负责单位：<strong>金水区教育局</strong>" in html
        assert "0371-63330000" in html and "郑州市金水区政七街" in html
        assert html.index("金水区教育局") < html.index(guidance.unit("410100").name)  # responsible first
    assert "没有找到" in client.get("/directory?q=不存在的学校").get_data(as_text=True)
    region = client.get("/directory?region=410100").get_data(as_text=True)
    assert "金水区教育局" in region and "0371-63330000" in region


def test_a_supervisor_keeps_their_own_units_channel_and_no_other(client, guidance, db, login):
    login(guidance.user("supervisor", "410105"))
    assert client.get("/directory/410100/edit").status_code == 403
    bad = client.post("/directory/410105/edit", data={"hotline": "12", "email": "not-an-email"})
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "电子邮箱格式不正确" in page or "电话" in page
    ok = client.post("/directory/410105/edit", data={"hotline": "0371-63330000", "email": "js@example.cn",
                                                     "address": "政七街", "office_hours": "工作日 9:00-17:00"})
    assert ok.status_code == 302
    db.session.expire_all()
    unit = guidance.unit("410105")
    assert (unit.hotline, unit.email, unit.address) == ("0371-63330000", "js@example.cn", "政七街")


def test_administrators_see_the_bureaus_whose_channel_is_incomplete(client, guidance, login):
    login(guidance.user("admin", "410000"))
    html = client.get("/admin/directory").get_data(as_text=True)
    assert "金水区教育局" in html and "投诉电话" in html


def test_the_faq_is_seeded_with_fifteen_answers_across_the_categories(guidance):
    entries = faq.entries()
    assert len(entries) >= 15
    covered = {e.category for e in entries}
    assert {Category.TRANSFER, Category.UNREGISTERED, Category.ONE_SYSTEM_ONLY, Category.DUPLICATE,
            Category.SEPARATED, Category.GRADUATE_POOL, Category.MISMATCH} <= covered
    assert sum(1 for e in entries if e.rule_key) >= 15


def test_picking_transfer_on_the_category_step_shows_its_answers_then_the_form(client, guidance):
    step = client.get("/complaints/start")
    assert step.status_code == 200 and "转学手续被拒或拖延" in step.get_data(as_text=True)
    assert "请选择问题类别" in client.get("/complaints/start?category=nonsense").get_data(as_text=True)
    go = client.get("/complaints/start?category=transfer")
    assert go.headers["Location"] == "/complaints/new?category=transfer"
    html = client.get(go.headers["Location"]).get_data(as_text=True)
    transfer = faq.entries(Category.TRANSFER)
    assert all(e.question in html for e in transfer)
    assert "依据：《周口市中小学生学籍管理实施细则（试行）》第十一条（一）" in html  # the same article as the FAQ
    assert re.search(r'<option (selected value="transfer"|value="transfer" selected)', html)  # preselected
    answer = client.get(f"/faq/{transfer[0].id}").get_data(as_text=True)
    assert "政策依据" in answer and "周口市中小学生学籍管理实施细则" in answer


def _counts(db, category: Category) -> tuple[int, int]:
    db.session.expire_all()
    row = db.session.scalars(sa.select(FaqCount).where(FaqCount.category == category)).first()
    return (row.opened, row.submitted) if row else (0, 0)


def test_deflection_counts_readers_once_and_those_who_submit_anyway(client, guidance, db, app, login):
    first, second = faq.entries(Category.UNREGISTERED)[:2]
    reader = app.test_client()
    reader.get(f"/faq/{first.id}")
    reader.get(f"/faq/{second.id}")  # the same visitor, the same category: counted once
    assert _counts(db, Category.UNREGISTERED) == (1, 0)
    complainant = app.test_client()
    complainant.get(f"/faq/{first.id}")
    assert complainant.post("/complaints/new", data=valid_form(category="unregistered")).status_code == 302
    assert _counts(db, Category.UNREGISTERED) == (2, 1)
    untouched = app.test_client()  # submits without reading: not a deflection figure
    untouched.post("/complaints/new", data=valid_form(category="unregistered", token="tok-" + "b" * 20))
    assert _counts(db, Category.UNREGISTERED) == (2, 1)
    login(guidance.user("admin", "410000"))
    html = client.get("/admin/faq").get_data(as_text=True)
    assert "50.0%" in html


def test_answers_are_plain_text_never_markup(client, guidance, db):
    entry = faq.save(None, category=Category.OTHER, question="格式？", rule_key=None,
                     answer="第一段<script>alert(1)</script>\n\n- 第一项\n- 第二项")
    db.session.commit()
    html = client.get(f"/faq/{entry.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<ul><li>第一项</li><li>第二项</li></ul>" in html


def test_an_faq_citing_an_unknown_rule_is_refused_by_its_field(client, guidance, db, login):
    login(guidance.user("admin", "410000"))
    resp = client.post("/admin/faq/new", data={"category": "transfer", "question": "问？", "answer": "答。",
                                               "rule_key": "zhoukou-2022:第九十九条", "published": "y"})
    assert resp.status_code == 400 and "没有找到政策依据" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(FaqEntry.id)).where(FaqEntry.question == "问？")) == 0


def test_the_demo_has_the_faq_and_the_rules(db, app):
    from caseflow.demo import load_demo

    load_demo()
    assert len(faq.entries()) >= 15 and rules.current("zhoukou-2022:第十一条（二）") is not None
    assert Path(rules.DEFAULT_FILE).exists()
