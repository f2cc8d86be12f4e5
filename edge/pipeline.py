"""Frames of one camera in, one voted read per vehicle pass out.

A pass is read as soon as its vote is confident enough (the officer sees the verdict while the car is still
beside the vehicle), or when the pass ends; either way it yields exactly one read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from difflib import SequenceMatcher

import cv2

from calibration.mount import GroundMapper
from edge.config import TrackerConfig
from edge.detect import PlateDetector
from edge.gps import GpsSource, NoGps
from edge.observe import crop_plate, read_plate, sharpness
from edge.read import PlateReader
from edge.track import PlateTracker, Track
from edge.types import Box, Detection, Fix, Frame, Image, Observation, Reading, VotedRead
from edge.vote import Vote, vote
from platepatrol.ids import new_read_id

EVIDENCE_JPEG_QUALITY = 90
EVIDENCE_MAX_WIDTH = 480  # px; keeps the crop well under the backend's size limit


def encode_evidence(crop: Image) -> bytes:
    scale = min(1.0, EVIDENCE_MAX_WIDTH / max(crop.shape[1], 1))
    small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1.0 else crop
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, EVIDENCE_JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding of the evidence crop failed")
    return encoded.tobytes()


# Where the vehicle of a plate box is, from the car's fix: (lat, lon), or None when it cannot be told.
Locator = Callable[[Box, Fix], tuple[float, float] | None]


def mount_locator(mapper: GroundMapper) -> Locator:
    """Places a plate with the camera's calibrated view; needs the fix's heading to turn car axes to the map."""

    def locate(box: Box, fix: Fix) -> tuple[float, float] | None:
        if fix.heading_deg is None:
            return None
        return mapper.place(box.centre, fix.latitude, fix.longitude, fix.heading_deg)

    return locate


def voted_read(
    result: Vote, camera_id: str, last_seen_at: datetime, gps: GpsSource, locate: Locator | None = None
) -> VotedRead:
    evidence = result.evidence
    fix = gps.fix_at(evidence.captured_at, evidence.media_s)
    box = evidence.detection.box
    return VotedRead(
        read_id=new_read_id(),
        camera_id=camera_id,
        captured_at=evidence.captured_at,
        text=result.text,
        confidence=result.confidence,
        char_confidences=result.char_confidences,
        alternatives=result.alternatives,
        frames_voted=result.frames_voted,
        crop_jpeg=encode_evidence(evidence.crop),
        box=box,
        gps=fix,
        vehicle_position=locate(box, fix) if (locate is not None and fix is not None) else None,
        last_seen_at=last_seen_at,
    )


class CameraPipeline:
    """Detect, read and track the plates of one camera's frames; `process` returns the reads now due."""

    def __init__(
        self,
        camera_id: str,
        detector: PlateDetector,
        reader: PlateReader,
        tracker: TrackerConfig,
        gps: GpsSource | None = None,
        locate: Locator | None = None,
    ) -> None:
        self.camera_id = camera_id
        self._detector = detector
        self._reader = reader
        self._config = tracker
        self._tracker = PlateTracker(tracker)
        self._gps = gps or NoGps()
        self._locate = locate
        self._recent: deque[tuple[int, str]] = deque()  # (frame, text) of the reads sent lately

    def process(self, frame: Frame) -> list[VotedRead]:
        detections = self._detector.detect(frame.image)
        crops = [crop_plate(frame.image, detection.box) for detection in detections]
        owners, readings = self._assign_and_read(frame.index, detections, crops)
        observations = [
            Observation(frame.index, frame.captured_at, detection, reading, crop, sharpness(crop), frame.media_s)
            for detection, reading, crop in zip(detections, readings, crops, strict=True)
        ]
        height, width = frame.image.shape[:2]
        ended = self._tracker.update(frame.index, observations, owners, frame_size=(width, height))
        return self._reads(ended, final=True) + self._reads(self._tracker.open_tracks, final=False)

    def _assign_and_read(
        self, frame_index: int, detections: list[Detection], crops: list[Image]
    ) -> tuple[list[Track | None], list[Reading | None]]:
        """Each plate's track and reading. A reading that shows a plate is another vehicle than the track it
        was matched to vetoes that pair, and the frame is matched again: the track may continue with another
        plate of the frame (a dashcam's jump can make a neighbour the nearer box)."""
        boxes = [detection.box for detection in detections]
        readings: dict[int, Reading | None] = {}
        vetoed: set[tuple[int, int]] = set()
        while True:
            owners = self._tracker.assign(boxes, frozenset(vetoed))
            new_vetoes = set()
            for index, owner in enumerate(owners):
                # Reading is the costly step: a pass already sent, or read often enough, is only checked now
                # and then, in case another vehicle has taken its place in the image.
                if index not in readings and self._worth_reading(owner, frame_index):
                    readings[index] = read_plate(crops[index], detections[index], self._reader)
                reading = readings.get(index)
                if owner is not None and reading is not None and self._another_vehicle(owner, reading):
                    new_vetoes.add((owner.id, index))
            if not new_vetoes:
                return owners, [readings.get(index) for index in range(len(detections))]
            vetoed |= new_vetoes

    def _worth_reading(self, track: Track | None, frame_index: int) -> bool:
        if track is None:
            return True
        if track.emitted or self._reading_count(track) >= self._config.max_reads_per_pass:
            return frame_index - track.last_read_frame >= self._config.recheck_every_frames
        return True

    @staticmethod
    def _reading_count(track: Track) -> int:
        return sum(1 for observation in track.observations if observation.reading is not None)

    def _another_vehicle(self, track: Track, reading: Reading) -> bool:
        """A reading unlike the pass's text, and sure enough (split_confidence, or as sure as the pass's own
        vote when that is weaker): a new vehicle where the last one was in the image."""
        if track.emitted:
            known, known_confidence = track.emitted_text, 1.0
        elif (current := vote(track.observations)) is not None:
            known, known_confidence = current.text, current.confidence
        else:
            return False
        if reading.confidence < min(self._config.split_confidence, known_confidence):
            return False
        return SequenceMatcher(None, known, reading.text).ratio() < self._config.split_similarity

    def finish(self) -> list[VotedRead]:
        return self._reads(self._tracker.flush(), final=True)

    def _reads(self, tracks: list[Track], final: bool) -> list[VotedRead]:
        reads = []
        for track in tracks:
            if track.emitted:
                continue
            result = vote(track.observations)
            if result is None or not (final or self._confident(result)):
                continue
            track.emitted, track.emitted_text = True, result.text
            if self._seen_just_now(result.text, track.last.frame_index):
                continue  # the same vehicle, its track broken by a gap: it has its read already
            self._recent.append((track.last.frame_index, result.text))
            reads.append(voted_read(result, self.camera_id, track.last.captured_at, self._gps, self._locate))
        return reads

    def _seen_just_now(self, text: str, frame_index: int) -> bool:
        horizon = frame_index - self._config.dedupe_within_frames
        while self._recent and self._recent[0][0] < horizon:
            self._recent.popleft()
        # Alike, or one inside the other: a plate half out of the picture reads as a piece of the whole.
        return any(
            text in earlier
            or earlier in text
            or SequenceMatcher(None, text, earlier).ratio() >= self._config.dedupe_similarity
            for _, earlier in self._recent
        )

    def _confident(self, result: Vote) -> bool:
        enough_frames = result.frames_voted >= self._config.emit_after_frames
        return enough_frames and result.confidence >= self._config.emit_confidence
