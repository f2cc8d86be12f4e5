"""Where a camera sits on the car, and so where on the ground (and on the map) each pixel it sees is.

Car coordinates: metres, origin on the ground below the GPS antenna, x forward, y left, z up.
A camera's pose is its height, its pitch down from horizontal, the side it faces (front 0, left 90, rear 180,
right -90 degrees) plus a yaw from that direction (counter-clockwise seen from above) and a roll about its
optical axis (clockwise as seen from behind the camera), and its position relative to the antenna.
A pixel's ray from the camera is cut with a horizontal plane (the ground, or a plate's height above it);
`ground_to_world` then turns that offset, the GPS fix and the heading into a latitude and longitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import Field

from calibration.camera_model import CameraCalibration, FloatArray
from calibration.files import read_yaml_model, write_yaml
from calibration.undistort import Undistorter, normalised_rays
from platepatrol.config import StrictModel
from platepatrol.errors import UserError

Side = Literal["front", "left", "rear", "right"]
SIDES: tuple[Side, ...] = get_args(Side)
SIDE_YAW_DEG: dict[Side, float] = {"front": 0.0, "left": 90.0, "rear": 180.0, "right": -90.0}
PLATE_CENTRE_HEIGHT_M = 0.5  # a typical plate centre above the road: where a read's ray is cut by default
MAX_PLACE_DISTANCE_M = 30.0
MIN_GROUND_POINTS = 4
# WGS84, for the local flat-earth step from the antenna to the read.
WGS84_A_M = 6_378_137.0
WGS84_E2 = 6.694_379_990_14e-3
MOUNT_FILE_HEADER = """PlatePatrol camera mount: where a camera sits on the car, made by `platepatrol calibrate mount`.
Car coordinates: metres from the ground below the GPS antenna, x forward, y left, z up.
side: the direction the camera faces (front 0, left 90, rear 180, right -90 degrees counter-clockwise from above);
yaw_deg turns it further counter-clockwise seen from above; pitch_deg is down from horizontal;
roll_deg is clockwise as seen from behind the camera; x_m, y_m place the camera relative to the antenna."""


@dataclass(frozen=True)
class GroundFit:
    """How well a mount fitted from measured ground points agrees with them."""

    points: int
    rms_m: float  # the measured points as mapped back through the fitted mount, against where they are
    max_m: float


@dataclass(frozen=True)
class Mount:
    """One camera's pose on the car (see the module's conventions)."""

    side: Side
    height_m: float
    pitch_deg: float
    yaw_deg: float = 0.0
    roll_deg: float = 0.0
    x_m: float = 0.0
    y_m: float = 0.0
    fit: GroundFit | None = None

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise UserError(f"mount side must be one of {', '.join(SIDES)}, not {self.side!r}")
        if not 0.0 < self.height_m <= 10.0:
            raise UserError(f"mount height must be above 0 and at most 10 m, not {self.height_m} m")
        if not -45.0 <= self.pitch_deg <= 90.0:
            raise UserError(f"mount pitch must be between -45 and 90 degrees down, not {self.pitch_deg}")
        for name in ("yaw_deg", "roll_deg"):
            if not -180.0 <= getattr(self, name) <= 180.0:
                raise UserError(f"mount {name} must be between -180 and 180 degrees, not {getattr(self, name)}")

    @property
    def heading_deg(self) -> float:
        """The optical axis's direction in the car, counter-clockwise from forward, seen from above."""
        return _wrap_deg(SIDE_YAW_DEG[self.side] + self.yaw_deg)

    @property
    def position_m(self) -> FloatArray:
        return np.array([self.x_m, self.y_m, self.height_m])

    def car_from_camera(self) -> FloatArray:
        """Rotation taking camera axes (OpenCV: x right, y down, z along the view) to car axes."""
        heading, pitch, roll = (math.radians(v) for v in (self.heading_deg, self.pitch_deg, self.roll_deg))
        view = np.array([math.cos(pitch) * math.cos(heading), math.cos(pitch) * math.sin(heading), -math.sin(pitch)])
        level_right = np.array([math.sin(heading), -math.cos(heading), 0.0])
        level_down = np.cross(view, level_right)
        right = math.cos(roll) * level_right + math.sin(roll) * level_down
        down = np.cross(view, right)
        return np.column_stack([right, down, view])

    def describe(self) -> str:
        text = (
            f"{self.side} camera {self.height_m:.2f} m up, pitched {self.pitch_deg:.1f} deg down, "
            f"yaw {self.yaw_deg:+.1f} deg, roll {self.roll_deg:+.1f} deg, at x {self.x_m:+.2f} m y {self.y_m:+.2f} m"
        )
        if self.fit:
            fit = self.fit
            text += f"; fits {fit.points} ground points to {fit.rms_m:.3f} m RMS (worst {fit.max_m:.3f} m)"
        return text

    def save(self, path: Path) -> None:
        values = _MountFile(
            side=self.side,
            height_m=round(self.height_m, 4),
            pitch_deg=round(self.pitch_deg, 3),
            yaw_deg=round(self.yaw_deg, 3),
            roll_deg=round(self.roll_deg, 3),
            x_m=round(self.x_m, 4),
            y_m=round(self.y_m, 4),
            fit=_FitFile(points=self.fit.points, rms_m=round(self.fit.rms_m, 4), max_m=round(self.fit.max_m, 4))
            if self.fit
            else None,
        ).model_dump(exclude_none=True)
        write_yaml(path, values, MOUNT_FILE_HEADER, "mount file")

    @classmethod
    def load(cls, path: Path) -> Mount:
        loaded = read_yaml_model(_MountFile, path, "mount file")
        fit = GroundFit(loaded.fit.points, loaded.fit.rms_m, loaded.fit.max_m) if loaded.fit else None
        values = loaded.model_dump(exclude={"version", "fit"})
        return cls(**values, fit=fit)


