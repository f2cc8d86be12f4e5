"""Straighten frames at capture: the lens's distortion undone by one precomputed `cv2.remap` per frame.

The maps are built once per camera; each frame then costs one table lookup per pixel (a few ms at 1280x720).
The undistorted frame is a pinhole image with camera matrix `Undistorter.camera_matrix` and no distortion:
pass that matrix on to whatever measures in it (the mount's `GroundMapper` does).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from calibration.camera_model import CameraCalibration, FloatArray
from platepatrol.errors import UserError

Image = npt.NDArray[np.uint8]  # H x W x 3 BGR, as edge.types.Image (H x W grey works too)

_POINT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 40, 1e-10)


def normalised_rays(calibration: CameraCalibration, pixels: npt.ArrayLike) -> FloatArray:
    """Raw (distorted) pixels (N, 2) -> undistorted normalised image coordinates (N, 2): x/z, y/z in the camera."""
    points = np.asarray(pixels, dtype=np.float64).reshape(-1, 1, 2)
    identity = np.eye(3)
    rays = cv2.undistortPointsIter(
        points, calibration.camera_matrix, calibration.dist_coeffs, identity, identity, _POINT_CRITERIA
    )
    return np.asarray(rays, dtype=np.float64).reshape(-1, 2)


def rectified_camera_matrix(calibration: CameraCalibration, keep_width: float = 1.0) -> FloatArray:
    """The camera matrix of the undistorted frame, the same size as the raw one, with square pixels kept square.

    keep_width 0: the focal length is unchanged, so the centre keeps its detail and the bulging edges are cut.
    keep_width 1: zoomed out just enough that the middle row keeps the raw frame's whole width (a wide lens's
    barrel distortion otherwise pushes the left and right edges, where plates bend most, out of the frame).
    Values between blend the two."""
    if not 0.0 <= keep_width <= 1.0:
        raise UserError(f"keep_width must be between 0 and 1, not {keep_width}")
    width, height = calibration.image_size
    cx, cy = calibration.cx, calibration.cy
    edges = normalised_rays(calibration, [[0.0, cy], [width - 1.0, cy], [cx, 0.0], [cx, height - 1.0]])
    (left, _), (right, _), (_, top), (_, bottom) = edges
    if not right > left or not bottom > top:
        raise UserError("the camera's distortion folds the image over; recalibrate (try --rational)")
    scale_width = (width - 1.0) / (right - left) / calibration.fx
    scale = 1.0 + keep_width * (scale_width - 1.0)
    fx, fy = calibration.fx * scale, calibration.fy * scale
    cx_width = (width - 1.0) / 2 - fx * (left + right) / 2
    cy_width = (height - 1.0) / 2 - fy * (top + bottom) / 2
    new_cx = (1.0 - keep_width) * cx + keep_width * cx_width
    new_cy = (1.0 - keep_width) * cy + keep_width * cy_width
    skew = float(calibration.camera_matrix[0, 1]) * scale
    matrix = np.array([[fx, skew, new_cx], [0.0, fy, new_cy], [0.0, 0.0, 1.0]])
    matrix.flags.writeable = False
    return matrix


class Undistorter:
    """Undoes one camera's lens distortion; build once per camera, then `undistort` every frame."""

    def __init__(self, calibration: CameraCalibration, keep_width: float = 1.0) -> None:
        self.calibration = calibration
        self.image_size = calibration.image_size
        self.camera_matrix = rectified_camera_matrix(calibration, keep_width)
        map1, map2 = cv2.initUndistortRectifyMap(
            calibration.camera_matrix, calibration.dist_coeffs, np.eye(3), self.camera_matrix, self.image_size,
            cv2.CV_16SC2,
        )  # fmt: skip
        self._map1 = np.asarray(map1)
        self._map2 = np.asarray(map2)

    @classmethod
    def from_file(cls, path: Path, keep_width: float = 1.0) -> Undistorter:
        """The undistorter for the camera YAML at `path` (as `platepatrol calibrate intrinsics` writes)."""
        return cls(CameraCalibration.load(path), keep_width)

    def undistort(self, image: Image) -> Image:
        """`image` (a raw frame of the calibrated size) with the lens distortion removed: a new array."""
        height, width = image.shape[:2]
        if (width, height) != self.image_size:
            expected = f"{self.image_size[0]}x{self.image_size[1]}"
            raise UserError(
                f"frame is {width}x{height} but the camera was calibrated at {expected}: "
                "capture at the calibrated resolution or calibrate at this one"
            )
        out = cv2.remap(image, self._map1, self._map2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        return np.asarray(out, dtype=np.uint8)

    def undistort_points(self, pixels: npt.ArrayLike) -> FloatArray:
        """Raw-frame pixels (N, 2) -> where they are in the undistorted frame (N, 2)."""
        rays = normalised_rays(self.calibration, pixels)
        homogeneous = np.column_stack([rays, np.ones(len(rays))])
        mapped = homogeneous @ self.camera_matrix.T
        return np.asarray(mapped[:, :2], dtype=np.float64)

    def distort_points(self, pixels: npt.ArrayLike) -> FloatArray:
        """Undistorted-frame pixels (N, 2) -> where they are in the raw frame (N, 2)."""
        points = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        rays = np.column_stack([points, np.ones(len(points))]) @ np.linalg.inv(self.camera_matrix).T
        camera = self.calibration
        projected, _ = cv2.projectPoints(
            rays.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), camera.camera_matrix, camera.dist_coeffs
        )
        return np.asarray(projected, dtype=np.float64).reshape(-1, 2)
