"""Photos of a checkerboard taken through a known camera, lens distortion and all: for tests and demos.

Each output pixel is supersampled: its sub-pixel sample points are undistorted once per camera (the rays),
each ray is intersected with the board's plane for the pose, and the board's colour there is averaged.
So the corners land exactly where `cv2.projectPoints` says, up to anti-aliasing and the noise added.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from calibration.board import BoardSpec
from calibration.camera_model import CameraCalibration, FloatArray

Image = npt.NDArray[np.uint8]  # H x W x 3 BGR, as edge.types.Image

PAPER = 235.0
INK = 30.0
BACKGROUND = 110.0


def example_camera(size: tuple[int, int] = (640, 480)) -> CameraCalibration:
    """A wide (about 90 degree) lens with strong barrel distortion and some tangential distortion."""
    width, height = size
    focal = 0.5 * width
    matrix = np.array(
        [[focal, 0.0, width / 2 + 0.013 * width], [0.0, focal * 1.004, height / 2 - 0.011 * height], [0.0, 0.0, 1.0]]
    )
    return CameraCalibration(size, matrix, np.array([-0.25, 0.07, 0.0012, -0.0009, -0.005]))


@dataclass(frozen=True)
class BoardPose:
    """Board to camera: a point X on the board (mm) is at R(rvec) X + tvec in the camera (mm)."""

    rvec: FloatArray
    tvec: FloatArray


class BoardRenderer:
    """Renders `board` through `camera`; build once per camera (undistorting the rays is the costly part)."""

    def __init__(self, camera: CameraCalibration, supersample: int = 3) -> None:
        self.camera = camera
        self.supersample = supersample
        width, height = camera.image_size
        step = 1.0 / supersample
        us = (np.arange(width * supersample) + 0.5) * step - 0.5
        vs = (np.arange(height * supersample) + 0.5) * step - 0.5
        grid = np.stack(np.meshgrid(us, vs), axis=-1).reshape(-1, 1, 2)
        criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 40, 1e-12)
        identity = np.eye(3)
        rays = cv2.undistortPointsIter(grid, camera.camera_matrix, camera.dist_coeffs, identity, identity, criteria)
        self._rays = np.asarray(rays, dtype=np.float64).reshape(height * supersample, width * supersample, 2)

    def render(
        self, board: BoardSpec, pose: BoardPose, rng: np.random.Generator | None = None, noise: float = 2.0
    ) -> Image:
        """The photo of `board` at `pose`: anti-aliased, a little blurred, with Gaussian noise of `noise` levels."""
        rotation, _ = cv2.Rodrigues(pose.rvec)
        plane = np.column_stack([rotation[:, 0], rotation[:, 1], np.asarray(pose.tvec, dtype=np.float64).ravel()])
        to_board = np.linalg.inv(plane)  # normalised image point (x, y, 1) -> board (X, Y, 1) up to scale
        x, y = self._rays[..., 0], self._rays[..., 1]
        bx = to_board[0, 0] * x + to_board[0, 1] * y + to_board[0, 2]
        by = to_board[1, 0] * x + to_board[1, 1] * y + to_board[1, 2]
        bw = to_board[2, 0] * x + to_board[2, 1] * y + to_board[2, 2]
        in_front = bw > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(in_front, bx / bw, np.inf) / board.square_mm
            v = np.where(in_front, by / bw, np.inf) / board.square_mm
        # Squares span -1..cols and -1..rows in square units; the paper adds one more square all round.
        on_squares = (u >= -1) & (u < board.cols) & (v >= -1) & (v < board.rows)
        on_paper = (u >= -2) & (u < board.cols + 1) & (v >= -2) & (v < board.rows + 1)
        with np.errstate(invalid="ignore"):
            dark = ((np.floor(u) + np.floor(v)) % 2 == 0) & on_squares
        fine = np.where(on_paper, PAPER, BACKGROUND).astype(np.float32)
        fine[dark] = INK
        width, height = self.camera.image_size
        small = cv2.resize(fine, (width, height), interpolation=cv2.INTER_AREA)
        image = np.asarray(cv2.GaussianBlur(small, (0, 0), 0.6), dtype=np.float32)
        if rng is not None and noise > 0:
            image = image + rng.normal(0.0, noise, image.shape).astype(np.float32)
        grey = np.clip(np.rint(image), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))


def project_corners(camera: CameraCalibration, board: BoardSpec, pose: BoardPose) -> FloatArray:
    """Where the board's inner corners fall in the distorted image: (N, 2) pixels."""
    points, _ = cv2.projectPoints(board.object_points(), pose.rvec, pose.tvec, camera.camera_matrix, camera.dist_coeffs)
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


