"""One camera's lens: camera matrix, distortion and the image size they hold for, saved as strict YAML."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field, field_validator

from calibration.board import BoardSpec
from calibration.files import read_yaml_model, write_yaml
from platepatrol.config import StrictModel
from platepatrol.errors import UserError

FloatArray = npt.NDArray[np.float64]

# OpenCV's distortion models: (k1 k2 p1 p2), + k3, + rational k4..k6, + thin prism s1..s4, + tilt tx ty.
DIST_COEFF_COUNTS = (4, 5, 8, 12, 14)
CAMERA_FILE_HEADER = """PlatePatrol camera calibration: one camera's lens, made by `platepatrol calibrate intrinsics`.
camera_matrix is [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] in pixels of an image_size frame.
dist_coeffs are OpenCV's (k1, k2, p1, p2, k3[, k4, k5, k6[, s1..s4[, tx, ty]]])."""


@dataclass(frozen=True, eq=False)
class CameraCalibration:
    """A pinhole camera with lens distortion, for frames of `image_size` = (width, height) pixels."""

    image_size: tuple[int, int]
    camera_matrix: FloatArray
    dist_coeffs: FloatArray
    rms_px: float | None = None  # overall reprojection error of the calibration; None for a camera made by hand
    per_image_rms_px: tuple[tuple[str, float], ...] = ()
    board: BoardSpec | None = field(default=None)

    def __post_init__(self) -> None:
        width, height = self.image_size
        if width <= 0 or height <= 0:
            raise UserError(f"camera image size must be positive, not {width}x{height}")
        matrix = np.array(self.camera_matrix, dtype=np.float64)
        if matrix.shape != (3, 3):
            raise UserError(f"camera matrix must be 3x3, not {'x'.join(map(str, matrix.shape))}")
        coeffs = np.array(self.dist_coeffs, dtype=np.float64).ravel()
        if coeffs.size not in DIST_COEFF_COUNTS:
            counts = ", ".join(map(str, DIST_COEFF_COUNTS))
            raise UserError(f"camera needs {counts} distortion coefficients, not {coeffs.size}")
        if not (np.isfinite(matrix).all() and np.isfinite(coeffs).all()):
            raise UserError("camera matrix and distortion coefficients must be finite numbers")
        if not (matrix[0, 0] > 0 and matrix[1, 1] > 0):
            raise UserError("camera focal lengths (fx, fy) must be positive")
        if matrix[2].tolist() != [0.0, 0.0, 1.0] or matrix[1, 0] != 0.0:
            raise UserError("camera matrix must be [[fx, s, cx], [0, fy, cy], [0, 0, 1]]")
        matrix.flags.writeable = False
        coeffs.flags.writeable = False
        object.__setattr__(self, "image_size", (int(width), int(height)))
        object.__setattr__(self, "camera_matrix", matrix)
        object.__setattr__(self, "dist_coeffs", coeffs)

    @property
    def width(self) -> int:
        return self.image_size[0]

    @property
    def height(self) -> int:
        return self.image_size[1]

    @property
    def fx(self) -> float:
        return float(self.camera_matrix[0, 0])

    @property
    def fy(self) -> float:
        return float(self.camera_matrix[1, 1])

    @property
    def cx(self) -> float:
        return float(self.camera_matrix[0, 2])

    @property
    def cy(self) -> float:
        return float(self.camera_matrix[1, 2])

    @property
    def horizontal_fov_deg(self) -> float:
        """The field of view across the width, ignoring distortion."""
        return math.degrees(2 * math.atan2(self.width / 2, self.fx))

    def describe(self) -> str:
        k = ", ".join(f"{value:+.4f}" for value in self.dist_coeffs)
        rms = f", RMS {self.rms_px:.3f} px" if self.rms_px is not None else ""
        return (
            f"{self.width}x{self.height}: fx {self.fx:.1f} fy {self.fy:.1f} cx {self.cx:.1f} cy {self.cy:.1f} px "
            f"(HFOV {self.horizontal_fov_deg:.0f} deg), distortion [{k}]{rms}"
        )

    def save(self, path: Path) -> None:
        values = _CameraFile(
            image_size=_ImageSize(width=self.width, height=self.height),
            camera_matrix=[[float(v) for v in row] for row in self.camera_matrix],
            dist_coeffs=[float(v) for v in self.dist_coeffs],
            rms_px=self.rms_px,
            per_image_rms_px=dict(self.per_image_rms_px),
            board=_BoardFile(cols=self.board.cols, rows=self.board.rows, square_mm=self.board.square_mm)
            if self.board
            else None,
        ).model_dump(exclude_none=True)
        write_yaml(path, values, CAMERA_FILE_HEADER, "camera file")

    @classmethod
    def load(cls, path: Path) -> CameraCalibration:
        """The calibration in the camera YAML at `path`; a UserError names any unknown key or bad shape."""
        loaded = read_yaml_model(_CameraFile, path, "camera file")
        try:
            return cls(
                image_size=(loaded.image_size.width, loaded.image_size.height),
                camera_matrix=np.array(loaded.camera_matrix, dtype=np.float64),
                dist_coeffs=np.array(loaded.dist_coeffs, dtype=np.float64),
                rms_px=loaded.rms_px,
                per_image_rms_px=tuple(loaded.per_image_rms_px.items()),
                board=BoardSpec(loaded.board.cols, loaded.board.rows, loaded.board.square_mm) if loaded.board else None,
            )
        except UserError as error:
            raise UserError(f"bad camera file {path}: {error}") from None


class _ImageSize(StrictModel):
    width: int = Field(gt=0, le=100_000)
    height: int = Field(gt=0, le=100_000)


class _BoardFile(StrictModel):
    cols: int = Field(ge=3)
    rows: int = Field(ge=3)
    square_mm: float = Field(gt=0)


class _CameraFile(StrictModel):
    version: Literal[1] = 1
    image_size: _ImageSize
    camera_matrix: list[list[float]]
    dist_coeffs: list[float]
    rms_px: float | None = Field(default=None, ge=0)
    per_image_rms_px: dict[str, float] = Field(default_factory=dict)
    board: _BoardFile | None = None

    @field_validator("camera_matrix")
    @classmethod
    def _three_by_three(cls, value: list[list[float]]) -> list[list[float]]:
        if len(value) != 3 or any(len(row) != 3 for row in value):
            shape = f"{len(value)} rows of " + "/".join(str(len(row)) for row in value)
            raise ValueError(f"must be 3 rows of 3 numbers, not {shape}")
        return value

    @field_validator("dist_coeffs")
    @classmethod
    def _known_count(cls, value: list[float]) -> list[float]:
        if len(value) not in DIST_COEFF_COUNTS:
            counts = ", ".join(map(str, DIST_COEFF_COUNTS))
            raise ValueError(f"must hold {counts} numbers, not {len(value)}")
        return value
