"""Frames of one camera in, one voted read per vehicle pass out."""

from __future__ import annotations

import uuid

import cv2

from edge.config import TrackerConfig
from edge.detect import PlateDetector
from edge.observe import plates_in, sharpness
from edge.read import PlateReader
from edge.track import PlateTracker, Track
from edge.types import Frame, Image, Observation, VotedRead
from edge.vote import vote

EVIDENCE_JPEG_QUALITY = 90
EVIDENCE_MAX_WIDTH = 480  # px; keeps the crop well under the backend's size limit


def encode_evidence(crop: Image) -> bytes:
    scale = min(1.0, EVIDENCE_MAX_WIDTH / max(crop.shape[1], 1))
    small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1.0 else crop
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, EVIDENCE_JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding of the evidence crop failed")
    return encoded.tobytes()


def voted_read(track: Track, camera_id: str) -> VotedRead | None:
    result = vote(track.observations)
    if result is None:
        return None
    evidence = result.evidence
    return VotedRead(
        read_id=str(uuid.uuid4()),
        camera_id=camera_id,
        captured_at=evidence.captured_at,
        text=result.text,
        confidence=result.confidence,
        char_confidences=result.char_confidences,
        alternatives=result.alternatives,
        frames_voted=result.frames_voted,
        crop_jpeg=encode_evidence(evidence.crop),
        box=evidence.detection.box,
    )


class CameraPipeline:
    """Detect, read and track the plates of one camera's frames; `process` returns the passes that ended."""

    def __init__(self, camera_id: str, detector: PlateDetector, reader: PlateReader, tracker: TrackerConfig) -> None:
        self.camera_id = camera_id
        self._detector = detector
        self._reader = reader
        self._tracker = PlateTracker(tracker)

    def process(self, frame: Frame) -> list[VotedRead]:
        observations = [
            Observation(
                frame_index=frame.index,
                captured_at=frame.captured_at,
                detection=plate.detection,
                reading=plate.reading,
                crop=plate.crop,
                sharpness=sharpness(plate.crop),
            )
            for plate in plates_in(frame.image, self._detector, self._reader)
        ]
        return self._reads(self._tracker.update(frame.index, observations))

    def finish(self) -> list[VotedRead]:
        return self._reads(self._tracker.flush())

    def _reads(self, tracks: list[Track]) -> list[VotedRead]:
        reads = (voted_read(track, self.camera_id) for track in tracks)
        return [read for read in reads if read is not None]
