"""Demo data: the Henan unit hierarchy, one account per role, and a dozen cases in every state.

Cases are made through ``caseflow.cases.operations`` so their events, orders and
notifications are real.  Operations stamp everything "now"; to get a believable
history (and some overdue work) each story moves its case's timestamps back
between steps, and finally recomputes the deadlines from the moved start dates
with the same rules the calendar administration uses.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import date, timedelta

import sqlalchemy as sa

from caseflow.cases import citizen_actions, merging, repeats
from caseflow.cases import operations as ops
from caseflow.cases.numbering import hash_access_code
from caseflow.deadlines.policy import working_days_taken
from caseflow.deadlines.recompute import action_due_from_history, order_due_from_history
from caseflow.deadlines.settings import current_rules, forget_calendar, load_calendar
from caseflow.deadlines.status import on_time
from caseflow.extensions import db
from caseflow.guidance import faq, rules
from caseflow.identity import check_char
from caseflow.models import (
    Case,
    CaseSource,
    Category,
    FollowUp,
    PauseReason,
    Rating,
    Role,
    Sex,
    Unit,
    UnitKind,
    User,
    Verdict,
)
from caseflow.security.passwords import hash_new_password
from caseflow.timeutil import local_date

log = logging.getLogger(__name__)

# --- the unit hierarchy ---------------------------------------------------------------------------

# Every city and directly administered county (省直管县) of seed 000's table, as the seed writes them,
# with their administrative division codes.  The first 18 are cities (济源 is a 示范区 at city level).
SEED_000_UNITS: list[tuple[str, str]] = [
    ("410100", "郑州市"), ("410200", "开封市"), ("410300", "洛阳市"), ("410400", "平顶山"),
    ("410500", "安阳市"), ("410600", "鹤壁市"), ("410700", "新乡市"), ("410800", "焦作市"),
    ("410900", "濮阳市"), ("411000", "许昌市"), ("411100", "漯河市"), ("411200", "三门峡"),
    ("411300", "南阳市"), ("411400", "商丘市"), ("411500", "信阳市"), ("411600", "周口市"),
    ("411700", "驻马店市"), ("419001", "济源市"),
    ("410181", "巩义市"), ("410225", "兰考县"), ("410482", "汝州市"), ("410526", "滑县"),
    ("410728", "长垣县"), ("411381", "邓州市"), ("411481", "永城市"), ("411525", "固始县"),
    ("411628", "鹿邑县"), ("411729", "新蔡县"),
]
_CITY_COUNT = 18

# Telephone area codes; a directly administered county uses its geographic city's code.
_AREA = {
    "000000": "010", "410000": "0371", "4101": "0371", "4102": "0371", "4103": "0379", "4104": "0375",
    "4105": "0372", "4106": "0392", "4107": "0373", "4108": "0391", "4109": "0393", "4110": "0374",
    "4111": "0395", "4112": "0398", "4113": "0377", "4114": "0370", "4115": "0376", "4116": "0394",
    "4117": "0396", "4190": "0391", "1300": "0311", "1301": "0311",
}

# Districts under a few cities: (code, name, city code).
DISTRICTS = [
    ("410102", "中原区", "410100"), ("410103", "二七区", "410100"), ("410105", "金水区", "410100"),
    ("410203", "顺河回族区", "410200"), ("410204", "鼓楼区", "410200"),
    ("410303", "西工区", "410300"), ("410305", "涧西区", "410300"),
    ("411302", "宛城区", "411300"),
]

# Schools with their 10-digit school identification codes (学校标识码): (code, name, parent code).
SCHOOLS = [
    ("2141050101", "郑州市金水区文博小学", "410105"),
    ("2141050102", "郑州市金水区育才小学", "410105"),
    ("3141050103", "郑州市金水区第二初级中学", "410105"),
    ("2141030101", "郑州市二七区建设路小学", "410103"),
    ("3141010001", "郑州市第一实验中学", "410100"),  # directly under the city bureau
    ("3141030301", "洛阳市西工区第三初级中学", "410303"),
    ("2141030501", "洛阳市涧西区东方小学", "410305"),
    ("2141020301", "开封市顺河回族区实验小学", "410203"),
    ("3141018101", "巩义市第二初级中学", "410181"),
    ("2113010201", "石家庄市长安区建华小学", "130102"),
]

# A small Hebei chain, so a complaint across provinces can be shown being referred upward.
HEBEI = [
    ("130000", "河北省教育厅", UnitKind.PROVINCE, "000000"),
    ("130100", "石家庄市教育局", UnitKind.CITY, "130000"),
    ("130102", "长安区教育局", UnitKind.COUNTY, "130100"),
]

# --- demo accounts: (username, name, role, unit code) -------------------------------------------

ACCOUNTS = [
    ("admin", "赵敏", Role.ADMIN, "410000"),
    ("ha-supervisor", "孙建国", Role.SUPERVISOR, "410000"),
    ("zz-intake", "王丽", Role.INTAKE, "410100"),
    ("zz-supervisor", "李强", Role.SUPERVISOR, "410100"),
    ("zz-officer", "陈静", Role.OFFICER, "410100"),
    ("js-intake", "刘芳", Role.INTAKE, "410105"),
    ("js-supervisor", "张海涛", Role.SUPERVISOR, "410105"),
    ("js-officer", "杨帆", Role.OFFICER, "410105"),
    ("eq-supervisor", "周洁", Role.SUPERVISOR, "410103"),
    ("eq-officer", "吴磊", Role.OFFICER, "410103"),
    ("wenbo-officer", "郑晓燕", Role.OFFICER, "2141050101"),
    ("yucai-officer", "何伟", Role.OFFICER, "2141050102"),
    ("jianshe-officer", "高敏", Role.OFFICER, "2141030101"),
    ("zzsy-officer", "林涛", Role.OFFICER, "3141010001"),
    ("xg-supervisor", "马骏", Role.SUPERVISOR, "410303"),
    ("xg3-officer", "罗晶", Role.OFFICER, "3141030301"),
    ("gy-supervisor", "梁志远", Role.SUPERVISOR, "410181"),
    ("gy2-officer", "宋佳", Role.OFFICER, "3141018101"),
]


# Every demo case answers to this access code (查询码), so the citizen's tracking page can be shown.
DEMO_ACCESS_CODE = "ABCD-2345"


def demo_password(username: str) -> str:
    """The fixed demo password of an account (printed by ``flask demo load``)."""
    digest = hashlib.sha256(username.encode()).hexdigest()[:6]  # not the user name: the policy refuses that
    return f"Xueji-{digest}-Demo2026"


def _phone(code: str, area_of: str, last: int) -> str:
    """A plausible landline: the area code of ``area_of`` (a division code) and digits from ``code``."""
    area = _AREA.get(area_of) or _AREA.get(area_of[:4], "0371")
    return f"{area}-6{int(code) % 100000:05d}{last:02d}"


def _bureau_name(name: str) -> str:
    full = name if name[-1] in "市县区" else name + "市"  # the seed writes 平顶山, 三门峡
    return full + "教育局"


def _unit_rows() -> list[tuple[str, str, UnitKind, str | None, bool]]:
    """(code, name, kind, parent code, directly administered) for the whole demo tree, parents first."""
    rows: list[tuple[str, str, UnitKind, str | None, bool]] = [
        ("000000", "教育部", UnitKind.MINISTRY, None, False),
        ("410000", "河南省教育厅", UnitKind.PROVINCE, "000000", False),
    ]
    for i, (code, name) in enumerate(SEED_000_UNITS):
        city = i < _CITY_COUNT
        rows.append((code, _bureau_name(name), UnitKind.CITY if city else UnitKind.COUNTY, "410000", not city))
    rows += [(code, _bureau_name(name), UnitKind.COUNTY, parent, False) for code, name, parent in DISTRICTS]
    rows += [(code, name, kind, parent, False) for code, name, kind, parent in HEBEI]
    rows += [(code, name, UnitKind.SCHOOL, parent, False) for code, name, parent in SCHOOLS]
    return rows


def _channel(code: str, name: str, kind: UnitKind) -> dict:
    """The published complaint channel of a Henan bureau (Hebei's are left for the administrator's list)."""
    if kind in (UnitKind.SCHOOL, UnitKind.MINISTRY) or not code.startswith("41"):
        return {}
    return {"email": f"xueji{code}@jyj.example.cn", "address": f"{name}办公楼一楼群众来访接待室",
            "office_hours": "工作日 8:30-12:00，14:30-17:30"}


def _load_units() -> dict[str, Unit]:
    units = {u.code: u for u in db.session.scalars(sa.select(Unit))}
    for code, name, kind, parent_code, direct in _unit_rows():
        if code in units:
            continue
        parent = units[parent_code] if parent_code else None
        unit = Unit(code=code, name=name, kind=kind, parent=parent, path=Unit.make_path(parent, code),
                    phone=_phone(code, parent_code if kind is UnitKind.SCHOOL else code, 10),
                    hotline=None if kind is UnitKind.SCHOOL else _phone(code, code, 12),
                    directly_administered=direct, **_channel(code, name, kind))
        db.session.add(unit)
        units[code] = unit
    db.session.flush()
    return units


def _load_users(units: dict[str, Unit]) -> dict[str, User]:
    users = {u.username: u for u in db.session.scalars(sa.select(User))}
    for i, (username, name, role, code) in enumerate(ACCOUNTS):
        user = users.get(username)
        if user is None:
            user = User(username=username, name=name, role=role, unit=units[code])
            db.session.add(user)
            users[username] = user
        user.password_hash = hash_new_password(demo_password(username), personal=(username, name))
        user.phone = f"1380371{i:04d}"
        user.email = f"{username}@demo.caseflow.invalid"
        user.active = True
    db.session.flush()
    return users


# --- people on the complaints -----------------------------------------------------------------------

def _id_number(division: str, born: date, seq: int) -> str:
    body = f"{division}{born:%Y%m%d}{seq:03d}"
    return body + check_char(body)


def _people(parent: tuple[str, Sex, date, str], child: tuple[str, Sex, date], division: str,
            seq: int) -> tuple[ops.PersonData, ops.PersonData]:
    """A complainant (parent) and a student; odd sequence numbers are male as in real ID numbers."""
    (p_name, p_sex, p_born, phone), (c_name, c_sex, c_born) = parent, child
    p_id = _id_number(division, p_born, seq * 2 + (1 if p_sex is Sex.MALE else 0))
    c_id = _id_number(division, c_born, seq * 2 + 100 + (1 if c_sex is Sex.MALE else 0))
    return (
        ops.PersonData(name=p_name, sex=p_sex, age=2026 - p_born.year, ethnicity="汉族", id_number=p_id,
                       phone=phone, birth_date=p_born),
        ops.PersonData(name=c_name, sex=c_sex, age=2026 - c_born.year, ethnicity="汉族", id_number=c_id,
                       registry_no="G" + c_id, birth_date=c_born),
    )


def _complaint(seq: int, parent, child, category: Category, text: str, schools: list[str],
               division: str = "410105") -> ops.ComplaintData:
    complainant, student = _people(parent, child, division, seq)
    return ops.ComplaintData(complainant=complainant, student=student, category=category, description=text,
                             school_codes=schools)


# --- moving a case back in time --------------------------------------------------------------------

_CASE_TIMES = ("received_at", "registered_at", "closed_at", "rated_at", "withdrawn_at")
_ORDER_TIMES = ("sent_at", "signed_at", "reported_at", "returned_at", "accepted_at")


def _shift(case: Case, days: int) -> None:
    """Move everything that has happened on ``case`` so far ``days`` calendar days into the past."""
    delta = timedelta(days=days)

    def back(obj, names):
        for name in names:
            value = getattr(obj, name)
            if value is not None:
                setattr(obj, name, value - delta)

    db.session.flush()
    back(case, _CASE_TIMES)
    for order in case.orders:
        back(order, _ORDER_TIMES)
        for ext in order.extensions:
            back(ext, ("created_at", "decided_at"))
    for event in case.events:
        back(event, ("created_at",))
    for task in db.session.scalars(sa.select(FollowUp).where(FollowUp.case_id == case.id)):
        back(task, ("created_at", "ended_at", "closed_on", "rate_until", "due_on"))


def _settle(case: Case) -> None:
    """Recompute deadlines and on-time flags from the moved dates (parents before relayed children)."""
    db.session.flush()
    forget_calendar()
    rules = current_rules()
    for order in sorted(case.orders, key=lambda o: o.id):
        deadlines = order_due_from_history(rules, order)
        order.due_on, order.sign_due_on = deadlines.due.on, deadlines.sign_due_on
        order.due_provisional = deadlines.provisional
        if order.signed_at is not None:
            order.signed_on_time = on_time(order.sign_due_on, local_date(order.signed_at))
            order.sign_workdays = working_days_taken(rules.calendar, order.sent_at, order.signed_at)
        if order.reported_at is not None:
            order.completed_on_time = on_time(order.due_on, local_date(order.reported_at))
            order.complete_workdays = working_days_taken(rules.calendar, order.sent_at, order.reported_at)
    for event in case.events:
        if event.action == "close":
            event.workdays = working_days_taken(rules.calendar, case.received_at, event.created_at)
    if case.action_due_on is not None:
        due = action_due_from_history(rules, case)
        if due is not None:
            case.action_due_on, case.action_due_provisional = due.on, due.provisional
    db.session.flush()


# --- the stories ---------------------------------------------------------------------------------------

class _Stories:
    """Each method walks one case to a state through the real operations."""

    def __init__(self, units: dict[str, Unit], users: dict[str, User]):
        self.units, self.users = units, users

    def u(self, username: str) -> User:
        return self.users[username]

    def unit(self, code: str) -> Unit:
        return self.units[code]

    def web(self, data: ops.ComplaintData) -> Case:
        case, _code = ops.submit_complaint(data)
        return case

    def verified(self, case: Case, supervisor: str, school_officer: str, school: str, findings: str,
                 verdict: Verdict = Verdict.TRUE) -> None:
        """Accept (if needed), send a verification order to a school below, get and accept the findings."""
        sup = self.u(supervisor)
        if case.state.value == "submitted":
            ops.accept_case(sup, case)
        _shift(case, 1)
        (order,) = ops.issue_verification(sup, case, [self.unit(school)])
        _shift(case, 2)
        officer = self.u(school_officer)
        ops.sign_order(officer, order)
        ops.report_order(officer, order, text=findings, verdict=verdict)
        _shift(case, 1)
        ops.accept_report(sup, order)

    def handled(self, case: Case, supervisor: str, school_officer: str, school: str, opinion: str,
                result: str | None) -> None:
        """Send the supervision order; the school signs and (if ``result``) reports, accepted."""
        sup, officer = self.u(supervisor), self.u(school_officer)
        _shift(case, 1)
        order = ops.issue_supervision(sup, case, self.unit(school), opinion)
        _shift(case, 1)
        ops.sign_order(officer, order)
        if result is not None:
            _shift(case, 2)
            ops.report_order(officer, order, text=result)
            _shift(case, 1)
            ops.accept_report(sup, order)


def _stories(s: _Stories) -> list[Callable[[], Case]]:
    F, M = Sex.FEMALE, Sex.MALE

    def submitted_overdue() -> Case:
        case = s.web(_complaint(
            1, ("李红梅", F, date(1986, 4, 12), "13903716281"), ("王子涵", F, date(2016, 9, 3)),
            Category.UNREGISTERED,
            "孩子2025年9月入读金水区文博小学一年级，至今已一年多，学校一直说学籍还没办好。今年申请转学时"
            "才发现国网里查不到孩子的学籍，学校老师让我们再等等，请教育局督促学校尽快办理学籍注册。",
            ["2141050101"]))
        _shift(case, 6)  # nobody has accepted it for six days: the acceptance deadline has passed
        return case

    def submitted_fresh() -> Case:
        return s.web(_complaint(
            2, ("赵磊", M, date(1983, 11, 2), "13837812345"), ("赵一鸣", M, date(2013, 6, 18)),
            Category.MISMATCH,
            "孩子的学籍信息中出生日期登记错误，户口本和身份证上是2013年6月18日，学籍系统里是2013年8月16日，"
            "影响小升初报名。已向学校提供户口本复印件，学校说需要上级审核，请帮助核实更正。",
            ["2141020301"], division="410203"))

    def registered_overdue() -> Case:
        data = _complaint(
            3, ("孙秀英", F, date(1980, 2, 25), "13598765432"), ("孙浩然", M, date(2010, 12, 1)),
            Category.DUPLICATE,
            "来电反映：孩子初二从外地转入郑州市第一实验中学，现在学校说系统里孩子有两个学籍，"
            "原学校的学籍没有注销，导致无法参加中招报名，请求协调处理。",
            ["3141010001"], division="410102")
        case, _code = ops.submit_complaint(data, source=CaseSource.PHONE, actor=s.u("zz-intake"))
        _shift(case, 7)  # registered by phone a week ago; no verification order has gone out yet
        return case

    def verifying_unsigned_overdue() -> Case:
        case = s.web(_complaint(
            4, ("周建华", M, date(1984, 7, 9), "15038271100"), ("周雨桐", F, date(2015, 1, 20)),
            Category.TRANSFER,
            "今年8月我们搬到金水区，向育才小学申请转入，学校以学位已满为由一直拖着不办转学手续，"
            "孩子现在在新学校借读，学籍还在原学校，请教育局核实。",
            ["2141050102"]))
        _shift(case, 1)
        sup = s.u("js-supervisor")
        ops.accept_case(sup, case)
        _shift(case, 1)
        ops.issue_verification(sup, case, [s.unit("2141050102")])
        _shift(case, 14)  # the school never signed for it: long overdue, so the scan escalates it
        return case

    def verifying_two_schools() -> Case:
        case = s.web(_complaint(
            5, ("吴晓峰", M, date(1982, 3, 30), "18637190012"), ("吴思远", M, date(2012, 10, 5)),
            Category.TRANSFER,
            "孩子从二七区建设路小学转到金水区文博小学，转出学校说已经办了转出，转入学校说系统里"
            "收不到转学申请，两边互相推，孩子现在学籍状态不明，请上级协调。",
            ["2141050101", "2141030101"]))
        zz, js, eq = s.u("zz-supervisor"), s.u("js-officer"), s.u("eq-officer")
        ops.accept_case(zz, case)  # two districts of Zhengzhou: the city bureau is responsible
        _shift(case, 1)
        to_js, to_eq = ops.issue_verification(zz, case, [s.unit("410105"), s.unit("410103")])
        _shift(case, 1)
        ops.sign_order(js, to_js)
        js_child = ops.relay_order(js, to_js, s.unit("2141050101"), note="请文博小学核实转入申请的接收情况。")
        ops.sign_order(eq, to_eq)
        eq_child = ops.relay_order(eq, to_eq, s.unit("2141030101"))
        _shift(case, 1)
        ops.sign_order(s.u("wenbo-officer"), js_child)
        school = s.u("jianshe-officer")
        ops.sign_order(school, eq_child)
        ops.report_order(school, eq_child, verdict=Verdict.PARTLY_TRUE,
                         text="经核实，我校已于9月10日在国网发起转出申请，但转入学校未在系统中确认，"
                              "目前学籍仍在我校，状态为“转出中”。")
        ops.report_order(eq, to_eq)
        _settle(case)
        # The school needs the registry operator back from training: it asks for three more working days.
        ops.request_extension(s.u("wenbo-officer"), js_child, load_calendar().add(js_child.due_on, 3).on,
                              "学校学籍管理员外出参加培训，需待其返校后调取系统记录。")
        return case

    def deciding_overdue() -> Case:
        case = s.web(_complaint(
            6, ("高丽娟", F, date(1987, 8, 14), "13623851234"), ("高梓轩", M, date(2017, 5, 2)),
            Category.ONE_SYSTEM_ONLY,
            "孩子在二七区建设路小学上二年级，省平台能查到学籍，但国网上查不到，学校说两个系统不一样，"
            "担心以后升学受影响。", ["2141030101"], division="410103"))
        s.verified(case, "eq-supervisor", "jianshe-officer", "2141030101",
                   "经核实，该生在省网已注册，国网因身份证号录入错误一位导致注册失败，情况属实。")
        _shift(case, 8)  # the findings came back eight days ago and no decision has been taken
        return case

    def handling_overdue() -> Case:
        case = s.web(_complaint(
            7, ("陈志刚", M, date(1981, 1, 17), "13703710987"), ("陈可欣", F, date(2014, 11, 11)),
            Category.SEPARATED,
            "孩子早已转到外地上学，但文博小学仍保留着孩子的学籍，新学校无法为孩子建立学籍，"
            "怀疑是空挂学籍，请求核查。", ["2141050101"]))
        s.verified(case, "js-supervisor", "wenbo-officer", "2141050101",
                   "经核实，该生已于2025年春季离校，学校未及时办理转出，学籍仍挂在我校，情况属实。")
        s.handled(case, "js-supervisor", "wenbo-officer", "2141050101",
                  "责成文博小学5个工作日内在国网为该生办理转出，配合转入学校接续学籍，并对学籍管理员进行约谈。",
                  None)
        _shift(case, 8)  # the school signed but has not reported the result: overdue
        return case

    def concluding() -> Case:
        case = s.web(_complaint(
            8, ("罗建军", M, date(1979, 9, 6), "13838815566"), ("罗佳怡", F, date(2011, 4, 22)),
            Category.GRADUATE_POOL,
            "孩子去年小学毕业后升入初中，但学籍一直滞留在毕业生库，初中学校无法注册，请帮助处理。",
            ["3141030301"], division="410303"))
        s.verified(case, "xg-supervisor", "xg3-officer", "3141030301",
                   "经核实，该生小学毕业后学籍滞留毕业生库，本校未及时从毕业生库接收，情况属实。")
        s.handled(case, "xg-supervisor", "xg3-officer", "3141030301",
                  "责成学校立即从毕业生库接收该生学籍并完成注册。",
                  "已于本周从毕业生库接收该生学籍，国网、省网均已注册为在籍在读。")
        return case

    def closed_unrated() -> Case:
        case = s.web(_complaint(
            9, ("何静", F, date(1985, 12, 30), "15903713344"), ("何宇航", M, date(2016, 2, 9)),
            Category.MISMATCH,
            "孩子的学籍里民族登记为回族，实际是汉族，已多次找学校更正未果。", ["2141050102"]))
        s.verified(case, "js-supervisor", "yucai-officer", "2141050102",
                   "经核实，学籍录入时民族信息填写错误，情况属实。")
        s.handled(case, "js-supervisor", "yucai-officer", "2141050102",
                  "责成学校依据户口簿在系统中更正民族信息。", "已在国网和省网更正该生民族为汉族。")
        _shift(case, 1)
        ops.close_case(s.u("js-supervisor"), case,
                       "经核实，您反映的情况属实。学校已在国网和省网将孩子的民族更正为汉族，请知悉。")
        _shift(case, 2)
        return case

    def closed_rated() -> Case:
        case = s.web(_complaint(
            10, ("宋伟", M, date(1983, 5, 5), "13526667788"), ("宋雨萱", F, date(2012, 7, 7)),
            Category.UNREGISTERED,
            "听说巩义市第二初级中学有学生没有学籍，我家孩子是否也没有注册？请帮助查实。",
            ["3141018101"], division="410181"))
        s.verified(case, "gy-supervisor", "gy2-officer", "3141018101",
                   "经核实，该生已于2024年9月在国网、省网正常注册，学籍状态为在籍在读，反映情况不属实。",
                   verdict=Verdict.UNTRUE)
        _shift(case, 1)
        ops.close_case(s.u("gy-supervisor"), case,
                       "经核实，您孩子的学籍已于2024年9月正常注册，状态为在籍在读，请放心。")
        _shift(case, 1)
        ops.rate_case(case, Rating.SATISFIED, "回复很及时，谢谢。")
        _shift(case, 3)
        return case

    def rejected() -> Case:
        case = s.web(_complaint(
            11, ("郑丽", F, date(1988, 10, 10), "18838106655"), ("郑博文", M, date(2017, 3, 3)),
            Category.OTHER,
            "学校要求统一购买校服和教辅资料，价格偏高，请教育局查处。", ["2141050101"]))
        _shift(case, 1)
        ops.reject_case(s.u("js-supervisor"), case,
                        "您反映的是学校收费问题，不属于学籍管理事项。请向金水区教育局财务科或拨打"
                        "12345政务服务热线反映。")
        _shift(case, 2)
        return case

    def referred() -> Case:
        case = s.web(_complaint(
            12, ("黄建新", M, date(1980, 6, 16), "13903117788"), ("黄诗涵", F, date(2013, 9, 9)),
            Category.DUPLICATE,
            "孩子从石家庄市长安区建华小学转到郑州市金水区育才小学，现在两地系统里都有孩子的学籍，"
            "河北那边一直不注销，请帮助协调。", ["2141050102", "2113010201"]))
        _shift(case, 1)
        ops.refer_case(s.u("ha-supervisor"), case,
                       "该投诉涉及河北省石家庄市的学校，已按跨省学籍问题上报教育部协调处理。")
        _shift(case, 1)
        return case

    def reopened() -> Case:
        case = s.web(_complaint(
            13, ("林淑芬", F, date(1984, 1, 8), "13783712233"), ("林子墨", M, date(2011, 8, 28)),
            Category.TRANSFER,
            "孩子申请从郑州市第一实验中学转往外省，学校迟迟不在系统中办理转出，耽误了新学校注册。",
            ["3141010001"], division="410102"))
        s.verified(case, "zz-supervisor", "zzsy-officer", "3141010001",
                   "经核实，转出申请已于10月在国网办理，属于转入地学校未确认，我校无责任。",
                   verdict=Verdict.UNTRUE)
        _shift(case, 1)
        ops.close_case(s.u("zz-supervisor"), case, "经核实，学校已在系统中办理转出，请联系转入学校确认。")
        _shift(case, 1)
        ops.rate_case(case, Rating.UNSATISFIED, "转入学校说系统里没有转出记录，问题没有解决。")
        return case

    def withdrawn() -> Case:
        """The complainant adds material while the school verifies, then withdraws (撤诉)."""
        case = s.web(_complaint(
            21, ("何静", F, date(1987, 2, 14), "13598761234"), ("何思远", M, date(2014, 4, 4)),
            Category.MISMATCH,
            "孩子学籍系统里的出生日期比户口本晚了一年，学校说要等教育局审批，一直没有改过来。",
            ["2141050101"]))
        sup = s.u("js-supervisor")
        _shift(case, 1)
        ops.accept_case(sup, case)
        ops.issue_verification(sup, case, [s.unit("2141050101")])
        _shift(case, 2)
        citizen_actions.add_material(case, "补充：派出所已出具出生日期更正证明，学校已收到复印件。", [])
        _shift(case, 1)
        citizen_actions.withdraw(case, "学校已在系统中更正了出生日期，问题已经解决。")
        return case

    def merged() -> Case:
        """The grandfather of the first story's pupil calls about the same matter: merged into it (并单)."""
        data = _complaint(
            1, ("王建国", M, date(1958, 3, 14), "13607711234"), ("王子涵", F, date(2016, 9, 3)),
            Category.UNREGISTERED,
            "来电反映：孙女王子涵在金水区文博小学读一年级，学校一直没有给办理学籍注册，家里很着急，请教育局督促。",
            ["2141050101"])
        case, _code = ops.submit_complaint(data, source=CaseSource.PHONE, actor=s.u("js-intake"))
        _shift(case, 2)
        (match,) = repeats.matches_of(case)  # the first story's web complaint, by the student's ID number
        merging.merge_case(s.u("js-supervisor"), case, match.case, "同一学生同一问题，并入此前的网上投诉办理。")
        return case

    def paused() -> Case:
        """The school waits for the parent's transfer certificate: it asks to stop the clock, the district agrees."""
        case = s.web(_complaint(
            22, ("马丽", F, date(1986, 6, 6), "13607712345"), ("马浩宇", M, date(2013, 2, 14)),
            Category.TRANSFER,
            "孩子从外省转学回来，育才小学说要等原学校的转学证明才能接续学籍，已经等了一个月，请教育局督促。",
            ["2141050102"]))
        sup, school = s.u("js-supervisor"), s.u("yucai-officer")
        ops.accept_case(sup, case)
        _shift(case, 1)
        (order,) = ops.issue_verification(sup, case, [s.unit("2141050102")])
        _shift(case, 1)
        ops.sign_order(school, order)
        _settle(case)
        pause = ops.request_pause(school, order, PauseReason.AWAITING_COMPLAINANT,
                                  "请家长提供原学校出具的转学证明，收到后即恢复计时。")
        ops.decide_pause(sup, pause, True, "同意。收到材料后请立即恢复计时并报送核查情况。")
        return case

    def closed_by_phone() -> Case:
        """A father's call, handled and closed: he cannot rate online, so the district owes him a call (回访)."""
        data = _complaint(
            23, ("冯国强", M, date(1979, 10, 20), "13937165432"), ("冯雨欣", F, date(2012, 12, 12)),
            Category.MISMATCH,
            "来电反映：女儿学籍上的出生日期比户口本晚了一个月，升学报名时信息对不上，请尽快更正。",
            ["2141050101"])
        case, _code = ops.submit_complaint(data, source=CaseSource.PHONE, actor=s.u("js-intake"))
        s.verified(case, "js-supervisor", "wenbo-officer", "2141050101", "经核实，学籍录入出生日期有误，情况属实。")
        s.handled(case, "js-supervisor", "wenbo-officer", "2141050101",
                  "责成学校依据户口簿更正该生出生日期。", "已在国网和省网更正该生出生日期。")
        _shift(case, 1)
        ops.close_case(s.u("js-supervisor"), case, "经核实，您反映的情况属实，学校已在系统中更正孩子的出生日期。")
        _shift(case, 2)
        return case

    return [submitted_overdue, submitted_fresh, registered_overdue, verifying_unsigned_overdue,
            verifying_two_schools, deciding_overdue, handling_overdue, concluding, closed_unrated,
            closed_rated, rejected, referred, reopened, withdrawn, merged, paused, closed_by_phone]


# --- entry point ---------------------------------------------------------------------------------------

def _wipe() -> None:
    """Delete every row, children first (works on SQLite and PostgreSQL)."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.flush()


def load_demo(reset: bool = True) -> list[tuple[str, str, str, str]]:
    """Load the demo; returns (username, password, role label, unit name) for every demo account.

    Without ``reset`` missing units and accounts are added and the cases only if there are none.
    """
    if reset:
        _wipe()
    forget_calendar()
    units = _load_units()
    users = _load_users(units)
    rules.load()
    faq.seed()
    if db.session.scalar(sa.select(sa.func.count(Case.id))) == 0:
        stories = _Stories(units, users)
        for story in _stories(stories):
            case = story()
            _settle(case)
            case.access_code_hash = hash_access_code(case.number, DEMO_ACCESS_CODE)
        log.info("demo cases: the access code of every case is %s", DEMO_ACCESS_CODE)
    db.session.commit()
    return [(username, demo_password(username), role.label, units[code].name)
            for username, _name, role, code in ACCOUNTS]
