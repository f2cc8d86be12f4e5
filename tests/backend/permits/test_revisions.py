from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.permits.models import PermitRevision, PermitStatus, Vehicle
from tests.backend.factories import add_permit


def revisions(session: Session, permit_id: str) -> list[PermitRevision]:
    query = select(PermitRevision).where(PermitRevision.permit_id == permit_id).order_by(PermitRevision.id)
    return list(session.scalars(query))


def test_a_new_permit_is_revision_one(session: Session) -> None:
    permit = add_permit(session, "B123ABC")
    (first,) = revisions(session, permit.id)
    assert (permit.revision, first.revision, first.plates, first.status) == (1, 1, ["B123ABC"], PermitStatus.ACTIVE)


def test_every_change_is_a_new_revision_with_a_copy(session: Session) -> None:
    permit = add_permit(session, "B123ABC")
    permit.status = PermitStatus.SUSPENDED
    session.commit()
    permit.vehicles.append(Vehicle(plate="CJ12XYZ"))
    session.commit()
    rows = revisions(session, permit.id)
    assert [r.revision for r in rows] == [1, 2, 3] and permit.revision == 3
    assert rows[1].status is PermitStatus.SUSPENDED and rows[1].plates == ["B123ABC"]
    assert rows[2].plates == ["B123ABC", "CJ12XYZ"]
    assert rows[0].id < rows[1].id < rows[2].id  # the change ids order all changes


def test_a_flush_without_changes_records_nothing(session: Session) -> None:
    permit = add_permit(session, "B123ABC")
    permit.status = PermitStatus.ACTIVE  # the same value: not a change
    session.commit()
    assert len(revisions(session, permit.id)) == 1
