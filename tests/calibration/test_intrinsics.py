from pathlib import Path

import cv2
import numpy as np
import pytest

from calibration.board import BoardSpec
from calibration.intrinsics import (
    BoardView,
    IntrinsicsResult,
    Rejection,
    calibrate_folder,
    calibrate_images,
    calibrate_views,
    find_board,
    list_images,
)
from platepatrol.errors import UserError
from tests.calibration.conftest import PhotoSet


@pytest.fixture(scope="module")
def result(photo_set: PhotoSet) -> IntrinsicsResult:
    return calibrate_images(photo_set.photos, photo_set.board)


def test_recovers_the_focal_length_within_one_percent(result: IntrinsicsResult, photo_set: PhotoSet) -> None:
    estimate, truth = result.calibration, photo_set.camera
    assert estimate.fx == pytest.approx(truth.fx, rel=0.01)
    assert estimate.fy == pytest.approx(truth.fy, rel=0.01)


def test_recovers_the_principal_point_within_two_pixels(result: IntrinsicsResult, photo_set: PhotoSet) -> None:
    estimate, truth = result.calibration, photo_set.camera
    assert abs(estimate.cx - truth.cx) < 2.0
    assert abs(estimate.cy - truth.cy) < 2.0


def test_reprojection_error_is_small_overall_and_per_image(result: IntrinsicsResult) -> None:
    camera = result.calibration
    assert camera.rms_px is not None and camera.rms_px < 0.3
    assert len(camera.per_image_rms_px) == len(result.used) == 14
    assert all(0 < rms < 0.3 for _, rms in camera.per_image_rms_px)
    assert result.high_error_images() == [] and result.warnings() == []


def test_recovers_the_distortion(result: IntrinsicsResult, photo_set: PhotoSet) -> None:
    """Radial and tangential: the estimate moves pixels where the true lens does, to a fraction of a pixel."""
    estimate, truth = result.calibration, photo_set.camera
    grid = np.stack(np.meshgrid(np.linspace(20, 620, 13), np.linspace(20, 460, 9)), axis=-1).reshape(-1, 1, 2)
    rays = cv2.undistortPoints(grid, truth.camera_matrix, truth.dist_coeffs)
    points = np.concatenate([rays, np.ones((len(rays), 1, 1))], axis=2)
    again, _ = cv2.projectPoints(points, np.zeros(3), np.zeros(3), estimate.camera_matrix, estimate.dist_coeffs)
    assert np.abs(again - grid).max() < 1.0
    assert estimate.dist_coeffs[0] < -0.2  # barrel, as rendered


def test_images_without_the_board_are_rejected_by_name(photo_set: PhotoSet) -> None:
    blank = np.full((480, 640, 3), 128, dtype=np.uint8)
    photos = [*photo_set.photos, ("wall.png", blank), ("corrupt.jpg", None)]
    result = calibrate_images(photos, photo_set.board)
    assert result.rejected == (
        Rejection("wall.png", "no 9x6 board found"),
        Rejection("corrupt.jpg", "not a readable image"),
    )
    assert "wall.png" not in result.used and len(result.used) == 14


def test_a_photo_with_part_of_the_board_cut_off_is_rejected(photo_set: PhotoSet) -> None:
    name, image = photo_set.photos[0]
    cropped = image.copy()
    found = find_board(image, photo_set.board)
    assert found is not None
    left = int(found[:, 0, 0].min()) + 20  # paint over the first column of corners
    cropped[:, :left] = 128
    assert find_board(cropped, photo_set.board) is None


def test_too_few_usable_images_names_the_rejected(photo_set: PhotoSet) -> None:
    blank = np.full((480, 640, 3), 128, dtype=np.uint8)
    photos = [*photo_set.photos[:4], ("wall.png", blank)]
    with pytest.raises(UserError, match=r"only 4 of 5 images show the whole 9x6 board; at least 10") as caught:
        calibrate_images(photos, photo_set.board)
    assert "wall.png (no 9x6 board found)" in str(caught.value)


def test_the_minimum_can_be_lowered(photo_set: PhotoSet) -> None:
    result = calibrate_images(photo_set.photos[:6], photo_set.board, min_images=5)
    assert len(result.used) == 6


