"""Which zone a point is in: the zones' GeoJSON polygons in a spatial index, rebuilt when a zone changes."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, func, select

from backend.permits.models import Zone
from backend.storage.plain_select import PlainSelect
from platepatrol.errors import UserError
from platepatrol.verdicts import ZoneView


def parse_zone_geometry(geojson: str) -> BaseGeometry:
    """A zone's area from GeoJSON (a Polygon or MultiPolygon, or a Feature of one), checked."""
    try:
        document = json.loads(geojson)
    except json.JSONDecodeError as error:
        raise UserError(f"zone GeoJSON is not JSON: {error}") from None
    if isinstance(document, dict) and document.get("type") == "Feature":
        document = document.get("geometry")
    if not isinstance(document, dict) or document.get("type") not in ("Polygon", "MultiPolygon"):
        raise UserError("zone GeoJSON must be a Polygon or MultiPolygon (or a Feature of one)")
    try:
        geometry = shape(document)
    except (ValueError, TypeError, AttributeError, IndexError) as error:
        raise UserError(f"zone GeoJSON has bad coordinates: {error}") from None
    if geometry.is_empty or not geometry.is_valid:
        raise UserError(f"zone polygon is not valid: {shapely.is_valid_reason(geometry)}")
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise UserError("zone coordinates must be longitude, latitude in degrees")
    return geometry


# What says the zones changed: their count and latest change (ZoneMap.refresh). A round of verdicts asks it in its
# first query; alone, it runs as plain SQL.
ZONES_VERSION = (select(func.count(Zone.id)).scalar_subquery(), select(func.max(Zone.updated_at)).scalar_subquery())
_ZONES_VERSION = PlainSelect(lambda _: select(*ZONES_VERSION))
_ZONES = select(Zone.id, Zone.code, Zone.time_limit_minutes, Zone.geojson).where(Zone.geojson != "")


@dataclass(frozen=True)
class _Area:
    view: ZoneView
    geometry: BaseGeometry
    size: float  # the geometry's area, once: where zones overlap, the smallest holds


def zone_view(zone_id: str, code: str, time_limit_minutes: int | None) -> ZoneView:
    limit = timedelta(minutes=time_limit_minutes) if time_limit_minutes else None
    return ZoneView(zone_id, code, limit)


class ZoneMap:
    """Shared by every call of one backend process; it asks the table for a change on every lookup, so a
    zone edited through any process is used by the next verdict."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: tuple[int, object] | None = None
        self._areas: list[_Area] = []
        self._index: shapely.STRtree | None = None

    def zone_at(self, connection: Connection, latitude: float, longitude: float) -> ZoneView | None:
        """The zone containing the point (the smallest one where zones overlap), or None."""
        self.refresh(connection)
        return self.locate(latitude, longitude)

    def locate(self, latitude: float, longitude: float) -> ZoneView | None:
        """As `zone_at`, with the zones as last refreshed: for a batch of reads answered in one transaction."""
        return self.locate_many([(latitude, longitude)])[0]

    def locate_many(self, points: Sequence[tuple[float, float]]) -> list[ZoneView | None]:
        """The zone of each (latitude, longitude), as `locate`, in one query of the spatial index for all of them:
        a round of reads costs one call into shapely, not one a read."""
        with self._lock:
            areas, index = self._areas, self._index
        if index is None or not points:
            return [None] * len(points)
        geometries = shapely.points([(longitude, latitude) for latitude, longitude in points])
        found: list[ZoneView | None] = [None] * len(points)
        smallest = [math.inf] * len(points)
        point_indexes, area_indexes = index.query(geometries, predicate="intersects")
        for point, area in zip(point_indexes.tolist(), area_indexes.tolist(), strict=True):
            size = areas[area].size
            if size < smallest[point]:  # where zones overlap, the smallest one holds
                found[point], smallest[point] = areas[area].view, size
        return found

    def refresh(self, connection: Connection, version: tuple[int, object] | None = None) -> bool:
        """Reload the zones if any changed (one cheap query when none did); says whether they were reloaded.
        `version`: the values of ZONES_VERSION when the caller asked for them already, in the connection's
        transaction."""
        if version is None:
            ((count, latest),) = _ZONES_VERSION(connection)
            version = (int(count), latest)
        with self._lock:
            if version == self._version:
                return False
        areas = []
        for zone_id, code, time_limit_minutes, geojson in connection.execute(_ZONES):
            geometry = parse_zone_geometry(geojson)
            areas.append(_Area(zone_view(zone_id, code, time_limit_minutes), geometry, float(geometry.area)))
        index = shapely.STRtree([area.geometry for area in areas]) if areas else None
        with self._lock:
            self._areas, self._index, self._version = areas, index, version
        return True
