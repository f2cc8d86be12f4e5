import threading

from sqlalchemy.orm import Session, sessionmaker

from backend.permits.models import PermitStatus
from backend.permits.watch import changes_after, snapshot, watch
from tests.backend.factories import add_permit


def test_snapshot_then_changes(session: Session) -> None:
    first = add_permit(session, "A1")
    add_permit(session, "B2")
    changes = list(snapshot(session))
    assert all(c.snapshot for c in changes[:-1])
    assert {c.permit.plates for c in changes if c.permit} == {("A1",), ("B2",)}
    marker = changes[-1]
    assert marker.snapshot_complete and marker.permit is None
    first.status = PermitStatus.REVOKED
    session.commit()
    (change,) = changes_after(session, marker.change_id)
    assert change.permit is not None and change.change_id > marker.change_id
    assert (change.permit.permit_id, change.permit.revision, change.permit.active) == (first.id, 2, False)


def test_watch_resumes_after_a_change_id(sessions: sessionmaker[Session], session: Session) -> None:
    add_permit(session, "A1")
    (marker,) = [c for c in snapshot(session) if c.snapshot_complete]
    add_permit(session, "B2")
    stop = threading.Event()
    stream = watch(sessions, marker.change_id, poll_s=0.01, stop=stop)
    change = next(stream)
    assert change.permit is not None and change.permit.plates == ("B2",) and not change.snapshot
    stop.set()
    assert list(stream) == []