def random_poses(
    camera: CameraCalibration, board: BoardSpec, count: int, rng: np.random.Generator, margin_px: float = 12.0
) -> list[BoardPose]:
    """`count` varied poses: tilted up to 40 degrees, turned, near and far, spread over the whole frame.

    Every pose keeps the whole paper (board plus its white margin) inside the frame by `margin_px`."""
    width, height = camera.image_size
    span_mm = max(board.squares) * board.square_mm
    paper = _paper_outline(board)
    poses: list[BoardPose] = []
    while len(poses) < count:
        axis_angle = rng.uniform(0, 2 * math.pi)
        tilt = math.radians(rng.uniform(10, 40))
        spin = math.radians(rng.uniform(-25, 25))
        tilt_vec = np.array([math.cos(axis_angle), math.sin(axis_angle), 0.0]) * tilt
        rotation = cv2.Rodrigues(tilt_vec)[0] @ cv2.Rodrigues(np.array([0.0, 0.0, spin]))[0]
        fill = rng.uniform(0.35, 0.65)  # the board's share of the image width
        depth = camera.fx * span_mm / (fill * width)
        target = np.array([[[rng.uniform(0.15, 0.85) * width, rng.uniform(0.15, 0.85) * height]]])
        ray = np.asarray(cv2.undistortPoints(target, camera.camera_matrix, camera.dist_coeffs), dtype=np.float64)
        centre = np.array([ray[0, 0, 0], ray[0, 0, 1], 1.0]) * depth
        board_centre = np.array([(board.cols - 1) / 2, (board.rows - 1) / 2, 0.0]) * board.square_mm
        tvec = centre - rotation @ board_centre
        pose = BoardPose(np.asarray(cv2.Rodrigues(rotation)[0], dtype=np.float64).ravel(), tvec)
        outline, _ = cv2.projectPoints(paper, pose.rvec, pose.tvec, camera.camera_matrix, camera.dist_coeffs)
        outline = outline.reshape(-1, 2)
        inside = (
            (outline[:, 0] >= margin_px).all()
            and (outline[:, 0] <= width - 1 - margin_px).all()
            and (outline[:, 1] >= margin_px).all()
            and (outline[:, 1] <= height - 1 - margin_px).all()
        )
        if inside:
            poses.append(pose)
    return poses


def _paper_outline(board: BoardSpec) -> npt.NDArray[np.float32]:
    """Points along the paper's edge (mm), so bulging distortion cannot push part of it out of frame unseen."""
    left, top = -2 * board.square_mm, -2 * board.square_mm
    right, bottom = (board.cols + 1) * board.square_mm, (board.rows + 1) * board.square_mm
    steps = np.linspace(0.0, 1.0, 9)
    edges = [
        np.column_stack([left + (right - left) * steps, np.full_like(steps, top)]),
        np.column_stack([left + (right - left) * steps, np.full_like(steps, bottom)]),
        np.column_stack([np.full_like(steps, left), top + (bottom - top) * steps]),
        np.column_stack([np.full_like(steps, right), top + (bottom - top) * steps]),
    ]
    outline = np.concatenate(edges)
    return np.column_stack([outline, np.zeros(len(outline))]).astype(np.float32)


def render_views(
    camera: CameraCalibration, board: BoardSpec, count: int, seed: int = 0, noise: float = 2.0
) -> list[tuple[Image, BoardPose]]:
    """`count` photos of `board` through `camera` at random poses (reproducible from `seed`)."""
    rng = np.random.default_rng(seed)
    renderer = BoardRenderer(camera)
    return [(renderer.render(board, pose, rng, noise), pose) for pose in random_poses(camera, board, count, rng)]
