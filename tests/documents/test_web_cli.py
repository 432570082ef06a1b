"""The edges: order download, batch print, citizen receipt, ``forms`` commands and ``doctor``."""
from __future__ import annotations

import re
from datetime import timedelta

from caseflow.cases import operations as ops
from caseflow.identity import mask_id_number
from caseflow.models import AuditEntry
from caseflow.timeutil import local_today
from tests.documents.conftest import flat, pdf_info, pdf_text, save_png
from tests.factories import submit


def test_order_pdf_download_for_officials_who_see_the_order(world, client, login, verification):
    login(world.user("officer", "4141000001"))
    resp = client.get(f"/orders/{verification.number}/pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "no-store" in resp.headers["Cache-Control"]
    assert verification.number in pdf_text(resp.data)
    login(world.user("officer", "4141000003"))  # another county's school
    assert client.get(f"/orders/{verification.number}/pdf").status_code == 404


def test_order_pdf_requires_login(client, verification):
    resp = client.get(f"/orders/{verification.number}/pdf")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_full_print_from_the_web_is_audited(world, db, client, login, verification):
    user = world.user("supervisor", "410105")
    login(user)
    resp = client.get(f"/orders/{verification.number}/pdf?full=1")
    assert verification.case.student.id_number in flat(pdf_text(resp.data))
    entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "print")).one()
    assert entry.user_id == user.id and entry.target_ref == verification.number


def test_batch_prints_one_order_per_page_in_number_order(world, db, client, login, verification, case):
    sup = world.user("supervisor", "410105")
    case2, _ = submit(db, schools=("4141000002",))
    ops.accept_case(sup, case2)
    db.session.commit()
    second = ops.issue_verification(sup, case2, [world.unit("4141000002")])[0]
    db.session.commit()
    login(sup)
    today = local_today().isoformat()
    resp = client.post("/documents/batch", data={"unit": "410105", "date_from": today, "date_to": today})
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "Pages:           2" in pdf_info(resp.data)
    numbers = re.findall(r"HC\d{4}-\d{6}", pdf_text(resp.data))
    assert sorted(set(numbers)) == [verification.number, second.number]
    assert numbers[0] == min(verification.number, second.number)
    assert mask_id_number(case.student.id_number) in flat(pdf_text(resp.data))
    assert "共2页" not in flat(pdf_text(resp.data))  # pages travel apart: no batch-wide numbering
    save_png(resp.data, "batch")
    two_up = client.post("/documents/batch", data={"unit": "410105", "date_from": today, "date_to": today,
                                                   "two_up": "y"})
    assert two_up.status_code == 200 and "Pages:           1" in pdf_info(two_up.data)
    assert "841.89 x 595.28 pts (A4)" in pdf_info(two_up.data)  # landscape
    assert sorted(set(re.findall(r"HC\d{4}-\d{6}", pdf_text(two_up.data)))) == [verification.number, second.number]


def test_batch_form_shows_errors_by_the_field_and_keeps_the_input(world, client, login, verification):
    login(world.user("supervisor", "410105"))
    assert "批量打印" in client.get("/documents/batch").get_data(as_text=True)
    today = local_today()
    resp = client.post("/documents/batch", data={"unit": "410105", "date_from": today.isoformat(),
                                                  "date_to": (today - timedelta(days=3)).isoformat()})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "结束日期不能早于开始日期" in html and 'value="410105"' in html
    resp = client.post("/documents/batch", data={"unit": "410300", "date_from": today.isoformat(),
                                                  "date_to": today.isoformat()})
    assert "不在您的管辖范围内" in resp.get_data(as_text=True)
    resp = client.post("/documents/batch", data={"unit": "410105", "date_from": "23/11/2026", "date_to": ""})
    html = resp.get_data(as_text=True)
    assert "请按“2026-11-23”的格式填写开始日期" in html and "请填写结束日期" in html


