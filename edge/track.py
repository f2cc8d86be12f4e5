"""Linking plate observations across frames into tracks: one track is one vehicle pass on one camera."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.config import TrackerConfig
from edge.types import Box, Observation


@dataclass
class Track:
    id: int
    observations: list[Observation] = field(default_factory=list)
    emitted: bool = False  # its read has been sent; later frames of the pass add nothing
    emitted_text: str = ""

    @property
    def last_read_frame(self) -> int:
        return max((o.frame_index for o in self.observations if o.reading is not None), default=-1)

    @property
    def last(self) -> Observation:
        return self.observations[-1]


def _match_score(box: Box, other: Box, config: TrackerConfig) -> float | None:
    """How well `other` continues a track last seen at `box`: IoU when they overlap, else a score from
    the centre shift (dashcams jump between frames); None when they cannot be the same plate."""
    overlap = box.iou(other)
    if overlap >= config.min_iou and overlap > 0:
        return 1.0 + overlap
    (ax, ay), (bx, by) = box.centre, other.centre
    shift = math.hypot(ax - bx, ay - by) / max(box.width, other.width, 1.0)
    if shift > config.max_centre_shift:
        return None
    return 1.0 - shift / config.max_centre_shift


def _at_border(box: Box, frame_size: tuple[int, int], margin: float) -> bool:
    width, height = frame_size
    return (
        box.x1 <= margin * width
        or box.y1 <= margin * height
        or box.x2 >= (1 - margin) * width
        or box.y2 >= (1 - margin) * height
    )


class PlateTracker:
    """Greedy matching of each frame's plates to the open tracks; `update` returns the passes that ended."""

    def __init__(self, config: TrackerConfig) -> None:
        self._config = config
        self._open: list[Track] = []
        self._ids = itertools.count(1)

    def assign(self, boxes: list[Box], vetoed: frozenset[tuple[int, int]] = frozenset()) -> list[Track | None]:
        """The open track each box continues (None: a new vehicle), matching the best pairs first; a
        (track id, box index) pair in `vetoed` is known not to be the same plate and is never matched."""
        pairs = []
        for t, track in enumerate(self._open):
            for b, box in enumerate(boxes):
                if (track.id, b) in vetoed:
                    continue
                score = _match_score(track.last.detection.box, box, self._config)
                if score is not None:
                    pairs.append((score, t, b))
        owners: list[Track | None] = [None] * len(boxes)
        used_tracks: set[int] = set()
        for _score, t, b in sorted(pairs, reverse=True):
            if t not in used_tracks and owners[b] is None:
                owners[b] = self._open[t]
                used_tracks.add(t)
        return owners

    def update(
        self,
        frame_index: int,
        observations: list[Observation],
        owners: list[Track | None] | None = None,
        frame_size: tuple[int, int] | None = None,
    ) -> list[Track]:
        """Add a frame's plates to their tracks (`owners`, as `assign` gave them or as corrected since; by
        default `assign`'s) and return the tracks that ended: unseen for `max_missed_frames`, or, when the
        frame's (width, height) is given, last seen at the image's edge and unseen for `border_missed_frames`
        (it has driven out of the picture: no need to wait and see)."""
        if owners is None:
            owners = self.assign([observation.detection.box for observation in observations])
        for observation, owner in zip(observations, owners, strict=True):
            if owner is None:
                self._open.append(Track(next(self._ids), [observation]))
            else:
                owner.observations.append(observation)
        return self._close(lambda track: self._gone(track, frame_index, frame_size))

    def _gone(self, track: Track, frame_index: int, frame_size: tuple[int, int] | None) -> bool:
        missed = frame_index - track.last.frame_index
        if missed > self._config.max_missed_frames:
            return True
        return (
            frame_size is not None
            and missed > self._config.border_missed_frames
            and _at_border(track.last.detection.box, frame_size, self._config.border_margin)
        )

    @property
    def open_tracks(self) -> list[Track]:
        return list(self._open)

    def flush(self) -> list[Track]:
        """End every open track (the stream is over)."""
        return self._close(lambda _track: True)

    def _close(self, ended: Callable[[Track], bool]) -> list[Track]:
        finished = [track for track in self._open if ended(track)]
        self._open = [track for track in self._open if not ended(track)]
        return [track for track in finished if len(track.observations) >= self._config.min_frames]
