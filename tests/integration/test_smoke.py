"""The app builds on the migrated database and a complaint can be stored."""
from caseflow.models import Case, CaseState, OutboxItem, SmsMessage
from tests.factories import submit


def test_submit_routes_to_parent_bureau_and_sends_sms(world, db):
    case, code = submit(db)
    assert case.state is CaseState.SUBMITTED
    assert case.responsible_unit.code == "410105"
    assert case.number.startswith("XJ")
    stored = db.session.get(Case, case.id)
    assert stored.complainant.id_number.endswith(case.complainant.id_number[-4:])
    # In-process mode: the outbox item was delivered right after the commit.
    assert db.session.scalar(db.select(OutboxItem.state).where(OutboxItem.kind == "sms")) == "done"
    assert db.session.scalar(db.select(db.func.count(SmsMessage.id))) == 1


def test_text_messages_go_to_mobiles_only(world, db):
    """A landline gets no SMS, nor does a data-monitoring case with no phone at all; a mobile does."""
    from caseflow.cases import operations
    from caseflow.cases.operations import PersonData

    landline, _ = submit(db, complainant=PersonData(name="张伟", phone="0371-65901234"))
    nobody, _ = submit(db, complainant=PersonData(name="数据监测（金水区教育局）"))
    sup = world.user("supervisor", "410105")
    for case in (landline, nobody):
        operations.reject_case(sup, case, "不属于学籍问题。")
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(OutboxItem.id)).where(OutboxItem.kind == "sms")) == 0
    assert db.session.scalar(db.select(db.func.count(SmsMessage.id))) == 0
    submit(db)  # 138…: a mobile
    assert db.session.scalar(db.select(db.func.count(SmsMessage.id))) == 1
