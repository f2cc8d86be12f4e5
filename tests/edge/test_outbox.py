from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.outbox import Outbox


def test_reads_wait_in_order_until_settled(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    for read_id in ("a", "b", "c"):
        outbox.put(read_id, read_id.encode())
    outbox.put("a", b"again")  # the same read twice is stored once
    assert [p.read_id for p in outbox.pending()] == ["a", "b", "c"] and outbox.depth() == 3
    assert outbox.settle("b", b"verdict-b") == b"b"
    assert outbox.settle("b", b"verdict-b2") is None  # a second answer settles nothing
    assert [p.read_id for p in outbox.pending()] == ["a", "c"]
    assert outbox.verdict("b") == b"verdict-b"
    first = outbox.pending()[0]
    assert [p.read_id for p in outbox.pending(after_seq=first.seq)] == ["c"]


def test_the_outbox_survives_a_restart(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    outbox.put("a", b"payload")
    outbox.close()
    reopened = Outbox(tmp_path / "outbox.db")
    assert [(p.read_id, p.message) for p in reopened.pending()] == [("a", b"payload")]


def test_unknown_reads_settle_nothing(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    assert outbox.settle("ghost", b"v") is None and outbox.verdict("ghost") is None


def test_old_verdicts_are_purged(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    outbox.put("a", b"a")
    outbox.settle("a", b"v")
    assert outbox.purge_verdicts(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert outbox.purge_verdicts(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert outbox.verdict("a") is None


class SteppingClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_answered_reads_are_forgotten_after_the_keep_time(tmp_path: Path) -> None:
    clock = SteppingClock()
    outbox = Outbox(tmp_path / "outbox.db", keep_verdicts=timedelta(hours=12), clock=clock)
    outbox.put("morning", b"read")
    outbox.settle("morning", b"verdict")
    clock.now += timedelta(hours=11, minutes=59)
    outbox.put("noon", b"read")
    outbox.settle("noon", b"verdict")
    assert outbox.verdict("morning") == b"verdict"  # not yet 12 hours old
    clock.now += timedelta(minutes=2)
    outbox.put("later", b"read")
    outbox.settle("later", b"verdict")  # settling purges what is past its time
    assert outbox.verdict("morning") is None and outbox.verdict("noon") == b"verdict"
    outbox.close()
    clock.now += timedelta(hours=13)
    reopened = Outbox(tmp_path / "outbox.db", keep_verdicts=timedelta(hours=12), clock=clock)  # and so does opening
    assert reopened.verdict("noon") is None and reopened.verdict("later") is None


def test_unanswered_reads_are_never_purged(tmp_path: Path) -> None:
    clock = SteppingClock()
    outbox = Outbox(tmp_path / "outbox.db", keep_verdicts=timedelta(hours=1), clock=clock)
    outbox.put("offline", b"read")
    clock.now += timedelta(days=3)
    outbox.close()
    reopened = Outbox(tmp_path / "outbox.db", keep_verdicts=timedelta(hours=1), clock=clock)
    assert [p.read_id for p in reopened.pending()] == ["offline"]
