"""Lens intrinsics from checkerboard photos: find the corners, calibrate, report the error per image.

Corners come from `cv2.findChessboardCorners` refined by `cv2.cornerSubPix` (the sector-based detector is the
fallback for hard photos); big photos are searched at a smaller scale and refined at full size.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from calibration.board import BoardSpec
from calibration.camera_model import CameraCalibration, FloatArray
from platepatrol.errors import UserError

Image = npt.NDArray[np.uint8]  # H x W x 3 BGR (or H x W grey), as edge.types.Image
Corners = npt.NDArray[np.float32]  # N x 1 x 2 pixels, OpenCV's layout

DEFAULT_MIN_IMAGES = 10
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
PREVIEW_MARK = ".undistorted"  # previews written beside the photos are not photos to calibrate from
SEARCH_MAX_SIDE = 1600  # bigger photos are searched scaled down, then refined at full size
HINT_SAMPLES = 3  # photos searched for a miscounted board size, when no photo shows the one given
HIGH_RMS_FACTOR = 3.0
HIGH_RMS_FLOOR_PX = 1.0
_SUBPIX_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 0.001)
_CALIB_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-10)


@dataclass(frozen=True)
class Rejection:
    image: str
    reason: str


@dataclass(frozen=True)
class BoardView:
    """The board's inner corners found in one photo, in the order of `BoardSpec.object_points`."""

    image: str
    corners: Corners


@dataclass(frozen=True)
class IntrinsicsResult:
    calibration: CameraCalibration
    used: tuple[str, ...]
    rejected: tuple[Rejection, ...]
    focal_std_px: tuple[float, float]  # one standard deviation of fx, fy as the fit sees it
    principal_std_px: tuple[float, float]

    @property
    def per_image_rms_px(self) -> dict[str, float]:
        return dict(self.calibration.per_image_rms_px)

    def high_error_images(self) -> list[str]:
        """Photos whose error stands out (blurred, board not flat, moved): worth retaking or removing."""
        errors = self.per_image_rms_px
        limit = max(HIGH_RMS_FLOOR_PX, HIGH_RMS_FACTOR * statistics.median(errors.values()))
        return [name for name, rms in errors.items() if rms > limit]

    def warnings(self) -> list[str]:
        found = []
        camera = self.calibration
        if max(self.focal_std_px) > 0.01 * camera.fx:
            found.append(
                f"the focal length is uncertain (+/- {max(self.focal_std_px):.1f} px): "
                "add photos with the board tilted 20-45 degrees"
            )
        if camera.rms_px is not None and camera.rms_px > 1.0:
            found.append(f"overall error {camera.rms_px:.2f} px is high: check the board is flat and photos sharp")
        found.extend(f"{name}: error far above the others; retake or remove it" for name in self.high_error_images())
        return found


def list_images(folder: Path) -> list[Path]:
    """The photos in `folder`, sorted by name; previews this tool wrote there are skipped."""
    if not folder.is_dir():
        raise UserError(f"images {folder}: no such folder")
    files = sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.stem.endswith(PREVIEW_MARK)
    )
    if not files:
        suffixes = " ".join(sorted(IMAGE_SUFFIXES))
        raise UserError(f"images {folder}: the folder holds no images ({suffixes})")
    return files


def read_image(path: Path) -> Image | None:
    """The photo at `path` as BGR, or None when it cannot be read or decoded."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return None if image is None else np.asarray(image, dtype=np.uint8)


def load_images(paths: Iterable[Path]) -> Iterator[tuple[str, Image | None]]:
    """(file name, image or None if unreadable), one at a time so only one photo is in memory."""
    for path in paths:
        yield path.name, read_image(path)


def find_board(image: Image, board: BoardSpec) -> Corners | None:
    """The board's inner corners to sub-pixel accuracy, or None when the whole board is not in view."""
    return _search(image, board)[0]


