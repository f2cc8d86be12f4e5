"""Checking a zone's GeoJSON as a person typed or drew it: every problem found, each in words.

`zones.parse_zone_geometry` is what the zone map loads with; this says *why* a shape would not load, ring by
ring and point by point, so the admin can fix a pasted polygon without guessing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import shapely
from shapely.geometry import shape

from backend.permits.zones import parse_zone_geometry
from platepatrol.errors import UserError

MAX_POINTS = 10_000
_WHERE = re.compile(r"\[\s*(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)\s*\]")


def zone_geojson_problems(text: str) -> list[str]:
    """Everything wrong with `text` as a zone outline (GeoJSON Polygon, MultiPolygon or a Feature of one);
    an empty list when the zone map will load it."""
    document, problem = _geometry_document(text)
    if document is None:
        return [problem]
    problems = _coordinate_problems(document)
    return problems or _shape_problems(document)


def _geometry_document(text: str) -> tuple[dict[str, Any] | None, str]:
    """The geometry object of `text`, or None and why not."""
    if not text.strip():
        return None, "paste a GeoJSON Polygon or draw the zone on the map"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return None, f"this is not JSON: {error.msg} at line {error.lineno}, column {error.colno}"
    if isinstance(document, dict) and document.get("type") == "FeatureCollection":
        return None, "paste one Feature or geometry, not a FeatureCollection"
    if isinstance(document, dict) and document.get("type") == "Feature":
        document = document.get("geometry")
    if not isinstance(document, dict) or document.get("type") not in ("Polygon", "MultiPolygon"):
        kind = document.get("type") if isinstance(document, dict) else type(document).__name__
        return None, f'the geometry must be a "Polygon" or "MultiPolygon", not {json.dumps(kind)}'
    return document, ""


def _coordinate_problems(document: dict[str, Any]) -> list[str]:
    coordinates = document.get("coordinates")
    multi = document["type"] == "MultiPolygon"
    polygons = coordinates if multi else [coordinates]
    if not isinstance(polygons, list) or not polygons or not all(isinstance(p, list) for p in polygons):
        return ['"coordinates" must be a list of rings, each a list of [longitude, latitude] points']
    problems: list[str] = []
    points = 0
    for p, polygon in enumerate(polygons, start=1):
        where = f"polygon {p}, " if multi else ""
        if not polygon:
            problems.append(f"{where}no rings: a polygon is a list of rings, the first one its outline")
        for r, ring in enumerate(polygon, start=1):
            ring_problems, count = _ring_problems(f"{where}{'outline' if r == 1 else f'hole {r - 1}'}", ring)
            problems.extend(ring_problems)
            points += count
    if points > MAX_POINTS:
        problems.append(f"too many points ({points}); simplify the outline to at most {MAX_POINTS}")
    return problems


def _shape_problems(document: dict[str, Any]) -> list[str]:
    try:
        geometry = shape(document)
    except (ValueError, TypeError, AttributeError, IndexError) as error:
        return [f"the coordinates do not make a polygon: {error}"]
    if not geometry.is_empty and not geometry.is_valid:
        return [_validity_problem(shapely.is_valid_reason(geometry))]
    if geometry.is_empty or geometry.area == 0:
        return ["the outline encloses no area: its points are all on one line"]
    try:
        parse_zone_geometry(json.dumps(document))
    except UserError as error:  # the zone map's own rules, should they ever grow stricter
        return [str(error)]
    return []


def _ring_problems(name: str, ring: Any) -> tuple[list[str], int]:
    if not isinstance(ring, list):
        return [f"{name}: a ring must be a list of [longitude, latitude] points"], 0
    problems: list[str] = []
    for i, point in enumerate(ring, start=1):
        if (
            not isinstance(point, list)
            or len(point) not in (2, 3)
            or not all(isinstance(value, int | float) and not isinstance(value, bool) for value in point)
        ):
            problems.append(f"{name}, point {i}: {json.dumps(point)} is not a [longitude, latitude] pair of numbers")
            continue
        lon, lat = point[0], point[1]
        if not -180 <= lon <= 180 or not -90 <= lat <= 90:
            hint = " (latitude and longitude swapped? GeoJSON puts longitude first)" if -90 <= lon <= 90 else ""
            problems.append(f"{name}, point {i}: [{lon}, {lat}] is off the globe{hint}")
    if problems:
        return problems, len(ring)
    if len(ring) < 4:
        problems.append(f"{name} has {len(ring)} points; a ring needs at least 4 (3 corners and the first again)")
    elif ring[0][:2] != ring[-1][:2]:
        problems.append(f"{name} is not closed: its last point must repeat its first, {json.dumps(ring[0])}")
    return problems, len(ring)


def _validity_problem(reason: str) -> str:
    found = _WHERE.search(reason)
    near = f" near latitude {float(found.group(2)):.6f}, longitude {float(found.group(1)):.6f}" if found else ""
    lowered = reason.lower()
    if "self-intersection" in lowered:
        return f"the outline crosses itself{near}: draw the corners in order around the zone"
    if "hole lies outside" in lowered:
        return f"a hole lies outside the outline{near}"
    if "nested holes" in lowered or "nested shells" in lowered:
        return f"rings are nested inside each other{near}"
    if "duplicate" in lowered or "too few" in lowered:
        return f"the outline repeats points so it has too few corners{near}"
    return f"the polygon is not valid: {reason}"
