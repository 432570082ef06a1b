"""Lookups across both sources: flags, scope, audit, CLI shape, the pages and case linkage."""
from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from caseflow.errors import InvalidInput
from caseflow.models import AuditEntry, CaseRegistryLink
from caseflow.registry.lookup import lookup, parse_query
from caseflow.security import crypto
from tests.factories import make_id_number, submit
from tests.registry.helpers import do_import, login_as, student, write_csv

ID = make_id_number(seq=123)


@pytest.fixture
def two_sources(db, world, tmp_path):
    """One pupil in both systems (grade differs, not a key field), one only nationally, one duplicated."""
    national = [student(), student("李梅", seq=124), student("王强", seq=135, school="4141000001"),
                student("王强", seq=135, school="4141000004", 学籍号="L410105201503081111")]
    provincial = [student(grade="五年级"), student("王强", seq=135, school="4141000001")]
    do_import(write_csv(tmp_path / "n.csv", national), "national")
    do_import(write_csv(tmp_path / "p.csv", provincial), "provincial")
    return world


def test_lookup_by_id_number_finds_both_sources_without_flags(two_sources, db):
    user = two_sources.user("officer", "410105")
    result = lookup(user, parse_query(id_number=ID), reason="核实")
    assert [(r.source.value, r.registry_no) for r in result.records] == [
        ("national", "G410105********" + ID[-4:]), ("provincial", "G410105********" + ID[-4:])]
    assert result.flags == [] and result.elsewhere == []


def test_lookup_flags_one_source_only(two_sources, db):
    result = lookup(None, parse_query(id_number=make_id_number(seq=124)), reason="x")
    assert result.flags == ["only_national"]


def test_lookup_by_registry_no_and_by_name_flag_mismatch(two_sources, db, tmp_path):
    do_import(write_csv(tmp_path / "p2.csv", [student(status="休学")]), "provincial", as_of=date(2026, 11, 2))
    by_no = lookup(None, parse_query(registry_no="g" + ID.lower()), reason="x")
    by_name = lookup(None, parse_query(name="张小明", birth_date="2015-03-08"), reason="x")
    assert by_no.flags == ["mismatch"] and "only_provincial" not in by_name.flags
    assert {r.source.value for r in by_name.records} == {"national", "provincial"}


def test_duplicate_registry_across_counties_shows_only_the_county(two_sources, db):
    jinshui = two_sources.user("officer", "410105")
    result = lookup(jinshui, parse_query(id_number=make_id_number(seq=135)), reason="核实重复学籍")
    assert "duplicate_active" in result.flags
    assert {r.school_code for r in result.records} == {"4141000001"}
    # Issue 20 item 4: that a record exists elsewhere, and the county's bureau, never the school.
    assert result.elsewhere == [{"source": "national", "source_label": "国网", "unit": "西工区教育局"}]
    # By name, nothing outside the tree is revealed at all.
    by_name = lookup(jinshui, parse_query(name="王强", birth_date="2015-03-08"), reason="x")
    assert by_name.elsewhere == [] and "duplicate_active" not in by_name.flags


def test_lookup_outside_a_case_needs_a_reason_and_every_lookup_is_audited(two_sources, db):
    user = two_sources.user("officer", "410105")
    with pytest.raises(InvalidInput) as exc:
        lookup(user, parse_query(id_number=ID))
    assert exc.value.field == "reason"
    case, _ = submit(db)
    lookup(user, parse_query(id_number=ID), case=case)
    lookup(user, parse_query(registry_no="G" + ID), reason="家长来电核实")
    db.session.commit()
    rows = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(a.action, a.target_ref, a.user_id) for a in rows] == [
        ("registry_lookup", case.number, user.id), ("registry_lookup", "lookup", user.id)]
    assert all(a.subject_hash == crypto.lookup_hash(ID) for a in rows)
    assert "理由：家长来电核实" in rows[1].detail and ID not in rows[1].detail


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"id_number": "410105201503081230"}, "id_number"),
    ({"registry_no": "G123"}, "registry_no"),
    ({"name": "张三"}, "birth_date"),
    ({"birth_date": "2015-03-08"}, "name"),
    ({}, "id_number"),
])
def test_bad_queries_name_their_field(kwargs, field):
    with pytest.raises(InvalidInput) as exc:
        parse_query(**kwargs)
    assert exc.value.field == field


