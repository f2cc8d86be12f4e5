"""Distances and bearings on the Earth, for GPS fixes and parking places: (latitude, longitude) in degrees."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # mean radius; haversine on a sphere is good to about 0.5 %

LatLon = tuple[float, float]


def distance_m(a: LatLon, b: LatLon) -> float:
    """Great-circle distance (haversine)."""
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    dlat, dlon = lat2 - lat1, math.radians(b[1] - a[1])
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def bearing_deg(a: LatLon, b: LatLon) -> float:
    """Initial bearing from `a` to `b`, degrees clockwise from north."""
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    dlon = math.radians(b[1] - a[1])
    y = math.sin(dlon) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon)
    return math.degrees(math.atan2(y, x)) % 360
