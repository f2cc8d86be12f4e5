import itertools
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.capture import CameraFeed, FrameRateCap, Source, load_image, open_source
from edge.types import Frame
from platepatrol.errors import UserError
from tests.edge.builders import T0


def write_video(path: Path, frames: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 5, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), i * 20, dtype=np.uint8))
    writer.release()


def test_video_frames_are_numbered_and_stamped(tmp_path: Path) -> None:
    write_video(tmp_path / "clip.mp4", 4)
    source = open_source(str(tmp_path / "clip.mp4"), "front")
    assert source.fps == 5.0
    frames = list(source.frames)
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert all(f.camera_id == "front" and f.image.shape == (48, 64, 3) for f in frames)
    assert all(a.captured_at <= b.captured_at for a, b in itertools.pairwise(frames))
    assert [f.media_s for f in frames] == pytest.approx([0.0, 0.2, 0.4, 0.6])  # the recording's own clock


def test_a_missing_source(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file or folder"):
        open_source(str(tmp_path / "absent.mp4"), "front")


def test_a_file_that_is_not_a_video(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("not a video")
    with pytest.raises(UserError, match=r"cannot be opened|no readable frames"):
        open_source(str(bogus), "front")


def test_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="holds no images"):
        open_source(str(tmp_path), "front")


def test_a_bad_image_in_a_folder_is_skipped(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((10, 10, 3), np.uint8))
    (tmp_path / "b.jpg").write_bytes(b"broken")
    cv2.imwrite(str(tmp_path / "c.png"), np.zeros((10, 10, 3), np.uint8))
    (tmp_path / "readme.txt").write_text("not an image")
    assert [f.index for f in open_source(str(tmp_path), "front").frames] == [0, 1]


def test_load_image_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        load_image(tmp_path / "x.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(UserError, match="not a readable image"):
        load_image(tmp_path / "empty.png")


def frame(index: int, seconds: float) -> Frame:
    return Frame("front", index, T0 + timedelta(seconds=seconds), np.zeros((2, 2, 3), np.uint8))


def test_a_recording_is_thinned_by_its_own_clock() -> None:
    cap = FrameRateCap(max_fps=5, recording_fps=25, live=False)
    assert [i for i in range(12) if cap.admits(frame(i, 0))] == [0, 5, 10]


def test_a_live_camera_is_thinned_by_wall_time() -> None:
    cap = FrameRateCap(max_fps=10, recording_fps=None, live=True)
    times = [0.0, 0.05, 0.1, 0.12, 0.25]
    assert [t for i, t in enumerate(times) if cap.admits(frame(i, t))] == [0.0, 0.1, 0.25]


def test_no_cap_admits_everything() -> None:
    cap = FrameRateCap(max_fps=None, recording_fps=30, live=False)
    assert all(cap.admits(frame(i, 0)) for i in range(5))


def frames_of(count: int) -> Source:
    return Source(iter([frame(i, i / 10) for i in range(count)]), 10.0)


def test_a_live_feed_drops_the_oldest_and_counts() -> None:
    feed = CameraFeed(frames_of(10), queue_size=3, live=True, cap=FrameRateCap(None, None, True))
    feed.start()
    while not feed.ended:
        time.sleep(0.01)
    kept = [f.index for f in iter(feed.take, None)]
    assert kept == [7, 8, 9] and feed.dropped == 7


def test_a_recording_feed_waits_and_loses_nothing() -> None:
    feed = CameraFeed(frames_of(10), queue_size=2, live=False, cap=FrameRateCap(None, None, False))
    feed.start()
    taken: list[int] = []
    while not (feed.ended and not feed.waiting):
        if (item := feed.take()) is not None:
            taken.append(item.index)
        time.sleep(0.005)
    assert taken == list(range(10)) and feed.dropped == 0


def test_a_recording_frame_is_stamped_when_taken_a_live_one_when_captured() -> None:
    recording = CameraFeed(frames_of(3), queue_size=3, live=False, cap=FrameRateCap(None, None, False))
    live = CameraFeed(frames_of(3), queue_size=3, live=True, cap=FrameRateCap(None, None, True))
    for feed in (recording, live):
        feed.start()
        while not feed.ended:
            time.sleep(0.005)
    time.sleep(0.05)  # the frames wait in the queues
    before = datetime.now(UTC)
    recorded, captured = recording.take(), live.take()
    assert recorded is not None and captured is not None
    assert recorded.captured_at >= before  # the read-ahead wait is not a camera's latency
    assert captured.captured_at < before  # a live camera's frame keeps its capture time