def test_receipt_only_for_a_granted_case(world, db, client):
    case, code = submit(db)
    assert client.get(f"/track/{case.number}/receipt.pdf").status_code == 404
    from datetime import timedelta

    from caseflow.security import citizen_sessions

    # What the citizen receipt page keeps, server-side; the cookie names it.
    token = citizen_sessions.save(None, {"track_grants": [case.number], "receipt": {"number": case.number,
                                                                                      "code": code}},
                                  timedelta(minutes=5))
    db.session.commit()
    with client.session_transaction() as sess:
        sess["citizen"] = token
    resp = client.get(f"/track/{case.number}/receipt.pdf")
    assert resp.status_code == 200
    text = flat(pdf_text(resp.data))
    for expected in ("学籍投诉受理回执", case.number, code, case.complainant.name, "金水区教育局",
                     mask_id_number(case.complainant.id_number), "后续办理", "个工作日内"):
        assert expected in text, expected
    assert case.complainant.id_number not in text and case.complainant.phone not in text
    assert f"Title:           学籍投诉受理回执 {case.number}" in pdf_info(resp.data)
    save_png(resp.data, "receipt")


def test_cli_render_and_batch(app, db, world, verification, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "one.pdf"
    result = runner.invoke(args=["forms", "render", verification.number, "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = flat(pdf_text(out.read_bytes()))
    assert verification.number in text and verification.case.student.id_number not in text
    assert db.session.scalar(db.select(db.func.count(AuditEntry.id))) == 0

    result = runner.invoke(args=["forms", "render", verification.number, "-o", str(out), "--unmasked"])
    assert result.exit_code == 0 and verification.case.student.id_number in flat(pdf_text(out.read_bytes()))
    entry = db.session.scalars(db.select(AuditEntry)).one()
    assert (entry.user_id, entry.action, entry.detail) == (None, "print", "cli")

    today = local_today().isoformat()
    result = runner.invoke(args=["forms", "batch", "--unit", "4141000001", "--from", today, "--to", today,
                                 "-o", str(tmp_path / "batch.pdf")])
    assert result.exit_code == 0 and "1 order(s), 1 page(s)" in result.output
    result = runner.invoke(args=["forms", "batch", "--unit", "4141000001", "--from", today, "--to", today,
                                 "--two-up", "-o", str(tmp_path / "two-up.pdf")])
    assert result.exit_code == 0 and "1 order(s), 1 page(s)" in result.output  # alone: a page of its own

    result = runner.invoke(args=["forms", "render", "HC1999-000001", "-o", str(out)])
    assert result.exit_code == 1 and "没有编号为HC1999-000001的单据" in result.output


def test_doctor_reports_every_check(app, db, world):
    result = app.test_cli_runner().invoke(args=["doctor"])
    lines = result.output.splitlines()
    for name in ("database", "redis", "RQ workers", "CJK fonts", "HarfBuzz subsetting", "calendar this year"):
        assert any(f"] {name}:" in line for line in lines), name
    assert any(line.startswith("[  ok] database:") and "schema at head" in line for line in lines)
    assert "[  ok] redis: embedded" in result.output
    assert "[  ok] CJK fonts: Noto Serif CJK SC, Noto Sans CJK SC" in result.output
    failed = [line for line in lines if line.startswith("[FAIL]")]
    assert result.exit_code == (1 if failed else 0), result.output


def test_start_up_finds_fonts_and_subsetting_on_this_machine(app, caplog):
    from caseflow.documents.health import printing_problems, warn_if_unprintable

    assert printing_problems() == []
    warn_if_unprintable()
    assert "PDF forms" not in caplog.text


def test_unmasked_batch_audits_every_order_printed(app, db, world, verification, tmp_path):
    today = local_today().isoformat()
    result = app.test_cli_runner().invoke(args=["forms", "batch", "--unit", "410105", "--from", today, "--to", today,
                                                "-o", str(tmp_path / "b.pdf"), "--unmasked"])
    assert result.exit_code == 0, result.output
    entries = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "print")).all()
    assert [(e.target_ref, e.user_id, e.detail) for e in entries] == [(verification.number, None, "batch cli")]


def test_receipt_without_the_code_leaves_its_cell_empty(world, db, client):
    from datetime import timedelta

    from caseflow.security import citizen_sessions

    case, code = submit(db)
    token = citizen_sessions.save(None, {"track_grants": [case.number]}, timedelta(minutes=5))
    db.session.commit()
    with client.session_transaction() as sess:
        sess["citizen"] = token
    text = pdf_text(client.get(f"/track/{case.number}/receipt.pdf").data)
    assert case.number in text and code not in text and "查询码" in text
