from pathlib import Path

import numpy as np
import pytest
import yaml

from calibration.board import BoardSpec
from calibration.camera_model import CameraCalibration
from platepatrol.errors import UserError


def a_camera() -> CameraCalibration:
    return CameraCalibration(
        image_size=(1280, 720),
        camera_matrix=np.array([[700.5, 0.0, 641.25], [0.0, 702.0, 359.5], [0.0, 0.0, 1.0]]),
        dist_coeffs=np.array([-0.31, 0.12, 0.001, -0.0005, -0.02]),
        rms_px=0.21,
        per_image_rms_px=(("a.jpg", 0.2), ("b.jpg", 0.22)),
        board=BoardSpec(9, 6, 24.5),
    )


def good_values() -> dict[str, object]:
    return {
        "version": 1,
        "image_size": {"width": 640, "height": 480},
        "camera_matrix": [[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]],
        "dist_coeffs": [-0.2, 0.05, 0.0, 0.0, 0.0],
    }


def write(path: Path, values: object) -> Path:
    path.write_text(yaml.safe_dump(values))
    return path


def test_yaml_round_trip(tmp_path: Path) -> None:
    camera = a_camera()
    camera.save(tmp_path / "camera.yaml")
    again = CameraCalibration.load(tmp_path / "camera.yaml")
    assert again.image_size == (1280, 720)
    np.testing.assert_array_equal(again.camera_matrix, camera.camera_matrix)
    np.testing.assert_array_equal(again.dist_coeffs, camera.dist_coeffs)
    assert again.rms_px == 0.21 and again.per_image_rms_px == (("a.jpg", 0.2), ("b.jpg", 0.22))
    assert again.board == BoardSpec(9, 6, 24.5)
    assert (tmp_path / "camera.yaml").read_text().startswith("# PlatePatrol camera calibration")


def test_the_minimal_file_loads(tmp_path: Path) -> None:
    camera = CameraCalibration.load(write(tmp_path / "c.yaml", good_values()))
    assert (camera.fx, camera.cx, camera.cy) == (500.0, 320.0, 240.0)
    assert camera.rms_px is None and camera.board is None


def test_arrays_cannot_be_changed() -> None:
    camera = a_camera()
    with pytest.raises(ValueError, match="read-only"):
        camera.camera_matrix[0, 0] = 1.0


def test_an_unknown_key_is_an_error(tmp_path: Path) -> None:
    values = good_values() | {"focal": 3.2}
    with pytest.raises(UserError, match=r"^bad camera file .*c.yaml: focal: Extra inputs are not permitted$"):
        CameraCalibration.load(write(tmp_path / "c.yaml", values))


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"camera_matrix": [[500.0, 0.0, 320.0], [0.0, 500.0, 240.0]]}, r"camera_matrix: .*must be 3 rows of 3"),
        ({"camera_matrix": [[500.0, 0.0], [0.0, 500.0], [0.0, 0.0]]}, r"camera_matrix: .*must be 3 rows of 3"),
        ({"dist_coeffs": [0.1, 0.2, 0.3]}, r"dist_coeffs: .*must hold 4, 5, 8, 12, 14 numbers, not 3"),
        ({"image_size": {"width": 640}}, r"image_size.height: Field required"),
        ({"image_size": {"width": 0, "height": 480}}, r"image_size.width: Input should be greater than 0"),
        ({"version": 2}, r"version: Input should be 1"),
        ({"camera_matrix": [[-5.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]]}, r"focal lengths"),
        ({"camera_matrix": [[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.1, 0.0, 1.0]]}, r"must be \[\[fx"),
        ({"dist_coeffs": [float("nan"), 0.0, 0.0, 0.0]}, r"must be finite numbers"),
    ],
)
def test_bad_shapes_and_values_are_named(tmp_path: Path, change: dict[str, object], complaint: str) -> None:
    values = good_values() | change
    with pytest.raises(UserError, match=r"^bad camera file .*c.yaml: .*" + complaint):
        CameraCalibration.load(write(tmp_path / "c.yaml", values))


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"^camera file .*absent.yaml: no such file$"):
        CameraCalibration.load(tmp_path / "absent.yaml")


def test_not_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("camera_matrix: [1, 2\n")
    with pytest.raises(UserError, match=r"is not valid YAML"):
        CameraCalibration.load(broken)
    with pytest.raises(UserError, match=r"must be a mapping"):
        CameraCalibration.load(write(tmp_path / "list.yaml", [1, 2, 3]))


def test_built_in_code_the_same_checks_apply() -> None:
    with pytest.raises(UserError, match=r"camera matrix must be 3x3, not 2x2"):
        CameraCalibration((640, 480), np.eye(2), np.zeros(5))
    with pytest.raises(UserError, match=r"not 6"):
        CameraCalibration((640, 480), np.eye(3), np.zeros(6))


def test_describe_names_the_numbers_a_person_checks() -> None:
    text = a_camera().describe()
    assert "1280x720" in text and "fx 700.5" in text and "RMS 0.210 px" in text and "HFOV 85 deg" in text
