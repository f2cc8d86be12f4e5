from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from edge.offline import provisional_verdict
from edge.permit_cache import PermitCache
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.verdicts import Outcome, Reason

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def entry(permit_id: str, plates: list[str], revision: int = 1, active: bool = True, days: int = 30) -> pb.PermitEntry:
    return pb.PermitEntry(
        permit_id=permit_id,
        revision=revision,
        code=f"P-{permit_id}",
        plates=plates,
        valid_from=stamp(NOW - timedelta(days=1)),
        valid_until=stamp(NOW + timedelta(days=days)),
        active=active,
    )


def snapshot(cache: PermitCache, *entries: pb.PermitEntry, change_id: int = 10) -> None:
    for item in entries:
        cache.apply(pb.PermitChange(change_id=change_id, permit=item, snapshot=True))
    cache.apply(pb.PermitChange(change_id=change_id, snapshot_complete=True))


def test_no_answer_before_a_whole_snapshot() -> None:
    cache = PermitCache()
    assert cache.decide("A1", NOW) is None
    cache.apply(pb.PermitChange(change_id=5, permit=entry("p1", ["A1"]), snapshot=True))
    assert cache.decide("A1", NOW) is None and not cache.ready


def test_snapshot_then_changes() -> None:
    cache = PermitCache()
    snapshot(cache, entry("p1", ["A1"]), entry("p2", ["B2"]))
    assert cache.ready and cache.last_change_id == 10
    decision = cache.decide("A1", NOW)
    assert decision is not None and decision.outcome is Outcome.PERMITTED
    cache.apply(pb.PermitChange(change_id=11, permit=entry("p1", ["A1"], revision=2, active=False)))
    decision = cache.decide("A1", NOW)
    assert decision is not None and decision.reason is Reason.SUSPENDED and cache.last_change_id == 11


def test_a_vehicle_swap_moves_the_permit_to_the_new_plate() -> None:
    cache = PermitCache()
    snapshot(cache, entry("p1", ["A1"]))
    cache.apply(pb.PermitChange(change_id=11, permit=entry("p1", ["C3"], revision=2)))
    assert cache.permits_for("A1") == [] and [p.id for p in cache.permits_for("C3")] == ["p1"]


def test_an_older_revision_arriving_late_is_ignored() -> None:
    cache = PermitCache()
    snapshot(cache, entry("p1", ["A1"], revision=3, active=False))
    cache.apply(pb.PermitChange(change_id=9, permit=entry("p1", ["A1"], revision=2, active=True)))
    assert [p.revision for p in cache.permits_for("A1")] == [3]


def test_a_new_snapshot_replaces_the_copy() -> None:
    cache = PermitCache()
    snapshot(cache, entry("p1", ["A1"]))
    snapshot(cache, entry("p2", ["B2"]), change_id=20)
    assert cache.permits_for("A1") == [] and len(cache.permits_for("B2")) == 1


def test_provisional_verdicts_say_so() -> None:
    cache = PermitCache()
    read = pb.PlateRead(read_id="r1", plate_text="A1", captured_at=stamp(NOW))
    assert provisional_verdict(read, cache) is None
    snapshot(cache, entry("p1", ["A1"]))
    verdict = provisional_verdict(read, cache)
    assert verdict is not None and verdict.provisional and verdict.outcome == pb.PERMITTED
    assert verdict.read_id == "r1" and verdict.permit_id == "p1" and "provisional" in verdict.sentence
    unknown = provisional_verdict(pb.PlateRead(read_id="r2", plate_text="ZZ9", captured_at=stamp(NOW)), cache)
    assert unknown is not None and (unknown.outcome, unknown.reason) == (pb.VIOLATION, pb.NO_PERMIT)