def _search(image: Image, board: BoardSpec) -> tuple[Corners | None, tuple[int, int] | None]:
    """(corners, None) when found; (None, (cols, rows) seen) when the photo shows a board with more corners."""
    grey = _grey(image)
    scale = min(1.0, SEARCH_MAX_SIDE / max(grey.shape))
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1.0 else grey
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
    found, corners = cv2.findChessboardCorners(small, board.pattern_size, flags=flags)
    if not found:
        # The sector-based detector copes with blur and glare, but would also take part of a bigger board:
        # let it report a bigger one, so a wrong --board is rejected rather than half used.
        sector_flags = cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_EXHAUSTIVE | cv2.CALIB_CB_ACCURACY
        found, corners, meta = cv2.findChessboardCornersSBWithMeta(
            small, board.pattern_size, sector_flags | cv2.CALIB_CB_LARGER
        )
        seen = np.asarray(meta).shape[:2] if found and meta is not None else (0, 0)
        if seen[0] * seen[1] > board.corner_count:
            return None, (max(seen), min(seen))
    if not found or corners is None:
        return None, None
    points = np.asarray(corners, dtype=np.float32).reshape(-1, 1, 2)
    if scale < 1.0:
        points = ((points + 0.5) / scale - 0.5).astype(np.float32)
    half_window = _subpix_half_window(points, board)
    refined = cv2.cornerSubPix(grey, points, (half_window, half_window), (-1, -1), _SUBPIX_CRITERIA)
    return np.asarray(refined, dtype=np.float32).reshape(-1, 1, 2), None


def _grey(image: Image) -> Image:
    if image.ndim == 2:
        return image
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


def _subpix_half_window(points: Corners, board: BoardSpec) -> int:
    """As big as helps (up to 11 px) but under half the smallest square, so no window holds two corners."""
    grid = points.reshape(board.rows, board.cols, 2)
    along_rows = np.linalg.norm(np.diff(grid, axis=1), axis=2).min()
    along_cols = np.linalg.norm(np.diff(grid, axis=0), axis=2).min()
    return int(max(2, min(11, math.floor(0.4 * min(along_rows, along_cols)))))


def detect_views(
    images: Iterable[tuple[str, Image | None]], board: BoardSpec
) -> tuple[list[BoardView], list[Rejection], tuple[int, int]]:
    """The board in each photo: (views found, photos rejected and why, the photos' common (width, height)).

    Raises UserError when the photos differ in size (naming them) or there are none."""
    views: list[BoardView] = []
    rejected: list[Rejection] = []
    sizes: dict[tuple[int, int], list[str]] = {}
    hint_samples: list[Image] = []
    bigger: list[tuple[int, int]] = []
    for name, image in images:
        if image is None:
            rejected.append(Rejection(name, "not a readable image"))
            continue
        size = (int(image.shape[1]), int(image.shape[0]))
        sizes.setdefault(size, []).append(name)
        if len(sizes) > 1:
            continue  # the set is unusable; keep going only to name every odd size
        corners, seen = _search(image, board)
        if seen is not None:
            bigger.append(seen)
            rejected.append(Rejection(name, f"shows a board with more corners ({seen[0]}x{seen[1]} seen)"))
        elif corners is None:
            rejected.append(Rejection(name, f"no {board.size_text} board found"))
            if len(hint_samples) < HINT_SAMPLES:
                hint_samples.append(_grey(image))
        else:
            views.append(BoardView(name, corners))
    if len(sizes) > 1:
        groups = "; ".join(f"{w}x{h}: {_names(names)}" for (w, h), names in sizes.items())
        raise UserError(f"the photos differ in size ({groups}); use photos from one camera at one resolution")
    if not sizes:
        unreadable = _names([r.image for r in rejected])
        raise UserError(f"none of the images could be read ({unreadable})" if rejected else "no images given")
    if not views:
        raise UserError(_no_board_message(board, hint_samples, bigger, len(rejected)))
    return views, rejected, next(iter(sizes))


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown


def _no_board_message(board: BoardSpec, samples: list[Image], bigger: list[tuple[int, int]], count: int) -> str:
    message = (
        f"no {board.size_text} board found in any of the {count} images. "
        f"COLSxROWS counts inner corners (where four squares meet), not squares: a board of "
        f"{board.cols + 1} x {board.rows + 1} squares is {board.size_text}"
    )
    if bigger:
        cols, rows = max(bigger, key=lambda size: size[0] * size[1])
        return f"{message}; these photos show a bigger board ({cols}x{rows} seen): try --board {cols}x{rows}"
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
    for cols, rows in _smaller_sizes(board):
        if any(cv2.findChessboardCorners(sample, (cols, rows), flags=flags)[0] for sample in samples):
            return f"{message}; these photos show a {cols}x{rows} board: try --board {cols}x{rows}"
    return f"{message}; also check the whole board, with its white border, is in each photo"


