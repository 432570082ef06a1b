"""Synthetic registry extracts for both systems, with problems injected in known numbers.

Every student gets a valid, unique ID number; registry numbers are mostly G
(G + ID number), some J (no ID number) and some L (temporary).  The manifest
says exactly how many of each problem type were injected, so tests and the
benchmark can assert exact counts after an import and a check.
"""
from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from caseflow.identity import check_char

HEADER = ["姓名", "性别", "出生日期", "民族", "身份证件类型", "身份证件号", "学籍号", "学校标识码", "学校名称",
          "年级", "班级", "学籍状态", "监护人姓名", "联系电话"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏飞建文博宇浩然子轩梓涵一诺欣怡雨泽俊熙佳琪思远晨阳嘉怡梦瑶雅婷天佑明轩若曦紫涵"
ETHNICITIES = ["汉族"] * 40 + ["回族", "满族", "蒙古族", "壮族"]
GRADES = ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级", "高一", "高二", "高三"]
DAYS = 4383  # twelve years of birth dates: index -> (birth date, sequence) is one-to-one below 4.38M
SPREAD = 1009  # coprime to DAYS: consecutive students get birth dates spread over all twelve years


@dataclass
class School:
    code: str
    name: str
    division: str  # 6-digit division code of its area

    @property
    def grades(self) -> range:
        """The grade indexes (into GRADES) the school teaches, read from its name."""
        if "小学" in self.name:
            return range(0, 6)
        if "初级中学" in self.name or "初中" in self.name:
            return range(6, 9)
        if "高级中学" in self.name or "高中" in self.name:
            return range(9, 12)
        if "中学" in self.name:
            return range(6, 12)
        return range(0, 12)  # 九年一贯制, 十二年一贯制 and names that say nothing


def _by_grade(schools: list[School]) -> list[list[School]]:
    """For each grade, the schools that teach it (all schools where none does)."""
    return [[s for s in schools if g in s.grades] or schools for g in range(len(GRADES))]


def _counts(n: int) -> dict[str, int]:
    """How many of each problem to inject for ``n`` students (disjoint groups)."""
    return {"only_national": n // 50, "only_provincial": n // 50, "mismatch": n // 40,
            "duplicate_active": n // 100, "graduate_pool": n // 100, "rejected": max(1, n // 200)}


def generate(schools: list[School], students: int, seed: int, out: Path, *,
             as_of: date = date(2026, 9, 30)) -> dict:
    """Write national.csv and provincial.csv under ``out``; return the manifest."""
    if not schools:
        raise ValueError("no schools: load the unit tree first (flask --app caseflow demo load)")
    if students >= DAYS * 1000:
        raise ValueError("at most 4,382,999 students per run")
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    counts = _counts(students)
    # Problem groups are consecutive blocks of a shuffled index order, so they never overlap.
    order = list(range(students))
    rng.shuffle(order)
    group: dict[int, str] = {}
    start = 0
    for kind in ("only_national", "only_provincial", "mismatch", "duplicate_active", "graduate_pool"):
        for i in order[start:start + counts[kind]]:
            group[i] = kind
        start += counts[kind]
    kinds = {"G": 0, "J": 0, "L": 0}
    first_day = date(as_of.year - 18, 9, 1)
    paths = {s: out / f"{s}.csv" for s in ("national", "provincial")}
    rows = {"national": 0, "provincial": 0}
    with paths["national"].open("w", newline="", encoding="utf-8-sig") as nf, \
            paths["provincial"].open("w", newline="", encoding="utf-8-sig") as pf:
        writers = {"national": csv.writer(nf), "provincial": csv.writer(pf)}
        for w in writers.values():
            w.writerow(HEADER)

        def emit(source: str, row: list) -> None:
            writers[source].writerow(row)
            rows[source] += 1

        by_grade = _by_grade(schools)
        for i in range(students):
            born = first_day + timedelta(days=i * SPREAD % DAYS)
            seq = (i // DAYS) % 1000
            kind = group.get(i)
            age = as_of.year - born.year - (1 if (as_of.month, as_of.day) < (born.month, born.day) else 0)
            level = 5 if kind == "graduate_pool" else min(max(age - 6, 0), 11)
            grade, status = GRADES[level], "毕业" if kind == "graduate_pool" else "在籍"
            fit = by_grade[level]  # a student is at a school that teaches their grade
            school = fit[i % len(fit)]
            body = f"{school.division}{born:%Y%m%d}{seq:03d}"
            id_number = body + check_char(body)
            roll = rng.random()
            if kind in ("duplicate_active", "graduate_pool") or roll < 0.95:
                reg, id_type, id_col = "G" + id_number, "居民身份证", id_number
            elif roll < 0.98:
                reg, id_type, id_col = "J" + id_number, "", ""
            else:
                reg, id_type, id_col = f"L{school.division}{born:%Y%m%d}{seq % 10:01d}{i % 1000:03d}", "", ""
            kinds[reg[0]] += 1
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
            sex = "男" if seq % 2 else "女"
            phone = f"13{rng.randrange(10)}{rng.randrange(10 ** 8):08d}"
            row = [name, sex, born.isoformat(), rng.choice(ETHNICITIES), id_type, id_col, reg, school.code,
                   school.name, grade, f"{rng.randrange(1, 9)}班", status, rng.choice(SURNAMES) + "先生", phone]
            if kind != "only_provincial":
                emit("national", row)
            if kind != "only_national":
                if kind == "mismatch":
                    row = row.copy()
                    row[0] = name + "某"  # the name typed differently in the provincial system
                emit("provincial", row)
            if kind == "duplicate_active":
                # A second, temporary registry at another school, in both systems.
                other = fit[(i + 1) % len(fit)]
                dup = row.copy()
                dup[0] = name
                dup[4:9] = ["居民身份证", id_number, f"L{other.division}{born:%Y%m%d}9{i % 1000:03d}",
                            other.code, other.name]
                kinds["L"] += 1
                emit("national", dup)
                emit("provincial", dup)
        bad = _bad_rows(schools[0], first_day, counts["rejected"])
        for source in ("national", "provincial"):
            for row in bad:
                emit(source, row)
    return {
        "students": students, "seed": seed, "as_of": as_of.isoformat(),
        "files": {s: str(p) for s, p in paths.items()},
        "rows": rows,
        "rejected": {"national": len(bad), "provincial": len(bad)},
        "imported": {s: rows[s] - len(bad) for s in rows},
        "registry_numbers": kinds,
        "problems": {k: counts[k] for k in ("only_national", "only_provincial", "mismatch", "duplicate_active",
                                            "graduate_pool")},
    }


def _bad_rows(school: School, first_day: date, n: int) -> list[list]:
    """Rows that must be rejected, cycling through typical errors."""
    rows = []
    for k in range(n):
        born = first_day + timedelta(days=k)
        body = f"{school.division}{born:%Y%m%d}999"
        good = body + check_char(body)
        wrong = body + ("0" if good[-1] != "0" else "1")
        variants = [
            ["错号", "女", born.isoformat(), "汉族", "居民身份证", wrong, "G" + wrong, school.code],  # check digit
            ["错校", "男", born.isoformat(), "汉族", "居民身份证", good, "G" + good, "0000000000"],
            ["错态", "男", born.isoformat(), "汉族", "居民身份证", good, "G" + good, school.code],
        ]
        row = variants[k % 3] + [school.name, "一年级", "1班", "失联" if k % 3 == 2 else "在籍", "", ""]
        rows.append(row)
    return rows


def demo_schools() -> list[School]:
    """The schools of the unit tree in the database, with the division code of their area."""
    from caseflow.extensions import db
    from caseflow.models import Unit, UnitKind

    schools = []
    for unit in db.session.scalars(db.select(Unit).where(Unit.kind == UnitKind.SCHOOL).order_by(Unit.code)):
        division = next((c for c in reversed(unit.ancestor_codes[:-1]) if len(c) == 6 and c != "000000"),
                        "410100")
        schools.append(School(unit.code, unit.name, division))
    return schools
