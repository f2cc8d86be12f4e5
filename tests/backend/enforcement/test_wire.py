from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from backend.config import ReadLimits
from backend.enforcement.reads import VerdictOut
from backend.enforcement.wire import (
    InvalidReadError,
    datetime_to_timestamp,
    outcome_from_proto,
    read_from_proto,
    reason_from_proto,
    timestamp_to_datetime,
    verdict_to_proto,
)
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.verdicts import Outcome, Reason

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 100
LIMITS = ReadLimits(max_crop_bytes=1000, max_context_bytes=2000)


def good_read(**changes: object) -> pb.PlateRead:
    message = pb.PlateRead(
        read_id="r-1",
        device_id="car-1",
        camera_id="front",
        captured_at=datetime_to_timestamp(NOW - timedelta(seconds=2)),
        plate_text="b 123-abc",
        confidence=0.9,
        char_confidences=[0.9] * 7,
        alternatives=[pb.Alternative(text="8123ABC", confidence=0.1)],
        frames_voted=4,
        gps=pb.GpsFix(latitude=44.43, longitude=26.1, accuracy_m=4.0, heading_deg=370.0),
        evidence=pb.Evidence(crop_jpeg=JPEG),
    )
    for field, value in changes.items():
        if isinstance(value, Message):
            getattr(message, field).CopyFrom(value)
        elif isinstance(value, list):
            del getattr(message, field)[:]
            getattr(message, field).extend(value)
        else:
            setattr(message, field, value)
    return message


def test_a_good_read_is_converted() -> None:
    read = read_from_proto(good_read(), "car-1", LIMITS, NOW)
    assert read.plate == "B123ABC"
    assert read.captured_at == NOW - timedelta(seconds=2)
    assert read.alternatives[0].text == "8123ABC"
    assert read.gps is not None and read.gps.heading_deg == pytest.approx(10.0)
    assert read.frames_voted == 4 and read.context_jpeg is None


def test_gps_is_optional() -> None:
    message = good_read()
    message.ClearField("gps")
    assert read_from_proto(message, "car-1", LIMITS, NOW).gps is None


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"read_id": ""}, "read_id"),
        ({"read_id": "x" * 65}, "read_id"),
        ({"read_id": "a b"}, "read_id"),
        ({"device_id": "car-2"}, "does not match the device"),
        ({"camera_id": ""}, "camera_id"),
        ({"plate_text": ""}, "has no letters or digits"),
        ({"plate_text": "- -"}, "has no letters or digits"),
        ({"plate_text": "A" * 13}, "longer than 12"),
        ({"confidence": 1.5}, "confidence must be between 0 and 1"),
        ({"confidence": float("nan")}, "confidence must be between 0 and 1"),
        ({"char_confidences": [0.5] * 3}, "char_confidences has 3 values"),
        ({"char_confidences": [2.0] * 7}, "char_confidences"),
        ({"captured_at": datetime_to_timestamp(NOW + timedelta(hours=1))}, "in the future"),
        ({"captured_at": datetime_to_timestamp(datetime(1999, 1, 1, tzinfo=UTC))}, "days old"),
        ({"evidence": pb.Evidence()}, "crop_jpeg is required"),
        ({"evidence": pb.Evidence(crop_jpeg=b"GIF89a")}, "not a JPEG"),
        ({"evidence": pb.Evidence(crop_jpeg=JPEG + b"\0" * 1000)}, "over the limit of 1000"),
        ({"evidence": pb.Evidence(crop_jpeg=JPEG, context_jpeg=JPEG + b"\0" * 2000)}, "context_jpeg is 2104 bytes"),
        ({"gps": pb.GpsFix(latitude=91.0)}, "gps.latitude"),
        ({"gps": pb.GpsFix(longitude=-181.0)}, "gps.longitude"),
        ({"vehicle_position": pb.GeoPoint(latitude=95.0)}, "vehicle_position.latitude"),
        ({"frames_voted": 10**6}, "frames_voted"),
    ],
)
def test_bad_reads_are_refused_with_the_reason(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidReadError, match=problem):
        read_from_proto(good_read(**changes), "car-1", LIMITS, NOW)


def test_missing_capture_time() -> None:
    message = good_read()
    message.ClearField("captured_at")
    with pytest.raises(InvalidReadError, match="captured_at is required"):
        read_from_proto(message, "car-1", LIMITS, NOW)


def test_too_many_alternatives() -> None:
    message = good_read()
    message.alternatives.extend(pb.Alternative(text=f"A{i}", confidence=0.1) for i in range(LIMITS.max_alternatives))
    with pytest.raises(InvalidReadError, match="alternatives, over the limit"):
        read_from_proto(message, "car-1", LIMITS, NOW)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_maps_to_the_contract_and_back(outcome: Outcome) -> None:
    assert outcome_from_proto(pb.Outcome.Value(outcome.value)) is outcome


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_maps_to_the_contract_and_back(reason: Reason) -> None:
    verdict = VerdictOut("r", "X1", Outcome.VIOLATION, reason, "s", None, None, None, NOW, 0.0)
    assert reason_from_proto(verdict_to_proto(verdict).reason) is reason


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 2, 10, 31, 0, 123456, tzinfo=UTC),
        datetime(2026, 6, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1969, 12, 31, 23, 59, 58, 500000, tzinfo=UTC),  # before 1970: negative seconds, positive nanos
        datetime(1970, 1, 1, tzinfo=UTC),
    ],
)
def test_datetime_to_timestamp_is_protobufs_own_conversion(moment: datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(moment.astimezone(UTC))
    assert datetime_to_timestamp(moment) == expected
    assert timestamp_to_datetime(datetime_to_timestamp(moment)) == moment
