from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config import CameraConfig
from edge.rig import Rig
from platepatrol.errors import UserError


def folder_of(path: Path, count: int, shade: int) -> Path:
    path.mkdir()
    for i in range(count):
        cv2.imwrite(str(path / f"{i:03d}.png"), np.full((24, 32, 3), shade, np.uint8))
    return path


def test_frames_of_every_camera_in_turn(tmp_path: Path) -> None:
    cameras = [
        CameraConfig(id="left", source=str(folder_of(tmp_path / "a", 3, 10))),
        CameraConfig(id="right", source=str(folder_of(tmp_path / "b", 5, 200))),
    ]
    rig = Rig(cameras)
    frames = list(rig.frames())
    rig.stop()
    assert sorted((f.camera_id, f.index) for f in frames) == sorted(
        [("left", i) for i in range(3)] + [("right", i) for i in range(5)]
    )
    assert all(f.image[0, 0, 0] == (10 if f.camera_id == "left" else 200) for f in frames)
    assert [s.dropped for s in rig.stats()] == [0, 0]  # recordings lose nothing


def test_no_camera_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="no camera"):
        Rig([])


def test_one_bad_source_fails_the_start(tmp_path: Path) -> None:
    cameras = [
        CameraConfig(id="left", source=str(folder_of(tmp_path / "a", 1, 10))),
        CameraConfig(id="right", source=str(tmp_path / "absent.mp4")),
    ]
    with pytest.raises(UserError, match=r"absent\.mp4: no such file"):
        Rig(cameras)


def test_a_calibrated_camera_is_undistorted_at_capture(tmp_path: Path) -> None:
    from calibration.camera_model import CameraCalibration

    calibration = CameraCalibration((32, 24), np.array([[30.0, 0, 16], [0, 30.0, 12], [0, 0, 1]]), np.zeros(5))
    calibration.save(tmp_path / "camera.yaml")
    images = folder_of(tmp_path / "a", 2, 90)
    rig = Rig([CameraConfig(id="front", source=str(images), calibration=tmp_path / "camera.yaml")])
    frames = list(rig.frames())
    rig.stop()
    assert len(frames) == 2 and frames[0].image.shape == (24, 32, 3)
