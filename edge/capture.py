"""Frames from a camera: a video file, an RTSP/HTTP URL, a USB device number, or a folder of images."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from edge.types import Frame, Image
from platepatrol.errors import UserError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def load_image(path: Path) -> Image:
    """The image at `path` as BGR, or a UserError saying why it cannot be used."""
    data = np.fromfile(path, dtype=np.uint8) if path.is_file() else None
    if data is None:
        raise UserError(f"{path}: no such file")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise UserError(f"{path}: not a readable image")
    return np.asarray(image, dtype=np.uint8)


def open_source(source: str, camera_id: str) -> Iterator[Frame]:
    """Frames of `source`, stamped with the time they were read. Fails at once, with a clear message,
    when the source cannot be opened or yields no frame."""
    path = Path(source)
    if path.is_dir():
        return _folder_frames(path, camera_id)
    if source.isdigit():
        return _capture_frames(cv2.VideoCapture(int(source)), source, camera_id)
    if "://" not in source and not path.exists():
        raise UserError(f"source {source}: no such file or folder")
    return _capture_frames(cv2.VideoCapture(source), source, camera_id)


def _now() -> datetime:
    return datetime.now(UTC)


def _capture_frames(capture: cv2.VideoCapture, source: str, camera_id: str) -> Iterator[Frame]:
    if not capture.isOpened():
        raise UserError(f"source {source}: cannot be opened as a video, stream or camera")
    ok, image = capture.read()
    if not ok or image is None:
        capture.release()
        raise UserError(f"source {source}: no readable frames")

    def frames() -> Iterator[Frame]:
        nonlocal ok, image
        index = 0
        try:
            while ok and image is not None:
                yield Frame(camera_id, index, _now(), np.asarray(image, dtype=np.uint8))
                index += 1
                ok, image = capture.read()
        finally:
            capture.release()

    return frames()


def _folder_frames(folder: Path, camera_id: str) -> Iterator[Frame]:
    files = image_files(folder)
    if not files:
        raise UserError(f"source {folder}: the folder holds no images")

    def frames() -> Iterator[Frame]:
        index = 0
        for path in files:
            try:
                image = load_image(path)
            except UserError as problem:
                log.warning("skipping %s", problem)  # one bad image must not stop the patrol
                continue
            yield Frame(camera_id, index, _now(), image)
            index += 1

    return frames()