class _FitFile(StrictModel):
    points: int = Field(ge=MIN_GROUND_POINTS)
    rms_m: float = Field(ge=0)
    max_m: float = Field(ge=0)


class _MountFile(StrictModel):
    version: Literal[1] = 1
    side: Side
    height_m: float = Field(gt=0, le=10)
    pitch_deg: float = Field(ge=-45, le=90)
    yaw_deg: float = Field(default=0.0, ge=-180, le=180)
    roll_deg: float = Field(default=0.0, ge=-180, le=180)
    x_m: float = Field(default=0.0, ge=-20, le=20)
    y_m: float = Field(default=0.0, ge=-20, le=20)
    fit: _FitFile | None = None


class GroundMapper:
    """Pixels of one camera's frames <-> points in car coordinates, through its lens and mount.

    Build it for the frames you measure in: `for_undistorter` (frames straightened at capture, as the edge does)
    or `for_raw_frames` (frames straight from the camera)."""

    def __init__(
        self,
        mount: Mount,
        image_size: tuple[int, int],
        camera_matrix: npt.ArrayLike,
        dist_coeffs: npt.ArrayLike | None = None,
    ) -> None:
        self.mount = mount
        self.image_size = image_size
        self.camera_matrix = np.array(camera_matrix, dtype=np.float64).reshape(3, 3)
        self.dist_coeffs = np.zeros(5) if dist_coeffs is None else np.array(dist_coeffs, dtype=np.float64).ravel()
        self._car_from_camera = mount.car_from_camera()
        self._position = mount.position_m

    @classmethod
    def for_undistorter(cls, mount: Mount, undistorter: Undistorter) -> GroundMapper:
        return cls(mount, undistorter.image_size, undistorter.camera_matrix)

    @classmethod
    def for_raw_frames(cls, mount: Mount, calibration: CameraCalibration) -> GroundMapper:
        return cls(mount, calibration.image_size, calibration.camera_matrix, calibration.dist_coeffs)

    @classmethod
    def from_files(cls, camera_path: Path, mount_path: Path, keep_width: float = 1.0) -> GroundMapper:
        """The mapper for frames from `Undistorter.from_file(camera_path, keep_width)`."""
        return cls.for_undistorter(Mount.load(mount_path), Undistorter.from_file(camera_path, keep_width))

    def rays(self, pixels: npt.ArrayLike) -> FloatArray:
        """The direction (N, 3) in car axes of each pixel's ray from the camera."""
        points = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        if self.dist_coeffs.any():
            camera = CameraCalibration(self.image_size, self.camera_matrix, self.dist_coeffs)
            normal = normalised_rays(camera, points)
        else:
            homogeneous = np.column_stack([points, np.ones(len(points))])
            normal = (homogeneous @ np.linalg.inv(self.camera_matrix).T)[:, :2]
        camera_rays = np.column_stack([normal, np.ones(len(normal))])
        return np.asarray(camera_rays @ self._car_from_camera.T, dtype=np.float64)

    def pixel_to_ground(self, pixels: npt.ArrayLike, height_m: float = 0.0) -> FloatArray:
        """Where each pixel's ray meets the horizontal plane `height_m` above the ground: (N, 2) car x, y in metres.

        A row is NaN when the ray never comes down to that plane (the pixel is above its horizon)."""
        if height_m >= self.mount.height_m:
            raise UserError(f"a plane {height_m} m up is not below the camera ({self.mount.height_m} m up)")
        rays = self.rays(pixels)
        drop = self._position[2] - height_m
        with np.errstate(divide="ignore", invalid="ignore"):
            along = np.where(rays[:, 2] < -1e-9, drop / -rays[:, 2], np.nan)
        return self._position[:2] + along[:, None] * rays[:, :2]

    def ground_to_pixel(self, points: npt.ArrayLike) -> FloatArray:
        """Car points (N, 2) on the ground or (N, 3) with heights -> pixels (N, 2). Points behind the camera are NaN."""
        given = np.asarray(points, dtype=np.float64)
        given = given.reshape(-1, given.shape[-1])
        if given.shape[1] == 2:
            given = np.column_stack([given, np.zeros(len(given))])
        in_camera = (given - self._position) @ self._car_from_camera  # rows: camera x, y, z of each point
        projected, _ = cv2.projectPoints(
            in_camera.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), self.camera_matrix, self.dist_coeffs
        )
        pixels = np.asarray(projected, dtype=np.float64).reshape(-1, 2)
        pixels[in_camera[:, 2] <= 1e-9] = np.nan
        return pixels

    def horizon_row(self) -> float | None:
        """The frame row where the level horizon crosses the middle column, if it is in the frame."""
        width, height = self.image_size
        middle = (width - 1) / 2
        top, bottom = self.rays([[middle, 0.0], [middle, height - 1.0]])[:, 2]
        if top == bottom:
            return None
        row = float(-top / (bottom - top) * (height - 1))
        return row if 0.0 <= row <= height - 1 else None

    def place(
        self,
        pixel: tuple[float, float],
        lat: float,
        lon: float,
        heading_deg: float,
        height_m: float = PLATE_CENTRE_HEIGHT_M,
        max_distance_m: float = MAX_PLACE_DISTANCE_M,
    ) -> tuple[float, float] | None:
        """The (lat, lon) of what `pixel` shows at `height_m` (a plate's centre), given the antenna's GPS fix and
        the car's heading (degrees clockwise from north); None when the ray misses or lands beyond max_distance_m."""
        x, y = self.pixel_to_ground([pixel], height_m)[0]
        if not (math.isfinite(x) and math.isfinite(y)) or math.hypot(x, y) > max_distance_m:
            return None
        return ground_to_world((float(x), float(y)), lat, lon, heading_deg)


