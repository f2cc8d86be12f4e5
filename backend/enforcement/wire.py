"""The gRPC boundary: `platepatrol.v1` messages checked and turned into our types, and verdicts back.

Every rule a read must meet is here, so a malformed read is refused with a message that names the field. Each
rule is an `if` that raises: its message is formatted only for a read that breaks it (formatting every message up
front cost more than the checks themselves).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from backend.config import ReadLimits
from backend.enforcement.reads import Alternative, GpsPoint, IncomingRead, VerdictOut
from backend.permits.watch import Change
from platepatrol.plates import MAX_PLATE_LENGTH, normalise_plate
from platepatrol.v1 import enforcement_pb2 as pb
from platepatrol.verdicts import Outcome, Reason

READ_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
CAMERA_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
JPEG_MAGIC = b"\xff\xd8\xff"
MAX_FRAMES_VOTED = 100_000
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidReadError(ValueError):
    """The read breaks a rule of the contract; the message says which."""


def _unit_interval(value: float, name: str) -> float:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise InvalidReadError(f"{name} must be between 0 and 1, got {value}")
    return float(value)


def timestamp_to_datetime(stamp: Timestamp) -> datetime:
    return datetime.fromtimestamp(stamp.seconds + stamp.nanos / 1e9, tz=UTC)


def datetime_to_timestamp(moment: datetime) -> Timestamp:
    since = moment.astimezone(UTC) - UNIX_EPOCH  # exact, and 4x faster than Timestamp.FromDatetime
    return Timestamp(seconds=since.days * 86_400 + since.seconds, nanos=since.microseconds * 1_000)


def plate_from_text(raw: str, field: str = "plate_text") -> str:
    plate = normalise_plate(raw)
    if not plate:
        raise InvalidReadError(f"{field} {raw!r} has no letters or digits")
    if len(plate) > MAX_PLATE_LENGTH:
        raise InvalidReadError(f"{field} {raw!r} is longer than {MAX_PLATE_LENGTH} characters")
    return plate


def _capture_time(message: pb.PlateRead, limits: ReadLimits, now: datetime) -> datetime:
    if not message.HasField("captured_at"):
        raise InvalidReadError("captured_at is required")
    try:
        captured_at = timestamp_to_datetime(message.captured_at)
    except (OverflowError, OSError, ValueError):
        raise InvalidReadError("captured_at is not a representable time") from None
    if captured_at > now + timedelta(seconds=limits.max_future_skew_s):
        raise InvalidReadError(f"captured_at {captured_at.isoformat()} is in the future (now {now.isoformat()})")
    if captured_at < now - timedelta(days=limits.max_age_days):
        raise InvalidReadError(f"captured_at {captured_at.isoformat()} is more than {limits.max_age_days:g} days old")
    return captured_at


def _check_position(latitude: float, longitude: float, field: str) -> None:
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise InvalidReadError(f"{field}.latitude {latitude} is out of range")
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise InvalidReadError(f"{field}.longitude {longitude} is out of range")


def _vehicle_position(message: pb.PlateRead) -> tuple[float, float] | None:
    if not message.HasField("vehicle_position"):
        return None
    point = message.vehicle_position
    _check_position(point.latitude, point.longitude, "vehicle_position")
    return point.latitude, point.longitude


def _gps(message: pb.PlateRead) -> GpsPoint | None:
    if not message.HasField("gps"):
        return None
    fix = message.gps
    _check_position(fix.latitude, fix.longitude, "gps")
    if not (math.isfinite(fix.accuracy_m) and fix.accuracy_m >= 0):
        raise InvalidReadError("gps.accuracy_m must be 0 or more")
    return GpsPoint(
        latitude=fix.latitude,
        longitude=fix.longitude,
        accuracy_m=fix.accuracy_m or None,
        heading_deg=fix.heading_deg % 360 if math.isfinite(fix.heading_deg) else None,
        speed_mps=fix.speed_mps if math.isfinite(fix.speed_mps) else None,
    )


def _evidence(message: pb.PlateRead, limits: ReadLimits) -> tuple[bytes, bytes | None]:
    crop, context = message.evidence.crop_jpeg, message.evidence.context_jpeg
    if not crop:
        raise InvalidReadError("evidence.crop_jpeg is required")
    if not crop.startswith(JPEG_MAGIC):
        raise InvalidReadError("evidence.crop_jpeg is not a JPEG image")
    if len(crop) > limits.max_crop_bytes:
        raise InvalidReadError(f"evidence.crop_jpeg is {len(crop)} bytes, over the limit of {limits.max_crop_bytes}")
    if not context:
        return crop, None
    if not context.startswith(JPEG_MAGIC):
        raise InvalidReadError("evidence.context_jpeg is not a JPEG image")
    if len(context) > limits.max_context_bytes:
        raise InvalidReadError(
            f"evidence.context_jpeg is {len(context)} bytes, over the limit of {limits.max_context_bytes}"
        )
    return crop, context


def read_from_proto(message: pb.PlateRead, device_name: str, limits: ReadLimits, now: datetime) -> IncomingRead:
    """Validate `message` from the device `device_name` and convert it; raises InvalidReadError."""
    if not READ_ID.match(message.read_id):
        raise InvalidReadError(f"read_id {message.read_id!r} must be 1-64 characters [A-Za-z0-9._:-]")
    if message.device_id not in ("", device_name):
        raise InvalidReadError(
            f"device_id {message.device_id!r} does not match the device of the token ({device_name!r})"
        )
    if not CAMERA_ID.match(message.camera_id):
        raise InvalidReadError(f"camera_id {message.camera_id!r} must be 1-64 characters")
    plate = plate_from_text(message.plate_text)
    char_confidences = tuple(_unit_interval(value, "char_confidences[]") for value in message.char_confidences)
    if char_confidences and len(char_confidences) != len(plate):
        raise InvalidReadError(
            f"char_confidences has {len(char_confidences)} values for the {len(plate)} characters of {plate}"
        )
    if len(message.alternatives) > limits.max_alternatives:
        raise InvalidReadError(f"{len(message.alternatives)} alternatives, over the limit of {limits.max_alternatives}")
    alternatives = tuple(
        Alternative(
            plate_from_text(alt.text, "alternatives[].text"),
            _unit_interval(alt.confidence, "alternatives[].confidence"),
        )
        for alt in message.alternatives
    )
    if message.frames_voted > MAX_FRAMES_VOTED:
        raise InvalidReadError(f"frames_voted {message.frames_voted} is implausible")
    crop, context = _evidence(message, limits)
    return IncomingRead(
        read_id=message.read_id,
        device_name=device_name,
        camera_id=message.camera_id,
        captured_at=_capture_time(message, limits, now),
        plate=plate,
        confidence=_unit_interval(message.confidence, "confidence"),
        char_confidences=char_confidences,
        alternatives=alternatives,
        frames_voted=max(1, message.frames_voted),
        gps=_gps(message),
        vehicle_position=_vehicle_position(message),
        crop_jpeg=crop,
        context_jpeg=context,
    )


def verdict_to_proto(verdict: VerdictOut) -> pb.Verdict:
    return pb.Verdict(
        read_id=verdict.read_id,
        outcome=pb.Outcome.Value(verdict.outcome.value),
        reason=pb.Reason.Value(verdict.reason.value),
        sentence=verdict.sentence,
        plate_text=verdict.plate,
        permit_id=verdict.permit_id or "",
        permit_revision=verdict.permit_revision or 0,
        zone_id=verdict.zone_id or "",
        decided_at=datetime_to_timestamp(verdict.decided_at),
        permit_data_age_s=verdict.permit_data_age_s,
        first_seen_read_id=verdict.first_seen_read_id or "",
        candidate_plate=verdict.candidate_plate or "",
    )


def error_verdict(read_id: str, problem: str, now: datetime) -> pb.Verdict:
    """The answer to a read that was refused: it names the read and says what is wrong with it."""
    return pb.Verdict(
        read_id=read_id,
        outcome=pb.ERROR,
        reason=pb.INVALID_READ,
        sentence=f"read refused: {problem}",
        decided_at=datetime_to_timestamp(now),
    )


def outcome_from_proto(value: int) -> Outcome:
    return Outcome(pb.Outcome.Name(value))  # type: ignore[arg-type]


def reason_from_proto(value: int) -> Reason:
    return Reason(pb.Reason.Name(value))  # type: ignore[arg-type]


def change_to_proto(change: Change) -> pb.PermitChange:
    message = pb.PermitChange(
        change_id=change.change_id, snapshot=change.snapshot, snapshot_complete=change.snapshot_complete
    )
    if change.permit is not None:
        permit = change.permit
        message.permit.CopyFrom(
            pb.PermitEntry(
                permit_id=permit.permit_id,
                revision=permit.revision,
                code=permit.code,
                plates=list(permit.plates),
                valid_from=datetime_to_timestamp(permit.valid_from),
                valid_until=datetime_to_timestamp(permit.valid_until),
                active=permit.active,
                zone_ids=list(permit.zone_ids),
                hours=[pb.HoursWindow(days=w["days"], start=w["start"], end=w["end"]) for w in permit.hours],
                timezone=permit.timezone,
            )
        )
    return message