def test_cli_lookup_json_shape(two_sources, app):
    result = app.test_cli_runner().invoke(args=["registry", "lookup", "--id-number", make_id_number(seq=124)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["flags"] == ["only_national"]
    (rec,) = data["records"]
    assert set(rec) == {"source", "registry_no", "id_number", "name", "school_code", "status", "as_of"}
    assert rec["id_number"] == "410105********" + make_id_number(seq=124)[-4:]
    assert (rec["status"], rec["as_of"], rec["source"]) == ("enrolled", "2026-11-01", "national")


def test_lookup_page_requires_reason_then_shows_masked_results(two_sources, client):
    login_as(client, two_sources.user("officer", "410105"))
    page = client.post("/registry/lookup", data={"id_number": ID}).get_data(as_text=True)
    assert "请填写查询理由" in page and ID in page  # the typed value is kept
    page = client.post("/registry/lookup", data={"id_number": ID, "reason": "核实"}).get_data(as_text=True)
    assert "410105********" + ID[-4:] in page and "金水区第一小学" in page
    assert page.count(ID) == 0


def test_linkage_snapshot_is_unchanged_by_a_later_import(two_sources, db, client, tmp_path):
    case, _ = submit(db)
    officer = two_sources.user("supervisor", "410105")
    login_as(client, officer)
    page = client.post(f"/cases/{case.number}/registry", data={"id_number": ID}).get_data(as_text=True)
    assert "关联到本投诉" in page
    import re

    record = re.search(r'name="record" value="([-\d:]+)"', page).group(1)
    resp = client.post(f"/cases/{case.number}/registry/link", data={"record": record})
    assert resp.status_code == 302
    do_import(write_csv(tmp_path / "n2.csv", [student(status="转出", school="4141000002")]), "national")
    link = db.session.scalars(sa.select(CaseRegistryLink)).one()
    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "registry_link")).one()
    assert audit.target_ref == case.number and audit.subject_hash == crypto.lookup_hash(ID)
    assert link.snapshot["status"] == "enrolled" and link.snapshot["school_code"] == "4141000001"
    page = client.get(f"/cases/{case.number}/registry").get_data(as_text=True)
    assert "郑州市金水区第一小学" in page and "在籍" in page
    # A stale record (from the replaced snapshot) can no longer be linked.
    resp = client.post(f"/cases/{case.number}/registry/link", data={"record": record}, follow_redirects=True)
    assert "已不是最新数据" in resp.get_data(as_text=True)


def test_case_registry_page_is_404_outside_jurisdiction(two_sources, db, client):
    case, _ = submit(db)
    login_as(client, two_sources.user("officer", "410303"))
    assert client.get(f"/cases/{case.number}/registry").status_code == 404


def test_an_sm4_deployment_imports_looks_up_and_opens_records(app, db, world, tmp_path):
    """CASEFLOW_CRYPTO_SUITE=sm4: rows are sealed with SM4-GCM and keyed with HMAC-SM3, in the import's
    worker processes too, and a lookup by ID number or registry number finds the pupil in both sources."""
    from caseflow.models import RegistryRecord
    from caseflow.registry.validation import unseal_pii

    app.config.update(CRYPTO_SUITE="sm4", REGISTRY_PARALLEL_MIN_BYTES=0, REGISTRY_CHUNK_BYTES=300,
                      REGISTRY_IMPORT_WORKERS=2)
    keyring = crypto.init_app(app)
    do_import(write_csv(tmp_path / "n.csv", [student(), student("李梅", seq=124)] * 3), "national")
    do_import(write_csv(tmp_path / "p.csv", [student(grade="五年级")]), "provincial")
    result = lookup(world.user("officer", "410105"), parse_query(id_number=ID), reason="核实")
    assert [r.source.value for r in result.records] == ["national", "provincial"] and result.flags == []
    assert lookup(None, parse_query(registry_no="G" + ID), reason="x").records[0].id_number.endswith(ID[-4:])
    records = db.session.scalars(sa.select(RegistryRecord).where(RegistryRecord.id_key == keyring.id_key(ID))).all()
    assert len(records) == 2 and all(r.pii.startswith("s:") for r in records)
    assert unseal_pii(records[0].pii) == (ID, "G" + ID, "13812345678")
    assert records[0].registry_key == keyring.registry_key("G" + ID) != crypto.Keyring(app.config["DATA_KEY"]).registry_key("G" + ID)
