"""The citizen's complaint form: every field checked by the field, typed values kept, one case per form."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from markupsafe import escape

from caseflow.cases.numbering import access_code_matches
from caseflow.identity import age_on
from caseflow.models import Attachment, Case, CaseState, ReceiptCode
from caseflow.timeutil import local_today, utcnow
from tests.factories import make_id_number
from tests.web.formdata import COMPLAINANT_ID, STUDENT_ID, valid_form

TEXT_FIELDS = ("complainant_name", "complainant_age", "complainant_id_number", "complainant_phone",
               "student_name", "student_age", "student_registry_no", "student_id_number", "description")


def case_count(db) -> int:
    return db.session.scalar(db.select(db.func.count(Case.id)))


def field_errors(html: str, field: str) -> list[str]:
    return re.findall(rf'<div class="err" id="{field}-err">([^<]*)</div>', html)


def assert_kept(html: str, data: dict, wrong: str | None = None) -> None:
    """Every typed text is back in its input (or textarea), selects and radios keep their choice.

    A select cannot show a value that is not one of its options, so ``wrong`` skips that one.
    """
    for name in TEXT_FIELDS:
        value = str(escape(data[name]))
        if name == "description":
            assert re.search(rf">\s*{re.escape(value)}</textarea>", html), name
        elif value:
            assert re.search(rf'<input[^>]*name="{name}"[^>]*value="{re.escape(value)}"', html), name
    for name in ("complainant_ethnicity", "student_ethnicity", "category"):
        if data[name] and name != wrong:
            assert re.search(rf'<option selected value="{re.escape(data[name])}">', html) or \
                re.search(rf'<option value="{re.escape(data[name])}" selected>', html), name
    for name in ("complainant_sex", "student_sex"):
        if data[name]:
            assert re.search(rf'<input checked id="{name}-\d" name="{name}" type="radio" value="{data[name]}"',
                             html), name


def other_id(seq=131):
    return make_id_number("410105", date(2015, 3, 8), seq)


BAD_FIELDS = [
    ("complainant_name", "", "请填写姓名"),
    ("complainant_name", "张3", "姓名只能包含汉字、字母和间隔号"),
    ("complainant_name", "张" * 31, "姓名不能超过30个字"),
    ("complainant_sex", "", "请选择性别"),
    ("complainant_age", "三十八", "年龄请填写数字"),
    ("complainant_age", "12", "投诉人年龄应在16至100岁之间"),
    ("complainant_ethnicity", "", "请选择民族"),
    ("complainant_id_number", "", "请填写身份证号"),
    ("complainant_id_number", "41010519880504", "身份证号应为18位"),
    ("complainant_id_number", COMPLAINANT_ID[:17] + ("1" if COMPLAINANT_ID[17] != "1" else "2"), "校验位不正确"),
    ("complainant_phone", "", "请填写联系电话"),
    ("complainant_phone", "1381234", "联系电话格式不正确"),
    ("student_name", "", "请填写姓名"),
    ("student_sex", "", "请选择性别"),
    ("student_age", "", "请填写年龄"),
    ("student_age", "30", "学生年龄应在3至25岁之间"),
    ("student_ethnicity", "火星族", "请选择民族"),
    ("student_registry_no", "X123", "学籍号应为19位"),
    ("student_registry_no", "Q" + STUDENT_ID, "学籍号应以G、J或L开头"),
    ("student_registry_no", "G" + other_id(), "G字头学籍号应为“G”加学生身份证号"),
    ("student_id_number", STUDENT_ID[:17] + ("1" if STUDENT_ID[17] != "1" else "2"), "校验位不正确"),
    ("category", "", "请选择投诉类别"),
    ("school1", "", "请填写投诉涉及的学校"),
    ("school1", "火星第一小学", "没有找到该学校"),
    ("school2", "4141000001", "两所学校不能是同一所"),
    ("description", "学籍没注册", "至少10个字"),
    ("description", "学" * 5001, "投诉内容不能超过5000字"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_FIELDS,
                         ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(BAD_FIELDS)])
def test_bad_field_is_shown_by_the_field_and_input_kept(client, world, db, field, value, message):
    data = valid_form(**{field: value})
    resp = client.post("/complaints/new", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    errors = field_errors(html, field)
    assert errors and message in errors[0], (field, errors)
    assert 'class="error-summary"' in html and f'href="#{field}"' in html
    assert_kept(html, data, wrong=field)
    assert f'value="{data["token"]}"' in html  # the same form, so a resend still finds one case
    assert case_count(db) == 0


def test_id_numbers_are_normalised(client, world, db):
    spaced = " ".join([STUDENT_ID[:6], STUDENT_ID[6:14], STUDENT_ID[14:]]).lower()
    full_width = COMPLAINANT_ID.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    resp = client.post("/complaints/new", data=valid_form(
        complainant_id_number=full_width, student_id_number=spaced,
        student_registry_no="g" + STUDENT_ID.lower(), complainant_phone="138 1234 5678"))
    assert resp.status_code == 302, field_errors(resp.get_data(as_text=True), "student_id_number")
    case = db.session.scalars(db.select(Case)).one()
    assert STUDENT_ID.endswith("X")
    assert case.student.id_number == STUDENT_ID
    assert case.student.registry_no == "G" + STUDENT_ID
    assert case.complainant.id_number == COMPLAINANT_ID
    assert case.complainant.phone == "13812345678"
    assert case.complainant.birth_date == date(1988, 5, 4)


def test_uyghur_name_with_middle_dot(client, world, db):
    resp = client.post("/complaints/new", data=valid_form(complainant_name="买买提 • 吐尔逊", complainant_ethnicity="维吾尔族"))
    assert resp.status_code == 302
    assert db.session.scalars(db.select(Case)).one().complainant.name == "买买提·吐尔逊"


def test_sex_mismatch_with_id_number_is_refused(client, world, db):
    resp = client.post("/complaints/new", data=valid_form(complainant_sex="female", student_sex="male"))
    html = resp.get_data(as_text=True)
    assert field_errors(html, "complainant_sex") == ["性别与身份证号不一致（按身份证号应为男），请核对"]
    assert field_errors(html, "student_sex") == ["性别与身份证号不一致（按身份证号应为女），请核对"]
    assert case_count(db) == 0


def test_age_must_match_id_number_within_one_year(client, world, db):
    actual = age_on(date(1988, 5, 4), local_today())
    resp = client.post("/complaints/new", data=valid_form(complainant_age=str(actual + 2)))
    assert field_errors(resp.get_data(as_text=True), "complainant_age") == [
        f"年龄与身份证号不一致（按身份证号应为{actual}岁），请核对"]
    resp = client.post("/complaints/new", data=valid_form(complainant_age=str(actual + 1)))
    assert resp.status_code == 302


def test_student_without_id_number_or_registry_number(client, world, db):
    resp = client.post("/complaints/new", data=valid_form(student_id_number="", student_registry_no=""))
    assert resp.status_code == 302
    student = db.session.scalars(db.select(Case)).one().student
    assert student.id_number is None and student.registry_no is None


def test_j_and_l_registry_numbers_follow_their_rules(client, world, db):
    j_body = make_id_number("410105", date(2015, 3, 8), 124)
    resp = client.post("/complaints/new", data=valid_form(student_id_number="", student_registry_no="J" + j_body))
    assert resp.status_code == 302
    resp = client.post("/complaints/new", data=valid_form(token="t2" * 10, student_registry_no="L41010520151308" + "1234"))
    assert "出生日期部分不是有效日期" in field_errors(resp.get_data(as_text=True), "student_registry_no")[0]


def test_double_submission_creates_one_case(client, world, db):
    data = valid_form()
    first = client.post("/complaints/new", data=data)
    receipt = client.get("/complaints/receipt").get_data(as_text=True)
    second = client.post("/complaints/new", data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == "/complaints/receipt"
    assert client.get("/complaints/receipt").get_data(as_text=True) == receipt
    assert case_count(db) == 1


def test_honeypot_stores_nothing(client, world, db):
    resp = client.post("/complaints/new", data=valid_form(website="http://spam.example"))
    assert resp.status_code == 200
    assert "感谢您的反馈" in resp.get_data(as_text=True)
    assert case_count(db) == 0


def test_form_page_has_labels_hints_honeypot_and_token(client, world):
    html = client.get("/complaints/new").get_data(as_text=True)
    assert re.search(r'<input id="token" name="token" type="hidden" value="[\w-]{20,}">', html)
    assert 'class="honeypot"' in html and "请勿填写此项" in html
    assert "18位，最后一位可以是X" in html
    assert html.count("<option") >= 57 + 9  # 56 ethnic groups + 其他, twice, and the categories
    assert "<script>" not in html  # no inline JavaScript


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _files(*items):
    from io import BytesIO

    return [(BytesIO(data), name) for data, name in items]


def test_attachments_are_stored(client, world, db):
    data = valid_form()
    data["attachments"] = _files((PNG, "照片.png"), (PDF, "证明.pdf"))
    resp = client.post("/complaints/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 302
    names = db.session.scalars(db.select(Attachment.original_name).order_by(Attachment.id)).all()
    assert names == ["照片.png", "证明.pdf"]


def test_bad_attachment_is_refused_and_reselect_is_asked(client, world, db):
    data = valid_form()
    data["attachments"] = _files((b"just text, not a picture", "说明.txt"))
    resp = client.post("/complaints/new", data=data, content_type="multipart/form-data")
    errors = field_errors(resp.get_data(as_text=True), "attachments")
    assert any("不是PDF、JPG或PNG文件" in e for e in errors)
    assert case_count(db) == 0


def test_other_error_asks_to_reselect_attachments(client, world, db):
    data = valid_form(description="太短")
    data["attachments"] = _files((PNG, "照片.png"))
    resp = client.post("/complaints/new", data=data, content_type="multipart/form-data")
    assert "浏览器不能保留已选择的附件" in field_errors(resp.get_data(as_text=True), "attachments")[0]


def test_too_many_attachments(client, world, db):
    data = valid_form()
    data["attachments"] = _files(*[(PNG, f"{i}.png") for i in range(6)])
    resp = client.post("/complaints/new", data=data, content_type="multipart/form-data")
    assert field_errors(resp.get_data(as_text=True), "attachments")[0] == "附件最多5个"
    assert case_count(db) == 0


def test_submitted_case_is_waiting_for_acceptance(client, world, db):
    client.post("/complaints/new", data=valid_form())
    case = db.session.scalars(db.select(Case)).one()
    assert case.state is CaseState.SUBMITTED and case.responsible_unit.code == "410105"


@pytest.mark.postgres
def test_parallel_resends_create_one_case(app, world, db):
    """Two requests with the same form at once: the unique token lets one win, the other finds its case."""
    import threading

    data = valid_form()
    barrier = threading.Barrier(3)
    results = []

    def post():
        client = app.test_client()
        barrier.wait()
        resp = client.post("/complaints/new", data=data)
        results.append((resp.status_code, resp.headers.get("Location"),
                        client.get("/complaints/receipt").get_data(as_text=True)))

    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [r[:2] for r in results] == [(302, "/complaints/receipt")] * 3
    number = db.session.scalars(db.select(Case.number)).one()
    assert all(number in r[2] for r in results)
    assert len({_access_code(r[2]) for r in results} - {None}) == 1  # the same code on every receipt


def _access_code(html: str) -> str | None:
    found = re.search(r'class="code-big access-code">([^<]+)<', html)
    return found.group(1) if found else None


@pytest.mark.postgres
def test_twenty_parallel_identical_posts_all_show_the_same_code(app, world, db):
    """A double click (or a resend after a lost answer) never loses the access code: 20 of 20 show it."""
    import threading

    data = valid_form()
    barrier, receipts = threading.Barrier(20), []

    def post():
        client = app.test_client()
        barrier.wait()
        client.post("/complaints/new", data=data)
        receipts.append(client.get("/complaints/receipt").get_data(as_text=True))

    threads = [threading.Thread(target=post) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    codes = [_access_code(html) for html in receipts]
    assert len(codes) == 20 and None not in codes and len(set(codes)) == 1
    case = db.session.scalars(db.select(Case)).one()
    assert access_code_matches(case.number, codes[0], case.access_code_hash)
    assert "这份投诉已经提交过" not in receipts[0]


def test_resend_from_a_new_connection_shows_the_code_until_it_expires(app, world, db):
    data = valid_form()
    first = app.test_client()
    first.post("/complaints/new", data=data)
    code = _access_code(first.get("/complaints/receipt").get_data(as_text=True))
    for _ in range(5):  # the first answer was lost: the browser resends without the session cookie
        again = app.test_client()
        again.post("/complaints/new", data=data)
        assert _access_code(again.get("/complaints/receipt").get_data(as_text=True)) == code
    # Kept sealed, never in the clear, and only for a short time.
    stored = db.session.scalars(db.select(ReceiptCode)).one()
    assert code not in stored.code
    stored.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    late = app.test_client()
    late.post("/complaints/new", data=data)
    html = late.get("/complaints/receipt").get_data(as_text=True)
    assert _access_code(html) is None and "这份投诉已经提交过" in html


@pytest.mark.parametrize("schools", [("1341000001", ""), ("1341000001", "4141000001"), ("4141000001", "1341000001")])
def test_complaint_about_another_province_says_it_goes_to_the_ministry(client, world, db, schools):
    resp = client.post("/complaints/new", data=valid_form(school1=schools[0], school2=schools[1]))
    assert resp.status_code == 302
    html = client.get("/complaints/receipt").get_data(as_text=True)
    assert "由教育部协调处理" in html and "河南省教育厅将上报教育部" in html
    assert "个工作日内向有关学校或下级教育部门下发核查单" not in html
    case = db.session.scalars(db.select(Case)).one()
    assert case.responsible_unit.code == "410000"