def ground_to_world(
    offset_xy_m: tuple[float, float], lat: float, lon: float, heading_deg: float
) -> tuple[float, float]:
    """The (lat, lon) of a point `offset_xy_m` = (forward, left) metres from a car at (lat, lon) heading
    `heading_deg` (clockwise from north). Local flat earth on the WGS84 ellipsoid: millimetres over tens of metres."""
    if not -89.9 <= lat <= 89.9:
        raise UserError(f"latitude must be between -89.9 and 89.9 degrees, not {lat}")
    forward, left = offset_xy_m
    heading = math.radians(heading_deg)
    east = forward * math.sin(heading) - left * math.cos(heading)
    north = forward * math.cos(heading) + left * math.sin(heading)
    phi = math.radians(lat)
    w = 1.0 - WGS84_E2 * math.sin(phi) ** 2
    meridian_m = WGS84_A_M * (1.0 - WGS84_E2) / w**1.5  # radius of curvature north-south
    normal_m = WGS84_A_M / math.sqrt(w)  # east-west
    new_lat = lat + math.degrees(north / meridian_m)
    new_lon = lon + math.degrees(east / (normal_m * math.cos(phi)))
    return new_lat, (new_lon + 180.0) % 360.0 - 180.0


def fit_mount(
    calibration: CameraCalibration,
    pixels: npt.ArrayLike,
    ground_xy_m: npt.ArrayLike,
    side: Side | None = None,
) -> Mount:
    """The mount that best maps raw-frame `pixels` (N, 2) onto their measured ground points (N, 2, car metres).

    Needs at least 4 points, not all on one line; better 6 or more spread over the part of the frame that matters.
    `side` names the side (else the nearest to the fitted direction)."""
    image = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    ground = np.asarray(ground_xy_m, dtype=np.float64).reshape(-1, 2)
    if len(image) != len(ground):
        raise UserError(f"{len(image)} pixels but {len(ground)} ground points: give one of each per mark")
    if len(ground) < MIN_GROUND_POINTS:
        raise UserError(f"need at least {MIN_GROUND_POINTS} measured ground points, not {len(ground)}")
    spread = np.linalg.svd(ground - ground.mean(axis=0), compute_uv=False)
    if spread[1] < 0.05:
        raise UserError("the measured ground points lie (nearly) on one line: spread them out in both directions")
    objects = np.column_stack([ground, np.zeros(len(ground))]).reshape(-1, 1, 3)
    found, rvecs, tvecs, _errors = cv2.solvePnPGeneric(
        objects, image.reshape(-1, 1, 2), calibration.camera_matrix, calibration.dist_coeffs, flags=cv2.SOLVEPNP_IPPE
    )
    candidates = []
    for rvec, tvec in zip(rvecs[:found], tvecs[:found], strict=True):
        rvec_fit, tvec_fit = cv2.solvePnPRefineLM(
            objects, image.reshape(-1, 1, 2), calibration.camera_matrix, calibration.dist_coeffs, rvec, tvec
        )
        camera_from_car = np.asarray(cv2.Rodrigues(rvec_fit)[0], dtype=np.float64)
        position = -camera_from_car.T @ np.asarray(tvec_fit, dtype=np.float64).ravel()
        if position[2] > 0:
            candidates.append((camera_from_car, position))
    if not candidates:
        raise UserError("no camera pose above the ground fits these points: check pixels and ground points pair up")
    mounts = [_mount_from_pose(rotation.T, position, side) for rotation, position in candidates]
    fitted = [(_fit_error(mount, calibration, image, ground), mount) for mount in mounts]
    fit, best = min(fitted, key=lambda pair: pair[0].rms_m)
    return Mount(
        best.side, best.height_m, best.pitch_deg, best.yaw_deg, best.roll_deg, best.x_m, best.y_m, fit=fit
    )  # fmt: skip


