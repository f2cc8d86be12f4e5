import numpy as np

from calibration.board import BoardSpec
from calibration.intrinsics import find_board
from calibration.synthetic import project_corners
from tests.calibration.conftest import VIEWS, PhotoSet


def test_photos_show_the_whole_board_in_colour_at_the_camera_size(photo_set: PhotoSet) -> None:
    assert len(photo_set.photos) == VIEWS
    for _, image in photo_set.photos:
        assert image.shape == (480, 640, 3) and image.dtype == np.uint8


def test_corners_are_where_the_camera_model_projects_them(photo_set: PhotoSet, board: BoardSpec) -> None:
    """The renderer's own truth: detected corners match cv2.projectPoints through the distorted lens."""
    for (_, image), pose in zip(photo_set.photos, photo_set.poses, strict=True):
        found = find_board(image, board)
        assert found is not None
        truth = project_corners(photo_set.camera, board, pose)
        found = found.reshape(-1, 2)
        # The detector may number the corners from the opposite end; either order is the same board.
        error = min(np.abs(found - truth).max(), np.abs(found[::-1] - truth).max())
        assert error < 0.5


def test_poses_are_varied(photo_set: PhotoSet) -> None:
    tilts = [np.degrees(np.linalg.norm(pose.rvec)) for pose in photo_set.poses]
    centres = np.array([pose.tvec[:2] / pose.tvec[2] for pose in photo_set.poses])
    assert max(tilts) - min(tilts) > 10
    assert np.ptp(centres[:, 0]) > 0.5 and np.ptp(centres[:, 1]) > 0.3