def test_a_board_size_that_matches_no_image_suggests_the_right_one(photo_set: PhotoSet) -> None:
    squares_not_corners = BoardSpec(10, 7, 25.0)
    with pytest.raises(UserError, match=r"no 10x7 board found in any of the 3 images") as caught:
        calibrate_images(photo_set.photos[:3], squares_not_corners)
    message = str(caught.value)
    assert "COLSxROWS counts inner corners" in message and "try --board 9x6" in message


def test_a_board_size_with_no_nearby_match_says_how_to_count(photo_set: PhotoSet) -> None:
    with pytest.raises(UserError, match=r"no 5x4 board found") as caught:
        calibrate_images(photo_set.photos[:2], BoardSpec(5, 4, 25.0))
    assert "a board of 6 x 5 squares is 5x4" in str(caught.value)


def test_photos_of_different_sizes_are_named(photo_set: PhotoSet) -> None:
    small = cv2.resize(photo_set.photos[1][1], (320, 240))
    photos = [photo_set.photos[0], ("phone.jpg", small), *photo_set.photos[2:4]]
    with pytest.raises(UserError, match=r"differ in size") as caught:
        calibrate_images(photos, photo_set.board)
    message = str(caught.value)
    assert "640x480: photo00.png, photo02.png, photo03.png" in message and "320x240: phone.jpg" in message


def test_no_readable_images(photo_set: PhotoSet) -> None:
    with pytest.raises(UserError, match=r"none of the images could be read \(a.png, b.png\)"):
        calibrate_images([("a.png", None), ("b.png", None)], photo_set.board)


def test_a_photo_that_stands_out_is_flagged(result: IntrinsicsResult, photo_set: PhotoSet) -> None:
    """A view whose corners are off (a bent board, a moved camera) is named in the warnings."""
    views = []
    for name, image in photo_set.photos:
        corners = find_board(image, photo_set.board)
        assert corners is not None
        views.append(BoardView(name, corners))
    rng = np.random.default_rng(1)
    bent = views[3].corners + rng.normal(0, 3.0, views[3].corners.shape).astype(np.float32)
    views[3] = BoardView(views[3].image, bent)
    flagged = calibrate_views(views, [], photo_set.board, (640, 480))
    assert flagged.high_error_images() == ["photo03.png"]
    assert any("photo03.png" in warning for warning in flagged.warnings())


def test_calibrates_a_folder_and_skips_previews(tmp_path: Path, photo_set: PhotoSet) -> None:
    for name, image in photo_set.photos[:12]:
        cv2.imwrite(str(tmp_path / name), image)
    (tmp_path / "notes.txt").write_text("not a photo")
    cv2.imwrite(str(tmp_path / "photo00.undistorted.png"), photo_set.photos[0][1])
    assert [p.name for p in list_images(tmp_path)] == [name for name, _ in photo_set.photos[:12]]
    seen: list[int] = []

    def count(items, total):  # type: ignore[no-untyped-def]
        seen.append(total)
        return items

    result = calibrate_folder(tmp_path, photo_set.board, wrap=count)
    assert seen == [12] and len(result.used) == 12
    assert result.calibration.board == photo_set.board


def test_a_missing_or_empty_folder(tmp_path: Path, board: BoardSpec) -> None:
    with pytest.raises(UserError, match=r"no such folder"):
        calibrate_folder(tmp_path / "absent", board)
    with pytest.raises(UserError, match=r"holds no images"):
        calibrate_folder(tmp_path, board)


def test_big_photos_are_searched_small_and_refined_full_size(photo_set: PhotoSet) -> None:
    name, image = photo_set.photos[2]
    big = cv2.resize(image, (2560, 1920), interpolation=cv2.INTER_CUBIC)
    small_corners = find_board(image, photo_set.board)
    big_corners = find_board(big, photo_set.board)
    assert small_corners is not None and big_corners is not None
    expected = (small_corners.reshape(-1, 2) + 0.5) * 4 - 0.5
    got = big_corners.reshape(-1, 2)
    assert min(np.abs(got - expected).max(), np.abs(got[::-1] - expected).max()) < 2.0