def _mount_from_pose(car_from_camera: FloatArray, position: FloatArray, side: Side | None) -> Mount:
    view = car_from_camera[:, 2]
    right = car_from_camera[:, 0]
    heading = math.degrees(math.atan2(view[1], view[0]))
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, -float(view[2])))))
    level_right = np.array([math.sin(math.radians(heading)), -math.cos(math.radians(heading)), 0.0])
    level_down = np.cross(view, level_right)
    roll = math.degrees(math.atan2(float(right @ level_down), float(right @ level_right)))
    chosen: Side = side if side is not None else nearest_side(heading)
    yaw = _wrap_deg(heading - SIDE_YAW_DEG[chosen])
    height = float(position[2])
    if not 0.0 < height <= 10.0 or not -45.0 <= pitch <= 90.0:
        raise UserError(
            f"the fitted camera is {height:.2f} m up and pitched {pitch:.0f} deg down, which cannot be right: "
            "check pixels and ground points pair up"
        )
    return Mount(chosen, height, pitch, yaw, roll, float(position[0]), float(position[1]))


def _fit_error(mount: Mount, calibration: CameraCalibration, image: FloatArray, ground: FloatArray) -> GroundFit:
    mapped = GroundMapper.for_raw_frames(mount, calibration).pixel_to_ground(image)
    errors = np.linalg.norm(mapped - ground, axis=1)
    errors = np.where(np.isfinite(errors), errors, np.inf)
    return GroundFit(len(ground), float(np.sqrt((errors**2).mean())), float(errors.max()))


def nearest_side(heading_deg: float) -> Side:
    """The side whose direction is closest to `heading_deg` (counter-clockwise from forward)."""
    return min(SIDES, key=lambda name: abs(_wrap_deg(heading_deg - SIDE_YAW_DEG[name])))


def _wrap_deg(angle: float) -> float:
    wrapped = (angle + 180.0) % 360.0 - 180.0
    return 180.0 if wrapped == -180.0 else wrapped


class GroundPoint(StrictModel):
    pixel: tuple[float, float] = Field(description="[column, row] in a raw frame from this camera")
    ground: tuple[float, float] = Field(description="[forward, left] metres from the ground below the GPS antenna")


class GroundPointsFile(StrictModel):
    """`calibrate mount --points`: marks on the ground, measured from the antenna, and where a frame shows them."""

    version: Literal[1] = 1
    points: list[GroundPoint] = Field(min_length=MIN_GROUND_POINTS)


def load_ground_points(path: Path) -> tuple[FloatArray, FloatArray]:
    """(pixels (N, 2), ground points (N, 2)) from a ground points YAML."""
    loaded = read_yaml_model(GroundPointsFile, path, "ground points file")
    pixels = np.array([point.pixel for point in loaded.points], dtype=np.float64)
    ground = np.array([point.ground for point in loaded.points], dtype=np.float64)
    return pixels, ground
