from edge.config import TrackerConfig
from edge.track import PlateTracker
from edge.types import Box, Observation
from tests.edge.builders import observation

CONFIG = TrackerConfig(min_iou=0.1, max_centre_shift=2.0, max_missed_frames=2, min_frames=1)


def moving(frame: int, x: float, text: str = "B1") -> Observation:
    return observation(text, frame=frame, box=Box(x, 100, x + 100, 130))


def test_no_frames_no_tracks() -> None:
    tracker = PlateTracker(CONFIG)
    assert tracker.update(0, []) == [] and tracker.flush() == []


def test_a_plate_moving_across_frames_is_one_track() -> None:
    tracker = PlateTracker(CONFIG)
    for frame in range(5):
        assert tracker.update(frame, [moving(frame, 100 + 30 * frame)]) == []
    (track,) = tracker.flush()
    assert [o.frame_index for o in track.observations] == [0, 1, 2, 3, 4]


def test_a_track_ends_after_missed_frames() -> None:
    tracker = PlateTracker(CONFIG)
    tracker.update(0, [moving(0, 100)])
    assert tracker.update(1, []) == [] and tracker.update(2, []) == []
    (ended,) = tracker.update(3, [])
    assert len(ended.observations) == 1


def test_two_plates_in_one_frame_are_two_tracks() -> None:
    tracker = PlateTracker(CONFIG)
    for frame in range(3):
        tracker.update(frame, [moving(frame, 100 + 10 * frame, "A1"), moving(frame, 900 - 10 * frame, "B2")])
    tracks = tracker.flush()
    assert [len(t.observations) for t in tracks] == [3, 3]
    texts = [{o.reading.text for o in track.observations if o.reading} for track in tracks]
    assert sorted(map(sorted, texts)) == [["A1"], ["B2"]]


def test_a_far_jump_is_a_new_vehicle() -> None:
    tracker = PlateTracker(CONFIG)
    tracker.update(0, [moving(0, 100)])
    tracker.update(1, [moving(1, 800)])
    assert len(tracker.flush()) == 2


def test_short_tracks_are_dropped_as_noise() -> None:
    tracker = PlateTracker(TrackerConfig(max_missed_frames=0, min_frames=2))
    tracker.update(0, [moving(0, 100)])
    assert tracker.update(5, []) == []


def test_a_plate_that_drove_out_of_the_picture_ends_sooner() -> None:
    config = TrackerConfig(max_missed_frames=8, border_margin=0.08, border_missed_frames=2)
    size = (1280, 720)
    for last_x, ends_after in [(1150.0, 3), (500.0, 9)]:  # box reaches x=1250 (> 92 % of 1280): at the edge
        tracker = PlateTracker(config)
        tracker.update(0, [moving(0, last_x)], frame_size=size)
        ended_at = next(frame for frame in range(1, 20) if tracker.update(frame, [], frame_size=size))
        assert ended_at == ends_after, last_x


def test_without_the_frame_size_only_missed_frames_end_a_track() -> None:
    tracker = PlateTracker(TrackerConfig(max_missed_frames=8, border_missed_frames=2))
    tracker.update(0, [moving(0, 1150.0)])
    assert all(tracker.update(frame, []) == [] for frame in range(1, 9))
    assert tracker.update(9, [])
