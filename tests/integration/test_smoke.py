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
