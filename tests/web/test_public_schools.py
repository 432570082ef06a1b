"""School search (JSON for the script) and the same resolution without JavaScript."""
from __future__ import annotations

from caseflow.models import Case
from tests.factories import add_unit
from tests.web.formdata import valid_form


def test_search_by_name_and_code_prefix(client, world):
    found = client.get("/schools/search?q=金水区").get_json()
    assert found == [
        {"code": "4141000001", "name": "郑州市金水区第一小学", "parent": "金水区教育局"},
        {"code": "4141000002", "name": "郑州市金水区第二小学", "parent": "金水区教育局"},
    ]
    codes = [s["code"] for s in client.get("/schools/search?q=414100000").get_json()]
    assert set(codes) == {f"414100000{i}" for i in range(1, 7)}
    # Bureaus are not schools.
    assert client.get("/schools/search?q=教育局").get_json() == []
    assert client.get("/schools/search?q=").get_json() == []


def test_search_escapes_like_wildcards(client, world, db):
    add_unit(db, "4141000099", "百分之100%_学校", "school", world.unit("410105"))
    db.session.commit()
    assert client.get("/schools/search?q=%").get_json()[0]["code"] == "4141000099"
    assert [s["code"] for s in client.get("/schools/search?q=_").get_json()] == ["4141000099"]
    assert [s["code"] for s in client.get("/schools/search?q=%25_").get_json()] == ["4141000099"]
    assert client.get("/schools/search?q=金水%第一").get_json() == []


def test_search_is_capped_at_twenty(client, world, db):
    for i in range(25):
        add_unit(db, f"41420000{i:02d}", f"测试县第{i}小学", "school", world.unit("410105"))
    db.session.commit()
    assert len(client.get("/schools/search?q=测试县").get_json()) == 20


def _post(client, **fields):
    return client.post("/complaints/new", data=valid_form(**fields))


def test_unique_name_without_js(client, world, db):
    resp = _post(client, school1="金水区第一小学")
    assert resp.status_code == 302
    assert [s.code for s in db.session.scalars(db.select(Case)).one().schools] == ["4141000001"]


def test_several_matches_offer_a_choice_then_the_choice_is_used(client, world, db):
    resp = _post(client, school1="金水区")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "找到2所名称相近的学校，请在下面选择一所" in html
    assert 'name="school1_pick" type="radio" value="4141000001"' in html
    assert 'name="school1_pick" type="radio" value="4141000002"' in html
    assert 'value="金水区"' in html  # the typed text is kept
    assert db.session.scalar(db.select(db.func.count(Case.id))) == 0
    resp = _post(client, school1="金水区", school1_pick="4141000002")
    assert resp.status_code == 302
    assert [s.code for s in db.session.scalars(db.select(Case)).one().schools] == ["4141000002"]


def test_no_match_without_js(client, world, db):
    html = _post(client, school1="火星第一小学").get_data(as_text=True)
    assert '<div class="err" id="school1-err">没有找到该学校，请核对学校名称或10位学校标识码</div>' in html


def test_two_schools_route_to_their_common_bureau(client, world, db):
    resp = _post(client, school1="4141000001 郑州市金水区第一小学", school2="二七区实验小学")
    assert resp.status_code == 302
    case = db.session.scalars(db.select(Case)).one()
    assert {s.code for s in case.schools} == {"4141000001", "4141000003"}
    assert case.responsible_unit.code == "410100"


def test_a_bureau_code_is_not_a_school(client, world, db):
    html = _post(client, school1="410105").get_data(as_text=True)
    assert "没有找到该学校" in html
