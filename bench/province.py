"""A province at scale for the page benchmark, built with set-based SQL (PostgreSQL only).

``build_province(cases)`` runs inside an app context whose database already has
the schema (the Alembic migrations) and no cases.  It adds the demo's unit tree
(caseflow.demo), more counties so every city has eight, about 20,000 schools,
one officer per school and an officer, an intake clerk and a supervisor per
bureau, then cases over the last 24 months with their people, orders, events,
extension requests, returns, registry links and historic chase steps, all with
``INSERT … SELECT generate_series``.  Finally the real chase scan marks (and
escalates) the open overdue work, as the worker would.

What the rows respect, so every page renders as it would in production:

* states follow the workflow: a case's timestamps and orders are those of the
  moves that led to its state, every move has its event (the case page's
  timeline), an order's columns match its state (the CHECK constraints);
* deadlines come from ``caseflow.deadlines.policy`` with the calendar in force:
  the policy is evaluated once per calendar day in Python into a temporary
  table the SQL joins, so every due date is the one the app would have set;
* personal data is sealed by the app's Keyring: a pool of distinct ID numbers,
  phones and registry numbers is encrypted once and reused, and the keyed-hash
  lookup columns hold the hashes of the same values, so search finds them;
* numbers (XJ/HC/DB year-sequence) continue from the ``counters`` table, which
  is moved past them, so a new complaint gets the next number.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

BENCH_PASSWORD = "bench-Password-2026"
BUSY_SCHOOL = "2141050101"  # 文博小学 under 金水区 (demo tree): the school officer's busy inbox
BUSY_COUNTY, BUSY_CITY, PROVINCE = "410105", "410100", "410000"
# The accounts the page bench logs in as (generated like every other unit's staff).
ACCOUNTS = {
    "school_officer": f"officer-{BUSY_SCHOOL}",
    "county_officer": f"officer-{BUSY_COUNTY}",
    "county_supervisor": f"supervisor-{BUSY_COUNTY}",
    "city_supervisor": f"supervisor-{BUSY_CITY}",
    "province_supervisor": f"supervisor-{PROVINCE}",
}
TRACK_CODE = "BNCH-2345"  # the access code of the case the bench tracks
COUNTY_NAMES = ["东城区", "西城区", "南湖区", "北山区", "新华区", "城关区", "平原县", "河滨县"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梓轩子涵雨桐一鸣浩然思远佳怡宇航诗博文"
TEXTS = {
    "unregistered": "孩子入学一年多，学校一直没有办理学籍注册，国网查不到孩子的学籍，请督促学校办理。",
    "transfer": "申请转入新学校后，原学校以各种理由拖延办理转学手续，孩子学籍至今未转，请教育局核实。",
    "one_system_only": "孩子在省平台能查到学籍，但国网上查不到，学校说两个系统不一样，担心影响升学。",
    "mismatch": "孩子学籍中的出生日期与户口本不一致，已向学校提供证明材料，至今没有更正。",
    "duplicate": "孩子转学后原学校的学籍没有注销，系统显示有两个学籍，无法参加升学报名。",
    "separated": "孩子早已转到外地上学，原学校仍保留着学籍，新学校无法为孩子建立学籍。",
    "graduate_pool": "孩子小学毕业后学籍一直滞留在毕业生库，初中学校无法注册，请帮助处理。",
    "other": "孩子的学籍照片和姓名拼音登记有误，多次联系学校未果，请帮助协调更正。",
}
POOL = 5000  # distinct people (ID number, phone, registry number) sealed once and reused


@dataclass
class BuildReport:
    """Row counts and the seconds each step took."""

    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _exec(sql: str, **params) -> None:
    from caseflow.extensions import db

    db.session.execute(sa.text(sql), params)


def _scalar(sql: str, **params):
    from caseflow.extensions import db

    return db.session.execute(sa.text(sql), params).scalar()


class _Timer:
    def __init__(self, report: BuildReport, verbose: bool):
        self.report, self.verbose, self.last = report, verbose, time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.report.seconds[step] = round(now - self.last, 2)
        self.last = now
        if self.verbose:
            print(f"bench: built {step} in {self.report.seconds[step]:.1f} s", flush=True)


def _units(schools: int) -> None:
    """The demo tree, eight counties per city, and ``schools`` schools spread over counties and cities."""
    from caseflow.demo import _load_units

    _load_units()
    _exec("""
        INSERT INTO units (code, name, kind, parent_id, path, phone, hotline, directly_administered)
        SELECT left(c.code, 4) || lpad((70 + k)::text, 2, '0'),
               replace(c.name, '教育局', '') || (CAST(:names AS text[]))[k + 1] || '教育局', 'county', c.id,
               c.path || left(c.code, 4) || lpad((70 + k)::text, 2, '0') || '/',
               '0371-6' || left(c.code, 4) || lpad(k::text, 2, '0'), '0371-6' || left(c.code, 4) || '12', false
        FROM units c
        CROSS JOIN LATERAL (SELECT count(*) AS n FROM units x WHERE x.parent_id = c.id AND x.kind = 'county') e
        CROSS JOIN generate_series(0, 7) k
        WHERE c.kind = 'city' AND c.path LIKE '000000/410000/%' AND k < 8 - e.n
    """, names=COUNTY_NAMES)
    # Every 50th school reports to a city bureau directly, the others to a county bureau.
    for parents, share in (("county", "s % 50 <> 0"), ("city", "s % 50 = 0")):
        _exec(f"""
            WITH p AS (SELECT id, code, name, path, row_number() OVER (ORDER BY code) - 1 AS i,
                              count(*) OVER () AS n
                       FROM units WHERE kind = '{parents}' AND path LIKE '000000/410000/%'),
                 s AS (SELECT s, CASE WHEN s % 3 = 0 THEN '3' ELSE '2' END AS level FROM generate_series(1, :schools) s
                       WHERE {share})
            INSERT INTO units (code, name, kind, parent_id, path, phone, hotline, directly_administered)
            SELECT c.code, replace(p.name, '教育局', '') || '第' || (s.s / p.n + 1) ||
                         CASE WHEN s.level = '3' THEN '初级中学' ELSE '小学' END,
                   'school', p.id, p.path || c.code || '/', '0371-6' || lpad((s.s % 100000)::text, 5, '0') || '10',
                   NULL, false
            FROM s JOIN p ON p.i = s.s % p.n
            CROSS JOIN LATERAL (SELECT s.level || substr(p.code, 2, 5) || lpad((5000 + s.s / p.n)::text, 4, '0')
                                AS code) c
        """, schools=schools)


def _staff(password_hash: str) -> None:
    """An officer per school; an officer, an intake clerk and a supervisor per bureau (one password)."""
    _exec("""
        INSERT INTO users (username, password_hash, name, role, unit_id, phone, email, active, session_version,
                           created_at)
        SELECT r.role || '-' || u.code, :hash,
               substr(:surnames, 1 + (u.id * 7 + r.n) % length(:surnames), 1) ||
               substr(:given, 1 + (u.id * 13 + r.n) % length(:given), 1),
               r.role, u.id, NULL, NULL, true, 1, now()  -- officials' phones are sealed data: left empty here
        FROM units u
        JOIN (VALUES ('officer', 1), ('supervisor', 2), ('intake', 3)) r(role, n)
          ON r.role = 'officer' OR u.kind <> 'school'
        WHERE u.path LIKE '000000/410000/%' OR u.code = '410000'
    """, hash=password_hash, surnames=SURNAMES, given=GIVEN)
    _exec("""
        CREATE TEMP TABLE bench_staff ON COMMIT DROP AS
        SELECT u.id AS unit_id, u.name AS unit_name, u.phone AS unit_phone,
               max(s.id) FILTER (WHERE s.role = 'officer') AS officer_id,
               max(s.name) FILTER (WHERE s.role = 'officer') AS officer_name,
               max(s.id) FILTER (WHERE s.role = 'supervisor') AS supervisor_id,
               max(s.name) FILTER (WHERE s.role = 'supervisor') AS supervisor_name,
               max(s.id) FILTER (WHERE s.role = 'intake') AS intake_id
        FROM units u JOIN users s ON s.unit_id = u.id GROUP BY u.id, u.name, u.phone
    """)
    _exec("CREATE UNIQUE INDEX ON bench_staff (unit_id)")


def _days(first: date, last: date) -> None:
    """The deadline policy evaluated for every day of the window (the SQL joins it, never re-implements it)."""
    from caseflow.deadlines import policy
    from caseflow.deadlines.settings import current_rules, forget_calendar
    from caseflow.extensions import db
    from caseflow.models import OrderKind

    forget_calendar()
    rules = current_rules()
    rows = []
    day = first
    while day <= last:
        ver = policy.complete_by(rules, OrderKind.VERIFICATION, day)
        sup = policy.complete_by(rules, OrderKind.SUPERVISION, day)
        act = policy.registered_action_due(rules, day)
        dec = policy.decision_due(rules, day)
        rows.append(dict(d=day, sign=policy.sign_by(rules, day).on, ver=ver.on, ver_p=ver.provisional,
                         sup=sup.on, sup_p=sup.provisional, act=act.on, act_p=act.provisional, dec=dec.on,
                         dec_p=dec.provisional, plus3=rules.calendar.add(day, 3).on))
        day += timedelta(days=1)
    _exec("""CREATE TEMP TABLE bench_days (d date PRIMARY KEY, sign date, ver date, ver_p bool, sup date,
             sup_p bool, act date, act_p bool, dec date, dec_p bool, plus3 date) ON COMMIT DROP""")
    db.session.execute(sa.text("""INSERT INTO bench_days VALUES (:d, :sign, :ver, :ver_p, :sup, :sup_p, :act,
                                  :act_p, :dec, :dec_p, :plus3)"""), rows)


def _pool(seed: int) -> None:
    """Distinct people, their personal data sealed once with the app's Keyring; cases reuse them."""
    from caseflow.extensions import db
    from caseflow.identity import check_char, mask_id_number, mask_registry_number
    from caseflow.security.crypto import keyring

    ring = keyring()
    rnd = random.Random(seed)
    divisions = ["410102", "410103", "410105", "410203", "410303", "410181", "411302", "410526"]
    rows = []
    for i in range(POOL):
        division = divisions[i % len(divisions)]
        parent_born = date(1975, 1, 1) + timedelta(days=rnd.randrange(0, 16 * 365))
        child_born = date(2009, 1, 1) + timedelta(days=rnd.randrange(0, 10 * 365))
        p_body = f"{division}{parent_born:%Y%m%d}{(2 * i) % 1000:03d}"
        c_body = f"{division}{child_born:%Y%m%d}{(2 * i + 1) % 1000:03d}"
        p_id, c_id = p_body + check_char(p_body), c_body + check_char(c_body)
        phone = f"1{rnd.choice('3578')}{rnd.randrange(10 ** 9):09d}"
        reg = "G" + c_id
        rows.append(dict(i=i, p_id=ring.encrypt(p_id), p_id_h=ring.lookup_hash(p_id), phone=ring.encrypt(phone),
                         phone_h=ring.lookup_hash(phone), c_id=ring.encrypt(c_id), c_id_h=ring.lookup_hash(c_id),
                         reg=ring.encrypt(reg), reg_h=ring.lookup_hash(reg), reg_key=ring.registry_key(reg),
                         reg_masked=mask_registry_number(reg), c_id_masked=mask_id_number(c_id),
                         p_born=parent_born, c_born=child_born))
    _exec("""CREATE TEMP TABLE bench_pool (i int PRIMARY KEY, p_id text, p_id_h text, phone text, phone_h text,
             c_id text, c_id_h text, reg text, reg_h text, reg_key bigint, reg_masked text, c_id_masked text,
             p_born date, c_born date) ON COMMIT DROP""")
    db.session.execute(sa.text("""INSERT INTO bench_pool VALUES (:i, :p_id, :p_id_h, :phone, :phone_h, :c_id,
                                  :c_id_h, :reg, :reg_h, :reg_key, :reg_masked, :c_id_masked, :p_born, :c_born)"""),
                       rows)


