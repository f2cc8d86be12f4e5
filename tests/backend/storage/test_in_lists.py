import pytest

from backend.storage.in_lists import padded


@pytest.mark.parametrize(
    ("count", "length"), [(1, 1), (2, 2), (3, 4), (4, 4), (5, 8), (24, 32), (256, 256), (257, 512)]
)
def test_lists_are_padded_to_a_power_of_two(count: int, length: int) -> None:
    values = [f"P{n:04d}" for n in range(count)]
    got = padded(reversed(values))
    assert len(got) == length
    assert got[:count] == values  # every value once, in order, then the last one again
    assert set(got[count:]) <= {values[-1]}


def test_repeats_are_counted_once_and_nothing_stays_nothing() -> None:
    assert padded(["B", "A", "B"]) == ["A", "B"]
    assert padded([]) == []
