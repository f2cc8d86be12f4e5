"""Frames from a camera: a video file, an RTSP/HTTP URL, a USB device number, or a folder of images.

Each camera of the rig is a `CameraFeed`: a thread that reads frames into a bounded queue. A live camera never
waits for the pipeline: when the queue is full the oldest frame is dropped and counted. A recording is read no
faster than it is processed, so none of it is skipped.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
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


def is_live(source: str) -> bool:
    """Streams and devices are live; files and folders are recordings."""
    return "://" in source or source.isdigit()


@dataclass(frozen=True)
class Source:
    frames: Iterator[Frame]
    fps: float | None  # the recording's own frame rate, when it has one


def open_source(source: str, camera_id: str) -> Source:
    """Frames of `source`, stamped with the time they were read. Fails at once, with a clear message,
    when the source cannot be opened or yields no frame."""
    path = Path(source)
    if path.is_dir():
        return Source(_folder_frames(path, camera_id), None)
    if source.isdigit():
        return _capture_frames(cv2.VideoCapture(int(source)), source, camera_id)
    if "://" not in source and not path.exists():
        raise UserError(f"source {source}: no such file or folder")
    return _capture_frames(cv2.VideoCapture(source), source, camera_id)


def _now() -> datetime:
    return datetime.now(UTC)


def _capture_frames(capture: cv2.VideoCapture, source: str, camera_id: str) -> Source:
    if not capture.isOpened():
        raise UserError(f"source {source}: cannot be opened as a video, stream or camera")
    ok, image = capture.read()
    if not ok or image is None:
        capture.release()
        raise UserError(f"source {source}: no readable frames")
    fps = capture.get(cv2.CAP_PROP_FPS)
    recording = not is_live(source) and fps and fps > 0

    def frames() -> Iterator[Frame]:
        nonlocal ok, image
        index = 0
        try:
            while ok and image is not None:
                media_s = index / fps if recording else None
                yield Frame(camera_id, index, _now(), np.asarray(image, dtype=np.uint8), media_s)
                index += 1
                ok, image = capture.read()
        finally:
            capture.release()

    return Source(frames(), fps if fps and fps > 0 else None)


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


class FrameRateCap:
    """Lets through at most `max_fps` frames a second: by wall time for live cameras, by the recording's own
    clock for files (every n-th frame), so a recording is thinned the same however fast it is read."""

    def __init__(self, max_fps: float | None, recording_fps: float | None, live: bool) -> None:
        self._interval = 1.0 / max_fps if max_fps else 0.0
        self._stride = max(1, round(recording_fps / max_fps)) if (max_fps and recording_fps and not live) else 1
        self._live = live
        self._last: datetime | None = None

    def admits(self, frame: Frame) -> bool:
        if not self._live:
            return frame.index % self._stride == 0
        if self._last is not None and (frame.captured_at - self._last).total_seconds() < self._interval:
            return False
        self._last = frame.captured_at
        return True


class CameraFeed:
    """One camera read by its own thread into a bounded queue."""

    def __init__(
        self,
        source: Source,
        queue_size: int,
        live: bool,
        cap: FrameRateCap,
        prepare: Callable[[Image], Image] | None = None,
        on_frame: Callable[[], None] | None = None,
    ) -> None:
        self.dropped = 0
        self.ended = False
        self._queue: deque[Frame] = deque()
        self._size = queue_size
        self._live = live
        self._cap = cap
        self._prepare = prepare
        self._notify = on_frame or (lambda: None)
        self._space = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(source.frames,), name="camera", daemon=True)

    def start(self) -> None:
        """Start reading; frames are stamped as they are read, so start only when the pipeline is ready."""
        self._thread.start()

    def take(self) -> Frame | None:
        with self._space:
            frame = self._queue.popleft() if self._queue else None
            self._space.notify_all()
        if frame is not None and not self._live:
            # A recording waits for the pipeline, so its frame is "captured" when the pipeline takes it: the
            # read-ahead queue is ours, not a camera's. A live frame keeps the time it was really captured.
            frame = replace(frame, captured_at=_now())
        return frame

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def stop(self) -> None:
        self._stopping.set()
        with self._space:
            self._space.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _read(self, frames: Iterator[Frame]) -> None:
        try:
            for frame in frames:
                if self._stopping.is_set():
                    return
                if not self._cap.admits(frame):
                    continue
                prepared = frame
                if self._prepare is not None:
                    prepared = replace(frame, image=self._prepare(frame.image))
                self._put(prepared)
        except Exception:
            log.exception("camera reader failed")
        finally:
            self.ended = True
            self._notify()

    def _put(self, frame: Frame) -> None:
        with self._space:
            if self._live and len(self._queue) >= self._size:
                self._queue.popleft()  # the camera never waits: the oldest frame goes
                self.dropped += 1
            while not self._live and len(self._queue) >= self._size and not self._stopping.is_set():
                self._space.wait(timeout=0.5)
            self._queue.append(frame)
        self._notify()
