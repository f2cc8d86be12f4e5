import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.capture import load_image, open_source
from platepatrol.errors import UserError


def write_video(path: Path, frames: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 5, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), i * 20, dtype=np.uint8))
    writer.release()


def test_video_frames_are_numbered_and_stamped(tmp_path: Path) -> None:
    write_video(tmp_path / "clip.mp4", 4)
    frames = list(open_source(str(tmp_path / "clip.mp4"), "front"))
    assert [f.index for f in frames] == [0, 1, 2, 3]
    assert all(f.camera_id == "front" and f.image.shape == (48, 64, 3) for f in frames)
    assert all(a.captured_at <= b.captured_at for a, b in itertools.pairwise(frames))


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
    assert [f.index for f in open_source(str(tmp_path), "front")] == [0, 1]


def test_load_image_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        load_image(tmp_path / "x.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(UserError, match="not a readable image"):
        load_image(tmp_path / "empty.png")