# The plan: one row per case with its fate and the hour offsets of every step from its receipt.
# stage: -1 rejected, 0 submitted, 1 registered, 2 verifying, 3 deciding, 4 handling, 5 concluding,
# 6 closed, 7 closed and rated.  sub: the current stage's order state (sent, signed or reported).
_PLAN = """
CREATE TEMP TABLE bench_plan ON COMMIT DROP AS
WITH r AS (
    SELECT g AS id, random() AS r_state, random() AS r_sub, random() AS r_school, random() AS r_t,
           random() AS r_src, random() AS r_cat, random() AS r_city, random() AS r_b, random() AS r_ret,
           random() AS r_ext, random() AS r_link, random() AS r_rate, random() AS r_late,
           ARRAY[random(), random(), random(), random(), random(), random(), random(), random(), random(),
                 random(), random(), random()] AS h
    FROM generate_series(1, :cases) g
), fate AS (
    SELECT r.*,
           CASE WHEN r_state < 0.04 THEN -1
                WHEN r_state < 0.19   -- a complaint taken by phone or letter is registered on entry
                    THEN greatest((ARRAY[0, 1, 1, 2, 2, 2, 3, 4, 4, 5])[1 + floor((r_state - 0.04) / 0.015)::int],
                                  CASE WHEN r_src < 0.7 THEN 0 ELSE 1 END)
                WHEN r_rate < 0.15 THEN 6 ELSE 7 END AS stage,
           CASE WHEN r_sub < 0.3 THEN 'sent' WHEN r_sub < 0.8 THEN 'signed' ELSE 'reported' END AS sub,
           CASE WHEN id % 50 = 0 AND id <= 100000 THEN (SELECT id FROM units WHERE code = :busy)
                ELSE (SELECT school_id FROM bench_schools WHERE i = 1 + floor(r_school * :nschools)::int) END
             AS school_id
    FROM r
), hours AS (
    SELECT f.*, f.r_src < 0.7 AS web,
           CASE WHEN f.r_src < 0.7 THEN 2 + h[1] * 40 ELSE 0 END AS h_reg,
           4 + h[2] * 60 AS d_vsent, 1 + h[3] * 30 AS d_vsign,
           20 + h[4] * (CASE WHEN r_late < 0.1 THEN 300 ELSE 130 END) AS d_vrep, 1 + h[5] * 30 AS d_vacc,
           4 + h[6] * 90 AS d_ssent, 1 + h[7] * 30 AS d_ssign,
           20 + h[8] * (CASE WHEN r_late < 0.1 THEN 300 ELSE 130 END) AS d_srep, 1 + h[9] * 30 AS d_sacc,
           2 + h[10] * 40 AS d_close, 2 + h[11] * 120 AS d_rate, 2 + h[12] * 40 AS d_reject
    FROM fate f
), cum AS (
    SELECT x.*, x.h_reg + x.d_vsent AS h_vsent, x.h_reg + x.d_vsent + x.d_vsign AS h_vsign,
           x.h_reg + x.d_vsent + x.d_vsign + x.d_vrep AS h_vrep,
           x.h_reg + x.d_vsent + x.d_vsign + x.d_vrep + x.d_vacc AS h_vacc
    FROM hours x
), cum2 AS (
    SELECT c.*, c.h_vacc + c.d_ssent AS h_ssent, c.h_vacc + c.d_ssent + c.d_ssign AS h_ssign,
           c.h_vacc + c.d_ssent + c.d_ssign + c.d_srep AS h_srep,
           c.h_vacc + c.d_ssent + c.d_ssign + c.d_srep + c.d_sacc AS h_sacc
    FROM cum c
), ends AS (
    SELECT c.*, c.h_sacc + c.d_close AS h_close, c.h_sacc + c.d_close + c.d_rate AS h_rated,
           CASE c.stage WHEN -1 THEN c.d_reject WHEN 0 THEN 0 WHEN 1 THEN c.h_reg
                WHEN 2 THEN CASE c.sub WHEN 'sent' THEN c.h_vsent WHEN 'signed' THEN c.h_vsign ELSE c.h_vrep END
                WHEN 3 THEN c.h_vacc
                WHEN 4 THEN CASE c.sub WHEN 'sent' THEN c.h_ssent WHEN 'signed' THEN c.h_ssign ELSE c.h_srep END
                WHEN 5 THEN c.h_sacc WHEN 6 THEN c.h_sacc + c.d_close
                ELSE c.h_sacc + c.d_close + c.d_rate END AS h_last
    FROM cum2 c
)
SELECT l.*, s.parent_id AS parent_unit_id, pu.kind AS parent_kind, ci.city_id, ci.next_id,
       (l.r_city < 0.08 AND ci.city_id IS NOT NULL AND l.stage >= 0) AS city_case,
       -- finished cases lie over the last 24 months; open ones started their current step 0-12 days ago
       CASE WHEN l.stage IN (-1, 6, 7) THEN :now - interval '40 days' - l.r_t * interval '690 days'
            ELSE :now - l.h_last * interval '1 hour' - l.r_t * interval '12 days' - interval '10 minutes' END
         AS t0
FROM ends l
JOIN units s ON s.id = l.school_id
JOIN units pu ON pu.id = s.parent_id
LEFT JOIN bench_counties ci ON ci.county_id = s.parent_id
"""


