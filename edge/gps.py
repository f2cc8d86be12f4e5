"""Where the car was when a plate was captured: a recorded route (GPX or NMEA) replayed in step with the
patrol, live NMEA from a serial device, or gpsd. A read with no fix near its capture time says so: a position
is never invented.
"""

from __future__ import annotations

import bisect
import json
import logging
import socket
import threading
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import gpxpy
import gpxpy.gpx
import pynmea2

from edge.types import Fix
from platepatrol.errors import UserError
from platepatrol.geo import LatLon, bearing_deg, distance_m

log = logging.getLogger(__name__)

KNOTS_TO_MPS = 0.514444


class GpsSource(Protocol):
    def fix_at(self, at: datetime, media_s: float | None = None) -> Fix | None:
        """The car's position at `at`, or None when there is no fix close enough in time. A replayed route
        follows `media_s`, the frame's time in its recording, when there is one."""
        ...

    def close(self) -> None: ...


def _at(fix: Fix) -> LatLon:
    return fix.latitude, fix.longitude


class NoGps:
    def fix_at(self, at: datetime, media_s: float | None = None) -> Fix | None:
        return None

    def close(self) -> None:
        pass


class RouteReplay:
    """A recorded route played back from the start of the patrol: the route's first point is `start`."""

    def __init__(self, points: Iterable[Fix], start: datetime) -> None:
        self._points = sorted(points, key=lambda p: p.fixed_at)
        if len(self._points) < 2:
            raise UserError("a GPS route needs at least two timed points")
        self._times = [p.fixed_at for p in self._points]
        self._shift = start - self._times[0]

    def fix_at(self, at: datetime, media_s: float | None = None) -> Fix | None:
        # In step with the recording when the frame has a media time; else with the wall clock.
        route_time = self._times[0] + timedelta(seconds=media_s) if media_s is not None else at - self._shift
        if not self._times[0] <= route_time <= self._times[-1]:
            return None  # before or after the recording: no fix, rather than a made-up one
        i = max(1, bisect.bisect_left(self._times, route_time))
        a, b = self._points[i - 1], self._points[i]
        span = (b.fixed_at - a.fixed_at).total_seconds()
        share = (route_time - a.fixed_at).total_seconds() / span if span > 0 else 0.0
        return Fix(
            latitude=a.latitude + share * (b.latitude - a.latitude),
            longitude=a.longitude + share * (b.longitude - a.longitude),
            fixed_at=at,
            accuracy_m=a.accuracy_m,
            heading_deg=bearing_deg(_at(a), _at(b)) if distance_m(_at(a), _at(b)) > 0.5 else a.heading_deg,
            speed_mps=distance_m(_at(a), _at(b)) / span if span > 0 else a.speed_mps,
        )

    def close(self) -> None:
        pass


def gpx_points(path: Path) -> list[Fix]:
    try:
        with path.open(encoding="utf-8") as handle:
            document = gpxpy.parse(handle)
    except OSError as error:
        raise UserError(f"GPS route {path}: {error.strerror}") from None
    except gpxpy.gpx.GPXException as error:
        raise UserError(f"GPS route {path} is not valid GPX: {error}") from None
    points = [
        Fix(p.latitude, p.longitude, p.time.astimezone(UTC), accuracy_m=p.horizontal_dilution)
        for track in document.tracks
        for segment in track.segments
        for p in segment.points
        if p.time is not None
    ]
    if not points:
        raise UserError(f"GPS route {path} has no timed track points")
    return points


def nmea_fix(line: str, day: datetime | None = None) -> Fix | None:
    """A fix from one NMEA sentence (RMC, or GGA on the given day); None for other or void sentences."""
    try:
        sentence = pynmea2.parse(line.strip(), check=True)
    except (pynmea2.ParseError, ValueError):
        return None
    if isinstance(sentence, pynmea2.types.talker.RMC) and sentence.status == "A" and sentence.datestamp:
        moment = datetime.combine(sentence.datestamp, sentence.timestamp).replace(tzinfo=UTC)
        return Fix(
            sentence.latitude,
            sentence.longitude,
            moment,
            heading_deg=float(sentence.true_course) if sentence.true_course is not None else None,
            speed_mps=float(sentence.spd_over_grnd) * KNOTS_TO_MPS if sentence.spd_over_grnd is not None else None,
        )
    if isinstance(sentence, pynmea2.types.talker.GGA) and day is not None and int(sentence.gps_qual or 0) > 0:
        moment = datetime.combine(day.date(), sentence.timestamp).replace(tzinfo=UTC)
        dilution = float(sentence.horizontal_dil or 0) or None
        return Fix(sentence.latitude, sentence.longitude, moment, accuracy_m=dilution)
    return None


