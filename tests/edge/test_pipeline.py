"""The per-camera pipeline with stand-in models: what matters here is tracking, voting and emission."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from edge.config import TrackerConfig
from edge.gps import RouteReplay
from edge.observe import crop_plate
from edge.pipeline import CameraPipeline, mount_locator
from edge.types import Box, Detection, Fix, Frame, Image, Reading
from edge.wire import read_to_proto
from tests.edge.builders import T0


class ScriptedDetector:
    """Finds the boxes scripted for a frame; the frame's number is written in its first pixel."""

    def __init__(self, script: dict[int, list[Box]]) -> None:
        self._script = script

    def detect(self, image: Image) -> list[Detection]:
        return [Detection(box, 0.9) for box in self._script.get(int(image[0, 0, 0]), [])]


class ScriptedReader:
    """Reads the text scripted for a crop's width (each test plate has its own width)."""

    def __init__(self, texts: dict[int, list[tuple[str, float]]]) -> None:
        self._texts = {width: iter(readings) for width, readings in texts.items()}

    def read(self, crop: Image) -> Reading | None:
        readings = self._texts.get(crop.shape[1])
        text, confidence = next(readings, ("", 0.0)) if readings else ("", 0.0)
        return Reading(text, confidence) if text else None


def frame(index: int) -> Frame:
    image = np.full((720, 1280, 3), 60, dtype=np.uint8)
    image[0, 0, 0] = index
    return Frame("front", index, T0 + timedelta(seconds=index / 10), image)


PLATE = Box(400, 400, 500, 430)  # crops 116 px wide with the reader's margins
CONFIG = TrackerConfig(max_missed_frames=2, emit_after_frames=3, emit_confidence=0.6)


def run(pipeline: CameraPipeline, frames: int) -> list[tuple[int, str]]:
    emitted = [(i, read.text) for i in range(frames) for read in pipeline.process(frame(i))]
    return emitted + [(frames, read.text) for read in pipeline.finish()]


def test_a_confident_pass_is_read_once_before_it_ends() -> None:
    detector = ScriptedDetector({i: [PLATE] for i in range(8)})
    reader = ScriptedReader({116: [("B123ABC", 0.9)] * 8})
    assert run(CameraPipeline("front", detector, reader, CONFIG), 10) == [(2, "B123ABC")]


def test_a_doubtful_pass_is_read_when_it_ends() -> None:
    detector = ScriptedDetector({i: [PLATE] for i in range(4)})
    reader = ScriptedReader({116: [("B123ABC", 0.5), ("8123ABC", 0.5), ("B123A8C", 0.5), ("B12EABC", 0.5)]})
    # the frames disagree, so no early read; three frames after the plate is gone, one voted read
    assert run(CameraPipeline("front", detector, reader, CONFIG), 10) == [(6, "B123ABC")]


def test_two_vehicles_two_reads() -> None:
    other = Box(900, 420, 1050, 465)  # a different width: the stand-in reader cannot read it
    detector = ScriptedDetector({i: [PLATE, other] for i in range(5)})
    reader = ScriptedReader({116: [("B123ABC", 0.9)] * 5})
    reads = run(CameraPipeline("front", detector, reader, CONFIG), 6)
    assert sorted(text for _, text in reads) == ["B123ABC"]  # the other plate was never readable: no read


def test_reads_carry_the_fix_at_their_capture_time() -> None:
    route = RouteReplay([Fix(44.0, 26.0, T0), Fix(44.001, 26.0, T0 + timedelta(seconds=10))], start=T0)
    detector = ScriptedDetector({i: [PLATE] for i in range(3)})
    reader = ScriptedReader({116: [("B1", 0.9)] * 3})
    pipeline = CameraPipeline("front", detector, reader, CONFIG, route)
    (read,) = [r for i in range(3) for r in pipeline.process(frame(i))]
    assert read.gps is not None and read.gps.fixed_at == read.captured_at
    assert read.gps == route.fix_at(read.captured_at)
    message = read_to_proto(read, "car-1")
    assert message.HasField("gps") and message.gps.latitude == read.gps.latitude
    assert message.evidence.crop_jpeg.startswith(b"\xff\xd8")


