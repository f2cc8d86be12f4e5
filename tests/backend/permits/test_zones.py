import pytest
from sqlalchemy.orm import Session

from backend.permits.models import Zone
from backend.permits.zones import ZoneMap, parse_zone_geometry
from platepatrol.errors import UserError
from tests.backend.factories import square


@pytest.mark.parametrize(
    ("geojson", "problem"),
    [
        ("{not json", "not JSON"),
        ('{"type": "Point", "coordinates": [26.1, 44.4]}', "must be a Polygon"),
        ('{"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}', "bad coordinates|not valid"),
        ('{"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}', "not valid"),
        ('{"type": "Polygon", "coordinates": [[[200, 0], [201, 0], [201, 1], [200, 0]]]}', "longitude, latitude"),
    ],
)
def test_bad_zone_shapes_are_refused(geojson: str, problem: str) -> None:
    with pytest.raises(UserError, match=problem):
        parse_zone_geometry(geojson)


def test_a_feature_wrapping_a_polygon_is_accepted() -> None:
    feature = '{"type": "Feature", "properties": {}, "geometry": ' + square(44.4, 26.1, 100) + "}"
    assert parse_zone_geometry(feature).area > 0


def test_points_find_their_zone_the_smallest_where_zones_overlap(session: Session) -> None:
    session.add_all(
        [
            Zone(code="CITY", name="City", geojson=square(44.40, 26.10, 5000)),
            Zone(code="OLD-TOWN", name="Old town", geojson=square(44.40, 26.10, 300)),
            Zone(code="PARKED", name="No shape yet"),
        ]
    )
    session.commit()
    zones = ZoneMap()
    inner = zones.zone_at(session.connection(), 44.40, 26.10)
    outer = zones.zone_at(session.connection(), 44.42, 26.10)
    assert inner is not None and inner.code == "OLD-TOWN"
    assert outer is not None and outer.code == "CITY"
    assert zones.zone_at(session.connection(), 45.0, 26.10) is None


def test_a_round_of_points_is_placed_as_one_by_one(session: Session) -> None:
    session.add_all(
        [
            Zone(code="CITY", name="City", geojson=square(44.40, 26.10, 5000)),
            Zone(code="OLD-TOWN", name="Old town", geojson=square(44.40, 26.10, 300)),
            Zone(code="PORT", name="Port", geojson=square(44.50, 26.10, 300)),
        ]
    )
    session.commit()
    zones = ZoneMap()
    zones.refresh(session.connection())
    points = [(44.40, 26.10), (45.0, 26.10), (44.42, 26.10), (44.50, 26.10), (44.40, 26.10)]
    together = zones.locate_many(points)
    assert [zone.code if zone else None for zone in together] == ["OLD-TOWN", None, "CITY", "PORT", "OLD-TOWN"]
    assert together == [zones.locate(*point) for point in points]
    assert zones.locate_many([]) == []


def test_a_zone_change_is_seen_by_the_next_lookup(session: Session) -> None:
    zone = Zone(code="A", name="A", geojson=square(44.40, 26.10, 100))
    session.add(zone)
    session.commit()
    zones = ZoneMap()
    assert zones.zone_at(session.connection(), 44.40, 26.10) is not None
    zone.geojson = square(10.0, 10.0, 100)
    session.commit()
    assert zones.zone_at(session.connection(), 44.40, 26.10) is None


def test_a_refresh_says_whether_it_reloaded(session: Session) -> None:
    zone = Zone(code="A", name="A", geojson=square(44.40, 26.10, 100))
    session.add(zone)
    session.commit()
    zones = ZoneMap()
    assert zones.refresh(session.connection()) is True  # the first load
    assert zones.refresh(session.connection()) is False
    zone.geojson = square(10.0, 10.0, 100)
    session.commit()
    assert zones.refresh(session.connection()) is True
    assert zones.locate(44.40, 26.10) is None