def _plan(cases: int, now) -> int:
    _exec("""
        CREATE TEMP TABLE bench_schools ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY u.parent_id, u.id)::int AS i, u.id AS school_id, u.parent_id,
               coalesce(lead(u.id) OVER (PARTITION BY u.parent_id ORDER BY u.id),
                        first_value(u.id) OVER (PARTITION BY u.parent_id ORDER BY u.id)) AS neighbour_id
        FROM units u WHERE u.kind = 'school' AND u.path LIKE '000000/410000/%'
    """)
    _exec("CREATE UNIQUE INDEX ON bench_schools (i)")
    # Counties under a city with a sibling: a case about schools in two of them is the city's.
    _exec("""
        CREATE TEMP TABLE bench_counties ON COMMIT DROP AS
        WITH c AS (SELECT u.id AS county_id, u.parent_id AS city_id,
                          lead(u.id) OVER (PARTITION BY u.parent_id ORDER BY u.code) AS next_id,
                          first_value(u.id) OVER (PARTITION BY u.parent_id ORDER BY u.code) AS first_id
                   FROM units u JOIN units p ON p.id = u.parent_id
                   WHERE u.kind = 'county' AND p.kind = 'city')
        SELECT c.county_id, c.city_id, coalesce(c.next_id, c.first_id) AS next_id FROM c
        WHERE c.county_id <> coalesce(c.next_id, c.first_id)
          AND EXISTS (SELECT 1 FROM bench_schools b WHERE b.parent_id = coalesce(c.next_id, c.first_id))
    """)
    n = _scalar("SELECT count(*) FROM bench_schools")
    _exec(_PLAN, cases=cases, busy=BUSY_SCHOOL, nschools=n, now=now)
    # The second school of a city case: a random school of the sibling county; a county case's wrong
    # receiver (a returned order): the neighbouring school of the same bureau.
    _exec("""
        ALTER TABLE bench_plan ADD COLUMN school2_id int, ADD COLUMN wrong_id int, ADD COLUMN responsible_id int,
            ADD COLUMN target1_id int, ADD COLUMN target2_id int, ADD COLUMN category text,
            ADD COLUMN has_return bool, ADD COLUMN has_ext bool, ADD COLUMN pending_ext bool, ADD COLUMN number text
    """)
    _exec("""
        WITH span AS (SELECT parent_id, min(i) AS lo, count(*) AS n FROM bench_schools GROUP BY parent_id)
        UPDATE bench_plan p SET school2_id = (SELECT b.school_id FROM bench_schools b
                                              WHERE b.i = span.lo + floor(p.r_b * span.n)::int)
        FROM span WHERE p.city_case AND span.parent_id = p.next_id
    """)
    _exec("""
        UPDATE bench_plan p SET
            responsible_id = CASE WHEN p.city_case THEN p.city_id ELSE p.parent_unit_id END,
            target1_id = CASE WHEN p.city_case THEN p.parent_unit_id ELSE p.school_id END,
            target2_id = CASE WHEN p.city_case THEN p.next_id END,
            category = (ARRAY['unregistered', 'transfer', 'one_system_only', 'mismatch', 'duplicate',
                              'separated', 'graduate_pool', 'other'])[1 + floor(p.r_cat * 8)::int],
            has_return = NOT p.city_case AND p.stage >= 2 AND p.r_ret < 0.05,
            has_ext = p.r_ext < 0.06 AND (p.stage >= 3 OR (p.stage = 2 AND p.sub = 'reported')),
            pending_ext = p.r_ext > 0.9 AND p.stage = 2 AND p.sub = 'signed'
    """)
    _exec("""UPDATE bench_plan p SET wrong_id = nullif(b.neighbour_id, b.school_id) FROM bench_schools b
             WHERE b.school_id = p.school_id AND p.has_return""")
    _exec("UPDATE bench_plan SET has_return = false WHERE has_return AND wrong_id IS NULL")
    _exec("""
        WITH n AS (SELECT id, 'XJ' || y || '-' || lpad((row_number() OVER (PARTITION BY y ORDER BY t0, id)
                                                        + coalesce(c.value, 0))::text, 6, '0') AS number
                   FROM (SELECT id, t0, extract(year FROM t0 AT TIME ZONE 'Asia/Shanghai')::int AS y
                         FROM bench_plan) p
                   LEFT JOIN counters c ON c.name = 'case' AND c.year = p.y)
        UPDATE bench_plan p SET number = n.number FROM n WHERE n.id = p.id
    """)
    _exec("CREATE UNIQUE INDEX ON bench_plan (id)")
    return n