def test_no_fix_is_said_not_invented() -> None:
    detector = ScriptedDetector({i: [PLATE] for i in range(3)})
    reader = ScriptedReader({116: [("B1", 0.9)] * 3})
    pipeline = CameraPipeline("front", detector, reader, CONFIG)
    (read,) = [r for i in range(3) for r in pipeline.process(frame(i))]
    assert read.gps is None and not read_to_proto(read, "car-1").HasField("gps")
    stamp = Timestamp()
    stamp.FromDatetime(read.captured_at)
    assert read_to_proto(read, "car-1").captured_at == stamp


class CountingReader(ScriptedReader):
    def __init__(self, texts: dict[int, list[tuple[str, float]]]) -> None:
        super().__init__(texts)
        self.calls = 0

    def read(self, crop: Image) -> Reading | None:
        self.calls += 1
        return super().read(crop)


def test_a_pass_already_sent_is_only_checked_now_and_then() -> None:
    detector = ScriptedDetector({i: [PLATE] for i in range(20)})
    reader = CountingReader({116: [("B123ABC", 0.9)] * 20})
    config = CONFIG.model_copy(update={"recheck_every_frames": 5})
    assert run(CameraPipeline("front", detector, reader, config), 25) == [(2, "B123ABC")]
    assert reader.calls == 3 + 3  # read until the pass was confident (frames 0-2), then at frames 7, 12, 17


def test_another_vehicle_in_the_same_place_is_a_new_pass() -> None:
    # The car in front changes between frames 5 and 6 but its plate sits where the last one was.
    detector = ScriptedDetector({i: [PLATE] for i in range(12)})
    reader = ScriptedReader({116: [("B123ABC", 0.9)] * 3 + [("CJ77XYZ", 0.9)] * 9})
    config = CONFIG.model_copy(update={"recheck_every_frames": 1})
    reads = run(CameraPipeline("front", detector, reader, config), 15)
    assert [text for _, text in reads] == ["B123ABC", "CJ77XYZ"]


def test_a_long_doubtful_pass_is_read_a_bounded_number_of_times() -> None:
    detector = ScriptedDetector({i: [PLATE] for i in range(30)})
    reader = CountingReader({116: [("B123ABC", 0.3)] * 30})
    config = TrackerConfig(
        max_missed_frames=2, emit_after_frames=3, emit_confidence=0.6, max_reads_per_pass=5, recheck_every_frames=10
    )
    assert run(CameraPipeline("front", detector, reader, config), 35) == [(32, "B123ABC")]
    assert reader.calls == 5 + 2  # five reads, then a check at frames 14 and 24


def test_a_mounted_camera_places_the_vehicle_beside_the_car() -> None:
    from calibration.mount import GroundMapper, Mount

    # A right-facing camera 1.2 m up, looking 10 degrees down, no lens distortion.
    mapper = GroundMapper(Mount("right", 1.2, 10.0), (1280, 720), [[900, 0, 640], [0, 900, 360], [0, 0, 1]])
    locate = mount_locator(mapper)
    heading_north = Fix(44.0, 26.0, T0, heading_deg=0.0)
    position = locate(Box(600, 420, 680, 440), heading_north)
    assert position is not None
    latitude, longitude = position
    assert longitude > 26.0 and abs(latitude - 44.0) < 2e-5  # to the right of a car driving north: east
    assert locate(Box(600, 420, 680, 440), Fix(44.0, 26.0, T0)) is None  # no heading, no placement


def test_a_recording_takes_its_fix_by_its_own_clock() -> None:
    route = RouteReplay([Fix(44.0, 26.0, T0), Fix(44.001, 26.0, T0 + timedelta(seconds=10))], start=T0)
    detector = ScriptedDetector({i: [PLATE] for i in range(3)})
    reader = ScriptedReader({116: [("B1", 0.9)] * 3})
    pipeline = CameraPipeline("front", detector, reader, CONFIG, route)
    late = [replace(frame(i), captured_at=T0 + timedelta(hours=1), media_s=5.0) for i in range(3)]
    (read,) = [r for f in late for r in pipeline.process(f)]
    assert read.gps is not None and read.gps.latitude == pytest.approx(44.0005)


