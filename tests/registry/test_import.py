"""Import of registry extracts: formats, every rejection reason, atomic replacement."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from caseflow.models import ImportState, RegistryImport, RegistryRecord, RegistrySource
from caseflow.registry.extract import RegistryImportRefused
from tests.factories import make_id_number
from tests.registry.helpers import HEADER, do_import, student, write_csv, write_xlsx


def count(db, imp_id):
    return db.session.scalar(sa.select(sa.func.count()).select_from(RegistryRecord)
                             .where(RegistryRecord.import_id == imp_id))


def rejects(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))[1:]


def test_csv_import_stores_masked_and_hashed_rows(db, world, tmp_path):
    path = write_csv(tmp_path / "n.csv", [student(), student("李梅", seq=124, school="4141000002")])
    summary, imp = do_import(path)
    assert summary["rows"] == 2 and summary["imported"] == 2 and summary["rejected"] == 0
    assert imp.state is ImportState.ACTIVE
    rec = db.session.scalars(sa.select(RegistryRecord).order_by(RegistryRecord.line_no)).first()
    assert rec.line_no == 2 and rec.name == "张小明"
    assert rec.id_masked == "410105********1232"[:6] + "********" + make_id_number(seq=123)[-4:]
    assert rec.guardian_phone_masked == "138****5678"
    assert make_id_number(seq=123) not in (rec.pii + rec.registry_no_masked)
    from caseflow.registry.validation import unseal_pii
    from caseflow.security import crypto

    id_number = make_id_number(seq=123)
    assert unseal_pii(rec.pii) == (id_number, "G" + id_number, "13812345678")
    assert crypto.decrypt(rec.pii) == f"{id_number}||13812345678"  # the G number that repeats it: left out
    assert rec.id_key == crypto.id_key(make_id_number(seq=123))


def test_xlsx_import(db, world, tmp_path):
    path = write_xlsx(tmp_path / "n.xlsx", [student(), student("李梅", seq=124, 出生日期="2015/3/8")])
    summary, imp = do_import(path, source="provincial")
    assert summary["imported"] == 2 and imp.source.value == "provincial"


def test_gbk_csv_import(db, world, tmp_path):
    path = write_csv(tmp_path / "gbk.csv", [student("欧阳娜", seq=124)], encoding="gbk")
    summary, _ = do_import(path)
    assert summary["imported"] == 1
    assert db.session.scalar(sa.select(RegistryRecord.name)) == "欧阳娜"


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"姓名": ""}, "姓名为空"),
    ({"学籍号": "G41010520150308123"}, "学籍号不正确：学籍号应为19位"),
    ({"学籍号": "X" + make_id_number(seq=123)}, "学籍号应以G、J或L开头"),
    ({"学籍号": "G" + make_id_number(seq=125)}, "G字头学籍号应为G加本人身份证号"),
    ({"身份证件号": make_id_number(seq=123)[:-1] + "0"}, "身份证件号不正确：身份证号校验位不正确"),
    ({"出生日期": "2015-03-09"}, "出生日期与身份证号中的出生日期不一致"),
    ({"出生日期": "2015-02-30"}, "不是有效日期"),
    ({"性别": "女"}, "性别与身份证号不一致"),
    ({"性别": "未知"}, "性别“未知”无法识别"),
    ({"学校标识码": "4199999999"}, "不是已登记的学校"),
    ({"学籍状态": "失联"}, "学籍状态“失联”无法识别"),
    ({"身份证件号": "", "学籍号": "G" + make_id_number(seq=123)}, "G字头学籍号须有居民身份证号"),
    ({"身份证件号": "", "学籍号": "L410105201503081234".replace("20150308", "20150309")},
     "出生日期与学籍号中的出生日期不一致"),
    ({"姓名": "名" * 61}, "姓名超过60个字符"),
    ({"班级": "班" * 41}, "班级超过40个字符"),
])
def test_every_rejection_reason_is_reported_with_its_line(db, world, tmp_path, overrides, reason):
    path = write_csv(tmp_path / "bad.csv", [student("甲", seq=121), student(**overrides)])
    summary, imp = do_import(path)
    assert summary == {"rows": 2, "imported": 1, "rejected": 1, "reject_report": summary["reject_report"]}
    (line,) = rejects(summary["reject_report"])
    assert line[0] == "3" and reason in line[3]
    assert imp.rows_rejected == 1


@pytest.mark.parametrize("quoted", [False, True])
def test_bytes_outside_the_encoding_past_the_sniffed_head_fail_the_import_and_keep_the_old_snapshot(
        db, world, tmp_path, quoted):
    """Whether the chunks are cut (plain lines) or the csv module reads them (a quoted cell early on)."""
    _, old = do_import(write_csv(tmp_path / "old.csv", [student()]))
    rows = [student(f"学生{i}", seq=i % 1000) for i in range(1, 1500)]
    if quoted:
        rows[3]["班级"] = "2\n班"
    path = write_csv(tmp_path / "mixed.csv", rows)
    with path.open("ab") as fh:  # a GBK line appended to a UTF-8 file, after the first 64 KB
        fh.write(",".join(["欧阳娜", "女"]).encode("gbk") + b"\n")
    assert path.stat().st_size > 70_000
    from caseflow.registry.parallel import ChunkUndecodable

    with pytest.raises(ChunkUndecodable):
        do_import(path)
    db.session.rollback()
    failed = db.session.scalars(sa.select(RegistryImport).order_by(RegistryImport.id.desc())).first()
    assert failed.state is ImportState.FAILED
    assert "原有数据未改变" in failed.error and "UTF-8" in failed.error and "行之后" in failed.error
    assert db.session.get(RegistryImport, old.id).state is ImportState.ACTIVE
    assert count(db, old.id) == 1


def test_the_first_of_two_equal_registry_numbers_is_kept_whichever_path_reads_it(db, world, tmp_path):
    # Line 2 needs validate_row (a slashed date), line 3 passes the column-wise checks: line 2 is kept.
    path = write_csv(tmp_path / "dup.csv", [student(出生日期="2015/3/8"), student()])
    summary, _ = do_import(path)
    assert (summary["imported"], summary["rejected"]) == (1, 1)
    (line,) = rejects(summary["reject_report"])
    assert line[0] == "3" and "重复" in line[3]


def test_old_mac_line_ends_and_stray_quotes_are_read_as_the_csv_module_reads_them(db, world, tmp_path, app):
    """A bare CR ends a line and a quote inside an unquoted cell is a character, even for big files."""
    app.config.update(REGISTRY_PARALLEL_MIN_BYTES=0, REGISTRY_CHUNK_BYTES=300, REGISTRY_IMPORT_WORKERS=2)
    rows = [student(f"学生{i}", seq=i) for i in range(1, 30)]
    cr = tmp_path / "cr.csv"
    cr.write_bytes("\r".join(",".join(row.get(h, "") for h in HEADER) for row in [dict(zip(HEADER, HEADER, strict=True))] + rows)
                   .encode("utf-8") + b"\r")
    summary, _ = do_import(cr, as_of=date(2026, 1, 1))
    assert (summary["rows"], summary["imported"], summary["rejected"]) == (29, 29, 0)

    rows[3]["姓名"] = '张"三'  # unquoted: the csv module keeps the quote as a character
    rows[20]["学校标识码"] = "0000000000"
    lines = [",".join(HEADER)] + [",".join(row.get(h, "") for h in HEADER) for row in rows]
    lines[10] = lines[10].replace("2班", '"2\n班"')  # a quoted cell over two lines, after the stray quote
    stray = tmp_path / "stray.csv"
    stray.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary, imp = do_import(stray, as_of=date(2026, 1, 2))
    assert (summary["rows"], summary["imported"], summary["rejected"]) == (29, 28, 1)
    (line,) = rejects(summary["reject_report"])
    assert line[0] == "23" and "不是已登记的学校" in line[3]  # line 22 of the list, plus one for the 2-line cell
    names = db.session.scalars(sa.select(RegistryRecord.name).where(RegistryRecord.import_id == imp.id)).all()
    assert '张"三' in names


def test_repeated_registry_number_in_one_file_keeps_the_first(db, world, tmp_path):
    path = write_csv(tmp_path / "dup.csv", [student(), student("甲", seq=121), student(姓名="张小明二")])
    summary, imp = do_import(path)
    assert (summary["imported"], summary["rejected"]) == (2, 1)
    (line,) = rejects(summary["reject_report"])
    assert line[0] == "4" and "重复" in line[3]
    if db.engine.dialect.name == "postgresql":  # the partition's indexes, the unique one built twice
        built = db.session.execute(sa.text(
            "SELECT parent.relname, i.indisunique, index.reloptions FROM pg_index i "
            "JOIN pg_class index ON index.oid = i.indexrelid "
            "JOIN pg_inherits h ON h.inhrelid = i.indexrelid JOIN pg_class parent ON parent.oid = h.inhparent "
            "WHERE i.indrelid = CAST(:part AS regclass) ORDER BY 1"), {"part": f"registry_records_{imp.id}"}).all()
        assert built == [("ix_registry_records_id_key", False, ["deduplicate_items=off"]),
                         ("ix_registry_records_name_birth", False, ["deduplicate_items=off"]),
                         ("ix_registry_records_registry_key", True, None)]


def test_j_and_l_numbers_without_id_are_accepted(db, world, tmp_path):
    from caseflow.identity import check_char

    body = "41010520150308" + "777"
    j_number = "J" + body + check_char(body)
    path = write_csv(tmp_path / "jl.csv", [
        student(身份证件类型="", 身份证件号="", 学籍号=j_number),
        student(身份证件类型="", 身份证件号="", 学籍号="L410105201503084321"),
        student(身份证件类型="护照", 身份证件号="E12345678", 学籍号="L410105201503084322"),
    ])
    summary, _ = do_import(path)
    assert summary["imported"] == 3, rejects(summary["reject_report"])


@pytest.mark.parametrize(("content", "message"), [
    (b"%PDF-1.4\n\x00\x01binary", "不是CSV或XLSX"),
    ("姓名,性别\n张三,男\n".encode(), "缺少必需的列：出生日期、身份证件号、学籍号、学校标识码、学籍状态"),
    (b"\xff\xfe\xfa\xfb" * 10 + b"\n", "无法识别文件编码"),
    (b"PK\x03\x04garbage", "不是有效的XLSX"),
    (b"", "文件为空"),
])
def test_unusable_files_are_refused_before_anything_is_written(db, world, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(RegistryImportRefused) as exc:
        do_import(path)
    assert message in exc.value.message
    imp = db.session.scalars(sa.select(RegistryImport)).one()
    assert imp.state is ImportState.REFUSED and message in imp.error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RegistryRecord)) == 0


def test_reimport_replaces_the_snapshot_atomically_and_is_idempotent(db, world, tmp_path):
    first = write_csv(tmp_path / "a.csv", [student(), student("李梅", seq=124)])
    _, old = do_import(first)
    second = write_csv(tmp_path / "b.csv", [student("王五", seq=131)])
    summary, new = do_import(second)
    _, again = do_import(second)
    db.session.expire_all()
    assert old.state is ImportState.REPLACED and new.state is ImportState.REPLACED
    assert again.state is ImportState.ACTIVE and summary["imported"] == 1
    assert db.session.scalars(sa.select(RegistryRecord.name)).all() == ["王五"]
    # Another snapshot date is a separate snapshot.
    _, other = do_import(first, as_of=date(2026, 10, 1))
    assert count(db, other.id) == 2 and count(db, again.id) == 1


@pytest.mark.postgres
def test_killed_import_leaves_the_old_snapshot_in_place(db, world, tmp_path, app):
    _, old = do_import(write_csv(tmp_path / "old.csv", [student()]))
    rows = [student(f"学生{i}", seq=i % 1000, born=date(2010 + i // 1000 % 8, 1 + i // 8000 % 12, 1 + i // 96000))
            for i in range(60000)]
    big = write_csv(tmp_path / "big.csv", rows)
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", ""))
    # Fed slowly (tests/registry/slow_import.py): the import is fast enough to finish between two polls.
    proc = subprocess.Popen([sys.executable, "-m", "tests.registry.slow_import", "registry", "import",
                             "--source", "national", "--as-of", "2026-11-01", str(big)],
                            env=env, cwd=Path(__file__).resolve().parents[2], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            db.session.expire_all()
            loading = db.session.scalars(sa.select(RegistryImport).where(
                RegistryImport.state == ImportState.LOADING, RegistryImport.rows_done > 0)).first()
            if loading:
                break
            time.sleep(0.05)
        assert loading is not None, "the import never reported progress"
        assert proc.poll() is None, "the import ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    db.session.expire_all()
    assert db.session.get(RegistryImport, old.id).state is ImportState.ACTIVE
    live = db.session.scalars(sa.select(RegistryRecord.name).join(RegistryImport, RegistryImport.id == RegistryRecord.import_id).where(
        RegistryImport.state == ImportState.ACTIVE)).all()
    assert live == ["张小明"]


def test_cli_import_prints_progress_and_a_json_summary(db, world, tmp_path, app):
    path = write_csv(tmp_path / "n.csv", [student(), student(性别="女")])
    result = app.test_cli_runner().invoke(args=["registry", "import", "--source", "national",
                                                "--as-of", "2026-11-01", str(path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["rows"] == 2 and summary["imported"] == 1 and summary["rejected"] == 1
    assert os.path.exists(summary["reject_report"])


def test_cli_import_refused_file_exits_non_zero(db, world, tmp_path, app):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    result = app.test_cli_runner().invoke(args=["registry", "import", "--source", "national",
                                                "--as-of", "2026-11-01", str(path)])
    assert result.exit_code != 0
    assert "缺少必需的列" in result.output


def test_header_aliases(db, world, tmp_path):
    header = [{"身份证件号": "身份证号", "学籍号": "全国学籍号"}.get(h, h) for h in HEADER]
    rows = [{header[i]: v for i, v in enumerate(student().values())}]
    summary, _ = do_import(write_csv(tmp_path / "a.csv", rows, header=header))
    assert summary["imported"] == 1


@pytest.mark.postgres
def test_reaper_marks_a_killed_loader_failed_and_cli_shows_progress(db, world, tmp_path, app):
    from datetime import UTC, datetime, timedelta

    from caseflow.registry.importer import create_import, reap_dead_imports

    imp = create_import(RegistrySource.NATIONAL, date(2026, 11, 1), write_csv(tmp_path / "a.csv", [student()]))
    imp.state, imp.started_at = ImportState.LOADING, datetime.now(UTC) - timedelta(minutes=5)
    imp.rows_done = 10
    db.session.commit()
    assert reap_dead_imports() == 1
    db.session.refresh(imp)
    assert imp.state is ImportState.FAILED and "原有数据未改变" in imp.error
    out = app.test_cli_runner().invoke(args=["registry", "imports"]).output
    assert "failed" in out and "已处理 10 行" in out


@pytest.mark.redis
def test_upload_runs_as_an_rq_job_with_a_real_worker(db, world, tmp_path, app, client, redis_url):
    from tests.registry.helpers import login_as

    app.config["REDIS_URL"] = redis_url
    login_as(client, world.user("admin", "410000"))
    path = write_csv(tmp_path / "n.csv", [student(), student("李梅", seq=124)])
    with path.open("rb") as fh:
        resp = client.post("/registry/imports", content_type="multipart/form-data",
                           data={"source": "national", "as_of": "2026-11-01", "file": (fh, "n.csv")})
    assert resp.status_code == 302
    imp = db.session.scalars(sa.select(RegistryImport)).one()
    assert imp.state is ImportState.QUEUED
    assert "排队中" in client.get(resp.location).get_data(as_text=True)
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", ""),
               REDIS_URL=redis_url)
    subprocess.run([sys.executable, "-m", "flask", "--app", "caseflow", "worker", "--burst"], env=env,
                   check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db.session.expire_all()
    imp = db.session.get(RegistryImport, imp.id)
    assert imp.state is ImportState.ACTIVE and imp.rows_imported == 2
    assert "已生效" in client.get(resp.location).get_data(as_text=True)


@pytest.mark.postgres
@pytest.mark.parametrize(("encoding", "quoted"), [("utf-8-sig", None), ("gbk", None), ("utf-8-sig", 5),
                                                  ("gbk", 100)])
def test_parallel_path_gives_the_same_snapshot_as_the_serial_one(db, world, tmp_path, app, encoding, quoted):
    """Small chunks in two worker processes give what one pass gives.

    ``quoted``: the row where a quoted cell over two lines and a stray quote come; from the chunk holding
    them the csv module reads the rest (early: in the second chunk; late: after many plain chunks).
    """
    rows = [student(f"学生{i}", seq=i) for i in range(1, 120)]
    if quoted is not None:
        rows[quoted]["姓名"] = "带\n换行"
        rows[quoted + 2]["班级"] = '3"班'
    rows[9]["性别"] = "女" if rows[9]["性别"] == "男" else "男"
    rows[50]["学校标识码"] = "0000000000"
    path = write_csv(tmp_path / "big.csv", rows, encoding=encoding)
    serial, serial_imp = do_import(path, as_of=date(2026, 1, 1))
    app.config.update(REGISTRY_PARALLEL_MIN_BYTES=0, REGISTRY_CHUNK_BYTES=700, REGISTRY_IMPORT_WORKERS=2)
    parallel, parallel_imp = do_import(path, as_of=date(2026, 1, 2))
    assert (parallel["rows"], parallel["imported"], parallel["rejected"]) == (119, 117, 2) == (
        serial["rows"], serial["imported"], serial["rejected"])
    assert rejects(parallel["reject_report"]) == rejects(serial["reject_report"])

    def snapshot(imp_id):
        cols = [c for c in RegistryRecord.__table__.columns if c.name not in ("import_id", "pii")]
        return db.session.execute(sa.select(*cols).where(RegistryRecord.import_id == imp_id)
                                  .order_by(RegistryRecord.line_no)).all()

    assert snapshot(parallel_imp.id) == snapshot(serial_imp.id)
    assert any(r.name == "带\n换行" for r in snapshot(parallel_imp.id)) is (quoted is not None)


@pytest.mark.parametrize("chunk_bytes", [1, 7, 16, 4096])
def test_chunks_are_whole_lines_with_their_line_numbers(tmp_path, chunk_bytes):
    """The workers' spans cover the file after the header exactly once, each ends after a line end (but the
    last line, which has none), a line longer than a chunk is kept whole, and each names its first line."""
    from caseflow.registry import parallel

    lines = [b"header", b"a,1", b"", b"bb,2" * 9, b"c,3", b"\xe7\x8e\x8b,4",
             *(b"%c,%d" % (100 + k, k) for k in range(12)), b"tail-without-lf"]
    path = tmp_path / "f.csv"
    path.write_bytes(b"\n".join(lines))
    start = len(lines[0]) + 1
    spans = list(parallel.spans(path, start, chunk_bytes))
    data = [parallel.read_span(path, offset, length) for _, offset, length in spans]
    assert b"".join(data) == path.read_bytes()[start:]
    assert [offset for _, offset, _ in spans] == [start + sum(map(len, data[:k])) for k in range(len(data))]
    assert all(d.endswith(b"\n") for d in data[:-1]) and data[-1].endswith(b"tail-without-lf")
    numbered = {first_line + k: line for (first_line, _, _), d in zip(spans, data, strict=True)
                for k, line in enumerate(d.split(b"\n")) if k < d.count(b"\n") or not d.endswith(b"\n")}
    assert numbered == {n: line for n, line in enumerate(lines, start=1) if n > 1}
    assert [(first, d) for first, d, _ in parallel.chunks(path, start, chunk_bytes)] == [
        (first, d) for (first, _, _), d in zip(spans, data, strict=True)]
    if chunk_bytes == 16:  # the long line's chunk is longer, and the chunks after it of the usual size again
        long = next(k for k, d in enumerate(data) if b"bb,2" in d)
        assert len(data[long]) > 16 and len(data) - long > 4 and all(len(d) <= 16 for d in data[long + 1:])