def _cases() -> None:
    """People and cases (ids continue after any existing rows)."""
    _exec("""
        CREATE TEMP TABLE bench_ids ON COMMIT DROP AS
        SELECT coalesce((SELECT max(id) FROM cases), 0) AS case0, coalesce((SELECT max(id) FROM persons), 0) AS person0
    """)
    _exec("""
        INSERT INTO persons (id, name, sex, age, ethnicity, birth_date, id_number, id_number_hash, phone, phone_hash,
                             registry_no, registry_no_hash)
        SELECT b.person0 + 2 * p.id - 1 + k,
               substr(:surnames, 1 + (p.id * 7) % length(:surnames), 1) ||
               substr(:given, 1 + (p.id * (11 + k)) % length(:given), 1) ||
               CASE WHEN p.id % 3 = 0 THEN '' ELSE substr(:given, 1 + (p.id * (5 + k)) % length(:given), 1) END,
               CASE WHEN (p.id + k) % 2 = 0 THEN 'female' ELSE 'male' END,
               extract(year FROM age(p.t0, CASE WHEN k = 0 THEN o.p_born ELSE o.c_born END))::int,
               CASE WHEN p.id % 17 = 0 THEN '回族' ELSE '汉族' END,
               CASE WHEN k = 0 THEN o.p_born ELSE o.c_born END,
               CASE WHEN k = 0 THEN o.p_id ELSE o.c_id END, CASE WHEN k = 0 THEN o.p_id_h ELSE o.c_id_h END,
               CASE WHEN k = 0 THEN o.phone END, CASE WHEN k = 0 THEN o.phone_h END,
               CASE WHEN k = 1 THEN o.reg END, CASE WHEN k = 1 THEN o.reg_h END
        FROM bench_plan p CROSS JOIN bench_ids b CROSS JOIN generate_series(0, 1) k
        JOIN bench_pool o ON o.i = p.id % :pool
    """, surnames=SURNAMES, given=GIVEN, pool=POOL)
    _exec("""
        INSERT INTO cases (id, number, access_code_hash, source, category, state, round, description,
                           complaint_summary, complainant_id, student_id, responsible_unit_id, routing_note,
                           created_by_id, received_at, registered_at, action_due_on, action_due_provisional,
                           action_chase_level, closed_at, rejection_reason, reply, rating, rating_comment, rated_at,
                           version_id)
        SELECT b.case0 + p.id, p.number, md5(p.number),
               CASE WHEN p.web THEN 'web' WHEN p.r_src < 0.9 THEN 'phone' ELSE 'letter' END, p.category,
               CASE p.stage WHEN -1 THEN 'rejected' WHEN 0 THEN 'submitted' WHEN 1 THEN 'registered'
                    WHEN 2 THEN 'verifying' WHEN 3 THEN 'deciding' WHEN 4 THEN 'handling' WHEN 5 THEN 'concluding'
                    ELSE 'closed' END, 1,
               t.text, CASE WHEN p.stage >= 2 THEN t.text END,
               b.person0 + 2 * p.id - 1, b.person0 + 2 * p.id, p.responsible_id,
               CASE WHEN p.city_case THEN '投诉涉及同一市内两个县（区）的学校，由市级教育行政部门负责处理。'
                    ELSE '投诉涉及一所学校，由其直接主管教育行政部门负责处理。' END,
               CASE WHEN NOT p.web THEN st.intake_id END, p.t0,
               CASE WHEN p.stage >= 1 OR NOT p.web THEN p.t0 + p.h_reg * interval '1 hour' END,
               CASE WHEN p.stage IN (0, 1) THEN da.act WHEN p.stage = 3 THEN dd.dec END,
               CASE WHEN p.stage IN (0, 1) THEN da.act_p WHEN p.stage = 3 THEN dd.dec_p ELSE false END, 0,
               CASE WHEN p.stage >= 6 THEN p.t0 + p.h_close * interval '1 hour' END,
               CASE WHEN p.stage = -1 THEN '您反映的问题不属于学籍管理事项，请拨打12345政务服务热线反映。' END,
               CASE WHEN p.stage >= 6 THEN '经核实，您反映的情况已处理完毕，学校已在国网和省网完成相关学籍办理，请知悉。' END,
               CASE WHEN p.stage = 7 THEN CASE WHEN p.r_rate < 0.75 THEN 'satisfied' ELSE 'basically' END END,
               NULL, CASE WHEN p.stage = 7 THEN p.t0 + p.h_rated * interval '1 hour' END, 1
        FROM bench_plan p CROSS JOIN bench_ids b
        JOIN (SELECT * FROM json_each_text(CAST(:texts AS json))) t(category, text) ON t.category = p.category
        JOIN bench_staff st ON st.unit_id = p.responsible_id
        JOIN bench_days da ON da.d = (p.t0 AT TIME ZONE 'Asia/Shanghai')::date
        LEFT JOIN bench_days dd ON dd.d = ((p.t0 + p.h_vacc * interval '1 hour') AT TIME ZONE 'Asia/Shanghai')::date
    """, texts=_json(TEXTS))
    _exec("""
        INSERT INTO case_schools (case_id, unit_id)
        SELECT b.case0 + p.id, p.school_id FROM bench_plan p CROSS JOIN bench_ids b
        UNION ALL
        SELECT b.case0 + p.id, p.school2_id FROM bench_plan p CROSS JOIN bench_ids b WHERE p.school2_id IS NOT NULL
    """)