def _smaller_sizes(board: BoardSpec) -> list[tuple[int, int]]:
    """Likely miscounts of a board smaller than given (a bigger one is reported by the detector itself)."""
    cols, rows = board.cols, board.rows
    guesses = [(cols - 1, rows - 1), (cols - 1, rows), (cols, rows - 1), (cols - 2, rows - 2)]
    return [(c, r) for c, r in guesses if c >= 3 and r >= 3]


def calibrate_views(
    views: list[BoardView],
    rejected: list[Rejection],
    board: BoardSpec,
    image_size: tuple[int, int],
    min_images: int = DEFAULT_MIN_IMAGES,
    rational: bool = False,
) -> IntrinsicsResult:
    """Fit the camera matrix and distortion to the views; a UserError when too few photos show the board."""
    if len(views) < max(min_images, 3):
        total = len(views) + len(rejected)
        why = "; ".join(f"{r.image} ({r.reason})" for r in rejected[:12])
        more = f" and {len(rejected) - 12} more" if len(rejected) > 12 else ""
        rejections = f" Rejected: {why}{more}." if rejected else ""
        raise UserError(
            f"only {len(views)} of {total} images show the whole {board.size_text} board; at least "
            f"{max(min_images, 3)} are needed.{rejections} "
            "Take more photos with the whole board in view, sharp and from varied angles"
        )
    objects = [board.object_points()] * len(views)
    corners = [view.corners for view in views]
    flags = cv2.CALIB_RATIONAL_MODEL if rational else 0
    start_matrix, start_coeffs = np.zeros((3, 3)), np.zeros(8 if rational else 5)
    (rms, fitted_matrix, fitted_coeffs, rvecs, tvecs, std_intrinsics, _, _) = cv2.calibrateCameraExtended(
        objects, corners, image_size, start_matrix, start_coeffs, flags=flags, criteria=_CALIB_CRITERIA
    )
    matrix = np.asarray(fitted_matrix, dtype=np.float64)
    coeffs = np.asarray(fitted_coeffs, dtype=np.float64).ravel()[: 8 if rational else 5]  # the rest stay 0
    std = np.asarray(std_intrinsics, dtype=np.float64).ravel()
    per_image = tuple(
        (view.image, round(_view_rms(view, board, rvec, tvec, matrix, coeffs), 4))
        for view, rvec, tvec in zip(views, rvecs, tvecs, strict=True)
    )
    calibration = CameraCalibration(
        image_size=image_size,
        camera_matrix=matrix,
        dist_coeffs=coeffs,
        rms_px=round(float(rms), 4),
        per_image_rms_px=per_image,
        board=board,
    )
    return IntrinsicsResult(
        calibration=calibration,
        used=tuple(view.image for view in views),
        rejected=tuple(rejected),
        focal_std_px=(float(std[0]), float(std[1])),
        principal_std_px=(float(std[2]), float(std[3])),
    )


def _view_rms(
    view: BoardView, board: BoardSpec, rvec: npt.ArrayLike, tvec: npt.ArrayLike, matrix: FloatArray, coeffs: FloatArray
) -> float:
    projected, _ = cv2.projectPoints(board.object_points(), np.asarray(rvec), np.asarray(tvec), matrix, coeffs)
    residuals = np.asarray(projected, dtype=np.float64).reshape(-1, 2) - view.corners.reshape(-1, 2)
    return float(np.sqrt((residuals**2).sum(axis=1).mean()))


def calibrate_images(
    images: Iterable[tuple[str, Image | None]],
    board: BoardSpec,
    min_images: int = DEFAULT_MIN_IMAGES,
    rational: bool = False,
) -> IntrinsicsResult:
    """Calibrate from (name, image) pairs; None images count as unreadable."""
    views, rejected, size = detect_views(images, board)
    return calibrate_views(views, rejected, board, size, min_images, rational)


def calibrate_folder(
    folder: Path,
    board: BoardSpec,
    min_images: int = DEFAULT_MIN_IMAGES,
    rational: bool = False,
    wrap: Callable[[Iterator[tuple[str, Image | None]], int], Iterable[tuple[str, Image | None]]] | None = None,
) -> IntrinsicsResult:
    """Calibrate from the photos in `folder`. `wrap(images, count)` may wrap the lazy images (a progress bar)."""
    files = list_images(folder)
    images: Iterable[tuple[str, Image | None]] = load_images(files)
    if wrap is not None:
        images = wrap(load_images(files), len(files))
    return calibrate_images(images, board, min_images, rational)
