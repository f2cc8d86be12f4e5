import pytest

from platepatrol.geo import bearing_deg, distance_m


@pytest.mark.parametrize(
    ("a", "b", "metres", "bearing"),
    [
        ((44.0, 26.0), (44.001, 26.0), 111.2, 0.0),
        ((44.0, 26.0), (44.0, 26.001), 80.0, 90.0),
        ((44.0, 26.0), (43.999, 26.0), 111.2, 180.0),
        ((0.0, 0.0), (0.0, -0.001), 111.2, 270.0),
    ],
)
def test_distance_and_bearing(a: tuple[float, float], b: tuple[float, float], metres: float, bearing: float) -> None:
    assert distance_m(a, b) == pytest.approx(metres, rel=0.01)
    assert bearing_deg(a, b) == pytest.approx(bearing, abs=0.1)


def test_the_same_point() -> None:
    assert distance_m((44.0, 26.0), (44.0, 26.0)) == 0.0
