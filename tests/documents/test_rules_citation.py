"""Issue 19: the 政策依据 checklist on an order, citing an article, and the article on the PDF."""
from __future__ import annotations

import sqlalchemy as sa

from caseflow.cases import operations as ops
from caseflow.guidance import checklist, rules
from caseflow.models import Category, OrderCitation
from tests.documents.conftest import flat, pdf_text
from tests.factories import submit


def _transfer_order(world, db):
    rules.load()
    case, _ = submit(db, category=Category.TRANSFER)
    sup = world.user("supervisor", "410105")
    ops.accept_case(sup, case)
    (order,) = ops.issue_verification(sup, case, [world.unit("4141000001")], "核实学校拒绝转入的理由")
    ops.sign_order(world.user("officer", "4141000001"), order)
    db.session.commit()
    return order


def test_every_rule_a_checklist_or_the_faq_names_exists_in_the_rules_file():
    assert checklist.rule_keys() <= rules.file_keys()
    assert {c for c in Category if checklist.for_category(c)} >= {Category.TRANSFER, Category.UNREGISTERED,
                                                                  Category.SEPARATED, Category.MISMATCH}


def test_a_refused_transfer_walks_the_checklist_and_prints_the_cited_article(client, world, db, login):
    order = _transfer_order(world, db)
    login(world.user("officer", "4141000001"))
    assert "核对政策依据" in client.get(f"/orders/{order.number}").get_data(as_text=True)
    page = client.get(f"/orders/{order.number}/rules", query_string={"moved": "yes", "over_capacity": "no",
                                                                     "extra_documents": "unknown"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "第十一条（一）" in html and "应当准予转学" in html  # moved: yes
    assert "第十一条（八）" in html and "不能以学位已满为由拒绝" in html  # not over capacity
    assert "义务教育阶段学生有下列情况之一的，应准予转学" in html  # the article's text, from the data
    assert html.count("引用到本单") == 2  # the unknown answer lists nothing
    rule = rules.current("zhoukou-2022:第十一条（一）")
    done = client.post(f"/orders/{order.number}/rules/cite", data={"rule": str(rule.id), "back": "moved=yes"})
    assert done.status_code == 302 and done.headers["Location"].endswith("?moved=yes")
    assert "第十一条（一）" in client.get(f"/orders/{order.number}").get_data(as_text=True)
    pdf = client.get(f"/orders/{order.number}/pdf")
    assert pdf.status_code == 200
    text = flat(pdf_text(pdf.data))
    assert "政策依据" in text and flat("《周口市中小学生学籍管理实施细则（试行）》第十一条（一）") in text
    assert flat("义务教育阶段应准予转学的情形") in text  # the article's title (its text is on the page)


def test_an_amended_rule_leaves_what_an_order_cited_unchanged(client, world, db, login, tmp_path):
    order = _transfer_order(world, db)
    first = rules.current("zhoukou-2022:第十一条（八）")
    checklist.cite(world.user("officer", "4141000001"), order, first.id)
    db.session.commit()
    amended = tmp_path / "rules.toml"
    amended.write_text(rules.DEFAULT_FILE.read_text(encoding="utf-8").replace(
        "接收转入学生的学校必须是班额不超出国家规定。", "接收转入学生的学校班额不得超出国家和省规定的标准。"),
        encoding="utf-8")
    assert rules.load(amended).amended == 1
    db.session.commit()
    assert rules.current("zhoukou-2022:第十一条（八）").version == 2
    assert [r.id for r in checklist.citations(order)] == [first.id]
    login(world.user("officer", "4141000001"))
    html = client.get(f"/orders/{order.number}").get_data(as_text=True)
    assert "第十一条（八）" in html and "第2版" not in html  # the order still cites version 1
    page = client.get(f"/orders/{order.number}/rules", query_string={"over_capacity": "yes"}).get_data(as_text=True)
    assert "省规定的标准" in page  # what the checklist offers now is the amended text


def test_only_the_units_on_the_order_may_cite(client, world, db, login):
    order = _transfer_order(world, db)
    rule = rules.current("zhoukou-2022:第十一条（一）")
    login(world.user("officer", "4141000002"))  # another school: cannot even see the order
    assert client.post(f"/orders/{order.number}/rules/cite", data={"rule": str(rule.id)}).status_code in (403, 404)
    assert not db.session.scalars(sa.select(OrderCitation)).all()
