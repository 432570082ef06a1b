"""Registry pages: imports with progress, problems turned into cases, reports and downloads."""
from __future__ import annotations

import io

import sqlalchemy as sa

from caseflow.models import Case, CaseSource, CaseState, ImportState, RegistryImport, RegistryProblem
from caseflow.registry.problems import run_check
from tests.registry.helpers import do_import, login_as, student, write_csv


def upload(client, content: bytes, name="n.csv", **data):
    form = {"source": "national", "as_of": "2026-11-01", "file": (io.BytesIO(content), name), **data}
    return client.post("/registry/imports", data=form, content_type="multipart/form-data")


def test_admin_uploads_an_extract_and_sees_its_progress_and_rejects(db, world, client, tmp_path):
    login_as(client, world.user("admin", "410000"))
    path = write_csv(tmp_path / "n.csv", [student(), student(性别="女")])
    resp = upload(client, path.read_bytes())
    assert resp.status_code == 302
    imp = db.session.scalars(sa.select(RegistryImport)).one()
    assert imp.state is ImportState.ACTIVE and (imp.rows_imported, imp.rows_rejected) == (1, 1)
    page = client.get(resp.location).get_data(as_text=True)
    assert "已生效" in page and "下载拒绝行及原因" in page
    with client.get(f"/registry/imports/{imp.id}/rejects.csv") as resp:
        rejects = resp.get_data(as_text=True)
    assert "性别与身份证号不一致" in rejects
    assert "已生效" in client.get("/registry/imports").get_data(as_text=True)


def test_refused_upload_shows_the_reason_by_the_field_and_writes_nothing(db, world, client):
    login_as(client, world.user("admin", "410000"))
    page = upload(client, b"a,b\n1,2\n").get_data(as_text=True)
    assert "文件缺少必需的列" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RegistryImport)) == 0


def test_imports_page_is_for_administrators_only(db, world, client):
    login_as(client, world.user("supervisor", "410100"))
    assert client.get("/registry/imports").status_code == 403


def test_supervisor_turns_a_problem_into_a_monitoring_case(db, world, client, tmp_path):
    do_import(write_csv(tmp_path / "n.csv", [student(school="4141000002")]), "national")
    do_import(write_csv(tmp_path / "p.csv", [student("李梅", seq=124)]), "provincial")
    run_check()
    db.session.commit()
    login_as(client, world.user("supervisor", "410105"))
    page = client.get("/registry/problems").get_data(as_text=True)
    assert "国网已注册、省网未注册" in page and "郑州市金水区第二小学" in page
    problem = db.session.scalars(sa.select(RegistryProblem).where(RegistryProblem.kind == "only_national")).one()
    resp = client.post(f"/registry/problems/{problem.id}/case")
    assert resp.status_code == 302
    case = db.session.scalars(sa.select(Case)).one()
    assert resp.location == f"/cases/{case.number}"
    assert case.source is CaseSource.MONITORING and case.state is CaseState.REGISTERED
    assert case.responsible_unit.code == "410105" and [s.code for s in case.schools] == ["4141000002"]
    assert case.student.name == "张小明" and case.student.registry_no.startswith("G410105")
    db.session.refresh(problem)
    assert problem.case_id == case.id
    assert client.post(f"/registry/problems/{problem.id}/case").status_code == 409
    # A supervisor elsewhere cannot see it.
    login_as(client, world.user("supervisor", "410303"))
    assert client.post(f"/registry/problems/{problem.id}/case").status_code == 404


def test_reports_page_with_downloads(db, world, client, tmp_path):
    do_import(write_csv(tmp_path / "n.csv", [student(), student("李梅", seq=124)]), "national")
    do_import(write_csv(tmp_path / "p.csv", [student()]), "provincial")
    run_check()
    db.session.commit()
    login_as(client, world.user("supervisor", "410000"))
    page = client.get("/registry/reports?level=county").get_data(as_text=True)
    assert "金水区教育局" in page and "<meter" in page
    csv_text = client.get("/registry/reports?level=county&format=csv").get_data(as_text=True)
    assert csv_text.lstrip("\ufeff").splitlines()[1] == "金水区教育局,1,2,1,0,0,0"
    xlsx = client.get("/registry/reports?format=xlsx")
    assert xlsx.data[:2] == b"PK"
    login_as(client, world.user("supervisor", "410105"))
    assert client.get("/registry/reports?unit=410303").status_code == 404


def test_headcount_form_and_table(db, world, client, tmp_path):
    do_import(write_csv(tmp_path / "n.csv", [student(), student("李梅", seq=124)]), "national")
    login_as(client, world.user("supervisor", "410105"))
    bad = client.post("/registry/reports/headcount", data={"school_code": "4141000004", "grade": "四年级",
                                                           "counted_on": "2026-11-20", "counted": "1"})
    assert "不在您的管辖范围内" in bad.get_data(as_text=True)
    resp = client.post("/registry/reports/headcount", data={"school_code": "4141000001", "grade": "四年级",
                                                            "counted_on": "2026-11-20", "counted": "1"})
    assert resp.status_code == 302
    page = client.get("/registry/reports/headcount?on=2026-11-20").get_data(as_text=True)
    assert "<td>50.0%</td>" in page and "<td>超标</td>" in page and 'class="flagged"' in page
    csv_text = client.get("/registry/reports/headcount?on=2026-11-20&format=csv").get_data(as_text=True)
    assert "郑州市金水区第一小学 四年级,1,2,1,50.0%,超标" in csv_text


def test_queued_upload_is_run_by_the_cli_when_no_worker_took_it(db, world, app, client, tmp_path):
    import json

    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # unreachable: the import stays queued
    login_as(client, world.user("admin", "410000"))
    resp = upload(client, write_csv(tmp_path / "n.csv", [student()]).read_bytes())
    assert resp.status_code == 302
    imp = db.session.scalars(sa.select(RegistryImport)).one()
    assert imp.state is ImportState.QUEUED
    app.config["REDIS_URL"] = None
    out = app.test_cli_runner().invoke(args=["registry", "run-queued"]).output
    assert json.loads(out.splitlines()[-1])["summary"]["imported"] == 1
    db.session.expire_all()
    assert db.session.get(RegistryImport, imp.id).state is ImportState.ACTIVE
