from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from calibration.board import BoardSpec
from calibration.intrinsics import (
    BoardView,
    Image,
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
    """Radial (k1, k2) and tangential (p1, p2) alike."""
    k1, k2, p1, p2, _ = result.calibration.dist_coeffs
    true_k1, true_k2, true_p1, true_p2, _ = photo_set.camera.dist_coeffs
    assert k1 == pytest.approx(true_k1, rel=0.05) and k2 == pytest.approx(true_k2, abs=0.02)
    assert p1 == pytest.approx(true_p1, abs=3e-4) and p2 == pytest.approx(true_p2, abs=3e-4)


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
    _, image = photo_set.photos[0]
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


def test_too_few_images_with_none_rejected(photo_set: PhotoSet) -> None:
    with pytest.raises(UserError, match=r"^only 3 of 3 images .* at least 10 are needed. Take more photos"):
        calibrate_images(photo_set.photos[:3], photo_set.board)


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
    with pytest.raises(UserError, match=r"no 13x4 board found") as caught:
        calibrate_images(photo_set.photos[:1], BoardSpec(13, 4, 25.0))
    message = str(caught.value)
    assert "a board of 14 x 5 squares is 13x4" in message and "whole board, with its white border" in message


def test_a_smaller_board_size_is_not_matched_to_part_of_the_board(photo_set: PhotoSet) -> None:
    with pytest.raises(UserError, match=r"no 5x4 board found") as caught:
        calibrate_images(photo_set.photos[:1], BoardSpec(5, 4, 25.0))
    assert "try --board 9x6" in str(caught.value)


def test_photos_of_different_sizes_are_named(photo_set: PhotoSet) -> None:
    small = np.asarray(cv2.resize(photo_set.photos[1][1], (320, 240)), dtype=np.uint8)
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

    def count(items: Iterator[tuple[str, Image | None]], total: int) -> Iterator[tuple[str, Image | None]]:
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
    _, image = photo_set.photos[2]
    big = np.asarray(cv2.resize(image, (2560, 1920), interpolation=cv2.INTER_CUBIC), dtype=np.uint8)
    small_corners = find_board(image, photo_set.board)
    big_corners = find_board(big, photo_set.board)
    assert small_corners is not None and big_corners is not None
    expected = (small_corners.reshape(-1, 2) + 0.5) * 4 - 0.5
    got = big_corners.reshape(-1, 2)
    assert min(np.abs(got - expected).max(), np.abs(got[::-1] - expected).max()) < 2.0


def test_the_rational_model_for_very_wide_lenses(photo_set: PhotoSet) -> None:
    result = calibrate_images(photo_set.photos, photo_set.board, rational=True)
    assert result.calibration.dist_coeffs.shape == (8,)
    assert result.calibration.fx == pytest.approx(photo_set.camera.fx, rel=0.01)
    assert result.calibration.rms_px is not None and result.calibration.rms_px < 0.3
