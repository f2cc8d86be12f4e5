import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from calibration.camera_model import CameraCalibration
from calibration.intrinsics import calibrate_images
from calibration.mount import (
    WGS84_A_M,
    GroundMapper,
    Mount,
    fit_mount,
    ground_to_world,
    load_ground_points,
    nearest_side,
)
from calibration.synthetic import example_camera
from calibration.undistort import Undistorter
from platepatrol.errors import UserError
from tests.calibration.conftest import PhotoSet

# A kerb-side camera: on the roof bar, 1.6 m up, looking left and down, slightly forward, a little rolled.
TRUE_MOUNT = Mount("left", height_m=1.6, pitch_deg=18.0, yaw_deg=-8.0, roll_deg=1.5, x_m=0.4, y_m=0.7)
# Kerb and parked cars 2-9 m to the left, 4 m behind to 4 m ahead.
GROUND = np.array([[x, y] for x in (-4.0, -2.0, 0.0, 2.0, 4.0) for y in (2.0, 3.5, 5.0, 7.0, 9.0)])


def distance_from_camera(points: np.ndarray) -> np.ndarray:
    return np.hypot(points[:, 0] - TRUE_MOUNT.x_m, points[:, 1] - TRUE_MOUNT.y_m)


def visible(mapper: GroundMapper, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ground points this camera sees, and their pixels."""
    pixels = mapper.ground_to_pixel(points)
    width, height = mapper.image_size
    inside = np.isfinite(pixels).all(axis=1) & (pixels[:, 0] >= 0) & (pixels[:, 0] <= width - 1)
    inside &= (pixels[:, 1] >= 0) & (pixels[:, 1] <= height - 1)
    return points[inside], pixels[inside]


def test_known_ground_points_map_back_exactly_through_the_true_camera(true_camera: CameraCalibration) -> None:
    mapper = GroundMapper.for_raw_frames(TRUE_MOUNT, true_camera)
    points, pixels = visible(mapper, GROUND)
    assert len(points) >= 12
    np.testing.assert_allclose(mapper.pixel_to_ground(pixels), points, atol=1e-6)


def test_mount_mapping_through_an_estimated_lens_is_within_five_percent(photo_set: PhotoSet) -> None:
    """The edge's path: a raw frame's pixel (rounded, as a detector reports) through the estimated lens,
    undistorted, then to the ground: every point lands within 5 % of its distance from the camera."""
    truth = GroundMapper.for_raw_frames(TRUE_MOUNT, photo_set.camera)
    points, raw_pixels = visible(truth, GROUND)
    estimate = calibrate_images(photo_set.photos, photo_set.board).calibration
    undistorter = Undistorter(estimate)
    mapper = GroundMapper.for_undistorter(TRUE_MOUNT, undistorter)
    placed = mapper.pixel_to_ground(undistorter.undistort_points(np.rint(raw_pixels)))
    error = np.linalg.norm(placed - points, axis=1)
    assert len(points) >= 12
    assert (error < 0.05 * distance_from_camera(points)).all()


def test_plates_above_the_ground_are_placed_on_their_own_plane(true_camera: CameraCalibration) -> None:
    mapper = GroundMapper.for_raw_frames(TRUE_MOUNT, true_camera)
    plates = np.array([[0.0, 4.0, 0.5], [2.0, 6.0, 0.45]])
    pixels = mapper.ground_to_pixel(plates)
    np.testing.assert_allclose(mapper.pixel_to_ground(pixels[:1], height_m=0.5), plates[:1, :2], atol=1e-6)
    on_ground = mapper.pixel_to_ground(pixels[:1])
    assert np.hypot(*(on_ground[0] - [0.4, 0.7])) > np.hypot(*(plates[0, :2] - [0.4, 0.7]))  # further off


def test_the_sky_has_no_ground_point(true_camera: CameraCalibration) -> None:
    mapper = GroundMapper.for_raw_frames(TRUE_MOUNT, true_camera)
    horizon = mapper.horizon_row()
    assert horizon is not None and 0 < horizon < 240
    above, below = mapper.pixel_to_ground([[320.0, horizon - 20], [320.0, horizon + 20]])
    assert np.isnan(above).all() and np.isfinite(below).all()
    with pytest.raises(UserError, match=r"not below the camera"):
        mapper.pixel_to_ground([[320.0, 400.0]], height_m=2.0)


def test_a_camera_facing_left_sees_forward_on_the_right_of_its_frame(true_camera: CameraCalibration) -> None:
    mapper = GroundMapper(Mount("left", 1.5, 15.0), true_camera.image_size, true_camera.camera_matrix)
    ahead, behind = mapper.ground_to_pixel([[1.0, 4.0], [-1.0, 4.0]])
    assert ahead[0] > true_camera.cx > behind[0]
    assert mapper.ground_to_pixel([[0.0, -4.0]])[0] == pytest.approx([np.nan, np.nan], nan_ok=True)  # behind it


def test_fit_from_measured_ground_points(true_camera: CameraCalibration) -> None:
    """Six tape marks measured on the ground, clicked in a raw frame to about half a pixel."""
    truth = GroundMapper.for_raw_frames(TRUE_MOUNT, true_camera)
    marks = np.array([[-1.5, 2.5], [1.5, 2.5], [-2.0, 5.0], [2.0, 5.0], [0.0, 3.5], [0.5, 7.0]])
    clicked = truth.ground_to_pixel(marks) + np.random.default_rng(3).normal(0, 0.5, (6, 2))
    fitted = fit_mount(true_camera, clicked, marks)
    assert fitted.side == "left"
    assert fitted.height_m == pytest.approx(1.6, abs=0.05)
    assert fitted.pitch_deg == pytest.approx(18.0, abs=1.0)
    assert fitted.yaw_deg == pytest.approx(-8.0, abs=1.0)
    assert fitted.fit is not None and fitted.fit.points == 6 and fitted.fit.rms_m < 0.05
    # Other points, not used in the fit, land within 5 % of their distance.
    points, pixels = visible(truth, GROUND)
    placed = GroundMapper.for_raw_frames(fitted, true_camera).pixel_to_ground(pixels)
    assert (np.linalg.norm(placed - points, axis=1) < 0.05 * distance_from_camera(points)).all()


def test_fit_refuses_bad_point_sets(true_camera: CameraCalibration) -> None:
    with pytest.raises(UserError, match=r"at least 4 measured ground points, not 3"):
        fit_mount(true_camera, np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(UserError, match=r"5 pixels but 4 ground points"):
        fit_mount(true_camera, np.zeros((5, 2)), np.zeros((4, 2)))
    in_a_line = np.array([[0.0, 2.0], [0.0, 3.0], [0.0, 4.0], [0.0, 5.0]])
    with pytest.raises(UserError, match=r"on one line"):
        fit_mount(true_camera, np.random.default_rng(0).uniform(0, 400, (4, 2)), in_a_line)


def test_ten_metres_east_at_heading_90() -> None:
    lat, lon = 51.5, -0.12
    new_lat, new_lon = ground_to_world((10.0, 0.0), lat, lon, heading_deg=90.0)
    east_radius = WGS84_A_M / math.sqrt(1 - 6.69437999014e-3 * math.sin(math.radians(lat)) ** 2)
    assert new_lat == pytest.approx(lat, abs=1e-9)
    assert new_lon - lon == pytest.approx(math.degrees(10.0 / (east_radius * math.cos(math.radians(lat)))), rel=1e-9)
    assert (new_lon - lon) * 111_320 * math.cos(math.radians(lat)) == pytest.approx(10.0, rel=0.01)


def test_left_of_a_car_heading_north_is_west_and_forward_is_north() -> None:
    lat, lon = 40.0, 10.0
    west_lat, west_lon = ground_to_world((0.0, 5.0), lat, lon, heading_deg=0.0)
    assert west_lon < lon and west_lat == pytest.approx(lat, abs=1e-9)
    north_lat, north_lon = ground_to_world((20.0, 0.0), lat, lon, heading_deg=0.0)
    assert north_lon == pytest.approx(lon, abs=1e-12)
    assert (north_lat - lat) * 111_000 == pytest.approx(20.0, rel=0.01)
    back_lat, back_lon = ground_to_world((-3.0, 4.0), lat, lon, heading_deg=225.0)
    # Heading south-west: behind is north-east, left is south-east, so 5 m away at 3-4-5.
    east = (back_lon - lon) * 111_320 * math.cos(math.radians(lat))
    north = (back_lat - lat) * 111_000
    assert math.hypot(east, north) == pytest.approx(5.0, rel=0.01)
    with pytest.raises(UserError, match=r"latitude"):
        ground_to_world((1.0, 0.0), 91.0, 0.0, 0.0)


def test_place_combines_pixel_fix_and_heading(true_camera: CameraCalibration) -> None:
    mapper = GroundMapper.for_raw_frames(TRUE_MOUNT, true_camera)
    pixel = mapper.ground_to_pixel([[0.4, 4.7, 0.5]])[0]  # a plate 4 m to the left of the camera
    placed = mapper.place((float(pixel[0]), float(pixel[1])), 51.5, -0.12, heading_deg=0.0)
    assert placed is not None
    expected = ground_to_world((0.4, 4.7), 51.5, -0.12, 0.0)
    assert placed == pytest.approx(expected, abs=1e-9)
    assert mapper.place((320.0, 1.0), 51.5, -0.12, 0.0) is None  # sky


def test_mount_yaml_round_trip_and_strictness(tmp_path: Path) -> None:
    TRUE_MOUNT.save(tmp_path / "mount.yaml")
    assert Mount.load(tmp_path / "mount.yaml") == TRUE_MOUNT
    values = yaml.safe_load((tmp_path / "mount.yaml").read_text())
    (tmp_path / "extra.yaml").write_text(yaml.safe_dump(values | {"fov": 90}))
    with pytest.raises(UserError, match=r"^bad mount file .*extra.yaml: fov: Extra inputs are not permitted$"):
        Mount.load(tmp_path / "extra.yaml")
    (tmp_path / "side.yaml").write_text(yaml.safe_dump(values | {"side": "roof"}))
    with pytest.raises(UserError, match=r"side: Input should be 'front', 'left', 'rear' or 'right'"):
        Mount.load(tmp_path / "side.yaml")
    (tmp_path / "high.yaml").write_text(yaml.safe_dump(values | {"height_m": 30}))
    with pytest.raises(UserError, match=r"height_m: Input should be less than or equal to 10"):
        Mount.load(tmp_path / "high.yaml")


def test_ground_points_file(tmp_path: Path) -> None:
    path = tmp_path / "points.yaml"
    rows = [{"pixel": [100 + i, 300 + i], "ground": [i * 0.5, 2.0 + i]} for i in range(4)]
    path.write_text(yaml.safe_dump({"points": rows}))
    pixels, ground = load_ground_points(path)
    assert pixels.shape == ground.shape == (4, 2) and ground[3].tolist() == [1.5, 5.0]
    path.write_text(yaml.safe_dump({"points": rows[:3]}))
    with pytest.raises(UserError, match=r"points: List should have at least 4 items"):
        load_ground_points(path)


def test_sides_and_angles() -> None:
    assert nearest_side(80.0) == "left" and nearest_side(-100.0) == "right" and nearest_side(170.0) == "rear"
    assert Mount("right", 1.5, 10.0, yaw_deg=20.0).heading_deg == -70.0
    with pytest.raises(UserError, match=r"height"):
        Mount("left", 0.0, 10.0)
    rotation = TRUE_MOUNT.car_from_camera()
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0)


def test_the_readme_example_points_fit(tmp_path: Path) -> None:
    """The README's ground_points.yaml is what a 1280x720 wide lens, 1.6 m up on the left, would show."""
    readme = (Path(__file__).resolve().parents[2] / "calibration" / "README.md").read_text()
    block = readme.split("# ground_points.yaml", 1)[1].split("\n", 1)[1].split("```", 1)[0]
    (tmp_path / "points.yaml").write_text(block)
    pixels, ground = load_ground_points(tmp_path / "points.yaml")
    fitted = fit_mount(example_camera((1280, 720)), pixels, ground, "left")
    assert fitted.height_m == pytest.approx(1.6, abs=0.02) and fitted.pitch_deg == pytest.approx(18.0, abs=0.5)
    assert fitted.fit is not None and fitted.fit.rms_m < 0.02