def test_a_pass_broken_by_a_gap_is_read_once() -> None:
    # The detector loses the plate for longer than a track survives, then finds it again (misread once).
    seen = [i for i in range(12) if not 4 <= i <= 8]
    detector = ScriptedDetector({i: [PLATE] for i in seen})
    reader = ScriptedReader({116: [("B123ABC", 0.9)] * 4 + [("B123A8C", 0.9)] * 8})
    config = CONFIG.model_copy(update={"emit_after_frames": 2})
    assert [text for _, text in run(CameraPipeline("front", detector, reader, config), 15)] == ["B123ABC"]
    apart = CONFIG.model_copy(update={"emit_after_frames": 2, "dedupe_within_frames": 0})
    again = run(CameraPipeline("front", detector, ScriptedReader({116: [("B123ABC", 0.9)] * 12}), apart), 15)
    assert [text for _, text in again] == ["B123ABC", "B123ABC"]  # without the dedupe window: twice


def test_a_plate_half_out_of_the_picture_is_not_a_second_pass() -> None:
    # The whole plate is read, the track ends, then the edge of the image shows only a piece of it.
    seen = [i for i in range(12) if not 4 <= i <= 8]
    detector = ScriptedDetector({i: [PLATE] for i in seen})
    reader = ScriptedReader({116: [("B84EEE", 0.9)] * 4 + [("EEE", 0.9)] * 8})
    config = CONFIG.model_copy(update={"emit_after_frames": 2})
    assert [text for _, text in run(CameraPipeline("front", detector, reader, config), 15)] == ["B84EEE"]


def crop_width(box: Box) -> int:
    return int(crop_plate(frame(0).image, box).shape[1])


def test_a_jump_that_brings_a_pass_nearer_another_vehicle_keeps_each_plate_its_own_pass() -> None:
    # A dashcam jump: the front car's plate moves towards where a doubtful pass was last seen, and a third
    # plate appears near where the front car's was. The nearest-first match gives the front car's plate to the
    # doubtful pass; its reading vetoes that, and the frame is matched again.
    doubtful, front = Box(845, 517, 1052, 571), Box(268, 485, 442, 528)
    front_after, third = Box(555, 587, 817, 652), Box(58, 414, 164, 444)
    detector = ScriptedDetector(
        {**{i: [doubtful, front] for i in range(3)}, **{i: [front_after, third] for i in (3, 4, 5)}}
    )
    reader = ScriptedReader(
        {
            crop_width(doubtful): [("B75MCY", 0.4)] * 3,
            crop_width(front): [("B68SPK", 0.9)] * 3,
            crop_width(front_after): [("B68SPK", 0.95)] * 3,
            crop_width(third): [("B80HFI", 0.2)] * 3,  # too faint to split a pass by itself
        }
    )
    config = CONFIG.model_copy(update={"max_centre_shift": 2.5})
    reads = run(CameraPipeline("front", detector, reader, config), 8)
    assert sorted(text for _, text in reads) == ["B68SPK", "B75MCY", "B80HFI"]


def test_a_doubtful_pass_is_split_by_a_reading_as_sure_as_itself() -> None:
    # A weak pass (0.1) whose box moves on to something else read as surely: two passes; read less surely
    # than the pass itself, it is noise on the same plate.
    here, there = Box(400, 400, 500, 430), Box(520, 380, 600, 404)
    detector = ScriptedDetector({**{i: [here] for i in range(3)}, **{i: [there] for i in (3, 4, 5)}})
    texts = {crop_width(here): [("B80HFT", 0.1)] * 3}
    surely = ScriptedReader({**texts, crop_width(there): [("EB", 0.1)] * 3})
    assert [text for _, text in run(CameraPipeline("front", detector, surely, CONFIG), 8)] == ["B80HFT", "EB"]
    faintly = ScriptedReader({**texts, crop_width(there): [("EB", 0.01)] * 3})
    assert [text for _, text in run(CameraPipeline("front", detector, faintly, CONFIG), 8)] == ["B80HFT"]
