from datetime import timedelta

from sqlalchemy.orm import Session

from backend.permits.history import decide_as_of
from backend.permits.models import PermitStatus
from backend.storage.base import utc_now
from platepatrol.verdicts import Outcome, Reason
from tests.backend.factories import add_permit


def test_as_of_answers_from_the_records_of_that_moment(session: Session) -> None:
    before_any = utc_now()
    permit = add_permit(session, "B123ABC")
    while_valid = utc_now()
    permit.status = PermitStatus.REVOKED
    session.commit()
    after_revoking = utc_now()

    decision, known = decide_as_of(session, "B123ABC", while_valid)
    assert decision.outcome is Outcome.PERMITTED and [p.revision for p in known] == [1]
    decision, known = decide_as_of(session, "B123ABC", after_revoking)
    assert (decision.reason, [p.revision for p in known]) == (Reason.SUSPENDED, [2])
    decision, known = decide_as_of(session, "B123ABC", before_any)
    assert (decision.reason, known) == (Reason.NO_PERMIT, [])  # the permit was not yet on record


def test_a_backdated_permit_was_not_known_before_it_was_recorded(session: Session) -> None:
    earlier = utc_now() - timedelta(days=3)
    add_permit(session, "B123ABC", valid_from=utc_now() - timedelta(days=10))
    decision, _ = decide_as_of(session, "B123ABC", earlier)
    assert decision.reason is Reason.NO_PERMIT
