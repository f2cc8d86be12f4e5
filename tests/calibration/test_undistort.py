from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from calibration.board import BoardSpec
from calibration.camera_model import CameraCalibration
from calibration.intrinsics import calibrate_images, find_board
from calibration.synthetic import example_camera, project_corners
from calibration.undistort import Undistorter, rectified_camera_matrix
from platepatrol.errors import UserError
from tests.calibration.conftest import PhotoSet


def worst_bend_px(corners: npt.NDArray[np.float32], board: BoardSpec) -> float:
    """How far the board's rows and columns of corners stray from straight lines (max, px)."""
    grid = corners.reshape(board.rows, board.cols, 2).astype(np.float64)
    lines = [grid[row] for row in range(board.rows)] + [grid[:, col] for col in range(board.cols)]
    worst = 0.0
    for points in lines:
        centred = points - points.mean(axis=0)
        _, _, axes = np.linalg.svd(centred)
        worst = max(worst, float(np.abs(centred @ axes[1]).max()))  # distance from the best-fit line
    return worst


def most_bent_photo(photo_set: PhotoSet) -> tuple[str, npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    found = []
    for name, image in photo_set.photos:
        corners = find_board(image, photo_set.board)
        assert corners is not None
        found.append((worst_bend_px(corners, photo_set.board), name, image, corners))
    _, name, image, corners = max(found, key=lambda item: item[0])
    return name, image, corners


def test_undistorting_straightens_the_board_lines(photo_set: PhotoSet) -> None:
    _, image, raw_corners = most_bent_photo(photo_set)
    assert worst_bend_px(raw_corners, photo_set.board) > 3.0  # the lens really bends them
    estimate = calibrate_images(photo_set.photos, photo_set.board).calibration
    for camera in (photo_set.camera, estimate):
        straight = Undistorter(camera).undistort(image)
        assert straight.shape == image.shape and straight.dtype == np.uint8
        corners = find_board(straight, photo_set.board)
        assert corners is not None
        assert worst_bend_px(corners, photo_set.board) < 0.5


def test_frames_and_points_agree(photo_set: PhotoSet) -> None:
    """A corner found in the undistorted frame is where undistort_points puts the raw corner."""
    undistorter = Undistorter(photo_set.camera)
    (_, image), pose = photo_set.photos[0], photo_set.poses[0]
    truth = undistorter.undistort_points(project_corners(photo_set.camera, photo_set.board, pose))
    found = find_board(undistorter.undistort(image), photo_set.board)
    assert found is not None
    found = found.reshape(-1, 2)
    assert min(np.abs(found - truth).max(), np.abs(found[::-1] - truth).max()) < 0.5


def test_points_round_trip(true_camera: CameraCalibration) -> None:
    undistorter = Undistorter(true_camera)
    raw = np.array([[0.0, 0.0], [639.0, 479.0], [320.0, 240.0], [600.0, 30.0], [15.0, 400.0]])
    again = undistorter.distort_points(undistorter.undistort_points(raw))
    assert np.abs(again - raw).max() < 1e-3


def test_keep_width_keeps_the_left_and_right_edges(true_camera: CameraCalibration) -> None:
    undistorter = Undistorter(true_camera, keep_width=1.0)
    edges = undistorter.undistort_points([[0.0, true_camera.cy], [639.0, true_camera.cy]])
    assert edges[:, 0] == pytest.approx([0.0, 639.0], abs=0.01)
    matrix = undistorter.camera_matrix
    assert matrix[1, 1] / matrix[0, 0] == pytest.approx(true_camera.fy / true_camera.fx)  # square stays square
    assert matrix[0, 0] < true_camera.fx  # zoomed out to fit the bulge


def test_keep_width_zero_keeps_the_focal_length(true_camera: CameraCalibration) -> None:
    matrix = rectified_camera_matrix(true_camera, keep_width=0.0)
    np.testing.assert_allclose(matrix, true_camera.camera_matrix)
    with pytest.raises(UserError, match=r"keep_width must be between 0 and 1, not 1.5"):
        rectified_camera_matrix(true_camera, keep_width=1.5)


def test_a_frame_of_another_size_is_refused(true_camera: CameraCalibration) -> None:
    undistorter = Undistorter(true_camera)
    with pytest.raises(UserError, match=r"^frame is 1280x720 but the camera was calibrated at 640x480"):
        undistorter.undistort(np.zeros((720, 1280, 3), dtype=np.uint8))


def test_grey_frames_work_too(true_camera: CameraCalibration) -> None:
    grey = np.full((480, 640), 200, dtype=np.uint8)
    out = Undistorter(true_camera).undistort(grey)
    assert out.shape == (480, 640) and out[240, 320] == 200


def test_from_file(tmp_path: Path) -> None:
    camera = example_camera((1280, 720))
    camera.save(tmp_path / "camera.yaml")
    undistorter = Undistorter.from_file(tmp_path / "camera.yaml")
    assert undistorter.image_size == (1280, 720)
    frame = np.random.default_rng(0).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    assert undistorter.undistort(frame).shape == (720, 1280, 3)
    with pytest.raises(UserError, match=r"no such file"):
        Undistorter.from_file(tmp_path / "absent.yaml")
