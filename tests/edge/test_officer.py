import io
import json
from pathlib import Path

from rich.console import Console

from edge.officer import JsonLinesLog, OfficerView, RigStatus, answer_record, verdict_line
from edge.uplink import Answer
from platepatrol.v1 import enforcement_pb2 as pb
from tests.edge.builders import T0


def answer(outcome: int = pb.VIOLATION, provisional: bool = False, trip: float | None = 12.34) -> Answer:
    read = pb.PlateRead(read_id="r1", camera_id="front", plate_text="B123ABC", confidence=0.87)
    read.captured_at.FromDatetime(T0)
    verdict = pb.Verdict(read_id="r1", outcome=outcome, reason=pb.NO_PERMIT, provisional=provisional)  # type: ignore[arg-type]
    return Answer(read, verdict, trip)


def test_a_verdict_line_has_every_field() -> None:
    line = verdict_line(answer())
    for part in ("front", "B123ABC", "0.87", "VIOLATION", "NO_PERMIT", "12.3 ms"):
        assert part in line


def test_provisional_and_resent_verdicts_say_so() -> None:
    assert "provisional" in verdict_line(answer(provisional=True))
    assert "resent" in verdict_line(answer(trip=None))


def test_piped_output_is_one_line_per_verdict() -> None:
    out = io.StringIO()
    view = OfficerView(Console(file=out, width=200), beep=True)
    view.show(answer(pb.PERMITTED))
    view.show(answer(pb.VIOLATION))
    view.status(RigStatus("online", 0, {"front": 20.0}, {"front": 0}))
    view.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "PERMITTED" in lines[0] and "VIOLATION" in lines[1]
    assert "\a" not in out.getvalue()  # no bell where there is no terminal


def test_a_terminal_gets_a_live_screen_and_a_bell() -> None:
    out = io.StringIO()
    view = OfficerView(Console(file=out, width=120, force_terminal=True), beep=True)
    view.status(RigStatus("offline", 3, {"front": 19.5}, {"front": 2}))
    view.show(answer(pb.VIOLATION))
    view.close()
    screen = out.getvalue()
    assert "\a" in screen and "B123ABC" in screen and "outbox 3" in screen and "19.5 fps" in screen


def test_json_lines_log(tmp_path: Path) -> None:
    log = JsonLinesLog(tmp_path / "log" / "verdicts.jsonl")
    log.write(answer())
    log.close()
    (record,) = [json.loads(line) for line in (tmp_path / "log" / "verdicts.jsonl").read_text().splitlines()]
    assert record == answer_record(answer())
    assert record["outcome"] == "VIOLATION" and record["gps"] is None and record["provisional"] is False
