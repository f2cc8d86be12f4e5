"""`platepatrol calibrate ...` as a person meets it."""

import inspect
import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import yaml
from typer.testing import CliRunner

from calibration.camera_model import CameraCalibration
from calibration.cli import app
from calibration.mount import Mount
from platepatrol.errors import UserError
from tests.calibration.conftest import PhotoSet
from tests.conftest import REPO

runner = CliRunner()
# Until the lead mounts `calibrate` in platepatrol.cli.PARTS, mount it here the same way.
MAIN = (
    "import platepatrol.cli as cli\n"
    "if not any(part[0] == 'calibrate' for part in cli.PARTS):\n"
    "    cli.PARTS += (('calibrate', 'calibration.cli', 'camera calibration'),)\n"
    "cli.main()\n"
)


def platepatrol(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", MAIN, *args], capture_output=True, text=True, cwd=REPO, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory, photo_set: PhotoSet) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    for name, image in photo_set.photos[:11]:
        cv2.imwrite(str(folder / name), image)
    cv2.imwrite(str(folder / "floor.png"), photo_set.photos[0][1][:, ::-1] * 0 + 90)
    return folder


def test_intrinsics_writes_the_camera_and_reports_each_image(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "camera.yaml"
    result = runner.invoke(
        app,
        ["intrinsics", "--images", str(photos), "--board", "9x6", "--square-mm", "25", "--out", str(out), "--preview"],
    )
    assert result.exit_code == 0, result.output
    assert "photo00.png" in result.output and "floor.png" in result.output and "rejected: no 9x6 board" in result.output
    assert "used 11 of 12 images" in result.output
    camera = CameraCalibration.load(out)
    assert camera.image_size == (640, 480) and len(camera.per_image_rms_px) == 11
    preview = photos / "photo00.undistorted.png"
    assert preview.is_file() and f"preview: {preview}" in result.output
    image = cv2.imread(str(preview))
    assert image is not None and image.shape == (480, 640, 3)
    preview.unlink()


def test_intrinsics_with_too_few_photos(photos: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["intrinsics", "--images", str(photos), "--board", "9x6", "--square-mm", "25", "--min-images", "12"]
    )
    assert isinstance(result.exception, UserError)
    assert "only 11 of 12 images" in str(result.exception) and "floor.png" in str(result.exception)


def test_mount_from_angles_and_from_points(photo_set: PhotoSet, tmp_path: Path) -> None:
    photo_set.camera.save(tmp_path / "camera.yaml")
    out = tmp_path / "mount.yaml"
    args = ["mount", "--camera", str(tmp_path / "camera.yaml"), "--out", str(out)]
    result = runner.invoke(app, [*args, "--side", "left", "--height-m", "1.6", "--pitch-deg", "18", "--yaw-deg", "-8"])
    assert result.exit_code == 0, result.output
    assert Mount.load(out) == Mount("left", 1.6, 18.0, -8.0)
    assert "bottom centre" in result.output and "horizon: row" in result.output

    from calibration.mount import GroundMapper

    truth = GroundMapper.for_raw_frames(Mount("left", 1.6, 18.0, -8.0), photo_set.camera)
    marks = [[-1.5, 2.5], [1.5, 2.5], [-2.0, 5.0], [2.0, 5.0], [0.5, 7.0]]
    pixels = truth.ground_to_pixel(marks)
    rows = [{"pixel": pixel.tolist(), "ground": mark} for pixel, mark in zip(pixels, marks, strict=True)]
    (tmp_path / "points.yaml").write_text(yaml.safe_dump({"points": rows}))
    result = runner.invoke(app, [*args, "--points", str(tmp_path / "points.yaml")])
    assert result.exit_code == 0, result.output
    fitted = Mount.load(out)
    assert fitted.side == "left" and fitted.height_m == pytest.approx(1.6, abs=0.01)
    assert fitted.fit is not None and fitted.fit.points == 5


def test_mount_needs_angles_or_points(photo_set: PhotoSet, tmp_path: Path) -> None:
    photo_set.camera.save(tmp_path / "camera.yaml")
    base = ["mount", "--camera", str(tmp_path / "camera.yaml")]
    result = runner.invoke(app, [*base, "--side", "left", "--height-m", "1.5"])
    assert str(result.exception) == "missing --pitch-deg (or give --points with measured ground marks)"
    result = runner.invoke(app, [*base, "--side", "roof", "--height-m", "1.5", "--pitch-deg", "10"])
    assert "--side must be one of front, left, rear, right, not 'roof'" in str(result.exception)
    result = runner.invoke(app, [*base, "--points", "p.yaml", "--height-m", "1.5"])
    assert "give either --points or --height-m" in str(result.exception)


def test_the_command_line_minimum_is_the_library_one() -> None:
    from calibration.cli import intrinsics
    from calibration.intrinsics import DEFAULT_MIN_IMAGES

    assert inspect.signature(intrinsics).parameters["min_images"].default == DEFAULT_MIN_IMAGES


def test_board_and_bench_commands(tmp_path: Path) -> None:
    result = runner.invoke(app, ["board", "--out", str(tmp_path / "b.pdf"), "--cols", "7", "--rows", "5"])
    assert result.exit_code == 0 and (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")
    result = runner.invoke(app, ["bench-undistort", "--frames", "10"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["frame"] == "1280x720" and report["frames"] == 10 and report["median_ms"] > 0


def test_a_bad_board_is_one_line_and_exit_2(photo_set: PhotoSet, tmp_path: Path) -> None:
    for name, image in photo_set.photos[:2]:
        cv2.imwrite(str(tmp_path / name), image)
    result = platepatrol("calibrate", "intrinsics", "--images", str(tmp_path), "--board", "10x7", "--square-mm", "25")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no 10x7 board found") and "try --board 9x6" in lines[0]
