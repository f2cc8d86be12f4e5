"""Synthetic photos of a checkerboard through a known wide lens, rendered once per test session."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from calibration.board import BoardSpec
from calibration.camera_model import CameraCalibration
from calibration.synthetic import BoardPose, Image, example_camera, render_views

VIEWS = 14


@dataclass(frozen=True)
class PhotoSet:
    camera: CameraCalibration  # the truth the photos were rendered through
    board: BoardSpec
    photos: list[tuple[str, Image]]
    poses: list[BoardPose]


@pytest.fixture(scope="session")
def board() -> BoardSpec:
    return BoardSpec(9, 6, 25.0)


@pytest.fixture(scope="session")
def true_camera() -> CameraCalibration:
    """640x480, about 90 degrees across, barrel distortion plus tangential (decentring) distortion."""
    return example_camera((640, 480))


@pytest.fixture(scope="session")
def photo_set(true_camera: CameraCalibration, board: BoardSpec) -> PhotoSet:
    views = render_views(true_camera, board, VIEWS, seed=7)
    photos = [(f"photo{i:02d}.png", image) for i, (image, _) in enumerate(views)]
    return PhotoSet(true_camera, board, photos, [pose for _, pose in views])
