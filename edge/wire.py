"""The edge's side of the gRPC boundary: our reads into `platepatrol.v1` messages."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from edge.types import Fix, VotedRead
from platepatrol.v1 import enforcement_pb2 as pb


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def fix_to_proto(fix: Fix) -> pb.GpsFix:
    return pb.GpsFix(
        latitude=fix.latitude,
        longitude=fix.longitude,
        accuracy_m=fix.accuracy_m or 0.0,
        heading_deg=fix.heading_deg or 0.0,
        speed_mps=fix.speed_mps or 0.0,
        fixed_at=_timestamp(fix.fixed_at),
    )


def read_to_proto(read: VotedRead, device_id: str) -> pb.PlateRead:
    message = pb.PlateRead(
        read_id=read.read_id,
        device_id=device_id,
        camera_id=read.camera_id,
        captured_at=_timestamp(read.captured_at),
        plate_text=read.text,
        confidence=read.confidence,
        char_confidences=list(read.char_confidences),
        alternatives=[pb.Alternative(text=alt.text, confidence=alt.confidence) for alt in read.alternatives],
        frames_voted=read.frames_voted,
        evidence=pb.Evidence(crop_jpeg=read.crop_jpeg),
    )
    if read.gps is not None:  # no fix: the field stays absent, never a made-up position
        message.gps.CopyFrom(fix_to_proto(read.gps))
    if read.vehicle_position is not None:
        latitude, longitude = read.vehicle_position
        message.vehicle_position.CopyFrom(pb.GeoPoint(latitude=latitude, longitude=longitude))
    return message
