"""The rig: 1-4 cameras read side by side, their frames served to the one pipeline loop in turn."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from calibration.undistort import Undistorter
from edge.capture import CameraFeed, FrameRateCap, is_live, open_source
from edge.config import CameraConfig
from edge.types import Frame, Image
from platepatrol.errors import UserError


@dataclass(frozen=True)
class CameraStats:
    camera_id: str
    dropped: int
    waiting: int


def undistortion(camera: CameraConfig) -> Callable[[Image], Image] | None:
    """The camera's lens correction (maps computed once), or None when it has no calibration file."""
    if camera.calibration is None:
        return None
    return Undistorter.from_file(camera.calibration).undistort


class Rig:
    """Opening the rig checks every source at once; the cameras are read only once `frames()` is asked for, so
    frames are not stamped while the models are still loading."""

    def __init__(self, cameras: Sequence[CameraConfig]) -> None:
        if not cameras:
            raise UserError("no camera: give --source, or list cameras in the config")
        self._arrived = threading.Condition()
        # Open every source first, so a bad one fails the start before any thread runs.
        sources = [(camera, open_source(camera.source, camera.id)) for camera in cameras]
        self._feeds: dict[str, CameraFeed] = {}
        for camera, source in sources:
            live = camera.live if camera.live is not None else is_live(camera.source)
            self._feeds[camera.id] = CameraFeed(
                source,
                camera.queue_size,
                live,
                FrameRateCap(camera.max_fps, source.fps, live),
                prepare=undistortion(camera),
                on_frame=self._signal,
            )
        self._turn = 0

    @property
    def camera_ids(self) -> list[str]:
        return list(self._feeds)

    def frames(self) -> Iterator[Frame]:
        """Start the cameras, then give their frames one camera after another until every source has ended."""
        feeds = list(self._feeds.values())
        for feed in feeds:
            feed.start()
        while True:
            with self._arrived:
                frame = self._next(feeds)
                while frame is None and not all(feed.ended and not feed.waiting for feed in feeds):
                    self._arrived.wait(timeout=0.5)
                    frame = self._next(feeds)
            if frame is None:
                return
            yield frame

    def stats(self) -> list[CameraStats]:
        return [CameraStats(camera_id, feed.dropped, feed.waiting) for camera_id, feed in self._feeds.items()]

    def stop(self) -> None:
        for feed in self._feeds.values():
            feed.stop()

    def _next(self, feeds: list[CameraFeed]) -> Frame | None:
        for step in range(len(feeds)):
            feed = feeds[(self._turn + step) % len(feeds)]
            frame = feed.take()
            if frame is not None:
                self._turn = (self._turn + step + 1) % len(feeds)
                return frame
        return None

    def _signal(self) -> None:
        with self._arrived:
            self._arrived.notify_all()
