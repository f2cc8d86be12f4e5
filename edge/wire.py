"""The edge's side of the gRPC boundary: our reads into `platepatrol.v1` messages."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from edge.types import VotedRead
from platepatrol.v1 import enforcement_pb2 as pb


def read_to_proto(read: VotedRead, device_id: str) -> pb.PlateRead:
    captured_at = Timestamp()
    captured_at.FromDatetime(read.captured_at)
    return pb.PlateRead(
        read_id=read.read_id,
        device_id=device_id,
        camera_id=read.camera_id,
        captured_at=captured_at,
        plate_text=read.text,
        confidence=read.confidence,
        char_confidences=list(read.char_confidences),
        alternatives=[pb.Alternative(text=alt.text, confidence=alt.confidence) for alt in read.alternatives],
        frames_voted=read.frames_voted,
        evidence=pb.Evidence(crop_jpeg=read.crop_jpeg),
    )