def _json(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


# Order slots of a case: the returned order (to the wrong school), the verification order(s), the
# supervision order.  Times are hour offsets from the case's receipt; the state follows the case's stage.
_ORDERS = """
CREATE TEMP TABLE bench_orders ON COMMIT DROP AS
WITH slots AS (
    SELECT p.id AS plan_id, s.slot, p.*,
           CASE s.slot WHEN 'R' THEN 'verification' WHEN 'S' THEN 'supervision' ELSE 'verification' END AS kind,
           CASE s.slot WHEN 'R' THEN p.wrong_id WHEN 'V2' THEN p.target2_id ELSE p.target1_id END AS receiver_id,
           -- (sent, signed, reported, accepted, returned) in hours; NULL when it has not happened
           CASE s.slot WHEN 'R' THEN p.h_reg + 1 WHEN 'S' THEN p.h_ssent ELSE p.h_vsent END AS h_sent,
           CASE WHEN s.slot = 'R' THEN NULL
                WHEN s.slot = 'S' AND (p.stage > 4 OR (p.stage = 4 AND p.sub <> 'sent')) THEN p.h_ssign
                WHEN s.slot <> 'S' AND (p.stage > 2 OR (p.stage = 2 AND p.sub <> 'sent')) THEN p.h_vsign END AS h_sign,
           CASE WHEN s.slot = 'R' THEN NULL
                WHEN s.slot = 'S' AND (p.stage > 4 OR (p.stage = 4 AND p.sub = 'reported')) THEN p.h_srep
                WHEN s.slot <> 'S' AND (p.stage > 2 OR (p.stage = 2 AND p.sub = 'reported')) THEN p.h_vrep END AS h_rep,
           CASE WHEN s.slot = 'R' THEN NULL WHEN s.slot = 'S' AND p.stage > 4 THEN p.h_sacc
                WHEN s.slot <> 'S' AND p.stage > 2 THEN p.h_vacc END AS h_acc,
           CASE WHEN s.slot = 'R' THEN p.h_reg + 3 END AS h_ret
    FROM bench_plan p
    JOIN (VALUES ('R'), ('V1'), ('V2'), ('S')) s(slot)
      ON (s.slot = 'R' AND p.has_return) OR (s.slot = 'V1' AND p.stage >= 2)
         OR (s.slot = 'V2' AND p.stage >= 2 AND p.city_case) OR (s.slot = 'S' AND p.stage >= 4)
), timed AS (
    SELECT x.*, x.t0 + x.h_sent * interval '1 hour' AS sent_at, x.t0 + x.h_sign * interval '1 hour' AS signed_at,
           x.t0 + x.h_rep * interval '1 hour' AS reported_at, x.t0 + x.h_acc * interval '1 hour' AS accepted_at,
           x.t0 + x.h_ret * interval '1 hour' AS returned_at,
           x.has_ext AND x.slot = 'V1' AS extended, x.pending_ext AND x.slot = 'V1' AS ext_pending
    FROM slots x
)
SELECT row_number() OVER (ORDER BY t.sent_at, t.plan_id, t.slot) + (SELECT coalesce(max(id), 0) FROM orders) AS oid,
       t.*, (t.sent_at AT TIME ZONE 'Asia/Shanghai')::date AS sent_on,
       CASE WHEN t.kind = 'verification' THEN d.ver ELSE d.sup END AS first_due_on,
       CASE WHEN t.kind = 'verification' THEN d.ver_p ELSE d.sup_p END AS due_provisional,
       d.sign AS sign_by,
       CASE WHEN t.extended THEN (SELECT plus3 FROM bench_days x WHERE x.d = CASE WHEN t.kind = 'verification'
                                                                      THEN d.ver ELSE d.sup END) END AS extended_to
FROM timed t JOIN bench_days d ON d.d = (t.sent_at AT TIME ZONE 'Asia/Shanghai')::date
"""


def _orders() -> None:
    """Orders with the due dates the policy gives, their numbers, extension requests and registry links."""
    _exec(_ORDERS)
    _exec("ALTER TABLE bench_orders DROP COLUMN id")
    _exec("ALTER TABLE bench_orders RENAME COLUMN oid TO id")
    _exec("CREATE UNIQUE INDEX ON bench_orders (id)")
    _exec("ALTER TABLE bench_orders ADD COLUMN onumber text, ADD COLUMN due_on date, ADD COLUMN state text")
    _exec("""
        UPDATE bench_orders SET due_on = coalesce(extended_to, first_due_on),
            state = CASE WHEN h_ret IS NOT NULL THEN 'returned' WHEN h_acc IS NOT NULL THEN 'accepted'
                         WHEN h_rep IS NOT NULL THEN 'reported' WHEN h_sign IS NOT NULL THEN 'signed' ELSE 'sent' END
    """)
    _exec("""
        WITH n AS (SELECT o.id, CASE o.kind WHEN 'verification' THEN 'HC' ELSE 'DB' END || o.y || '-' ||
                          lpad((row_number() OVER (PARTITION BY o.kind, o.y ORDER BY o.id)
                                + coalesce(c.value, 0))::text, 6, '0') AS number
                   FROM (SELECT id, kind, extract(year FROM sent_on)::int AS y FROM bench_orders) o
                   LEFT JOIN counters c ON c.name = o.kind AND c.year = o.y)
        UPDATE bench_orders o SET onumber = n.number FROM n WHERE n.id = o.id
    """)
    _exec("""
        INSERT INTO orders (id, number, kind, case_id, round, parent_id, issuing_unit_id, receiving_unit_id,
                            issued_by_id, state, content, handling_opinion, findings, verdict, handling_result,
                            responsible_person, responsible_phone, acting_person, acting_phone, sent_at, sign_due_on,
                            due_on, due_provisional, signed_at, signed_by_id, reported_at, reported_by_id,
                            returned_at, return_reason, sent_back_reason, accepted_at, signed_on_time,
                            completed_on_time, chase_level, sign_chase_level, version_id)
        SELECT o.id, o.onumber, o.kind, b.case0 + o.plan_id, 1, NULL, o.responsible_id, o.receiver_id,
               si.supervisor_id, o.state, t.text,
               CASE WHEN o.kind = 'supervision' THEN '责成承办单位5个工作日内依规办理学籍事项，并报送办理情况。' END,
               CASE WHEN o.kind = 'verification' AND o.h_rep IS NOT NULL
                    THEN '经核实，投诉人反映的学籍问题' || CASE WHEN o.r_b < 0.7 THEN '属实' ELSE '部分属实' END
                         || '，学校已说明情况并提供相关材料。' END,
               CASE WHEN o.kind = 'verification' AND o.h_rep IS NOT NULL
                    THEN CASE WHEN o.r_b < 0.7 THEN 'true' ELSE 'partly_true' END END,
               CASE WHEN o.kind = 'supervision' AND o.h_rep IS NOT NULL
                    THEN '已按要求在国网、省网完成学籍办理，并告知家长。' END,
               si.supervisor_name, NULL,  -- officials' phones are sealed data: left empty here
               CASE WHEN o.h_sign IS NOT NULL THEN rc.officer_name END,
               NULL,
               o.sent_at, least(o.sign_by, o.due_on), o.due_on, o.due_provisional,
               o.signed_at, CASE WHEN o.h_sign IS NOT NULL THEN rc.officer_id END,
               o.reported_at, CASE WHEN o.h_rep IS NOT NULL THEN rc.officer_id END,
               o.returned_at, CASE WHEN o.h_ret IS NOT NULL THEN '该投诉涉及的学生不在我校就读，非本单位职责，请核实后重新下发。' END,
               NULL, o.accepted_at,
               CASE WHEN o.h_sign IS NOT NULL
                    THEN (o.signed_at AT TIME ZONE 'Asia/Shanghai')::date <= least(o.sign_by, o.due_on) END,
               CASE WHEN o.h_rep IS NOT NULL
                    THEN (o.reported_at AT TIME ZONE 'Asia/Shanghai')::date <= o.due_on END,
               0, 0, 1
        FROM bench_orders o CROSS JOIN bench_ids b
        JOIN (SELECT * FROM json_each_text(CAST(:texts AS json))) t(category, text) ON t.category = o.category
        JOIN bench_staff si ON si.unit_id = o.responsible_id
        JOIN bench_staff rc ON rc.unit_id = o.receiver_id
    """, texts=_json(TEXTS))
    # Extension requests: approved ones moved the verification deadline by three working days; pending ones
    # wait in the issuer's inbox.
    _exec("""
        INSERT INTO extension_requests (order_id, requested_by_id, reason, requested_due_on, previous_due_on, state,
                                        decided_by_id, decided_at, decision_note, created_at)
        SELECT o.id, rc.officer_id, '学校学籍管理员外出参加培训，需待其返校后调取系统记录。',
               coalesce(o.extended_to, (SELECT plus3 FROM bench_days x WHERE x.d = o.first_due_on)), o.first_due_on,
               CASE WHEN o.extended THEN 'approved' ELSE 'pending' END,
               CASE WHEN o.extended THEN si.supervisor_id END,
               CASE WHEN o.extended THEN o.signed_at + interval '5 hours' END, NULL,
               o.signed_at + interval '2 hours'
        FROM bench_orders o
        JOIN bench_staff si ON si.unit_id = o.responsible_id
        JOIN bench_staff rc ON rc.unit_id = o.receiver_id
        WHERE o.extended OR o.ext_pending
    """)
    # Registry records the officer linked while verifying (a third of the verified cases).
    _exec("""
        INSERT INTO case_registry_links (case_id, source, as_of, registry_key, snapshot, linked_by_id, linked_at)
        SELECT b.case0 + o.plan_id, 'national', o.sent_on, pl.reg_key,
               json_build_object('as_of', o.sent_on, 'registry_no', pl.reg_masked, 'id_number', pl.c_id_masked,
                                 'name', ps.name, 'birth_date', pl.c_born, 'school_name', su.name,
                                 'grade', '三年级', 'class_name', '2班', 'status', 'enrolled'),
               rc.officer_id, o.signed_at + interval '1 hour'
        FROM bench_orders o CROSS JOIN bench_ids b
        JOIN bench_pool pl ON pl.i = o.plan_id % :pool
        JOIN persons ps ON ps.id = b.person0 + 2 * o.plan_id
        JOIN units su ON su.id = o.school_id
        JOIN bench_staff rc ON rc.unit_id = o.receiver_id
        WHERE o.slot = 'V1' AND o.h_rep IS NOT NULL AND o.r_link < 0.33
    """, pool=POOL)


# Every move on a case, as the operations record it: case moves (public) and order moves.
_EVENTS = """
INSERT INTO case_events (case_id, order_id, actor_id, actor_unit_id, action, from_state, to_state, note, value,
                         public, created_at)
SELECT case_id, order_id, actor_id, actor_unit_id, action, from_state, to_state, note, value, public, at
FROM (
    SELECT b.case0 + p.id AS case_id, NULL::int AS order_id, e.actor_id, e.actor_unit_id, e.action, e.from_state,
           e.to_state, e.note, e.value, true AS public, p.t0 + e.h * interval '1 hour' AS at, e.seq
    FROM bench_plan p CROSS JOIN bench_ids b
    JOIN bench_staff st ON st.unit_id = p.responsible_id
    JOIN units ru ON ru.id = p.responsible_id
    CROSS JOIN LATERAL (VALUES
        (0, p.web, 'submit', NULL, 'submitted', NULL::int, NULL::int, 0.0::float8,
         '网上提交；责任单位：' || ru.name || '。', NULL),
        (0, NOT p.web, 'register', NULL, 'registered', st.intake_id, p.responsible_id, 0.0,
         '电话登记；责任单位：' || ru.name || '。', NULL),
        (1, p.web AND p.stage >= 1, 'accept', 'submitted', 'registered', st.supervisor_id, p.responsible_id,
         p.h_reg, NULL, NULL),
        (1, p.stage = -1, 'reject', CASE WHEN p.web THEN 'submitted' ELSE 'registered' END, 'rejected', st.supervisor_id, p.responsible_id, p.d_reject,
         '您反映的问题不属于学籍管理事项，请拨打12345政务服务热线反映。', NULL),
        (2, p.stage >= 2, 'issue_verification', 'registered', 'verifying', st.supervisor_id, p.responsible_id,
         CASE WHEN p.has_return THEN p.h_reg + 1 ELSE p.h_vsent END, NULL, NULL),
        (3, p.stage >= 3, 'findings_complete', 'verifying', 'deciding', st.supervisor_id, p.responsible_id,
         p.h_vacc, NULL, NULL),
        (4, p.stage >= 4, 'issue_supervision', 'deciding', 'handling', st.supervisor_id, p.responsible_id,
         p.h_ssent, NULL, NULL),
        (5, p.stage >= 5, 'results_complete', 'handling', 'concluding', st.supervisor_id, p.responsible_id,
         p.h_sacc, NULL, NULL),
        (6, p.stage >= 6, 'close', 'concluding', 'closed', st.supervisor_id, p.responsible_id, p.h_close,
         '经核实，您反映的情况已处理完毕，学校已在国网和省网完成相关学籍办理，请知悉。', NULL),
        (7, p.stage = 7, 'rate', 'closed', 'closed', NULL, NULL, p.h_rated,
         CASE WHEN p.r_rate < 0.75 THEN '满意' ELSE '基本满意' END,
         CASE WHEN p.r_rate < 0.75 THEN 'satisfied' ELSE 'basically' END)
    ) e(seq, happened, action, from_state, to_state, actor_id, actor_unit_id, h, note, value)
    WHERE e.happened
    UNION ALL
    SELECT b.case0 + p.id, NULL, st.supervisor_id, p.responsible_id, 'informed', NULL, NULL, '已告知投诉人办理结果', NULL,
           false, p.t0 + p.h_close * interval '1 hour', 6
    FROM bench_plan p CROSS JOIN bench_ids b JOIN bench_staff st ON st.unit_id = p.responsible_id
    WHERE p.stage >= 6
    UNION ALL
    SELECT b.case0 + o.plan_id, o.id, e.actor_id, e.actor_unit_id, e.action, e.from_state, e.to_state, e.note,
           NULL, false, e.at, 2
    FROM bench_orders o CROSS JOIN bench_ids b
    JOIN bench_staff si ON si.unit_id = o.responsible_id
    JOIN bench_staff rc ON rc.unit_id = o.receiver_id
    JOIN units ru ON ru.id = o.receiver_id
    JOIN orders r ON r.id = o.id
    CROSS JOIN LATERAL (VALUES
        (true, 'order_issue', NULL, 'sent', si.supervisor_id, o.responsible_id, o.sent_at,
         CASE o.kind WHEN 'verification' THEN '核查单' ELSE '督办单' END || '下发至' || ru.name || '，完成时限'
         || to_char(o.first_due_on, 'YYYY-MM-DD')),
        (o.h_ret IS NOT NULL, 'order_return', 'sent', 'returned', rc.officer_id, o.receiver_id, o.returned_at,
         r.return_reason),
        (o.h_sign IS NOT NULL, 'order_sign', 'sent', 'signed', rc.officer_id, o.receiver_id, o.signed_at, NULL),
        (o.extended OR o.ext_pending, 'extension_request', NULL, NULL, rc.officer_id, o.receiver_id,
         o.signed_at + interval '2 hours', '申请延期：学校学籍管理员外出参加培训，需待其返校后调取系统记录。'),
        (o.extended, 'extension_approved', NULL, NULL, si.supervisor_id, o.responsible_id,
         o.signed_at + interval '5 hours', '同意延期至' || to_char(o.due_on, 'YYYY-MM-DD')),
        (o.h_rep IS NOT NULL, 'order_report', 'signed', 'reported', rc.officer_id, o.receiver_id, o.reported_at,
         CASE r.verdict WHEN 'true' THEN '属实' WHEN 'partly_true' THEN '部分属实' END),
        (o.h_acc IS NOT NULL, 'order_accept', 'reported', 'accepted', si.supervisor_id, o.responsible_id,
         o.accepted_at, NULL)
    ) e(happened, action, from_state, to_state, actor_id, actor_unit_id, at, note)
    WHERE e.happened
) x
ORDER BY case_id, at, seq
"""

# What the chase recorded on finished work that was late: the overdue mark, resolved when reported.
_HISTORIC_CHASE = """
INSERT INTO chase_steps (subject, step, deadline, due_on, case_id, order_id, target_unit_id, reason, created_at,
                         resolved_at)
SELECT 'order:' || o.id, 'overdue', 'complete', o.due_on, o.case_id, o.id, o.receiving_unit_id,
       '已超过完成时限（' || to_char(o.due_on, 'YYYY-MM-DD') || '）仍未报送',
       (o.due_on + 1)::timestamp AT TIME ZONE 'Asia/Shanghai', o.reported_at
FROM orders o
WHERE o.completed_on_time IS false AND o.id > :order0
"""


def _counters() -> None:
    """Move the number series past the generated numbers, so the next complaint or order gets a new one."""
    _exec("""
        INSERT INTO counters (name, year, value)
        SELECT name, y, max(n) FROM (
            SELECT 'case' AS name, substr(number, 3, 4)::int AS y, substr(number, 8)::int AS n FROM cases
            UNION ALL
            SELECT kind, substr(number, 3, 4)::int, substr(number, 8)::int FROM orders
        ) x GROUP BY name, y
        ON CONFLICT (name, year) DO UPDATE SET value = greatest(counters.value, excluded.value)
    """)
    for table in ("persons", "cases", "orders"):
        _exec(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


def build_province(cases: int, *, schools: int = 20000, seed: float = 0.42, verbose: bool = False) -> BuildReport:
    """Fill the (migrated, case-free) database of the current app with a province; caller commits."""
    from caseflow.cases import search_tokens
    from caseflow.chase import facts
    from caseflow.chase.scan import run_scan
    from caseflow.extensions import db
    from caseflow.security.passwords import hash_password
    from caseflow.timeutil import local_today, utcnow

    if db.engine.dialect.name != "postgresql":
        raise RuntimeError("the province builder writes PostgreSQL SQL")
    report = BuildReport()
    timer = _Timer(report, verbose)
    now, today = utcnow(), local_today()
    _exec("SET LOCAL work_mem = '256MB'")  # the plan's and the events' sorts stay in memory
    _exec("SELECT setseed(:s)", s=seed)
    _units(schools)
    _staff(hash_password(BENCH_PASSWORD))
    timer.done("units and staff")
    _days(today - timedelta(days=800), today + timedelta(days=60))
    _pool(int(seed * 1000))
    timer.done("deadline days and sealed people")
    _plan(cases, now)
    timer.done("plan")
    order0 = _scalar("SELECT coalesce(max(id), 0) FROM orders")
    _cases()
    timer.done("cases and people")
    _orders()
    timer.done("orders")
    _exec(_EVENTS)
    _exec(_HISTORIC_CHASE, order0=order0)
    timer.done("events")
    _counters()
    db.session.flush()
    scan = run_scan(today)
    timer.done("chase scan")
    facts.rebuild()  # the rows above were written in bulk: the dashboard's summary rows from scratch
    timer.done("summary rows")
    search_tokens.rebuild()  # and the cases' search tokens
    timer.done("search tokens")
    for table in ("units", "users", "persons", "cases", "orders", "case_events", "chase_steps",
                  "extension_requests", "case_registry_links", "notifications", "unit_facts", "case_facts"):
        report.counts[table] = _scalar(f"SELECT count(*) FROM {table}")
    report.counts["scan"] = sum(v for v in scan.values() if isinstance(v, int))
    return report


def track_case() -> tuple[str, str]:
    """Give one closed case of the busy school a known access code; (number, code) for the tracking page."""
    from caseflow.cases.numbering import hash_access_code

    number = _scalar("""SELECT c.number FROM cases c JOIN case_schools s ON s.case_id = c.id
                        JOIN units u ON u.id = s.unit_id
                        WHERE u.code = :busy ORDER BY (c.state = 'closed') DESC, c.id DESC LIMIT 1""",
                     busy=BUSY_SCHOOL)
    _exec("UPDATE cases SET access_code_hash = :h WHERE number = :n", h=hash_access_code(number, TRACK_CODE),
          n=number)
    return number, TRACK_CODE