def nmea_file_points(path: Path) -> list[Fix]:
    try:
        lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError as error:
        raise UserError(f"NMEA file {path}: {error.strerror}") from None
    fixes = [fix for line in lines if (fix := nmea_fix(line)) is not None]
    if not fixes:
        raise UserError(f"NMEA file {path} has no valid RMC fix")
    return fixes


class LiveFixes:
    """Fixes arriving from a live receiver, kept for a short while; a read takes the one nearest its time."""

    def __init__(self, max_age_s: float) -> None:
        self._max_age = timedelta(seconds=max_age_s)
        self._fixes: deque[Fix] = deque(maxlen=600)
        self._lock = threading.Lock()
        self.stopping = threading.Event()

    def add(self, fix: Fix) -> None:
        with self._lock:
            self._fixes.append(fix)

    def fix_at(self, at: datetime, media_s: float | None = None) -> Fix | None:
        with self._lock:
            fixes = list(self._fixes)
        near = [f for f in fixes if abs(f.fixed_at - at) <= self._max_age]
        return min(near, key=lambda f: abs(f.fixed_at - at)) if near else None

    def close(self) -> None:
        self.stopping.set()


class NmeaDevice(LiveFixes):
    """NMEA sentences from a serial device (set its baud rate with stty) or a named pipe."""

    def __init__(self, path: Path, max_age_s: float) -> None:
        super().__init__(max_age_s)
        try:
            self._stream = path.open("r", encoding="ascii", errors="replace")
        except OSError as error:
            raise UserError(f"GPS device {path}: {error.strerror}") from None
        threading.Thread(target=self._read, name="gps-nmea", daemon=True).start()

    def _read(self) -> None:
        day: datetime | None = None
        for line in self._stream:
            if self.stopping.is_set():
                return
            if (fix := nmea_fix(line, day)) is not None:
                day = fix.fixed_at
                self.add(fix)


class Gpsd(LiveFixes):
    """Position reports (TPV) from a gpsd daemon over its JSON protocol."""

    def __init__(self, host: str, port: int, max_age_s: float) -> None:
        super().__init__(max_age_s)
        try:
            self._socket = socket.create_connection((host, port), timeout=5)
        except OSError as error:
            raise UserError(f"cannot reach gpsd at {host}:{port}: {error}") from None
        self._socket.sendall(b'?WATCH={"enable":true,"json":true};\n')
        threading.Thread(target=self._read, name="gps-gpsd", daemon=True).start()

    def _read(self) -> None:
        self._socket.settimeout(None)
        with self._socket.makefile("r", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if self.stopping.is_set():
                    return
                if (fix := gpsd_fix(line)) is not None:
                    self.add(fix)


def gpsd_fix(line: str) -> Fix | None:
    try:
        report = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(report, dict) or report.get("class") != "TPV" or report.get("mode", 0) < 2:
        return None
    try:
        return Fix(
            float(report["lat"]),
            float(report["lon"]),
            datetime.fromisoformat(str(report["time"]).replace("Z", "+00:00")),
            accuracy_m=float(report["eph"]) if "eph" in report else None,
            heading_deg=float(report["track"]) if "track" in report else None,
            speed_mps=float(report["speed"]) if "speed" in report else None,
        )
    except (KeyError, TypeError, ValueError):
        return None


def open_gps(kind: str, path: Path | None, host: str, port: int, max_age_s: float, start: datetime) -> GpsSource:
    """The GPS source a config names; recorded routes are anchored at `start`, the start of the patrol."""
    if kind == "none":
        return NoGps()
    if kind == "gpsd":
        return Gpsd(host, port, max_age_s)
    if path is None:
        raise UserError(f"gps.kind {kind!r} needs gps.path")
    if kind == "gpx":
        return RouteReplay(gpx_points(path), start)
    if kind == "nmea" and (path.is_char_device() or path.is_fifo()):
        return NmeaDevice(path, max_age_s)
    if kind == "nmea":
        return RouteReplay(nmea_file_points(path), start)
    raise UserError(f"unknown gps.kind {kind!r}")
